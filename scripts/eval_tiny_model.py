"""Measure the bundled tiny model on the held-out arithmetic test set, through vLLM.

    python scripts/eval_tiny_model.py                 # models/tiny-arith, data/arith-test.jsonl
    python scripts/eval_tiny_model.py --json out.json # also write the numbers as JSON

Reports greedy accuracy (vLLM and transformers, and whether their greedy texts agree), the mean
accuracy of a single temperature-1.0 sample, and coverage (some sample correct) and majority-vote
accuracy at n = 1, 4, 16, 64 from a pool of 64 samples per problem. Coverage uses the unbiased
pass@k estimator; majority@k averages exactly over every k-subset for k = 1 and k = 64 and over
``--subsets`` seeded random k-subsets otherwise, with ties split evenly. The numbers in
models/tiny-arith/README.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections import Counter
from math import comb
from pathlib import Path
from typing import Any

from pytest_tts.tasks.arith import check_steps, extract_answer, format_prompt

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = (1, 4, 16, 64)


def coverage_at(n: int, correct: int, k: int) -> float:
    """Unbiased pass@k from ``correct`` of ``n`` samples (Chen et al. 2021)."""
    if n - correct < k:
        return 1.0
    return 1.0 - comb(n - correct, k) / comb(n, k)


def majority_correct(answers: list[str | None], reference: str) -> float:
    """Probability that a vote over ``answers`` picks ``reference`` (ties split evenly)."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return 0.0
    top = max(counts.values())
    winners = [a for a, c in counts.items() if c == top]
    return 1.0 / len(winners) if reference in winners else 0.0


def majority_at(
    answers: list[str | None], reference: str, k: int, rng: random.Random, m: int
) -> float:
    if k == 1:
        return sum(a == reference for a in answers) / len(answers)
    if k >= len(answers):
        return majority_correct(answers, reference)
    return sum(majority_correct(rng.sample(answers, k), reference) for _ in range(m)) / m


def transformers_greedy(model_dir: Path, prompts: list[str], max_tokens: int) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tokenizer.padding_side = "left"
    batch = tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(
            **batch,
            max_new_tokens=max_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    width = batch["input_ids"].shape[1]
    return [tokenizer.decode(row[width:], skip_special_tokens=True) for row in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "tiny-arith")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "arith-test.jsonl")
    parser.add_argument("--n", type=int, default=64, help="samples per problem")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--subsets", type=int, default=500, help="random subsets for majority@k")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM, SamplingParams

    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    prompts = [format_prompt(row["question"]) for row in rows]
    llm = LLM(model=str(args.model), dtype="float32", max_model_len=64, enforce_eager=True)
    try:
        greedy_out = llm.generate(
            prompts, SamplingParams(temperature=0.0, max_tokens=args.max_tokens)
        )
        params = [
            SamplingParams(
                n=args.n, temperature=1.0, max_tokens=args.max_tokens, seed=args.seed + 1000 * i
            )
            for i in range(len(prompts))
        ]
        sampled_out = llm.generate(prompts, params)
    finally:
        llm.llm_engine.engine_core.shutdown()

    greedy_texts = [o.outputs[0].text for o in greedy_out]
    hf_texts = transformers_greedy(args.model, prompts, args.max_tokens)
    rng = random.Random(args.seed)
    results: dict[str, Any] = {"problems": len(rows), "samples_per_problem": args.n}
    results["greedy_vllm"] = _mean(
        extract_answer(t) == r["answer"] for t, r in zip(greedy_texts, rows, strict=True)
    )
    results["greedy_transformers"] = _mean(
        extract_answer(t) == r["answer"] for t, r in zip(hf_texts, rows, strict=True)
    )
    results["greedy_texts_agree"] = _mean(
        a == b for a, b in zip(greedy_texts, hf_texts, strict=True)
    )
    coverage = {k: 0.0 for k in BUDGETS}
    majority = {k: 0.0 for k in BUDGETS}
    steps_ok = 0
    tokens = 0
    for out, row in zip(sampled_out, rows, strict=True):
        texts = [c.text for c in out.outputs]
        answers = [extract_answer(t) for t in texts]
        correct = sum(a == row["answer"] for a in answers)
        for k in BUDGETS:
            coverage[k] += coverage_at(len(texts), correct, k) / len(rows)
            majority[k] += majority_at(answers, row["answer"], k, rng, args.subsets) / len(rows)
        steps_ok += sum(all(check_steps(row["question"], t)) and bool(t) for t in texts)
        tokens += sum(len(c.token_ids) for c in out.outputs)
    results["sampled_t1"] = coverage[1]
    results["coverage"] = {str(k): round(v, 4) for k, v in coverage.items()}
    results["majority"] = {str(k): round(v, 4) for k, v in majority.items()}
    results["all_steps_correct_t1"] = steps_ok / (len(rows) * args.n)
    results["mean_completion_tokens_t1"] = tokens / (len(rows) * args.n)
    print(json.dumps(results, indent=2))
    print("\n| n | coverage | majority vote |\n| --- | --- | --- |")
    for k in BUDGETS:
        print(f"| {k} | {coverage[k]:.3f} | {majority[k]:.3f} |")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def _mean(values: Any) -> float:
    items = list(values)
    return sum(items) / len(items)


if __name__ == "__main__":
    main()
