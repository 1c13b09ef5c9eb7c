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

from collections.abc import Sequence
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
from pytest_tts.gates.result import GateResult, fmt

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


def budget_text(unit: str, op: str, value: float) -> str:
    return f"{unit} {op} {fmt(float(value))}"


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
) -> GateResult:
    """Does the best point of the curve within ``budget`` satisfy ``metric OP value``?

    ``per_problem`` is float[P, K] (expected metric per problem at each budget point),
    ``ks`` int[K], ``cost`` float[K] mean cost per problem in the budget's unit (for
    ``n`` budgets: the ks). ``budget`` is ``(unit, op, value)`` or a ``spec.Budget``;
    None means every point. Fails, with the cheapest point's cost, when no point fits.
    """
    values, k, c = check_curve(per_problem, ks, cost)
    op = norm_op(op)
    parts = budget_parts(budget)
    unit = parts[0] if parts else "n"
    where = f" at {budget_text(*parts)}" if parts else ""
    using = f" using {strategy}" if strategy else ""
    claim = f"{metric} {op} {fmt(float(value))}{where}{using}"
    mask = budget_mask(c, parts[1], parts[2]) if parts else np.ones(k.size, dtype=bool)
    means = values.mean(axis=0)

    if not mask.any():
        assert parts is not None
        cheapest = int(np.argmin(c))
        headline = (
            f"{claim}: no budget point fits {budget_text(*parts)}; the cheapest point is "
            f"k = {k[cheapest]} at {fmt(float(c[cheapest]))} {unit}"
        )
        rows = [
            {
                "k": int(k[j]),
                f"cost ({unit})": float(c[j]),
                metric: float(means[j]),
                "within budget": "no",
            }
            for j in range(k.size)
        ]
        return GateResult(
            passed=False,
            kind="threshold",
            headline=headline,
            rows=rows,
            confidence=confidence,
            method="none (no point within budget)",
            notes=(f"budget points available: {', '.join(fmt(float(x)) for x in c)} {unit}",),
            data={"selected": None},
        )

    eligible = np.flatnonzero(mask)
    side = "upper" if op in ("<=", "<") else "lower"
    if confidence is not None and op != "=":
        bounds = np.full(k.size, np.nan)
        bounds[eligible] = simultaneous_bounds(
            values[:, eligible], confidence, side, method=method, resamples=resamples, seed=seed
        )
        compared = bounds
        simultaneous = " simultaneous over the points within budget" if eligible.size > 1 else ""
        how = (
            f"percentile bootstrap over {values.shape[0]} problems "
            f"({resamples} resamples, seed {seed})"
            if method == "bootstrap"
            else f"Student t over {values.shape[0]} problems"
            + (" with Bonferroni" if eligible.size > 1 else "")
        )
        method_text = f"one-sided {side} {confidence:g} bound{simultaneous}; {how}"
        error_rate = (
            f"passes with probability at most {1 - confidence:.3g} when the true {metric} "
            f"fails the threshold at every point within budget"
        )
    else:
        compared = means
        method_text = "point estimate (mean over problems); no interval compared"
        error_rate = "not controlled (point estimate); add `with confidence c` to bound it"
        side = "estimate"
    interval = None
    if confidence is not None and op == "=":
        # "= x with confidence c": x must lie inside the two-sided interval.
        lo, hi = mean_interval(
            values, confidence, "two-sided", method=method, resamples=resamples, seed=seed
        )
        interval = (lo, hi)
        method_text = f"two-sided {confidence:g} interval ({method}) must contain the value"
        error_rate = "equality cannot be proven; the interval only fails to reject it"

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

    bound_key = f"{side} bound" if side != "estimate" else None
    rows = []
    for j in range(k.size):
        row: dict[str, Any] = {
            "k": int(k[j]),
            f"cost ({unit})": float(c[j]),
            metric: float(means[j]),
        }
        if bound_key:
            row[bound_key] = float(compared[j]) if mask[j] else None
        row["within budget"] = "yes" if mask[j] else "no"
        row["selected"] = "<-" if j == best else ""
        rows.append(row)
    shown = f"{fmt(float(means[best]))}"
    if bound_key:
        shown += f" ({side} {confidence:g} bound {fmt(float(compared[best]))})"
    at = f"k = {k[best]}" + (f" ({fmt(float(c[best]))} {unit})" if unit != "n" else "")
    headline = f"{claim}: best point {at} has {metric} {shown}"
    return GateResult(
        passed=passed,
        kind="threshold",
        headline=headline,
        rows=rows,
        confidence=confidence,
        method=method_text,
        error_rate=error_rate,
        data={
            "selected": {
                "k": int(k[best]),
                "cost": float(c[best]),
                "value": float(means[best]),
                "compared": float(compared[best]),
            },
            "threshold": float(value),
            "op": op,
        },
    )


__all__: Sequence[str] = ["budget_parts", "check_threshold", "simultaneous_bounds"]
