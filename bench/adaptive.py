"""Adaptive thresholds by simulation: wrong decisions and the share of problems used.

The gate of ``--tts-adaptive`` (:func:`pytest_tts.gates.adaptive.check_adaptive_threshold`)
is run round by round, exactly as the engine runs it: problems in random order, rounds of
32, 64, 128, ... problems up to the dataset's size, a confidence sequence at 0.95 after each
round, the fixed gate (a one-sided 0.95 bootstrap bound on the whole dataset, as
``check_threshold``) when the dataset is exhausted undecided.

Per-problem values come from three populations, each resampled to a 1,000-problem dataset
per run:

- synthetic: one sample per problem, right with probability 0.6 (Bernoulli, the widest);
- the bundled model: per-problem majority-vote accuracy at k = 8 from its 200 x 64 pool
  (``specs/addition.tts``'s, read from the store or generated);
- Qwen2.5-Math on MATH (``../shared/data``): per-problem single-sample accuracy over its 8
  labelled samples (skipped when the file is absent).

For each, the claim ``metric >= v`` with v at the population mean (true at the boundary)
and at distances 0.02, 0.05, 0.10 below (true claim) and above (false claim). Reported: the
rate of wrong early decisions (an early fail of a true claim, an early pass of a false one:
what the confidence sequence bounds by 0.05) with its 95% Clopper-Pearson interval, how
often the run stopped early either way, how often the item passed in the end (undecided
runs end with the fixed gate, whose pass rate at the boundary is its size, about 0.05), and
the mean share of problems used.

Run: ``python bench/adaptive.py [--runs 1000] [--write]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.stats import binomtest
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.gates.adaptive import check_adaptive_threshold  # noqa: E402
from pytest_tts.gates.threshold import check_threshold  # noqa: E402
from pytest_tts.run.adaptive import round_sizes  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "qwen_math_cot_100.jsonl"
DATASET = 1000
DISTANCES = (0.0, 0.02, 0.05, 0.10)


def _wrong_cell(wrong: int, runs: int) -> str:
    """The rate of wrong early decisions with its exact 95% interval."""
    ci = binomtest(wrong, runs).proportion_ci(0.95, method="exact")
    return f"{wrong / runs:.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def populations() -> dict[str, np.ndarray]:
    """Per-problem values of each population (one value per problem, in [0, 1])."""
    out: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(0)
    out["synthetic Bernoulli(0.6)"] = (rng.random(100_000) < 0.6).astype(float)
    sys.path.insert(0, str(ROOT / "bench"))
    from real_data import bundled_pool

    from pytest_tts.estimate.curves import compute_curve
    from pytest_tts.strategies.vote import majority_vote

    pool = bundled_pool()
    curve = compute_curve(majority_vote(), pool, [8])
    out["bundled tiny-arith, majority@8"] = np.asarray(curve.per_problem[:, 0])
    if SHARED.is_file():
        records = [json.loads(line) for line in SHARED.read_text().splitlines() if line.strip()]
        out["Qwen2.5-Math MATH, single sample"] = np.array(
            [float(np.mean([bool(x) for x in r["score"]])) for r in records]
        )
    return out


def run_once(values: np.ndarray, threshold: float, seed: int) -> tuple[bool, int, bool]:
    """One adaptive run on a dataset resampled from ``values``: (passed, problems used,
    decided before the end)."""
    rng = np.random.default_rng(seed)
    data = rng.choice(values, size=DATASET, replace=True)[:, None]
    for used in round_sizes(DATASET):
        if used == DATASET:
            break
        result = check_adaptive_threshold(
            data[:used], [1], op=">=", value=threshold, confidence=0.95, problems_total=DATASET
        )
        if result.decided:
            return result.passed, used, True
    fixed = check_threshold(
        data, [1], [1.0], op=">=", value=threshold, confidence=0.95, resamples=500, seed=seed
    )
    return bool(fixed.passed), DATASET, False


def table(runs: int) -> str:
    rows = []
    for name, values in populations().items():
        truth = float(values.mean())
        for distance in DISTANCES:
            sides = (
                [("at the mean", 0.0)]
                if distance == 0
                else [("below", -distance), ("above", distance)]
            )
            for side, shift in sides:
                threshold = truth + shift
                claim_true = threshold <= truth
                wrong = used = early_pass = early_fail = passes = 0
                started = time.perf_counter()
                for seed in range(runs):
                    passed, n, stopped = run_once(values, threshold, seed)
                    passes += passed
                    used += n
                    early_pass += stopped and passed
                    early_fail += stopped and not passed
                    # the anytime-valid guarantee: no early fail of a true claim (the
                    # boundary included), no early pass of a false one
                    wrong += stopped and passed != claim_true
                rows.append(
                    [
                        name,
                        f"{truth:.3f}",
                        f"{threshold:.3f} ({side}{'' if distance == 0 else f' by {distance:g}'})",
                        "true" if claim_true else "false",
                        _wrong_cell(wrong, runs),
                        f"{early_pass / runs:.3f} / {early_fail / runs:.3f}",
                        f"{passes / runs:.3f}",
                        f"{used / runs / DATASET:.3f}",
                        f"{(time.perf_counter() - started) / runs * 1000:.1f}",
                    ]
                )
    return tabulate(
        rows,
        headers=[
            "population",
            "mean",
            "threshold v (claim: >= v)",
            "claim",
            "wrong early decisions (95% CI; <= 0.05)",
            "early pass / early fail",
            "passed in the end",
            "share of problems used",
            "ms per run",
        ],
        tablefmt="github",
    )


def _early(decide: object, data: tuple[np.ndarray, ...]) -> tuple[bool, bool, int]:
    """Run an adaptive gate round by round: (decided early, passed, problems used)."""
    for used in round_sizes(DATASET):
        if used == DATASET:
            break
        result = decide(*(d[:used] for d in data))  # type: ignore[operator]
        if result.decided:
            return True, bool(result.passed), used
    return False, False, DATASET


def other_kinds(runs: int) -> str:
    """Comparisons, verifier rates and regressions on synthetic pools, at the boundary of
    their claim and 0.05 / 0.10 from it."""
    from pytest_tts.gates.adaptive import (
        check_adaptive_comparison,
        check_adaptive_rate,
        check_adaptive_regression,
    )

    rows = []
    for gap in (0.0, 0.05, 0.10):
        for kind in ("comparison", "rate", "regression"):
            wrong = early = used_total = 0
            started = time.perf_counter()
            for seed in range(runs):
                rng = np.random.default_rng(seed)
                if kind == "comparison":
                    # claim: left >= right at k = 1, 2; true by `gap` at both (tight at 0)
                    left = (rng.random((DATASET, 2)) < [0.6 + gap, 0.6 + gap]).astype(float)
                    right = (rng.random((DATASET, 2)) < [0.6, 0.6]).astype(float)

                    def decide(a: np.ndarray, b: np.ndarray) -> object:
                        return check_adaptive_comparison(
                            a, b, [1, 2], op=">=", confidence=0.95, problems_total=DATASET
                        )

                    data: tuple[np.ndarray, ...] = (left, right)
                    truth = True
                elif kind == "rate":
                    # claim: FPR <= 0.2; the verifier's FPR is 0.2 - gap
                    trials = rng.integers(0, 9, DATASET)
                    errors = rng.binomial(trials, 0.2 - gap)

                    def decide(e: np.ndarray, t: np.ndarray) -> object:
                        return check_adaptive_rate(
                            e, t, op="<=", value=0.2, confidence=0.95, problems_total=DATASET
                        )

                    data = (errors, trials)
                    truth = True
                else:
                    # claim: no drop beyond 0.05; the true drop is 0.05 + gap (a regression)
                    base = (rng.random((DATASET, 2)) < 0.7).astype(float)
                    cur = (rng.random((DATASET, 2)) < 0.65 - gap).astype(float)

                    def decide(c: np.ndarray, b: np.ndarray) -> object:
                        return check_adaptive_regression(
                            c, b, [1, 2], tolerance=0.05, confidence=0.95, problems_total=DATASET
                        )

                    data = (cur, base)
                    truth = gap == 0  # a drop of exactly the tolerance is no regression
                stopped, passed, used = _early(decide, data)
                early += stopped
                wrong += stopped and passed != truth
                used_total += used
            claim = {
                "comparison": f"left >= right at k = 1, 2; true, by {gap:g} at both",
                "rate": f"FPR <= 0.2; true FPR {0.2 - gap:.2f}",
                "regression": f"no drop beyond 0.05; true drop {0.05 + gap:.2f}"
                + (" (at the boundary: true)" if gap == 0 else " (regressed: false)"),
            }[kind]
            rows.append(
                [
                    kind,
                    claim,
                    _wrong_cell(wrong, runs),
                    f"{early / runs:.3f}",
                    f"{used_total / runs / DATASET:.3f}",
                    f"{(time.perf_counter() - started) / runs * 1000:.1f}",
                ]
            )
    return tabulate(
        rows,
        headers=[
            "gate",
            "claim and truth",
            "wrong early decisions (95% CI; <= 0.05)",
            "decided early",
            "share of problems used",
            "ms per run",
        ],
        tablefmt="github",
    )


def matched_cost_rows(runs: int) -> str:
    """Comparisons at matched tokens, decided as the engine does: the first round's
    problems fix each curve's mean costs, later rounds decide on the problems after them.

    Each problem's samples cost T tokens each, T ~ LogNormal(log 100, 0.5) for the left
    strategy and 1.5x that for the right one (so its k-th point costs more); a k-sample
    point costs k * T. Accuracy is f(C) = 0.3 + 0.1 log2(C / 100) at cost C for both,
    plus ``gap`` for the left one; per-problem values are Bernoulli draws at k = 1, 2, 4, 8.
    f is linear in log cost, so at the true mean costs left - right = gap at every matched
    cost: the claim ``left >= right`` is true for gap >= 0 (at the boundary for 0) and false
    below. Wrong decisions are counted against that truth, so they include the error of
    matching on the pilot's costs.
    """
    from pytest_tts.gates.adaptive import check_adaptive_matched_cost

    ks = np.array([1, 2, 4, 8])
    pilot = round_sizes(DATASET)[0]
    rows = []
    for gap in (-0.10, -0.05, 0.0, 0.05, 0.10):
        wrong = early = used_total = 0
        truth = gap >= 0
        started = time.perf_counter()
        for seed in range(runs):
            rng = np.random.default_rng(10_000 + seed)
            t_left = rng.lognormal(np.log(100.0), 0.5, DATASET)
            t_right = 1.5 * rng.lognormal(np.log(100.0), 0.5, DATASET)
            mean_left, mean_right = 100.0 * np.exp(0.125) * ks, 150.0 * np.exp(0.125) * ks
            acc_left = 0.3 + 0.1 * np.log2(mean_left / 100) + gap
            acc_right = 0.3 + 0.1 * np.log2(mean_right / 100)
            left = (rng.random((DATASET, ks.size)) < acc_left).astype(float)
            right = (rng.random((DATASET, ks.size)) < acc_right).astype(float)
            lc, rc = t_left[:pilot].mean() * ks, t_right[:pilot].mean() * ks

            def decide(
                a: np.ndarray, b: np.ndarray, lc: np.ndarray = lc, rc: np.ndarray = rc
            ) -> object:
                got = check_adaptive_matched_cost(
                    a, lc, b, rc, pilot=pilot, op=">=", confidence=0.95, unit="tokens",
                    problems_total=DATASET,
                )  # fmt: skip
                return got if got is not None else _Open()

            stopped, passed, used = _early(decide, (left, right))
            early += stopped
            wrong += stopped and passed != truth
            used_total += used
        rows.append(
            [
                f"{gap:+.2f}",
                "true" + (" (boundary)" if gap == 0 else "") if truth else "false",
                _wrong_cell(wrong, runs),
                f"{early / runs:.3f}",
                f"{used_total / runs / DATASET:.3f}",
                f"{(time.perf_counter() - started) / runs * 1000:.1f}",
            ]
        )
    return tabulate(
        rows,
        headers=[
            "left - right at matched tokens",
            "claim left >= right",
            "wrong early decisions (95% CI; <= 0.05)",
            "decided early",
            "share of problems used",
            "ms per run",
        ],
        tablefmt="github",
    )


def samples_per_problem_rows(runs: int, subsets: int = 100) -> str:
    """A gate at k = 8 on the bundled model's 64-sample pool, decided from 8 samples a
    problem (what adaptive rounds read for such a gate), from 16 or 32, or from all 64.

    Either way each problem's value is an unbiased estimate of its majority@8 accuracy: with
    8 samples the vote of those 8 (0 or 1, ties at random), with more the mean over every
    8-subset of them. Datasets of 1,000 problems resampled from the pool's 200, each drawing a fresh
    random 8-subset; thresholds at the mean and 0.05 / 0.10 from it.
    """
    sys.path.insert(0, str(ROOT / "bench"))
    from real_data import bundled_pool

    from pytest_tts.estimate.pool import PoolArrays
    from pytest_tts.strategies.vote import majority_vote

    pool = bundled_pool()
    p, n = pool.n_problems, pool.n_samples
    whole = majority_vote().per_problem(pool, [8])[:, 0]
    rng = np.random.default_rng(1)
    order = np.argsort(rng.random((p, subsets, n)), axis=2)
    rows_idx = np.arange(p)[:, None, None]
    fewer = {}  # samples a problem -> its majority@8 estimate from that many, per subset
    for m in (8, 16, 32):
        picks = order[:, :, :m]
        small = PoolArrays(
            tuple(f"{i}/{j}" for i in range(p) for j in range(subsets)),
            pool.correct[rows_idx, picks].reshape(p * subsets, m),
            pool.answers[rows_idx, picks].reshape(p * subsets, m),
            pool.completion_tokens[rows_idx, picks].reshape(p * subsets, m),
            np.repeat(pool.prompt_tokens, subsets),
        )
        fewer[m] = majority_vote().per_problem(small, [8])[:, 0].reshape(p, subsets)
    truth = float(whole.mean())
    rows = []
    for shift in (-0.10, -0.05, 0.0, 0.05, 0.10):
        threshold = truth + shift
        claim_true = threshold <= truth
        for per_problem in (8, 16, 32, n):
            label = f"{per_problem} of {n}"
            wrong = early = used_total = 0
            for seed in range(runs):
                draw = np.random.default_rng(seed)
                problems = draw.integers(0, p, DATASET)
                values = (
                    fewer[per_problem][problems, draw.integers(0, subsets, DATASET)]
                    if per_problem < n
                    else whole[problems]
                )[:, None]

                def decide(v: np.ndarray, threshold: float = threshold) -> object:
                    return check_adaptive_threshold(
                        v, [8], op=">=", value=threshold, confidence=0.95, problems_total=DATASET
                    )

                stopped, passed, used = _early(decide, (values,))
                early += stopped
                wrong += stopped and passed != claim_true
                # an undecided run reads every problem, all n of them (the fixed gate)
                used_total += used * per_problem if stopped else DATASET * n
            rows.append(
                [
                    f"{threshold:.3f} ({shift:+.2f})",
                    "true" if claim_true else "false",
                    label,
                    _wrong_cell(wrong, runs),
                    f"{early / runs:.3f}",
                    f"{used_total / runs / (DATASET * n):.3f}",
                ]
            )
    return f"majority@8 of the bundled pool: mean {truth:.3f}\n\n" + tabulate(
        rows,
        headers=[
            "threshold v (claim >= v)",
            "claim",
            "samples a problem",
            "wrong early decisions (95% CI; <= 0.05)",
            "decided early",
            "samples read / fixed run",
        ],
        tablefmt="github",
    )


def real_populations() -> dict[str, dict[str, np.ndarray]]:
    """Per-problem values of real pools for the comparison, regression and rate rows.

    ``a``/``b``: each problem's single-sample accuracy on two disjoint halves of its samples
    (the bundled pool's 2 x 32; the Qwen file's 2 x 4 labelled samples); ``errors`` and
    ``trials``: each problem's wrong answers a verifier accepts, and its wrong answers
    (the bundled pool's ``last_digit``; the Qwen file's own reward at >= 0, a logit).
    """
    sys.path.insert(0, str(ROOT / "bench"))
    from real_data import POOL_SPEC, bundled_pool

    spec = POOL_SPEC.replace(
        "verifier exact = exact_match(extract = last_number)\n",
        "verifier exact = exact_match(extract = last_number)\nverifier units = last_digit()\n",
    ).replace(
        "expect coverage >= 0.0 at n = 64",
        "expect coverage >= 0.0 at n = 64\n    expect false_positive_rate(units) <= 1.0",
    )
    pool = bundled_pool(spec)
    correct = np.asarray(pool.correct, dtype=float)
    wrong = ~np.asarray(pool.correct)
    out = {
        "bundled tiny-arith": {
            "a": correct[:, :32].mean(axis=1),
            "b": correct[:, 32:].mean(axis=1),
            "errors": (wrong & np.asarray(pool.accepted["units"])).sum(axis=1),
            "trials": wrong.sum(axis=1),
        }
    }
    if SHARED.is_file():
        records = [json.loads(line) for line in SHARED.read_text().splitlines() if line.strip()]
        labels = np.array([[bool(x) for x in r["score"]] for r in records])
        reward = np.array([[float(p[-1]) for p in r["pred_score"]] for r in records])
        out["Qwen2.5-Math MATH"] = {
            "a": labels[:, :4].mean(axis=1),
            "b": labels[:, 4:].mean(axis=1),
            "errors": (~labels & (reward >= 0)).sum(axis=1),
            "trials": (~labels).sum(axis=1),
        }
    return out


def real_pool_rows(runs: int) -> str:
    """Comparisons, regressions and verifier rates on datasets of 1,000 problems resampled
    from real pools, at the boundary of each claim and 0.02 / 0.05 / 0.10 either side.

    Comparison (``left >= right`` at k = 1) and regression (``no drop beyond 0.05``) read
    the two halves of each problem's samples as the two sides, each problem entering in
    both orders so that the sides are exchangeable (a true difference of exactly 0). A gap
    is made by breaking one side on a random share q of the drawn problems (its value set to
    0), which moves its mean by exactly q x the population mean. The rate claim is
    ``FPR <= v`` with v the population's per-problem rate plus the distance.
    """
    from pytest_tts.gates.adaptive import (
        check_adaptive_comparison,
        check_adaptive_rate,
        check_adaptive_regression,
    )

    signed = (-0.10, -0.05, -0.02, 0.0, 0.02, 0.05, 0.10)
    rows = []
    for name, pop in real_populations().items():
        left_all = np.concatenate([pop["a"], pop["b"]])
        right_all = np.concatenate([pop["b"], pop["a"]])
        mean = float(left_all.mean())
        has = pop["trials"] > 0
        rate_truth = float((pop["errors"][has] / pop["trials"][has]).mean())
        for kind in ("comparison", "regression", "rate"):
            for gap in signed:
                # gap: how far the claim is true (> 0) or false (< 0); 0 is the boundary
                if kind == "rate" and not 0 < rate_truth + gap < 1:
                    continue
                wrong = early = used_total = 0
                started = time.perf_counter()
                for seed in range(runs):
                    rng = np.random.default_rng(seed)
                    decide: Callable[..., object]
                    if kind == "rate":
                        draw = rng.integers(0, pop["trials"].size, DATASET)
                        data: tuple[np.ndarray, ...] = (pop["errors"][draw], pop["trials"][draw])
                        decide = functools.partial(
                            check_adaptive_rate,
                            op="<=",
                            value=rate_truth + gap,
                            confidence=0.95,
                            problems_total=DATASET,
                        )
                    else:
                        draw = rng.integers(0, left_all.size, DATASET)
                        left, right = left_all[draw].copy(), right_all[draw].copy()
                        # comparison: left leads by `gap`; regression: the drop is 0.05 - gap
                        lead = gap if kind == "comparison" else gap - 0.05
                        broken = rng.random(DATASET) < abs(lead) / mean
                        if lead > 0:
                            right[broken] = 0.0
                        else:
                            left[broken] = 0.0
                        data = (left[:, None], right[:, None])
                        decide = (
                            functools.partial(check_adaptive_comparison, op=">=")
                            if kind == "comparison"
                            else functools.partial(check_adaptive_regression, tolerance=0.05)
                        )
                        decide = functools.partial(
                            decide, ks=[1], confidence=0.95, problems_total=DATASET
                        )
                    stopped, passed, used = _early(decide, data)
                    early += stopped
                    wrong += stopped and passed != (gap >= 0)
                    used_total += used
                claim = {
                    "comparison": f"left >= right; left - right = {gap:+.2f}",
                    "regression": f"no drop beyond 0.05; drop {0.05 - gap:.2f}",
                    "rate": f"FPR <= {rate_truth + gap:.3f}; FPR {rate_truth:.3f}",
                }[kind]
                rows.append(
                    [
                        name,
                        kind,
                        claim,
                        "boundary" if gap == 0 else ("true" if gap > 0 else "false"),
                        _wrong_cell(wrong, runs),
                        f"{early / runs:.3f}",
                        f"{used_total / runs / DATASET:.3f}",
                        f"{(time.perf_counter() - started) / runs * 1000:.1f}",
                    ]
                )
    return tabulate(
        rows,
        headers=[
            "pool",
            "gate",
            "claim and truth",
            "claim",
            "wrong early decisions (95% CI; <= 0.05)",
            "decided early",
            "share of problems used",
            "ms per run",
        ],
        tablefmt="github",
    )


class _Open:
    """An adaptive gate's answer before it has anything to decide on (the pilot round)."""

    decided = False
    passed = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--only-matched", action="store_true", help="only the matched-cost rows")
    parser.add_argument(
        "--only-samples", action="store_true", help="only the samples-per-problem rows"
    )
    parser.add_argument(
        "--only-real", action="store_true", help="only the other gate kinds on real pools"
    )
    args = parser.parse_args()
    if args.only_real:
        print(real_pool_rows(args.runs))
        return
    if args.only_matched:
        print(matched_cost_rows(args.runs))
        return
    if args.only_samples:
        print(samples_per_problem_rows(args.runs))
        return
    text = "\n".join(
        [
            "## Adaptive thresholds by simulation (`bench/adaptive.py`)",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU; date "
            f"{dt.date.today().isoformat()}. {args.runs} runs per row, datasets of {DATASET} "
            "problems resampled from each population, rounds of 32, 64, ... problems, "
            "confidence 0.95; undecided runs end with the fixed gate on all 1,000.",
            "",
            table(args.runs),
            "",
            "Comparisons, verifier rates and regressions on synthetic pools of 1,000 problems, "
            "at the boundary of their claim and 0.05 / 0.10 from it:",
            "",
            other_kinds(args.runs),
            "",
            "Comparisons at matched tokens (`at matched tokens ... with confidence 0.95`), the "
            "costs matched on the first round's 32 problems and left out of the confidence "
            "sequence; per-problem token costs vary by a log-normal factor (sigma 0.5), so the "
            "pilot's mean costs are off by about 9% each. Truth is taken at the true mean "
            "costs (see `matched_cost_rows`):",
            "",
            matched_cost_rows(args.runs),
            "",
        ]
    )
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
