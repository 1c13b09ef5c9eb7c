"""Labelled completions of the bundled model, for training verifiers of the arithmetic task.

    python scripts/arith_verifier_data.py --problems 200 --samples 4 --out /tmp/rows.jsonl

A verifier of a model's answers should learn from that model's own answers: this module
samples ``models/tiny-arith`` with transformers (temperature 1.0, like the example specs) on
training problems that never include a question of ``data/arith-test.jsonl``, and labels
each completion by whether its stated answer is the right sum. The mistakes are the model's
own: dropped carries, off-by-one column sums, its misconceptions, and completions that stop
early. Sampling is seeded, so the rows are the same on every run with the same torch build.

Training scripts (``scripts/train_tiny_orm.py``, ``scripts/train_tiny_judge.py``) import
:func:`policy_rows`; the command line writes the rows as JSON Lines for inspection.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.tasks.arith import format_prompt, is_correct, stream_problems  # noqa: E402

POLICY = ROOT / "models" / "tiny-arith"
TEST_SET = ROOT / "data" / "arith-test.jsonl"
PAD, EOS = 0, 2


@dataclass(frozen=True)
class Row:
    """One sampled completion of one training question, and whether its answer is right."""

    question: str
    completion: str
    correct: bool

    @property
    def prompt(self) -> str:
        return format_prompt(self.question)


def held_out_questions(path: Path = TEST_SET) -> set[str]:
    with path.open(encoding="utf-8") as f:
        return {json.loads(line)["question"] for line in f if line.strip()}


def policy_rows(
    problems: int,
    samples: int,
    *,
    seed: int = 1,
    batch_size: int = 512,
    policy: Path = POLICY,
    max_new_tokens: int = 40,
) -> list[Row]:
    """``samples`` completions of each of ``problems`` distinct training questions.

    Questions come from :func:`pytest_tts.tasks.arith.stream_problems` with ``seed``, minus
    the test set's; completions from the policy at temperature 1.0, seeded per batch.
    """
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(policy)
    model = LlamaForCausalLM.from_pretrained(policy, dtype=torch.float32)
    model.eval()
    seen: set[str] = set()
    questions: list[str] = []
    for problem in stream_problems(seed, exclude=held_out_questions()):
        if problem.question not in seen:
            seen.add(problem.question)
            questions.append(problem.question)
        if len(questions) == problems:
            break
    flat = [q for q in questions for _ in range(samples)]
    rows: list[Row] = []
    for start in range(0, len(flat), batch_size):
        batch = flat[start : start + batch_size]
        encoded = [tokenizer(format_prompt(q))["input_ids"] for q in batch]
        width = max(len(e) for e in encoded)
        input_ids = torch.tensor([[PAD] * (width - len(e)) + e for e in encoded])
        torch.manual_seed(seed * 1_000_003 + start)
        with torch.no_grad():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=(input_ids != PAD).long(),
                max_new_tokens=max_new_tokens,
                do_sample=True,
                temperature=1.0,
                top_k=0,
                top_p=1.0,
                pad_token_id=PAD,
                eos_token_id=EOS,
            )
        for question, generated in zip(batch, out, strict=True):
            text = tokenizer.decode(generated[width:].tolist(), skip_special_tokens=True)
            rows.append(Row(question, text, is_correct(question, text)))
    return rows


def summary(rows: list[Row]) -> dict[str, Any]:
    by_question = {q: list(g) for q, g in itertools.groupby(rows, key=lambda r: r.question)}
    return {
        "rows": len(rows),
        "questions": len(by_question),
        "correct_rate": sum(r.correct for r in rows) / max(len(rows), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = policy_rows(args.problems, args.samples, seed=args.seed)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(asdict(row)) + "\n")
    print(json.dumps(summary(rows)))


if __name__ == "__main__":
    main()
