"""Confidence sequences for bounded means: intervals valid at every sample size at once.

A fixed-n interval checked after every round of an adaptive run is not valid: stopping the
first time it clears a threshold inflates the error rate (optional stopping). A confidence
sequence (CS) is a sequence of intervals C_1, C_2, ... with P(the mean is in every C_t) >= 1
- alpha, so a decision taken at any data-dependent time keeps its error rate.

This is the predictable plug-in empirical-Bernstein CS of Waudby-Smith & Ramdas, "Estimating
means of bounded random variables by betting", JRSSB 86(1), 2024 (arXiv:2010.09686),
Theorem 2 / eq. (13), for observations in [0, 1] with a common mean mu::

    mu_hat_t   = (1/2 + sum_{i<=t} x_i) / (t + 1)
    sigma2_t   = (1/4 + sum_{i<=t} (x_i - mu_hat_i)^2) / (t + 1)
    lambda_t   = min(sqrt(2 log(1/a) / (sigma2_{t-1} t log(1 + t))), c)      (c = 1/2)
    v_t        = 4 (x_t - mu_hat_{t-1})^2
    psi_E(l)   = (-log(1 - l) - l) / 4
    L_t        = (sum lambda_i x_i - log(1/a) - sum v_i psi_E(lambda_i)) / sum lambda_i

L_t is a lower CS at level a (one-sided); the upper CS is 1 - (the lower CS of 1 - x).
The running maximum of L_t (minimum of U_t) is still a CS. Observations in [lo, hi] are
rescaled to [0, 1] (paired differences in [-1, 1] for regressions and comparisons).

``confseq`` on PyPI (0.0.11) has this CS, but needs a C++ build step and has not been
released since 2022; the closed form above is short, and ``tests/estimate/test_confseq.py``
checks its time-uniform coverage by simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pytest_tts.errors import EstimationError

TRUNCATION = 0.5


def _lower_01(x: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """The running-maximum lower CS for observations ``x`` in [0, 1], at every t."""
    t = np.arange(1, x.size + 1, dtype=np.float64)
    mu_hat = (0.5 + np.cumsum(x)) / (t + 1)
    sigma2 = (0.25 + np.cumsum((x - mu_hat) ** 2)) / (t + 1)
    sigma2_prev = np.concatenate([[0.25], sigma2[:-1]])
    mu_prev = np.concatenate([[0.5], mu_hat[:-1]])
    log_term = np.log(1.0 / alpha)
    lam = np.minimum(np.sqrt(2 * log_term / (sigma2_prev * t * np.log1p(t))), TRUNCATION)
    psi = (-np.log1p(-lam) - lam) / 4.0
    v = 4.0 * (x - mu_prev) ** 2
    lower = (np.cumsum(lam * x) - log_term - np.cumsum(v * psi)) / np.cumsum(lam)
    return np.maximum.accumulate(np.clip(lower, 0.0, 1.0))


@dataclass(frozen=True)
class Bounds:
    """A one-sided lower and upper confidence sequence at every t (each at level alpha)."""

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    mean: NDArray[np.float64]


def confidence_sequence(
    observations: ArrayLike, alpha: float, *, lo: float = 0.0, hi: float = 1.0
) -> Bounds:
    """Lower and upper confidence sequences for the mean of ``observations`` (in time
    order, each in [lo, hi]), one-sided at level ``alpha`` each (so [lower, upper] is a
    two-sided CS at level 2 alpha), with running intersection."""
    x = np.asarray(observations, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        msg = f"a confidence sequence needs a 1-d array of observations, got shape {x.shape}"
        raise EstimationError(msg)
    if not 0 < alpha < 1:
        msg = f"alpha must be in (0, 1), got {alpha}"
        raise EstimationError(msg)
    if not hi > lo:
        msg = f"the range must have hi > lo, got [{lo}, {hi}]"
        raise EstimationError(msg)
    if np.any(x < lo - 1e-12) or np.any(x > hi + 1e-12):
        msg = f"observations must lie in [{lo:g}, {hi:g}], found {x.min():g}..{x.max():g}"
        raise EstimationError(msg)
    scaled = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    lower = _lower_01(scaled, alpha)
    upper = 1.0 - _lower_01(1.0 - scaled, alpha)
    t = np.arange(1, x.size + 1)
    mean = np.cumsum(scaled) / t
    span = hi - lo
    return Bounds(lower=lo + span * lower, upper=lo + span * upper, mean=lo + span * mean)


BET_TRUNCATION = 0.75
BET_PERMUTATIONS = 32


def betting_upper_bound(
    values: ArrayLike,
    alpha: float,
    *,
    permutations: int = BET_PERMUTATIONS,
    seed: int = 0,
) -> float:
    """A one-sided upper bound, at level ``alpha``, on the common mean of independent values
    in [0, 1], from all of them at once (a fixed-n bound, not a sequence).

    The hedged-capital betting bound of Waudby-Smith & Ramdas (JRSSB 2024, arXiv:2010.09686,
    Section 4 and the fixed-n plug-in of eq. (26)): against each candidate mean m, bet on the
    values falling below it,

        K_n(m)     = prod_i (1 - min(lambda_i, c / (1 - m)) (x_i - m)),   c = 3/4,
        lambda_i   = sqrt(2 log(1/alpha) / (n sigma2_{i-1})),

    with sigma2 the running variance of the CS above. Under a mean >= m the capital is a
    nonnegative supermartingale, so E[K_n(m)] <= 1 whatever the distribution of the values.
    K depends on the order of the values; it is averaged over the given order and
    ``permutations - 1`` seeded random orders, which keeps E <= 1 (a mean of e-values) and
    takes away the order's luck. m is rejected when the average reaches 1/alpha (Markov's
    inequality: a true mean is rejected with probability <= alpha). Every factor is
    nondecreasing in m, so the rejected set is [bound, 1] and bisection finds its edge.

    All-binary values are Bernoulli trials: their exact Clopper-Pearson bound is used.
    The lower bound is ``1 - betting_upper_bound(1 - values)``.
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if not 0 < alpha < 1:
        msg = f"alpha must be in (0, 1), got {alpha}"
        raise EstimationError(msg)
    if np.any(x < -1e-12) or np.any(x > 1 + 1e-12):
        msg = f"values must lie in [0, 1], found {x.min():g}..{x.max():g}"
        raise EstimationError(msg)
    n = x.size
    if n == 0:
        return 1.0
    x = np.clip(x, 0.0, 1.0)
    if np.all((x == 0.0) | (x == 1.0)):
        hits = int(x.sum())
        return 1.0 if hits == n else float(stats.beta.ppf(1.0 - alpha, hits + 1, n - hits))
    rng = np.random.default_rng(seed)
    xs = np.stack([x] + [x[rng.permutation(n)] for _ in range(max(permutations, 1) - 1)])
    t = np.arange(1, n + 1, dtype=np.float64)
    mu = (0.5 + np.cumsum(xs, axis=1)) / (t + 1)
    sigma2 = (0.25 + np.cumsum((xs - mu) ** 2, axis=1)) / (t + 1)
    sigma2_prev = np.concatenate([np.full((xs.shape[0], 1), 0.25), sigma2[:, :-1]], axis=1)
    lam = np.sqrt(2.0 * np.log(1.0 / alpha) / (n * sigma2_prev))
    threshold = np.log(1.0 / alpha)

    def rejected(m: float) -> bool:
        bet = np.minimum(lam, BET_TRUNCATION / (1.0 - m))
        log_capital = np.log1p(-bet * (xs - m)).sum(axis=1)
        top = float(log_capital.max())
        return top + float(np.log(np.mean(np.exp(log_capital - top)))) >= threshold

    lo, hi = 0.0, 1.0  # m = 0 is never rejected: every factor is <= 1 there
    while hi - lo > 1e-7:
        mid = (lo + hi) / 2
        if rejected(mid):
            hi = mid
        else:
            lo = mid
    return hi
