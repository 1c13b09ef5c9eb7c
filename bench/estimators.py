"""Exact estimators against a Monte Carlo subsampler: 1,000 problems x 1,024 samples.

Run: ``.venv/bin/python bench/estimators.py [--problems 1000] [--samples 1024]``. Writes its
section of ``bench/RESULTS.md`` (replacing an earlier run's). ``--vote-mc`` instead times the
vote's Monte Carlo fallback against the dense one-hot version it replaced (its own
section; run it with ``--vote-mc --problems 200 --samples 64 --mc-draws 4000``).

The exact side computes whole curves (``compute_curve``: per-problem values, bootstrap
interval, costs) for pass@k and best-of-N on the full grid k = 1..N and maj@k on the default
grid (powers of two and N). The reference is a vectorized Monte Carlo subsampler: R random
permutations per problem, whose first k samples are the k-subset (one permutation serves
every k, which favours the subsampler). It needs R = 1 / (4 eps^2) draws to guarantee a
standard error of at most eps on every per-problem value (the worst-case Bernoulli
variance; the per-problem values are what the paired gates consume). It is timed on a
subset of problems and scaled linearly to all problems and to each eps; its results are
checked against the exact ones in the same run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from pytest_tts.estimate.curves import compute_curve, default_ks
from pytest_tts.estimate.pool import PoolArrays
from pytest_tts.strategies import vote
from pytest_tts.strategies.coverage import pass_at_k
from pytest_tts.strategies.order import best_of_n
from pytest_tts.strategies.vote import majority_vote, vote_monte_carlo

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
QWEN = ROOT / ".." / "shared" / "data" / "qwen_math_cot_100.jsonl"
HEADING = "## Estimators (`bench/estimators.py`)"
VOTE_HEADING = "## Vote Monte Carlo fallback (`bench/estimators.py --vote-mc`)"


def synthetic_pool(p: int, n: int, seed: int) -> PoolArrays:
    """Problems of mixed difficulty: the right answer with probability ~ Beta(1.2, 1.2), the
    rest spread over 1 + Poisson(6) wrong answers with Dirichlet(0.7) shares, 3% with no answer;
    a reward that separates right from wrong with noise; log-normal lengths."""
    rng = np.random.default_rng(seed)
    answers = np.empty((p, n), dtype=np.int64)
    for i in range(p):
        wrong = 1 + rng.poisson(6)
        shares = rng.dirichlet(np.full(wrong, 0.7))
        skill = rng.beta(1.2, 1.2)
        probs = np.concatenate([[0.03, 0.97 * skill], 0.97 * (1 - skill) * shares])
        answers[i] = rng.choice(np.arange(-1, wrong + 1), size=n, p=probs)
    correct = answers == 0
    reward = correct * 1.0 + rng.normal(0, 1.0, size=(p, n))
    tokens = np.maximum(1, rng.lognormal(5.0, 0.5, size=(p, n))).astype(np.int64)
    return PoolArrays(
        tuple(f"s{i}" for i in range(p)),
        correct,
        answers,
        tokens,
        rng.integers(50, 300, size=p),
        scores={"rm": reward},
    )


def mc_pass(
    pool: PoolArrays, rows: np.ndarray, ks: np.ndarray, draws: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = pool.n_samples
    out = np.zeros((rows.size, ks.size))
    for j, row in enumerate(rows):
        perm = np.argsort(rng.random((draws, n)), axis=1)
        hits = pool.correct[row][perm]
        first = np.where(hits.any(axis=1), hits.argmax(axis=1), n)
        out[j] = (first[:, None] < ks[None, :]).mean(axis=0)
    return out


def mc_best(
    pool: PoolArrays, rows: np.ndarray, ks: np.ndarray, draws: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = pool.n_samples
    out = np.zeros((rows.size, ks.size))
    for j, row in enumerate(rows):
        scores = pool.scores["rm"][row]
        by_rank = pool.correct[row][np.argsort(scores, kind="stable")]
        rank = np.argsort(np.argsort(scores, kind="stable"))
        perm = np.argsort(rng.random((draws, n)), axis=1)
        running = np.maximum.accumulate(rank[perm], axis=1)[:, ks - 1]
        out[j] = by_rank[running].mean(axis=0)
    return out


def mc_majority(
    pool: PoolArrays, rows: np.ndarray, ks: np.ndarray, draws: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = pool.n_samples
    out = np.zeros((rows.size, ks.size))
    for j, row in enumerate(rows):
        codes = pool.answers[row] + 1  # 0 = no answer
        m = int(codes.max()) + 1
        right = np.bincount(codes, weights=pool.correct[row], minlength=m) / np.maximum(
            np.bincount(codes, minlength=m), 1
        )
        perm = np.argsort(rng.random((draws, n)), axis=1)
        drawn = codes[perm]
        offsets = (np.arange(draws) * m)[:, None]
        for i, k in enumerate(ks):
            counts = np.bincount((drawn[:, :k] + offsets).ravel(), minlength=draws * m)
            counts = counts.reshape(draws, m).astype(np.float64)
            counts[:, 0] = 0  # blanks never win
            top = counts.max(axis=1, keepdims=True)
            tied = (counts == top) & (top > 0)
            pick = np.argmax(tied * (1 + rng.random(tied.shape)), axis=1)
            out[j, i] = np.where(top[:, 0] > 0, right[pick], 0.0).mean()
    return out


def timed(fn, *args):  # type: ignore[no-untyped-def]
    # CPU seconds of this process: other jobs share the two cores, and wall time swung by 2x.
    start = time.process_time()
    value = fn(*args)
    return value, time.process_time() - start


def qwen_table() -> str:
    if not QWEN.exists():
        return "The shared Qwen2.5-Math sample file is absent; its table is left out.\n"
    from pytest_tts.estimate.io import read_pool, read_records

    pool = read_pool(QWEN)
    records = read_records(QWEN)
    ks = np.arange(1, 9)
    pa = pass_at_k().per_problem(pool, ks).mean(0)
    mv = majority_vote().per_problem(pool, ks).mean(0)
    bo = best_of_n("reward").per_problem(pool, ks).mean(0)
    readme = {1: (0.910, 0.900, 0.900), 2: (0.933, 0.900, 0.930), 4: (0.951, 0.930, 0.930),
              8: (0.960, 0.930, 0.940)}  # fmt: skip
    rows = []
    for k in (1, 2, 4, 8):
        first_k = [f"{x:.3f}" for x in readme[k]]
        rows.append([k, f"{pa[k - 1]:.4f}", first_k[0], f"{mv[k - 1]:.4f}", first_k[1],
                     f"{bo[k - 1]:.4f}", first_k[2]])  # fmt: skip
    table = tabulate(
        rows,
        headers=[
            "k",
            "pass@k",
            "README pass@k",
            "maj@k (exact)",
            "README maj@first-k",
            "best-of-k reward (exact)",
            "README best-of-first-k",
        ],
        tablefmt="github",
        disable_numparse=True,
    )
    return (
        f"Real samples ({len(records)} MATH problems x 8, `../shared/data/qwen_math_cot_100.jsonl`;"
        " reward = last element of each `pred_score` list; maj@k votes on whitespace-stripped"
        " `pred` strings, ties at random):\n\n" + table + "\n"
    )


def dense_vote_monte_carlo(
    codes: np.ndarray,
    correct: np.ndarray,
    weights: np.ndarray | None,
    ks: np.ndarray,
    draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The reference: the fallback as it was, three dense (draws, N, classes) one-hot arrays
    summed along each permutation, ties broken by a random draw."""
    n = codes.size
    valid = codes >= 0
    _, inverse = np.unique(np.where(valid, codes, codes.max() + 1), return_inverse=True)
    m = int(inverse.max()) + 1
    weight = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    weight = np.where(valid, weight, 0.0)
    present = np.where(valid, 1.0, 0.0)
    batch = max(1, min(draws, int(2e6 // max(1, n * m))))
    outcomes = np.zeros((draws, ks.size))
    done = 0
    while done < draws:
        size = min(batch, draws - done)
        perm = np.argsort(rng.random((size, n)), axis=1)
        onehot = np.zeros((size, n, m))
        cls = inverse[perm]
        rows = np.arange(size)[:, None]
        cols = np.arange(n)[None, :]
        onehot[rows, cols, cls] = weight[perm]
        members = np.zeros((size, n, m))
        members[rows, cols, cls] = present[perm]
        hits = np.zeros((size, n, m))
        hits[rows, cols, cls] = present[perm] * np.asarray(correct, dtype=np.float64)[perm]
        totals = np.cumsum(onehot, axis=1)[:, ks - 1, :]
        counts = np.cumsum(members, axis=1)[:, ks - 1, :]
        right = np.cumsum(hits, axis=1)[:, ks - 1, :]
        counts_safe = np.where(counts > 0, counts, 1.0)
        score = np.where(counts > 0, totals, -np.inf)
        best = score.max(axis=2, keepdims=True)
        tie = (score == best) & (counts > 0)
        pick = np.argmax(tie * (1.0 + rng.random(tie.shape)), axis=2)[..., None]
        chosen = np.take_along_axis(right / counts_safe, pick, axis=2)[..., 0]
        anything = np.take_along_axis(tie, pick, axis=2)[..., 0]
        outcomes[done : done + size] = np.where(anything, chosen, 0.0)
        done += size
    return outcomes.mean(axis=0), outcomes.std(axis=0, ddof=1) / math.sqrt(draws)


def vote_pool(p: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p problems x n samples: 2-8 answer classes a row (class 0 right), 5% blanks, weights
    uniform on (0, 1) like a reward model's sigmoid."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(2, 9, size=p)
    codes = (rng.random((p, n)) * classes[:, None]).astype(np.int64)
    codes[rng.random((p, n)) < 0.05] = -1
    return codes, (codes == 0).astype(np.float64), rng.uniform(0.01, 1.0, size=(p, n))


def vote_mc_section(problems: int, samples: int, draws: int, seed: int) -> str:
    codes, correct, weights = vote_pool(problems, samples, seed)
    rng = np.random.default_rng(seed + 1)
    noisy = np.where(rng.random(correct.shape) < 0.05, 1.0 - correct, correct)
    zeroed = np.where(rng.random(weights.shape) < 0.1, 0.0, weights)
    cases = [
        ("weights > 0, each class all right or all wrong", problems, correct, weights),
        ("majority (weights = 1)", problems // 4, correct, None),
        ("5% of samples disagree with their class", problems // 4, noisy, weights),
        ("10% of weights are 0", problems // 4, correct, zeroed),
    ]
    rows = []
    for label, count, right, w in cases:
        results = {}
        for name, fn in (("dense", dense_vote_monte_carlo), ("new", vote_monte_carlo)):
            for ks in (np.arange(1, samples + 1), np.array([2, 4, 8, 16])):
                generator = np.random.default_rng(seed)

                def run(fn=fn, ks=ks, generator=generator, right=right, w=w, count=count):  # type: ignore[no-untyped-def]
                    return [
                        fn(codes[i], right[i], None if w is None else w[i], ks, draws, generator)
                        for i in range(count)
                    ]

                out, seconds = timed(run)
                mean = np.array([o[0] for o in out])
                se = np.array([o[1] for o in out])
                results[name, ks.size] = (mean, se, seconds)
        for width in (samples, 4):
            dense, new = results["dense", width], results["new", width]
            both = np.sqrt(dense[1] ** 2 + new[1] ** 2)
            noisy_cells = both > 1e-9  # elsewhere both are exact up to float rounding
            z = np.abs(new[0] - dense[0])[noisy_cells] / both[noisy_cells]
            se_ratio = new[1][dense[1] > 0].mean() / dense[1][dense[1] > 0].mean()
            rows.append(
                [label, count, f"1..{samples}" if width == samples else "2, 4, 8, 16",
                 f"{dense[2]:.2f}", f"{new[2]:.2f}", f"{dense[2] / new[2]:.1f}x",
                 f"{z.max():.2f}", f"{se_ratio:.3f}"]
            )  # fmt: skip
            print(rows[-1], flush=True)
    curve_line = weighted_curve_line(codes, correct, weights, draws, seed)
    print(curve_line, flush=True)
    table = tabulate(
        rows,
        headers=[
            "pool",
            "problems",
            "ks",
            "dense (s)",
            "new (s)",
            "speed-up",
            "max |z|",
            "SE new / dense",
        ],
        tablefmt="github",
        disable_numparse=True,
    )
    return f"""{VOTE_HEADING}

Machine: 2-core x86_64 CPU, 24 GiB, shared with other jobs; date 2026-11-22; Python
{platform.python_version()}, numpy {np.__version__}. `vote_monte_carlo` (the fallback of
`weighted_vote` beyond 256 subsets and of `majority_vote` beyond the exact-work limit) against
the dense version it replaced, copied into the benchmark, in the same run on the same synthetic
problems: N = {samples} samples, 2-8 answer classes a row, 5% blanks, weights uniform on
(0.01, 1); {draws} draws per problem, every k at once or four ks. Seconds are CPU time of the
benchmark process for all the problems listed. The new version counts class totals with one
`bincount` per quantity over (budget, class, draw) cells and running sums in place over the
budgets, in batches of about 1e5 cells, and averages tied top classes instead of drawing one.
max |z|: the largest |new - dense| over all problems and ks in units of their joint standard
error, where that is above 1e-9 (at k = N both are exact up to float rounding); it is sampling
noise only, as both estimators have the same expectation (near 4 is what the largest of
thousands of standard normal deviates reaches). SE new / dense: the mean
reported standard error of the new version over the dense one's (below 1 where top classes tie).

{table}

{curve_line}
"""


def weighted_curve_line(
    codes: np.ndarray, correct: np.ndarray, weights: np.ndarray, draws: int, seed: int
) -> str:
    """A whole `weighted_vote` curve (every k, bootstrap, costs) with either fallback."""
    from pytest_tts.strategies import vote

    p, n = codes.shape
    pool = PoolArrays(
        tuple(f"q{i}" for i in range(p)),
        correct > 0.5,
        codes,
        np.ones((p, n), dtype=np.int64),
        np.ones(p, dtype=np.int64),
        scores={"rm": weights},
    )
    strategy = vote.weighted_vote("rm", draws=draws, seed=seed)
    ks = np.arange(1, n + 1)
    seconds = {}
    for name, fn in (("dense", dense_vote_monte_carlo), ("new", vote_monte_carlo)):
        vote.vote_monte_carlo = fn
        try:
            _, seconds[name] = timed(lambda: compute_curve(strategy, pool, ks, seed=1))
        finally:
            vote.vote_monte_carlo = vote_monte_carlo
    return (
        f"A whole curve, `compute_curve(weighted_vote(verifier = rm, draws = {draws}))` on the"
        f" first pool ({p} x {n}, every k, enumeration where at most 256 subsets): dense"
        f" {seconds['dense']:.2f} s, new {seconds['new']:.2f} s,"
        f" {seconds['dense'] / seconds['new']:.1f}x."
    )


def vote_mc_main(args: argparse.Namespace) -> None:
    body = vote_mc_section(args.problems, args.samples, args.mc_draws, args.seed)
    print(body)
    if not args.no_write:
        existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        start = existing.find(VOTE_HEADING)
        if start >= 0:
            end = existing.find("\n## ", start + len(VOTE_HEADING))
            existing = existing[:start] + (existing[end + 1 :] if end >= 0 else "")
        RESULTS.write_text(existing.rstrip("\n") + "\n\n" + body)


PREVIOUS = "5f21e03"  # the last commit with the numpy (uncompiled) circle evaluation


def previous_majority_seconds(pool: PoolArrays, ks: np.ndarray) -> tuple[float, float] | None:
    """CPU seconds of maj@k with the evaluation as of ``PREVIOUS`` (read from git) on the
    same pool, and the largest difference from today's values; None outside a git checkout."""
    import importlib.util
    import subprocess
    import sys
    import tempfile

    from pytest_tts.strategies.vote import answer_classes

    try:
        source = subprocess.run(
            ["git", "show", f"{PREVIOUS}:pytest_tts/strategies/majority.py"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "majority_previous.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("majority_previous", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["majority_previous"] = module
        spec.loader.exec_module(module)
    start = time.process_time()
    values = np.stack(
        [
            module.majority_circle(
                *answer_classes(pool.answers[r], pool.correct[r]), pool.n_samples, ks
            )
            for r in range(pool.n_problems)
        ]
    )
    seconds = time.process_time() - start
    vote._exact_majority.cache_clear()
    today = majority_vote().per_problem(pool, ks)
    return seconds, float(np.abs(values - today).max())


def compile_seconds() -> float:
    """Seconds to build the majority estimator's compiled loops from scratch, in a fresh
    process with numba's on-disk cache bypassed (the checkout's cache is left alone)."""
    import subprocess
    import sys

    code = """
import time
import numpy as np
from numba.core.caching import NullCache
from pytest_tts.strategies import majority
for name in dir(majority):
    if hasattr(getattr(majority, name), "_cache"):
        getattr(majority, name)._cache = NullCache()
start = time.perf_counter()
majority.majority_circle(np.array([5, 3, 2]), np.array([1.0, 0.0, 0.0]), 12, np.array([1, 4, 12]))
print(time.perf_counter() - start)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


def rejudge_line(pool: PoolArrays, ks: np.ndarray, small: PoolArrays) -> str:
    """Majority-vote curves re-judged after every adaptive round (the rounds of
    ``run.adaptive.round_sizes``), with the per-problem memo and with it cleared each round."""
    from pytest_tts.run.adaptive import round_sizes
    from pytest_tts.strategies import vote

    def rounds(p: PoolArrays, budgets: np.ndarray, forget: bool) -> float:
        vote._exact_majority.cache_clear()
        start = time.process_time()
        for used in round_sizes(p.n_problems):
            if forget:
                vote._exact_majority.cache_clear()
            majority_vote().estimate(p.subset(range(used)), budgets)
        return time.process_time() - start

    cold, warm = rounds(pool, ks, True), rounds(pool, ks, False)
    sizes = round_sizes(pool.n_problems)
    small_ks = np.asarray(default_ks(small.n_samples))
    small_s = rounds(small, small_ks, False)
    return (
        f"Re-judging after every adaptive round ({len(sizes)} rounds: {sizes[0]}, {sizes[1]},"
        f" ... {sizes[-1]} problems) costs {cold:.2f} s in all when each round recomputes"
        f" every problem seen, {warm:.2f} s with the memo (a problem whose answer classes did"
        f" not change is not recomputed), {warm / cold:.2f}x. At the bundled model's"
        f" scale ({small.n_problems} problems x {small.n_samples} samples) all rounds together"
        f" take {small_s:.2f} s, against about {small.n_problems * small.n_samples / 440:.0f} s"
        f" to generate those samples at the bundled model's 440 samples/s on this machine."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--mc-problems", type=int, default=20)
    parser.add_argument("--mc-draws", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--vote-mc", action="store_true", help="time the vote's Monte Carlo")
    args = parser.parse_args()
    if args.vote_mc:
        vote_mc_main(args)
        return
    pool = synthetic_pool(args.problems, args.samples, args.seed)
    n = args.samples
    full = np.arange(1, n + 1)
    grid = default_ks(n)
    exact = {}
    for name, strategy, ks in [
        ("pass@k", pass_at_k(), full),
        ("best-of-N (reward)", best_of_n("rm"), full),
        ("maj@k", majority_vote(), grid),
    ]:
        vote._exact_majority.cache_clear()  # each timing computes from scratch
        _, estimator_s = timed(strategy.estimate, pool, ks)
        vote._exact_majority.cache_clear()
        curve, seconds = timed(lambda s=strategy, k=ks: compute_curve(s, pool, k, seed=1))
        exact[name] = (curve, estimator_s, seconds, ks)
        print(f"exact {name}: {estimator_s:.2f} s, curve {seconds:.2f} s", flush=True)
    rows_mc = np.arange(args.mc_problems)
    eps_levels = [0.01, 0.003, 0.001]
    table = []
    checks = []
    ratios: dict[str, list[float]] = {}
    for name, fn in [("pass@k", mc_pass), ("best-of-N (reward)", mc_best), ("maj@k", mc_majority)]:
        curve, exact_s, curve_s, ks = exact[name]
        est, mc_s = timed(fn, pool, rows_mc, ks, args.mc_draws, args.seed)
        per_draw_problem = mc_s / (args.mc_draws * rows_mc.size)
        truth = curve.per_problem[rows_mc]
        se_bound = 0.5 / math.sqrt(args.mc_draws)
        checks.append((name, float(np.abs(est - truth).max() / se_bound)))
        row = [name, f"{ks.size}", f"{exact_s:.2f}", f"{curve_s:.2f}"]
        for eps in eps_levels:
            draws = math.ceil(0.25 / eps**2)
            mc_total = per_draw_problem * draws * args.problems
            row += [f"{mc_total:,.0f}", f"{mc_total / exact_s:,.0f}x"]
            ratios.setdefault(name, []).append(mc_total / exact_s)
        table.append(row)
        print(row, flush=True)
    meets = [eps for eps, r in zip(eps_levels, ratios["maj@k"], strict=True) if r >= 50]
    target = (
        f"the 50x target holds for eps <= {max(meets)} per problem, not at looser precision"
        if meets and max(meets) < eps_levels[0]
        else "the 50x target holds at every precision shown"
        if meets
        else "the 50x target is missed at every precision shown"
    )
    maj_s = exact["maj@k"][1]
    vote._exact_majority.cache_clear()
    _, every_k_s = timed(majority_vote().estimate, pool, full)
    print(f"maj@k at every k: {every_k_s:.2f} s", flush=True)
    compile_s = compile_seconds()
    goal = f"met, {maj_s:.2f} s" if maj_s <= 2.0 else f"missed, {maj_s:.2f} s"
    previous = previous_majority_seconds(pool, grid)
    before = (
        "the evaluation as of the previous release is not in this checkout's history"
        if previous is None
        else f"the numpy evaluation as of {PREVIOUS} took {previous[0]:.2f} s on the same pool in"
        f" this run, {previous[0] / maj_s:.1f}x as long, largest difference {previous[1]:.1e}"
    )
    print(before, flush=True)
    rejudge = rejudge_line(pool, grid, synthetic_pool(args.problems, 8, args.seed))
    print(rejudge, flush=True)
    headers = ["strategy", "budgets k", "exact values (s)", "whole curve (s)"]
    for eps in eps_levels:
        headers += [f"MC eps={eps} (s)", "ratio"]
    text = tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)
    check_text = ", ".join(f"{n_}: {v:.2f}" for n_, v in checks)
    body = f"""{HEADING}

Machine: 2-core x86_64 CPU, 24 GiB, no GPU (load average {os.getloadavg()[0]:.1f} when this
finished); date {datetime.date.today()}; Python {platform.python_version()}, numpy
{np.__version__}. Synthetic pools: {args.problems} problems
x {n} samples (seed {args.seed}): right-answer rate ~ Beta(1.2, 1.2), 1 + Poisson(6) wrong
answers with Dirichlet(0.7) shares, 3% blanks, reward = correct + N(0, 1).

Exact: the strategy's per-problem values (`Strategy.estimate`; the ratio uses this time) and,
beside it, the whole curve from `compute_curve` (values plus a 2,000-resample bootstrap
interval over problems and costs); pass@k and best-of-N on every k = 1..{n}, maj@k on the
default grid (k = 1, 2, 4, ..., {n}; its generating-function evaluation costs more per
budget). Reference: a vectorized Monte Carlo subsampler (one random permutation per draw
serves all k), timed on {rows_mc.size} problems x {args.mc_draws} draws and scaled linearly to
{args.problems} problems and to R = 1/(4 eps^2) draws, the number that guarantees a standard
error <= eps on every per-problem value. Same run, same pool. Largest |MC - exact| over the
timed problems and budgets, in units of the MC standard-error bound 0.5/sqrt(R):
{check_text} (sampling noise only; the exact values match brute-force enumeration in
`tests/estimate`).

{text}

Reading: subsampling cost grows as 1/eps^2 while the exact values carry float error only
(about 1e-12 for maj@k, less for the others), so each ratio depends on the precision asked of
the subsampler, here per problem because the gates pair per-problem values. pass@k (a running
product) and best-of-N (one matrix product over order statistics) beat even the loosest
subsampler by {min(ratios["pass@k"][0], ratios["best-of-N (reward)"][0]):,.0f}x or more.
maj@k is {ratios["maj@k"][0]:,.0f}x / {ratios["maj@k"][1]:,.0f}x / {ratios["maj@k"][2]:,.0f}x
faster at eps = 0.01 / 0.003 / 0.001 ({target}). Its exact evaluation costs
{1000 * exact["maj@k"][1] / args.problems:.0f} ms per problem at N = {n} over {grid.size}
budgets, most of it at k = 64..512; the goal for all budgets is 2 s ({goal}). At every
k = 1..{n} (the windows of nearby budgets share a circle) it takes {every_k_s:.2f} s. Before the
compiled evaluation: {before}. The compiled loops are built once per checkout and kept in
numba's cache beside the module: building them took {compile_s:.1f} s (in a fresh process,
cache bypassed); loading them from the cache is part of the first call of every process.
Seconds are CPU time of the benchmark process; the same code's time moved by up to 2x
between runs on this machine, so compare only within a run.

{rejudge}

{qwen_table()}"""
    print(body)
    if not args.no_write:
        existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        start = existing.find(HEADING)
        if start >= 0:
            end = existing.find("\n## ", start + len(HEADING))
            existing = existing[:start] + (existing[end + 1 :] if end >= 0 else "")
        RESULTS.write_text(existing.rstrip("\n") + "\n\n" + body)
    print(json.dumps({k: [v[1], v[2]] for k, v in exact.items()}))


if __name__ == "__main__":
    main()
