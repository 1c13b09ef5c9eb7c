"""Monotonicity: no drop between consecutive budget points larger than the tolerance.

Negative scaling (accuracy that falls as samples or tokens grow) shows up as a drop from
one budget point to the next. Without a confidence every observed drop beyond the
tolerance fails. With ``confidence c`` a drop counts only if it is significant: each
consecutive pair gets the paired one-sided test of the regression gate (H0: drop <=
tolerance), with Holm's adjustment (or the bootstrap max-T) across the pairs, so a flat or
rising curve fails with probability at most ``1 - c``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pytest_tts.gates._stats import check_curve, check_level
from pytest_tts.gates.regression import RegressionMethod, regression_pvalues


@dataclass(frozen=True, eq=False)
class MonotoneResult:
    """The numbers of a monotonicity gate; ``pytest_tts.report.gates`` renders them.

    Per consecutive pair of budget points ``j -> j + 1``: the mean ``drop``, the adjusted
    p-value (``adjusted_p``, with a confidence) and whether it is a ``bad`` drop. ``means``
    and ``cost`` are per budget point. A curve with one point has no pairs. ``columns`` are
    further per-point values shown in its table (a thinking curve's forced share, tokens).
    """

    passed: bool
    metric: str
    strategy: str
    unit: str
    tolerance: float
    ks: NDArray[np.int64]
    cost: NDArray[np.float64]
    means: NDArray[np.float64]
    drop: NDArray[np.float64]
    adjusted_p: NDArray[np.float64] | None
    bad: NDArray[np.bool_]
    confidence: float | None
    method: RegressionMethod
    resamples: int
    seed: int
    problems: int
    kind: str = "monotone"
    columns: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)


def check_monotone(
    per_problem: ArrayLike,
    ks: ArrayLike,
    cost: ArrayLike | None = None,
    *,
    tolerance: float = 0.0,
    confidence: float | None = None,
    unit: str = "n",
    metric: str = "accuracy",
    strategy: str = "",
    method: RegressionMethod = "holm",
    resamples: int = 2000,
    seed: int = 0,
) -> MonotoneResult:
    """Is the curve free of drops larger than ``tolerance`` between consecutive points?

    ``per_problem`` float[P, K] ordered by budget, ``ks`` int[K], ``cost`` float[K] (shown
    in the table; defaults to the ks). The worst drop is reported either way.
    """
    k_arr = np.asarray(ks)
    values, k, c = check_curve(per_problem, ks, k_arr if cost is None else cost)
    if tolerance < 0:
        msg = f"tolerance must be >= 0, got {tolerance!r}"
        raise ValueError(msg)
    drop = values[:, :-1] - values[:, 1:]
    mean_drop = drop.mean(axis=0)
    p_adj = None
    if k.size < 2:
        bad = np.zeros(0, dtype=bool)
    elif confidence is not None:
        check_level(confidence)
        _, _, p_adj = regression_pvalues(
            drop, tolerance, method=method, resamples=resamples, seed=seed
        )
        bad = p_adj <= 1.0 - confidence
    else:
        bad = mean_drop > tolerance + 1e-12
    return MonotoneResult(
        passed=not bool(bad.any()),
        metric=metric,
        strategy=strategy,
        unit=unit,
        tolerance=float(tolerance),
        ks=k,
        cost=c,
        means=values.mean(axis=0),
        drop=mean_drop,
        adjusted_p=p_adj,
        bad=bad,
        confidence=confidence,
        method=method,
        resamples=resamples,
        seed=seed,
        problems=int(values.shape[0]),
    )
