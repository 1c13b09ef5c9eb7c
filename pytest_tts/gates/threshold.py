"""Threshold gates: "metric OP x at budget using S" — the best point within budget.

The budget selects the curve's points whose mean cost per problem satisfies it (``n = 8``
is exactly that point; ``flops <= 4e9`` every point that costs at most that). The best of
those is compared with the threshold:

- without a confidence, its point estimate;
- with ``confidence c``, its one-sided bound (lower bound for ``>=``/``>``, upper bound for
  ``<=``/``<``). When several points fit the budget the bounds are simultaneous over them
  (bootstrap max-statistic, or Bonferroni for the t method), so that picking the best one
  cannot raise the error rate: a true metric below the threshold at every point within
  budget passes with probability at most ``1 - c``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pytest_tts.gates._stats import (
    DEFAULT_RESAMPLES,
    OPS,
    IntervalMethod,
    bootstrap_means,
    budget_mask,
    check_curve,
    check_level,
    mean_interval,
    norm_op,
)

BudgetLike = tuple[str, str, float]


def budget_parts(budget: Any) -> tuple[str, str, float] | None:
    """``(unit, op, value)`` from a tuple or a ``pytest_tts.spec.Budget``-like object."""
    if budget is None:
        return None
    if isinstance(budget, tuple):
        unit, op, value = budget
    else:
        unit, op, value = budget.unit, budget.op, budget.value
    return str(unit), norm_op(str(op)), float(value)


def simultaneous_bounds(
    values: NDArray[np.float64],
    confidence: float,
    side: str,
    *,
    method: IntervalMethod,
    resamples: int,
    seed: int,
) -> NDArray[np.float64]:
    """One-sided bounds of each column's mean, simultaneous over the columns.

    ``side`` is ``lower`` or ``upper``. Bootstrap: the ``confidence`` quantile of the
    maximum over columns of the standardized bootstrap deviation. t: Bonferroni.
    Columns with no spread get their mean as bound.
    """
    check_level(confidence)
    n, m = values.shape
    mean = values.mean(axis=0)
    sign = -1.0 if side == "lower" else 1.0
    if method == "bootstrap":
        boot = bootstrap_means(values, resamples, seed)
        sd = boot.std(axis=0)
        safe = np.where(sd > 0, sd, 1.0)
        # Deviation in the direction that would make the bound wrong.
        dev = np.where(sd > 0, -sign * (boot - mean) / safe, -np.inf)
        worst = dev.max(axis=1)
        q = float(np.quantile(worst, confidence)) if np.isfinite(worst).any() else 0.0
        q = max(q, 0.0)
        return np.where(sd > 0, mean + sign * q * sd, mean)
    if method == "t":
        se = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(m)
        level = 1.0 - (1.0 - confidence) / m
        q = float(stats.t.ppf(level, max(n - 1, 1)))
        return np.where(se > 0, mean + sign * q * se, mean)
    msg = f"interval method must be 'bootstrap' or 't', got {method!r}"
    raise ValueError(msg)


@dataclass(frozen=True, eq=False)
class ThresholdResult:
    """The numbers of a threshold gate; ``pytest_tts.report.gates`` renders them.

    ``ks``, ``cost`` (in ``unit``), ``means`` and ``within`` (the point fits the budget) are
    per budget point. ``compared`` holds what was compared with ``value`` at each point within
    budget (the ``side`` bound, or the mean when ``side`` is ``"estimate"``); ``interval``
    the two-sided interval of an ``=`` claim with a confidence. ``best`` is the selected
    point (None when no point fits the budget). ``method``, ``resamples`` and ``seed`` say
    how bounds were computed over ``problems`` problems. ``columns`` are further per-point
    values shown in its table (a thinking curve's share of forced answers and its tokens).
    """

    passed: bool
    metric: str
    op: str
    value: float
    strategy: str
    budget: tuple[str, str, float] | None
    ks: NDArray[np.int64]
    cost: NDArray[np.float64]
    means: NDArray[np.float64]
    within: NDArray[np.bool_]
    compared: NDArray[np.float64]
    best: int | None
    confidence: float | None
    side: str
    interval: tuple[NDArray[np.float64], NDArray[np.float64]] | None
    method: IntervalMethod
    resamples: int
    seed: int
    problems: int
    kind: str = "threshold"
    columns: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return self.budget[0] if self.budget else "n"


def check_threshold(
    per_problem: ArrayLike,
    ks: ArrayLike,
    cost: ArrayLike,
    *,
    op: str,
    value: float,
    budget: BudgetLike | Any | None = None,
    confidence: float | None = None,
    metric: str = "accuracy",
    strategy: str = "",
    method: IntervalMethod = "bootstrap",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> ThresholdResult:
    """Does the best point of the curve within ``budget`` satisfy ``metric OP value``?

    ``per_problem`` is float[P, K] (expected metric per problem at each budget point),
    ``ks`` int[K], ``cost`` float[K] mean cost per problem in the budget's unit (for
    ``n`` budgets: the ks). ``budget`` is ``(unit, op, value)`` or a ``spec.Budget``;
    None means every point. Fails when no point fits.
    """
    values, k, c = check_curve(per_problem, ks, cost)
    op = norm_op(op)
    parts = budget_parts(budget)
    mask = budget_mask(c, parts[1], parts[2]) if parts else np.ones(k.size, dtype=bool)
    means = values.mean(axis=0)

    def result(passed: bool, compared: NDArray[np.float64], best: int | None, **kw: Any) -> Any:
        return ThresholdResult(
            passed=passed,
            metric=metric,
            op=op,
            value=float(value),
            strategy=strategy,
            budget=parts,
            ks=k,
            cost=c,
            means=means,
            within=mask,
            compared=compared,
            best=best,
            confidence=confidence,
            method=method,
            resamples=resamples,
            seed=seed,
            problems=int(values.shape[0]),
            **kw,
        )

    if not mask.any():
        return result(False, means, None, side="estimate", interval=None)

    eligible = np.flatnonzero(mask)
    side = "upper" if op in ("<=", "<") else "lower"
    if confidence is not None and op != "=":
        compared = np.full(k.size, np.nan)
        compared[eligible] = simultaneous_bounds(
            values[:, eligible], confidence, side, method=method, resamples=resamples, seed=seed
        )
    else:
        compared = means
        side = "estimate"
    interval = None
    if confidence is not None and op == "=":
        # "= x with confidence c": x must lie inside the two-sided interval.
        interval = mean_interval(
            values, confidence, "two-sided", method=method, resamples=resamples, seed=seed
        )

    pool = compared[eligible]
    if op in (">=", ">"):
        best = int(eligible[int(np.nanargmax(pool))])
    elif op in ("<=", "<"):
        best = int(eligible[int(np.nanargmin(pool))])
    else:
        best = int(eligible[int(np.argmin(np.abs(means[eligible] - value)))])
    passed = OPS[op](float(compared[best]), float(value))
    if interval is not None:
        passed = bool(interval[0][best] <= value <= interval[1][best])
    return result(bool(passed), compared, best, side=side, interval=interval)


__all__: Sequence[str] = [
    "ThresholdResult",
    "budget_parts",
    "check_threshold",
    "simultaneous_bounds",
]
