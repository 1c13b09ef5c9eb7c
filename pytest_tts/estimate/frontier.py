"""The compute-optimal frontier of several curves (Snell et al. 2024).

For each budget, the best strategy (and hyperparameter, e.g. k) among those a spec names:
the upper envelope of their curves against cost. Choosing the best of several curves on the
same problems is optimistic by construction (a selection effect); the frontier reports which
strategy each point came from so a gate can name it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.curves import Curve


def frontier_curve(curves: Sequence[Curve], unit: str = "flops") -> Curve:
    """The Pareto frontier of ``curves`` in cost ``unit``: a curve of its own.

    Points of all curves are sorted by cost (cheaper first, then higher mean); a point is
    kept when its mean is strictly higher than every cheaper kept point's. Each kept point
    keeps its per-problem values, interval, costs and budget k, and ``labels`` records its
    strategy. All curves must cover the same problems in the same order.
    """
    if not curves:
        msg = "a frontier needs at least one curve"
        raise EstimationError(msg)
    ids = curves[0].problem_ids
    for c in curves[1:]:
        if c.problem_ids != ids:
            msg = f"curves on different problems cannot share a frontier: {c.strategy}"
            raise EstimationError(msg)
    rows = [(ci, i) for ci, c in enumerate(curves) for i in range(c.ks.size)]
    cost = np.array([curves[ci].cost(unit)[i] for ci, i in rows])
    mean = np.array([curves[ci].mean[i] for ci, i in rows])
    order = np.lexsort((-mean, cost))
    kept: list[tuple[int, int]] = []
    best = -np.inf
    for j in order:
        if mean[j] > best:
            kept.append(rows[j])
            best = mean[j]

    def gather(field: str) -> np.ndarray:
        return np.array([getattr(curves[ci], field)[i] for ci, i in kept])

    names = " | ".join(dict.fromkeys(c.strategy for c in curves))
    return Curve(
        strategy=f"frontier({names})",
        ks=gather("ks").astype(np.int64),
        problem_ids=ids,
        per_problem=np.stack([curves[ci].per_problem[:, i] for ci, i in kept], axis=1),
        mean=gather("mean"),
        ci_low=gather("ci_low"),
        ci_high=gather("ci_high"),
        cost_samples=gather("cost_samples"),
        cost_tokens=gather("cost_tokens"),
        cost_flops=gather("cost_flops"),
        confidence=min(c.confidence for c in curves),
        mc_se=gather("mc_se"),
        labels=tuple(curves[ci].strategy for ci, _ in kept),
        cost_thinking=(
            gather("cost_thinking") if all(c.cost_thinking is not None for c in curves) else None
        ),
    )
