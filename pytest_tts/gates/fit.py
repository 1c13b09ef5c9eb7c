"""Scaling-law gate: "coverage >= x at n = K by fit", read from the fitted coverage law.

Large Language Monkeys (Brown et al. 2024) model coverage against the number of samples as
an exponentiated power law, c(k) = exp(-a k^b); fitted on a pool of N samples it forecasts
coverage at K > N samples without drawing them. The gate fits the law to the pool's exact
pass@k curve (k = 1..N) and reads it at K.

The verdict comes from the fit's uncertainty, taken over problems: the problems are
resampled with replacement (``resamples`` times, seeded), pass@k is averaged over each
resample, the law refitted and read at K. With ``confidence`` c, ">=" passes when the
(1 - c) quantile of the forecasts clears the threshold (a one-sided percentile bootstrap
bound), "<=" when the c quantile stays under it; without a confidence the point forecast
is compared. What the error rate covers: the sampling of problems, given the law. Whether
the law holds beyond N is an assumption no interval can check; the result says how far it
extrapolates and the fit's R² on the measured points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.fits import PowerLawFit, fit_coverage
from pytest_tts.gates._stats import norm_op

DEFAULT_FIT_RESAMPLES = 1000


@dataclass(frozen=True)
class FitThresholdResult:
    """The numbers of a ``by fit`` threshold: the law fitted on the whole pool, its forecast
    at ``k_target`` and the bootstrap interval of that forecast."""

    passed: bool
    metric: str
    op: str
    value: float
    k_target: int
    fit: PowerLawFit
    forecast: float
    low: float
    high: float
    confidence: float | None
    interval_confidence: float
    compared: float
    problems: int
    n_samples: int
    resamples: int
    failed_resamples: int
    seed: int
    measured_k: NDArray[np.int64]
    measured: NDArray[np.float64]


def _forecast(ks: NDArray[np.int64], coverage: NDArray[np.float64], k: int) -> float | None:
    """The law fitted on (ks, coverage) read at ``k``; 1.0 when every point is already at 1,
    None when no law can be fitted (fewer than two points strictly between 0 and 1)."""
    if np.all(coverage >= 1.0):
        return 1.0
    try:
        law = fit_coverage(ks, coverage)
    except EstimationError:
        return None
    value, _ = law.predict([k])
    return float(value[0])


def check_fit_threshold(
    per_problem: ArrayLike,
    ks: ArrayLike,
    *,
    op: str,
    value: float,
    k_target: int,
    confidence: float | None = None,
    metric: str = "coverage",
    resamples: int = DEFAULT_FIT_RESAMPLES,
    seed: int = 0,
) -> FitThresholdResult:
    """Fit c(k) = exp(-a k^b) to the mean of ``per_problem`` (float[P, K], exact pass@k per
    problem at ``ks``) and compare its forecast at ``k_target`` with ``value``."""
    values = np.asarray(per_problem, dtype=np.float64)
    k = np.asarray(ks, dtype=np.int64)
    if values.ndim != 2 or values.shape[1] != k.size or values.shape[0] == 0:
        msg = f"per_problem must be P x K with K = {k.size} budget points, got {values.shape}"
        raise EstimationError(msg)
    op = norm_op(op)
    if op not in (">=", ">", "<=", "<"):
        msg = f"a 'by fit' threshold compares with >=, >, <= or <, not {op!r}"
        raise EstimationError(msg)
    means = values.mean(axis=0)
    law = fit_coverage(k, means)
    forecast = float(law.predict([k_target])[0][0])
    rng = np.random.default_rng(seed)
    problems = values.shape[0]
    draws = []
    failed = 0
    for _ in range(resamples):
        rows = rng.integers(0, problems, problems)
        got = _forecast(k, values[rows].mean(axis=0), k_target)
        if got is None:
            failed += 1
        else:
            draws.append(got)
    if not draws:
        msg = "no bootstrap resample of the problems could be fitted"
        raise EstimationError(msg)
    level = confidence if confidence is not None else 0.95
    forecasts = np.asarray(draws)
    # a failed fit counts against the claim: it is placed on the side that fails the gate
    pad = np.full(failed, -np.inf if op in (">=", ">") else np.inf)
    pooled = np.concatenate([forecasts, pad])
    low = float(np.quantile(pooled, 1.0 - level))
    high = float(np.quantile(pooled, level))
    bound = low if op in (">=", ">") else high
    compared = forecast if confidence is None else bound
    passed = {
        ">=": compared >= value,
        ">": compared > value,
        "<=": compared <= value,
        "<": compared < value,
    }[op]
    return FitThresholdResult(
        passed=bool(passed),
        metric=metric,
        op=op,
        value=float(value),
        k_target=int(k_target),
        fit=law,
        forecast=forecast,
        low=low,
        high=high,
        confidence=confidence,
        interval_confidence=level,
        compared=float(compared),
        problems=problems,
        n_samples=int(k.max()),
        resamples=resamples,
        failed_resamples=failed,
        seed=seed,
        measured_k=k,
        measured=means,
    )
