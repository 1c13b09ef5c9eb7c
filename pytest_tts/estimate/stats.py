"""Uncertainty: bootstrap over problems, and binomial intervals for proportions.

The spread that matters in a scaling curve is over problems (a different draw of problems
would give a different curve); the per-problem values themselves are exact expectations.
So curve intervals come from a percentile bootstrap that resamples problems, vectorized as
multinomial resampling weights times the per-problem matrix (one matrix product for every
budget). Verifier error rates are binomial proportions with Wilson or Clopper–Pearson bounds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import beta, norm

from pytest_tts.errors import EstimationError

FloatArray = npt.NDArray[np.float64]
DEFAULT_RESAMPLES = 2000


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        msg = f"confidence must be strictly between 0 and 1, got {confidence!r}"
        raise EstimationError(msg)


def bootstrap_means(
    per_problem: npt.ArrayLike, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> FloatArray:
    """Means over problems of ``resamples`` bootstrap resamples: float[B, K].

    ``per_problem`` is float[P, K] (or float[P]). Each resample draws P problems with
    replacement; it is represented by its multinomial counts, so memory is B x P, not B x P x K.
    Seeded: the same inputs and seed give the same resamples.
    """
    values = np.asarray(per_problem, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    p = values.shape[0]
    if p == 0:
        msg = "cannot bootstrap over zero problems"
        raise EstimationError(msg)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(p, np.full(p, 1.0 / p), size=resamples).astype(np.float64)
    return np.asarray(counts @ values / p, dtype=np.float64)


def bootstrap_ci(
    per_problem: npt.ArrayLike,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[FloatArray, FloatArray]:
    """Percentile bootstrap interval of the mean over problems, for each column: (low, high)."""
    _check_confidence(confidence)
    means = bootstrap_means(per_problem, resamples, seed)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=0)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def wilson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a binomial proportion (vectorized); (low, high).

    Agrees with ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.
    """
    _check_confidence(confidence)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        msg = "Wilson intervals need 0 <= successes <= trials and trials > 0"
        raise EstimationError(msg)
    z = norm.ppf(1 - (1 - confidence) / 2)
    phat = k / n
    denom = 1 + z**2 / n
    center = (phat + z**2 / (2 * n)) / denom
    half = z * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / denom
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)


def clopper_pearson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Exact (Clopper–Pearson) interval from beta quantiles (vectorized); (low, high)."""
    _check_confidence(confidence)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        msg = "Clopper-Pearson intervals need 0 <= successes <= trials and trials > 0"
        raise EstimationError(msg)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def upper_bound(
    successes: npt.ArrayLike,
    trials: npt.ArrayLike,
    confidence: float = 0.95,
    method: str = "clopper-pearson",
) -> FloatArray:
    """One-sided upper confidence bound of a proportion (for "rate <= x" checks)."""
    two_sided = 1 - 2 * (1 - confidence)
    if method == "wilson":
        return wilson_interval(successes, trials, two_sided)[1]
    if method == "clopper-pearson":
        return clopper_pearson_interval(successes, trials, two_sided)[1]
    msg = f'method must be "wilson" or "clopper-pearson", got {method!r}'
    raise EstimationError(msg)
