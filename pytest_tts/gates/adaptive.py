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
    samples_generated: int = 0
    samples_fixed: int = 0
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
