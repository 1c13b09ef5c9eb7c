"""Shared statistics for the gates: validation, bootstrap over problems, t bounds, Holm,
interpolation in log cost, and budget selection.

Every function takes plain numpy arrays and is vectorized over budget points; the
bootstrap resamples problems (rows) with replacement, jointly across columns, so the
correlation between budget points of one problem is kept.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Side = Literal["lower", "upper", "two-sided"]
IntervalMethod = Literal["bootstrap", "t"]

DEFAULT_RESAMPLES = 4000

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "=": lambda a, b: bool(np.isclose(a, b, rtol=1e-9, atol=1e-12)),
}
# Normalize the spec language's unicode operators.
OP_ALIASES = {"≥": ">=", "≤": "<=", "==": "="}


def norm_op(op: str) -> str:
    op = OP_ALIASES.get(op, op)
    if op not in OPS:
        msg = f"operator must be one of {', '.join(OPS)}, got {op!r}"
        raise ValueError(msg)
    return op


def check_curve(
    per_problem: ArrayLike, ks: ArrayLike, cost: ArrayLike, *, name: str = "curve"
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Validate a curve's arrays and return them as float[P, K], int[K], float[K]."""
    values = np.asarray(per_problem, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    k = np.asarray(ks).astype(np.int64).reshape(-1)
    c = np.asarray(cost, dtype=np.float64).reshape(-1)
    if values.ndim != 2:
        msg = (
            f"{name}: per-problem values must be a [problems, budget points] array, "
            f"got shape {values.shape}"
        )
        raise ValueError(msg)
    if values.shape[1] != k.size or c.size != k.size:
        msg = (
            f"{name}: expected one budget point per column: {values.shape[1]} columns, "
            f"{k.size} ks, {c.size} costs"
        )
        raise ValueError(msg)
    if values.shape[0] == 0:
        msg = f"{name}: no problems (per-problem values have 0 rows)"
        raise ValueError(msg)
    if not np.all(np.isfinite(values)):
        msg = f"{name}: per-problem values must be finite"
        raise ValueError(msg)
    if np.any(np.diff(c) < 0):
        msg = f"{name}: costs must not decrease along the budget points, got {c.tolist()}"
        raise ValueError(msg)
    return values, k, c


def bootstrap_counts(n: int, resamples: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Multinomial resampling counts [resamples, n]: how often each row is drawn."""
    idx = rng.integers(0, n, size=(resamples, n))
    idx += (np.arange(resamples) * n)[:, None]
    counts = np.bincount(idx.ravel(), minlength=resamples * n).reshape(resamples, n)
    return counts.astype(np.float64)


def bootstrap_means(values: NDArray[np.float64], resamples: int, seed: int) -> NDArray[np.float64]:
    """Means of ``resamples`` bootstrap resamples of the rows: float[resamples, K]."""
    rng = np.random.default_rng(seed)
    counts = bootstrap_counts(values.shape[0], resamples, rng)
    out: NDArray[np.float64] = counts @ values / values.shape[0]
    return out


def mean_interval(
    values: NDArray[np.float64],
    confidence: float,
    side: Side,
    *,
    method: IntervalMethod = "bootstrap",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Confidence interval (lo, hi) of each column's mean at level ``confidence``.

    One-sided intervals are ``-inf``/``+inf`` on their open side. ``bootstrap`` is the
    percentile bootstrap over rows (seeded); ``t`` is Student's t with n - 1 degrees of
    freedom. A column with zero spread gets the degenerate interval at its mean.
    """
    check_level(confidence)
    n = values.shape[0]
    mean = values.mean(axis=0)
    alpha = 1.0 - confidence
    q_lo, q_hi = {
        "lower": (alpha, 1.0),
        "upper": (0.0, confidence),
        "two-sided": (alpha / 2, 1 - alpha / 2),
    }[side]
    if method == "bootstrap":
        boot = bootstrap_means(values, resamples, seed)
        lo = np.quantile(boot, q_lo, axis=0) if side != "upper" else np.full_like(mean, -np.inf)
        hi = np.quantile(boot, q_hi, axis=0) if side != "lower" else np.full_like(mean, np.inf)
    elif method == "t":
        se = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.inf)
        df = max(n - 1, 1)
        lo = mean + stats.t.ppf(q_lo, df) * se if side != "upper" else np.full_like(mean, -np.inf)
        hi = mean + stats.t.ppf(q_hi, df) * se if side != "lower" else np.full_like(mean, np.inf)
        # A zero standard error gives 0 * inf = nan at the open quantile: the mean itself.
        lo = np.where(se == 0, mean, lo) if side != "upper" else lo
        hi = np.where(se == 0, mean, hi) if side != "lower" else hi
    else:
        msg = f"interval method must be 'bootstrap' or 't', got {method!r}"
        raise ValueError(msg)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def describe_interval(
    method: IntervalMethod, side: Side, confidence: float, n: int, resamples: int, seed: int
) -> str:
    what = {"lower": "one-sided lower", "upper": "one-sided upper", "two-sided": "two-sided"}[side]
    if method == "bootstrap":
        how = f"percentile bootstrap over {n} problems, {resamples} resamples, seed {seed}"
    else:
        how = f"Student t over {n} problems"
    return f"{what} {confidence:g} bound ({how})"


def check_level(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        msg = f"confidence must be strictly between 0 and 1, got {confidence!r}"
        raise ValueError(msg)


def holm(pvalues: ArrayLike) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values along the last axis (vectorized over leading axes).

    ``p_adj(i) = max_{j <= i} min(1, (m - j) * p(j))`` over the sorted p-values; rejecting
    where ``p_adj <= alpha`` controls the family-wise error rate at ``alpha`` under any
    dependence between the tests.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.shape[-1]
    if m == 0:
        return p.copy()
    order = np.argsort(p, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=-1)
    factors = m - np.arange(m)
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(sorted_p * factors, axis=-1))
    out = np.empty_like(p)
    np.put_along_axis(out, order, adjusted_sorted, axis=-1)
    return out


def interp_log_cost(
    values: NDArray[np.float64], cost: NDArray[np.float64], at: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per-row piecewise-linear interpolation in log cost: float[P, len(at)].

    ``at`` must lie within ``[cost[0], cost[-1]]``; the caller decides what is outside.
    At a cost that appears twice, the first of the two points is used.
    """
    x = np.log(cost)
    xa = np.log(at)
    # Index of the right end of each interval; clip so points at the ends work.
    right = (
        np.clip(np.searchsorted(x, xa, side="left"), 1, x.size - 1)
        if x.size > 1
        else np.zeros(xa.size, dtype=np.int64)
    )
    if x.size == 1:
        return np.repeat(values[:, :1], xa.size, axis=1)
    left = right - 1
    span = x[right] - x[left]
    w = np.where(span > 0, (xa - x[left]) / np.where(span > 0, span, 1.0), 1.0)
    exact = np.isclose(xa, x[right], rtol=0, atol=1e-12)
    w = np.where(exact, 1.0, w)
    out: NDArray[np.float64] = values[:, left] * (1 - w) + values[:, right] * w
    return out


def budget_mask(cost: NDArray[np.float64], op: str, value: float) -> NDArray[np.bool_]:
    """Which budget points satisfy ``cost OP value`` (``=`` means that exact point)."""
    op = norm_op(op)
    if op == "=":
        return np.isclose(cost, value, rtol=1e-9, atol=1e-12)
    return np.array([OPS[op](float(c), value) for c in cost], dtype=bool)


def as_list(values: Sequence[float] | NDArray[np.float64]) -> list[float]:
    return [float(v) for v in values]
