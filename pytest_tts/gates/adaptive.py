"""Anytime-valid threshold decisions for adaptive runs (``--tts-adaptive``).

An adaptive run fills a pool in rounds over problems taken in a seeded random order and,
after each round, asks every item that reads the pool whether it is decided. The per-problem
values of the curve at a budget point (the exact expectation over k-subsets of the problem's
samples, in [0, 1]) are i.i.d. across problems taken in random order, so a confidence
sequence for their mean (:mod:`pytest_tts.estimate.confseq`) holds at every round at once:

- ``metric >= x [at budget]`` is decided *passed* when the lower CS of some point within
  budget reaches x, and *failed* when the upper CS of every point is below x; ``<=`` the
  mirror image. Several points within budget share the error by a union bound (alpha / m
  each), as the fixed gate's simultaneous bound does.
- A wrong decision has probability at most 1 - confidence on each side (a false pass when
  the claim is false, a false fail when it is true), whenever the run stops.
- Undecided when the dataset is exhausted: the item is judged by the fixed gate on the whole
  pool, exactly as without ``--tts-adaptive``. The whole procedure (early decisions, then
  the fixed gate) can err in either part, so its error rate is at most twice 1 - confidence
  in the worst case, near the threshold; ``bench/adaptive.py`` measures 0.062-0.069 there
  against the fixed gate's 0.05, and at most 0.012 wrong early decisions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.confseq import confidence_sequence
from pytest_tts.gates._stats import norm_op

ADAPTIVE_OPS = (">=", ">", "<=", "<")


@dataclass(frozen=True)
class AdaptiveThresholdResult:
    """An adaptive threshold's state after ``problems_seen`` problems: ``decided`` and, when
    it is, ``passed``; the CS bounds of every point within budget at that time."""

    passed: bool
    decided: bool
    metric: str
    op: str
    value: float
    strategy: str
    confidence: float
    problems_seen: int
    problems_total: int
    ks: NDArray[np.int64]
    means: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    best: int
    budget_n: tuple[str, float] | None = None
    trajectory: tuple[tuple[int, float, float], ...] = ()


def check_adaptive_threshold(
    per_problem: ArrayLike,
    ks: ArrayLike,
    *,
    op: str,
    value: float,
    confidence: float,
    budget_n: tuple[str, float] | None = None,
    problems_total: int,
    metric: str = "accuracy",
    strategy: str = "",
) -> AdaptiveThresholdResult:
    """Is ``metric OP value`` decided by the problems seen so far (rows of ``per_problem``,
    float[t, K], in the order they were drawn)? ``budget_n`` is ``(op, n)`` of an ``at n``
    budget (None: every point)."""
    values = np.asarray(per_problem, dtype=np.float64)
    k = np.asarray(ks, dtype=np.int64)
    op = norm_op(op)
    if op not in ADAPTIVE_OPS:
        msg = f"an adaptive threshold compares with {', '.join(ADAPTIVE_OPS)}, not {op!r}"
        raise EstimationError(msg)
    if values.ndim != 2 or values.shape[1] != k.size or values.shape[0] == 0:
        msg = f"per_problem must be t x K with K = {k.size}, got {values.shape}"
        raise EstimationError(msg)
    within = np.ones(k.size, dtype=bool)
    if budget_n is not None:
        budget_op, limit = budget_n
        within = k == limit if budget_op == "=" else (k < limit if budget_op == "<" else k <= limit)
    if not within.any():
        msg = f"no budget point of k = {k.tolist()} is within the budget n {budget_n}"
        raise EstimationError(msg)
    points = np.flatnonzero(within)
    alpha = (1.0 - confidence) / points.size
    lower = np.empty(points.size)
    upper = np.empty(points.size)
    for i, j in enumerate(points):
        bounds = confidence_sequence(values[:, j], alpha)
        lower[i], upper[i] = bounds.lower[-1], bounds.upper[-1]
    means = values[:, points].mean(axis=0)
    if op in (">=", ">"):
        best = int(np.argmax(lower))
        passed = lower[best] >= value if op == ">=" else lower[best] > value
        failed = bool(np.all(upper < value)) if op == ">=" else bool(np.all(upper <= value))
    else:
        best = int(np.argmin(upper))
        passed = upper[best] <= value if op == "<=" else upper[best] < value
        failed = bool(np.all(lower > value)) if op == "<=" else bool(np.all(lower >= value))
    return AdaptiveThresholdResult(
        passed=bool(passed),
        decided=bool(passed or failed),
        metric=metric,
        op=op,
        value=float(value),
        strategy=strategy,
        confidence=confidence,
        problems_seen=int(values.shape[0]),
        problems_total=int(problems_total),
        ks=k[points],
        means=means,
        lower=lower,
        upper=upper,
        best=best,
        budget_n=budget_n,
    )


@dataclass(frozen=True)
class AdaptiveComparisonResult:
    """An adaptive comparison after ``problems_seen`` problems: the CS of the paired
    per-problem difference (left - right) at every compared point: ``ks`` are the budgets k
    at matched ``n``, the costs (in ``unit``) at matched tokens or FLOPs. There the costs were
    matched on the first ``pilot`` problems, which the CS leaves out."""

    passed: bool
    decided: bool
    left: str
    right: str
    op: str
    confidence: float
    problems_seen: int
    problems_total: int
    ks: NDArray[np.int64] | NDArray[np.float64]
    diffs: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    worst: int
    trajectory: tuple[tuple[int, float, float], ...] = ()
    unit: str = "n"
    pilot: int = 0


def check_adaptive_comparison(
    left: ArrayLike,
    right: ArrayLike,
    ks: ArrayLike,
    *,
    op: str,
    confidence: float,
    at: tuple[float, float] | None = None,
    problems_total: int,
    left_label: str = "left",
    right_label: str = "right",
    unit: str = "n",
    pilot: int = 0,
) -> AdaptiveComparisonResult:
    """Is ``left OP right`` at every point (in ``at``, a range) decided by the problems seen?

    Both curves come from the same problems in the same order (float[t, K] each), at the
    points ``ks`` (budgets k, or costs in ``unit``). The claim must hold at every compared
    point, as in the fixed comparison: it is decided *passed* when the one-sided CS of the
    difference clears zero at every point (an intersection-union test: alpha each), *failed*
    when it is on the wrong side at some point (a union bound: alpha / m each), undecided
    otherwise. ``pilot`` problems came before these rows and are counted as seen.
    """
    a = np.asarray(left, dtype=np.float64)
    b = np.asarray(right, dtype=np.float64)
    k: NDArray[np.int64] | NDArray[np.float64] = (
        np.asarray(ks, dtype=np.int64) if unit == "n" else np.asarray(ks, dtype=np.float64)
    )
    op = norm_op(op)
    if op not in ADAPTIVE_OPS:
        msg = f"an adaptive comparison compares with {', '.join(ADAPTIVE_OPS)}, not {op!r}"
        raise EstimationError(msg)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != k.size or a.shape[0] == 0:
        msg = f"both curves must be t x {k.size} on the same problems, got {a.shape}, {b.shape}"
        raise EstimationError(msg)
    within = np.ones(k.size, dtype=bool) if at is None else (k >= at[0]) & (k <= at[1])
    if not within.any():
        msg = f"no budget point of k = {k.tolist()} lies in [{at[0]:g}, {at[1]:g}]"  # type: ignore[index]
        raise EstimationError(msg)
    points = np.flatnonzero(within)
    alpha = 1.0 - confidence
    lower = np.empty(points.size)
    upper = np.empty(points.size)
    # each point: the side that passes at alpha (intersection-union), the side that fails
    # at alpha / m (union bound)
    pass_side = np.empty(points.size)
    fail_side = np.empty(points.size)
    greater = op in (">=", ">")
    for i, j in enumerate(points):
        d = np.clip(a[:, j] - b[:, j], -1.0, 1.0)
        at_alpha = confidence_sequence(d, alpha, lo=-1.0, hi=1.0)
        at_split = confidence_sequence(d, alpha / points.size, lo=-1.0, hi=1.0)
        lower[i], upper[i] = at_alpha.lower[-1], at_alpha.upper[-1]
        pass_side[i] = at_alpha.lower[-1] if greater else at_alpha.upper[-1]
        fail_side[i] = at_split.upper[-1] if greater else at_split.lower[-1]
    diffs = (a[:, points] - b[:, points]).mean(axis=0)
    if op == ">":
        passed, failed = bool(np.all(pass_side > 0)), bool(np.any(fail_side <= 0))
    elif op == ">=":
        passed, failed = bool(np.all(pass_side >= 0)), bool(np.any(fail_side < 0))
    elif op == "<":
        passed, failed = bool(np.all(pass_side < 0)), bool(np.any(fail_side >= 0))
    else:
        passed, failed = bool(np.all(pass_side <= 0)), bool(np.any(fail_side > 0))
    worst = int(np.argmin(pass_side) if greater else np.argmax(pass_side))
    return AdaptiveComparisonResult(
        passed=passed,
        decided=passed or failed,
        left=left_label,
        right=right_label,
        op=op,
        confidence=confidence,
        problems_seen=int(a.shape[0]) + pilot,
        problems_total=int(problems_total),
        ks=k[points],
        diffs=diffs,
        lower=lower,
        upper=upper,
        worst=worst,
        unit=unit,
        pilot=pilot,
    )


def check_adaptive_matched_cost(
    left: ArrayLike,
    left_cost: ArrayLike,
    right: ArrayLike,
    right_cost: ArrayLike,
    *,
    pilot: int,
    op: str,
    confidence: float,
    unit: str,
    at: float | tuple[float, float] | None = None,
    problems_total: int,
    left_label: str = "left",
    right_label: str = "right",
) -> AdaptiveComparisonResult | None:
    """An adaptive comparison at matched tokens or FLOPs (None: nothing to decide yet).

    Each curve's costs are the mean costs per problem of its budget points on the first
    ``pilot`` problems, fixed from then on. The costs compared and each problem's values
    there (interpolated in log cost) follow the fixed gate
    (:func:`pytest_tts.gates.compare.check_comparison`), and the paired differences of the
    problems after the pilot go to :func:`check_adaptive_comparison`. The pilot's problems
    decide the matching, not the verdict: with the matching fixed before them, the later
    problems' differences are i.i.d., so the CS holds for the claim at the pilot's costs. The
    pool's mean costs drift from those only by sampling error (reported beside the verdict);
    ``bench/adaptive.py`` measures wrong decisions against the claim at the true costs.
    """
    from pytest_tts.gates._stats import interp_log_cost
    from pytest_tts.gates.compare import matched_costs

    lc = np.asarray(left_cost, dtype=np.float64).reshape(-1)
    rc = np.asarray(right_cost, dtype=np.float64).reshape(-1)
    for costs in (lc, rc):
        if costs.size == 0 or np.any(costs <= 0) or np.any(np.diff(costs) < 0):
            return None  # the fixed gate says what is wrong with these costs
    _, _, grid = matched_costs(lc, rc, at)
    a = np.asarray(left, dtype=np.float64)[pilot:]
    b = np.asarray(right, dtype=np.float64)[pilot:]
    if grid.size == 0 or a.shape[0] == 0:
        return None
    return check_adaptive_comparison(
        interp_log_cost(a, lc, grid),
        interp_log_cost(b, rc, grid),
        grid,
        op=op,
        confidence=confidence,
        problems_total=problems_total,
        left_label=left_label,
        right_label=right_label,
        unit=unit,
        pilot=pilot,
    )


@dataclass(frozen=True)
class AdaptiveRateResult:
    """An adaptive verifier-rate bound after ``problems_seen`` problems.

    The rate is the per-problem one of the fixed gate (``pytest_tts.gates.verifier_bound``):
    the mean, over problems with oracle-rejected samples, of the share the verifier accepts
    (FNR likewise). Each such problem's share is one observation in [0, 1], in the order the
    problems were drawn, so a confidence sequence of their mean decides the claim at any
    round; problems without such samples carry no information and are skipped.
    """

    passed: bool
    decided: bool
    metric: str
    verifier_name: str
    op: str
    value: float
    confidence: float
    problems_seen: int
    problems_total: int
    errors: int
    trials: int
    rate: float
    problems: int
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    best: int = 0
    trajectory: tuple[tuple[int, float, float], ...] = ()


def check_adaptive_rate(
    errors: ArrayLike,
    trials: ArrayLike,
    *,
    op: str,
    value: float,
    confidence: float,
    problems_total: int,
    metric: str = "false_positive_rate",
    verifier_name: str = "",
) -> AdaptiveRateResult:
    """Is ``metric OP value`` decided, from per-problem error and trial counts (int[t], in
    the order problems were drawn)?"""
    x = np.asarray(errors, dtype=np.float64)
    y = np.asarray(trials, dtype=np.float64)
    op = norm_op(op)
    if op not in ADAPTIVE_OPS:
        msg = f"an adaptive rate bound compares with {', '.join(ADAPTIVE_OPS)}, not {op!r}"
        raise EstimationError(msg)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0 or np.any(x > y):
        msg = f"errors and trials must be 1-d counts with errors <= trials, got {x.shape}"
        raise EstimationError(msg)
    has = y > 0
    if has.any():
        bounds = confidence_sequence(x[has] / y[has], 1.0 - confidence)
        lower, upper = float(bounds.lower[-1]), float(bounds.upper[-1])
        rate = float((x[has] / y[has]).mean())
    else:
        lower, upper, rate = 0.0, 1.0, float("nan")
    if op in ("<=", "<"):
        passed = upper <= value if op == "<=" else upper < value
        failed = lower > value if op == "<=" else lower >= value
    else:
        passed = lower >= value if op == ">=" else lower > value
        failed = upper < value if op == ">=" else upper <= value
    return AdaptiveRateResult(
        passed=bool(passed),
        decided=bool(passed or failed),
        metric=metric,
        verifier_name=verifier_name,
        op=op,
        value=float(value),
        confidence=confidence,
        problems_seen=int(x.size),
        problems_total=int(problems_total),
        errors=int(x.sum()),
        trials=int(y.sum()),
        rate=rate,
        problems=int(has.sum()),
        lower=np.array([lower]),
        upper=np.array([upper]),
    )


@dataclass(frozen=True)
class AdaptiveRegressionResult:
    """An adaptive no-regression check after ``problems_seen`` problems: the CS of the mean
    drop (baseline - current, per problem) at every compared k."""

    passed: bool
    decided: bool
    metric: str
    strategy: str
    tolerance: float
    confidence: float
    problems_seen: int
    problems_total: int
    ks: NDArray[np.int64]
    drops: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    worst: int
    trajectory: tuple[tuple[int, float, float], ...] = ()
    # "monotone": the drops are between consecutive budget points of one curve
    kind: str = "regression"


def check_adaptive_monotone(
    per_problem: ArrayLike,
    ks: ArrayLike,
    *,
    tolerance: float,
    confidence: float,
    problems_total: int,
    metric: str = "accuracy",
    strategy: str = "",
) -> AdaptiveRegressionResult:
    """``metric is monotone in n within tolerance``: the drop from each budget point to the
    next, per problem, decided like a regression of each point against the one before."""
    values = np.asarray(per_problem, dtype=np.float64)
    k = np.asarray(ks, dtype=np.int64)
    if values.ndim != 2 or values.shape[1] != k.size or k.size < 2:
        msg = f"a monotonicity check needs at least two budget points, got {k.size}"
        raise EstimationError(msg)
    result = check_adaptive_regression(
        values[:, 1:],
        values[:, :-1],
        k[1:],
        tolerance=tolerance,
        confidence=confidence,
        problems_total=problems_total,
        metric=metric,
        strategy=strategy,
    )
    return dataclasses.replace(result, kind="monotone")


def check_adaptive_regression(
    current: ArrayLike,
    baseline: ArrayLike,
    ks: ArrayLike,
    *,
    tolerance: float,
    confidence: float,
    problems_total: int,
    metric: str = "accuracy",
    strategy: str = "",
) -> AdaptiveRegressionResult:
    """Has the curve dropped by more than ``tolerance`` at some k (rows: the problems seen,
    matched with the baseline's, float[t, K] each)?

    Decided *failed* when the lower CS of the mean drop exceeds the tolerance at some k
    (union bound: alpha / m each), *passed* when its upper CS is within the tolerance at
    every k (intersection-union: alpha each). The fixed gate only fails on evidence of a
    regression; an early pass here is the stronger "no regression beyond the tolerance",
    so most runs near the tolerance read the whole pool and get the fixed gate.
    """
    cur = np.asarray(current, dtype=np.float64)
    base = np.asarray(baseline, dtype=np.float64)
    k = np.asarray(ks, dtype=np.int64)
    if cur.shape != base.shape or cur.ndim != 2 or cur.shape[1] != k.size or cur.shape[0] == 0:
        msg = f"current and baseline must be t x {k.size} on the same problems"
        raise EstimationError(msg)
    alpha = 1.0 - confidence
    m = k.size
    lower = np.empty(m)
    upper = np.empty(m)
    fail_side = np.empty(m)
    for j in range(m):
        d = np.clip(base[:, j] - cur[:, j], -1.0, 1.0)
        at_alpha = confidence_sequence(d, alpha, lo=-1.0, hi=1.0)
        lower[j], upper[j] = at_alpha.lower[-1], at_alpha.upper[-1]
        fail_side[j] = confidence_sequence(d, alpha / m, lo=-1.0, hi=1.0).lower[-1]
    failed = bool(np.any(fail_side > tolerance))
    passed = bool(np.all(upper <= tolerance)) and not failed
    drops = (base - cur).mean(axis=0)
    return AdaptiveRegressionResult(
        passed=passed,
        decided=passed or failed,
        metric=metric,
        strategy=strategy,
        tolerance=float(tolerance),
        confidence=confidence,
        problems_seen=int(cur.shape[0]),
        problems_total=int(problems_total),
        ks=k,
        drops=drops,
        lower=lower,
        upper=upper,
        worst=int(np.argmax(upper)),
    )
