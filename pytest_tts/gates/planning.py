"""Planning: how many problems (and samples per problem) detect a drop of ``d``?

The regression gate runs a paired one-sided t test per budget point on the per-problem
differences ``D_i = baseline_i - current_i``. Its power against a true drop ``d`` (above
the tolerance ``t``) with ``P`` problems and standard deviation ``sd`` of ``D`` is the
noncentral t probability

    power(P) = 1 - F_nct(t_{1 - a, P - 1}; df = P - 1, nc = (d - t) sqrt(P) / sd),

with ``a = alpha / points`` (Bonferroni over the budget points tested: Holm's first step,
so a safe side for Holm and for the max-T bootstrap). ``required_problems`` is the
smallest ``P`` reaching the asked power.

The variance model for ``sd`` (documented assumptions, stated in every plan):

- each side's per-problem value at budget ``k`` is estimated from ``n`` samples per
  problem; for a problem whose expected metric is ``mu_i`` the within-problem variance of
  an unbiased k-subset estimate (a U-statistic of order ``k`` with a [0, 1] kernel) is at
  most ``(k / n) mu_i (1 - mu_i)`` (Hoeffding 1948), exactly ``mu_i (1 - mu_i) / n`` at
  ``k = 1``;
- baseline and current samples are independent, so
  ``Var(D_i) = 2 (k / n) mu_i (1 - mu_i) + shift_sd^2``, where ``shift_sd`` is the spread
  of the true per-problem change (0: a uniform shift);
- ``mu_i (1 - mu_i)`` is estimated from observed per-problem values ``v_i`` (a pool of
  ``m`` samples) as ``v_i (1 - v_i) m / (m - 1)`` (unbiased at ``k = 1``), averaged over
  problems.

More samples per problem shrink the noise term as ``1 / n``, which is why a cheaper gate
can trade problems for samples — until ``shift_sd`` dominates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

MAX_PROBLEMS = 10_000_000


def _check(drop: float, tolerance: float, power: float, alpha: float, points: int) -> None:
    if drop <= tolerance:
        msg = f"the drop to detect must exceed the tolerance, got {drop} <= {tolerance}"
        raise ValueError(msg)
    if not 0 < alpha < 1 or not 0 < power < 1:
        msg = f"alpha and power must lie in (0, 1), got alpha {alpha}, power {power}"
        raise ValueError(msg)
    if points < 1:
        msg = f"points must be >= 1, got {points}"
        raise ValueError(msg)


def power_at(
    problems: int,
    *,
    drop: float,
    sd: float,
    tolerance: float = 0.0,
    alpha: float = 0.05,
    points: int = 1,
) -> float:
    """Power of the paired one-sided t test with ``problems`` problems (see the module doc)."""
    _check(drop, tolerance, 0.5, alpha, points)
    if sd <= 0:
        return 1.0
    if problems < 2:
        return 0.0
    df = problems - 1
    crit = stats.t.ppf(1 - alpha / points, df)
    nc = (drop - tolerance) * math.sqrt(problems) / sd
    return float(stats.nct.sf(crit, df, nc))


def required_problems(
    *,
    drop: float,
    sd: float,
    tolerance: float = 0.0,
    power: float = 0.8,
    alpha: float = 0.05,
    points: int = 1,
) -> int:
    """Smallest number of problems whose test reaches ``power`` against a true ``drop``."""
    _check(drop, tolerance, power, alpha, points)
    if sd <= 0:
        return 1
    z = stats.norm.ppf(1 - alpha / points) + stats.norm.ppf(power)
    guess = max(2, int((z * sd / (drop - tolerance)) ** 2))
    lo, hi = 1, guess
    while power_at(hi, drop=drop, sd=sd, tolerance=tolerance, alpha=alpha, points=points) < power:
        lo, hi = hi, hi * 2
        if hi > MAX_PROBLEMS:
            msg = f"more than {MAX_PROBLEMS} problems would be needed"
            raise ValueError(msg)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok = power_at(mid, drop=drop, sd=sd, tolerance=tolerance, alpha=alpha, points=points)
        lo, hi = (lo, mid) if ok >= power else (mid, hi)
    return hi


def bernoulli_variance(values: ArrayLike, pool_samples: int | None = None) -> NDArray[np.float64]:
    """Mean over problems of ``mu (1 - mu)`` per column, from observed per-problem values.

    ``values`` float[P] or float[P, K] in [0, 1]; with ``pool_samples = m > 1`` the
    estimate is corrected by ``m / (m - 1)`` (see the module doc).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.size == 0 or np.any(v < 0) or np.any(v > 1):
        msg = "per-problem values must be a non-empty array in [0, 1]"
        raise ValueError(msg)
    var = (v * (1 - v)).mean(axis=0)
    if pool_samples and pool_samples > 1:
        var = var * pool_samples / (pool_samples - 1)
    out: NDArray[np.float64] = np.minimum(var, 0.25)
    return out


def difference_sd(mu_var: float, *, k: int = 1, samples: int = 1, shift_sd: float = 0.0) -> float:
    """sd of paired per-problem differences: ``sqrt(2 (k / n) mu_var + shift_sd^2)``."""
    if samples < k:
        msg = f"a budget of k = {k} needs at least {k} samples per problem, got {samples}"
        raise ValueError(msg)
    return math.sqrt(2.0 * (k / samples) * mu_var + shift_sd**2)


def plan_rows(
    mu_var: Sequence[float] | ArrayLike,
    ks: Sequence[int],
    samples: Sequence[int],
    *,
    drop: float,
    tolerance: float = 0.0,
    power: float = 0.8,
    alpha: float = 0.05,
    points: int | None = None,
    shift_sd: float = 0.0,
    available: int | None = None,
) -> list[dict[str, Any]]:
    """One row per (budget point k, samples per problem n >= k): sd, problems needed, power.

    ``points`` defaults to the number of budget points. ``available`` adds the power with
    that many problems.
    """
    mv = np.asarray(mu_var, dtype=np.float64).reshape(-1)
    if mv.size != len(ks):
        msg = f"one variance per budget point expected: {mv.size} for {len(ks)} ks"
        raise ValueError(msg)
    m = points if points is not None else len(ks)
    rows: list[dict[str, Any]] = []
    for var, k in zip(mv, ks, strict=True):
        for n in samples:
            if n < k:
                continue
            sd = difference_sd(float(var), k=int(k), samples=int(n), shift_sd=shift_sd)
            row: dict[str, Any] = {
                "k": int(k),
                "samples/problem": int(n),
                "sd of difference": sd,
                "problems needed": required_problems(
                    drop=drop, sd=sd, tolerance=tolerance, power=power, alpha=alpha, points=m
                ),
            }
            if available:
                row[f"power at {available}"] = power_at(
                    available, drop=drop, sd=sd, tolerance=tolerance, alpha=alpha, points=m
                )
            rows.append(row)
    return rows
