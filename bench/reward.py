"""The bundled reward model on the bundled model's samples: quality and scoring throughput.

    .venv/bin/python bench/reward.py [--cache-dir .tts-cache] [--problems 200] [--samples 64]

Reads the example specs' pool (``models/tiny-arith`` on ``data/arith-test.jsonl``,
temperature 1.0, seed 0) from the sample store (run ``pytest specs/`` first), then:

1. scores every sample with ``reward_model`` (vLLM's pooling runner) and, side by side, with
   transformers' ``LlamaForSequenceClassification`` in batches on the same weights: samples
   per second of each and the largest score difference;
2. against the oracle (``exact_match``): the reward's false-positive rate at threshold 0.5
   with its Clopper–Pearson interval, true-positive rate and AUC;
3. accuracy of best-of-N by reward, reward-weighted vote, best-of-N by ``last_digit`` and
   majority vote at matched FLOPs (the reward model's scoring FLOPs included).

Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.backends.vllm import vllm  # noqa: E402
from pytest_tts.estimate.curves import compute_curve, value_at  # noqa: E402
from pytest_tts.estimate.flops import flops_from_config  # noqa: E402
from pytest_tts.estimate.pool import pool_from_samples  # noqa: E402
from pytest_tts.estimate.stats import clopper_pearson_interval  # noqa: E402
from pytest_tts.generate import SampleRequest, load_samples  # noqa: E402
from pytest_tts.spec import Sampling  # noqa: E402
from pytest_tts.store import SampleStore  # noqa: E402
from pytest_tts.strategies.order import best_of_n  # noqa: E402
from pytest_tts.strategies.vote import majority_vote, weighted_vote  # noqa: E402
from pytest_tts.tasks.arith import format_prompt  # noqa: E402
from pytest_tts.types import Problem  # noqa: E402
from pytest_tts.verifiers.exact import exact_match, last_digit  # noqa: E402
from pytest_tts.verifiers.reward import reward_model  # noqa: E402

ORM = ROOT / "models" / "tiny-orm"


def transformers_scores(texts: list[str], batch: int = 512) -> list[float]:
    import torch
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(ORM)
    model = LlamaForSequenceClassification.from_pretrained(ORM, dtype=torch.float32).eval()
    out: list[float] = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            enc = [tokenizer(t)["input_ids"] for t in texts[start : start + batch]]
            width = max(len(e) for e in enc)
            ids = torch.tensor([e + [0] * (width - len(e)) for e in enc])
            logits = model(input_ids=ids, attention_mask=(ids != 0).long()).logits[:, 0]
            out.extend(torch.sigmoid(logits).tolist())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".tts-cache")
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()

    rows = [
        json.loads(line) for line in (ROOT / "data" / "arith-test.jsonl").read_text().splitlines()
    ]
    problems = [
        Problem(id=str(i), prompt=format_prompt(r["question"]), answer=r["answer"])
        for i, r in enumerate(rows[: args.problems])
    ]
    backend = vllm(
        "../models/tiny-arith", base_dir=ROOT / "specs", dtype="float32", max_model_len=64
    )
    sampling = Sampling(n=args.samples, temperature=1.0, max_tokens=40, seed=0)
    request = SampleRequest(backend=backend, problems=tuple(problems), sampling=sampling)
    with SampleStore.in_dir(args.cache_dir) as store:
        by_problem = load_samples(store, request)
    samples = [s for p in problems for s in by_problem[p.id][: args.samples]]
    if len(samples) != args.problems * args.samples:
        sys.exit(f"the store has {len(samples)} of the pool's samples: run `pytest specs/` first")
    by_id = {p.id: p for p in problems}
    items = [(by_id[s.problem_id], s.text) for s in samples]

    orm = reward_model(str(ORM))
    orm.verify(items[:8])  # start the engine outside the timing
    started = time.perf_counter()
    verdicts = orm.verify(items)
    vllm_s = time.perf_counter() - started
    orm.close()
    started = time.perf_counter()
    reference = transformers_scores([p.prompt + c for p, c in items])
    hf_s = time.perf_counter() - started
    diff = float(np.max(np.abs(np.array([v.score for v in verdicts]) - reference)))

    oracle = exact_match(extract="last_number").verify(items)
    units = last_digit().verify(items)
    pool = pool_from_samples(samples, oracle, {"orm": verdicts, "units": units})
    correct = pool.correct
    accepted = pool.accepts("orm")
    wrong = int((~correct).sum())
    false_pos = int((accepted & ~correct).sum())
    low, high = (float(x) for x in clopper_pearson_interval(false_pos, wrong, 0.95))
    right_scores = pool.score("orm")[correct]
    wrong_scores = pool.score("orm")[~correct]
    order = np.argsort(np.concatenate([wrong_scores, right_scores]), kind="stable")
    ranks = np.empty(order.size)
    ranks[order] = np.arange(1, order.size + 1)
    auc = (ranks[wrong_scores.size :].sum() - right_scores.size * (right_scores.size + 1) / 2) / (
        right_scores.size * wrong_scores.size
    )

    flops_fn = flops_from_config(backend.model_config())
    curves = {
        "majority_vote": compute_curve(majority_vote(), pool, flops_fn=flops_fn),
        "best_of_n(orm)": compute_curve(best_of_n("orm"), pool, flops_fn=flops_fn),
        "weighted_vote(orm)": compute_curve(weighted_vote("orm"), pool, flops_fn=flops_fn),
        "best_of_n(last_digit)": compute_curve(best_of_n("units"), pool, flops_fn=flops_fn),
    }
    budgets = [1e8, 2e8, 5e8, 1e9, 2e9, 4e9, 8e9]

    print(f"## Reward model (`bench/reward.py`), {date.today().isoformat()}\n")
    print(
        f"Machine: {platform.machine()}, 2 cores, 24 GiB, shared. Pool: {args.problems} "
        f"problems x {args.samples} samples of tiny-arith (T=1.0, seed 0).\n"
    )
    n = len(items)
    print(
        f"- Scoring {n:,} samples: vLLM pooling {n / vllm_s:,.0f} samples/s, transformers "
        f"(batches of 512) {n / hf_s:,.0f} samples/s: ratio {hf_s / vllm_s:.2f}x; largest "
        f"score difference {diff:.1e}."
    )
    print(
        f"- Against the oracle: FPR {false_pos}/{wrong} = {false_pos / wrong:.3f} "
        f"[{low:.3f}, {high:.3f}] (95% Clopper-Pearson, samples treated as independent), "
        f"TPR {float(accepted[correct].mean()):.3f}, AUC {auc:.3f}."
    )
    per_sample = float(pool.verifier_flops["orm"].mean())
    one = {name: float(c.cost_flops[0]) for name, c in curves.items()}
    print(
        f"- Scoring costs {per_sample:,.0f} FLOPs per sample (mean); one sample costs "
        f"{one['majority_vote']:,.0f} FLOPs to generate, {one['best_of_n(orm)']:,.0f} "
        "with its reward.\n"
    )
    print("| FLOPs per problem | " + " | ".join(curves) + " |")
    print("| --- |" + " --- |" * len(curves))
    for budget in budgets:
        cells = []
        for curve in curves.values():
            value, extrapolated = value_at(curve, "flops", budget)
            cells.append("—" if extrapolated else f"{value:.3f}")
        print(f"| {budget:.0e} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
