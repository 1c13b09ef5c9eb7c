"""Write the held-out arithmetic test set, reproducibly.

    python scripts/make_arith_data.py      # data/arith-test.jsonl: 200 problems, seed 20261122

Each line is ``{"id": ..., "question": "347+285", "answer": "632"}``. The engine's prompt is built
from ``question`` by ``pytest_tts.tasks.arith.PROMPT_TEMPLATE`` (``"Q:{question}\\nA:"``). The tiny
model's training script reads this file and never trains on its questions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pytest_tts.tasks.arith import generate_problems

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--digits", default="2,3", help="operand digit counts, comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "arith-test.jsonl")
    args = parser.parse_args()
    digits = tuple(int(d) for d in args.digits.split(","))
    problems = generate_problems(args.count, args.seed, digits)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for i, problem in enumerate(problems):
            row = {"id": f"arith-{i:04d}", "question": problem.question, "answer": problem.answer}
            f.write(json.dumps(row) + "\n")
    print(f"wrote {len(problems)} problems to {args.out}")


if __name__ == "__main__":
    main()
