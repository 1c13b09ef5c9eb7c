"""Scaling curves: a strategy's expected metric at each budget, with its interval and cost.

A :class:`Curve` keeps the per-problem values (paired gates and baselines compare problem by
problem), the mean over problems with a bootstrap interval, and the mean cost per problem
of every point in samples, tokens and FLOPs, computed from the pool's real token counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import FloatArray, IntArray, PoolArrays
from pytest_tts.estimate.stats import DEFAULT_RESAMPLES, bootstrap_ci
from pytest_tts.strategies.base import Ks, Strategy, check_ks

FlopsFn = Callable[[float, float, int], float]
"""``flops_fn(prompt_tokens, completion_tokens, n_samples)``: FLOPs of generating
``n_samples`` completions of one prompt with ``completion_tokens`` tokens in total (the
arguments of the ``pytest_tts_count_flops`` hook, minus the model config). A function with
a true ``vectorized`` attribute (:func:`pytest_tts.estimate.flops.flops_from_config`) is
called once with arrays: prompt tokens [P, 1], completion tokens and samples [P, K]."""

FULL_GRID_MAX = 64
UNITS = {
    "n": "cost_samples",
    "samples": "cost_samples",
    "tokens": "cost_tokens",
    "flops": "cost_flops",
    "thinking": "cost_thinking",
}


def default_ks(n: int) -> IntArray:
    """Every k up to N when N <= 64; otherwise powers of two up to N, and N itself."""
    if n <= FULL_GRID_MAX:
        return np.arange(1, n + 1, dtype=np.int64)
    powers = 2 ** np.arange(int(math.log2(n)) + 1, dtype=np.int64)
    return np.unique(np.append(powers, n))


@dataclass(frozen=True, eq=False)
class Curve:
    """Metric against budget for one strategy on one pool.

    ``ks`` int[K] budgets in samples; ``per_problem`` float[P, K] exact expectations per
    problem (Monte Carlo estimates where ``mc_se`` > 0); ``mean``/``ci_low``/``ci_high``
    float[K] the mean over problems and its bootstrap interval at ``confidence``;
    ``cost_samples``/``cost_tokens``/``cost_flops`` float[K] mean cost per problem (FLOPs
    NaN when no FLOPs function was given); ``mc_se`` float[K] the Monte Carlo standard error
    of ``mean`` (0 for exact strategies); ``labels`` names, for a frontier, the strategy of
    each point. A thinking curve (:mod:`pytest_tts.search.forcing`) also has
    ``cost_thinking`` float[K], the reasoning-token budget per sample of each point, and
    ``forced`` float[K], the share of samples whose reasoning was cut there, and ``grid``,
    the metric and tokens at every (budget, k) (``budgets``, ``ks``, ``mean``, ``tokens``;
    None otherwise).
    """

    strategy: str
    ks: IntArray
    problem_ids: tuple[str, ...]
    per_problem: FloatArray
    mean: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    cost_samples: FloatArray
    cost_tokens: FloatArray
    cost_flops: FloatArray
    confidence: float
    mc_se: FloatArray
    labels: tuple[str, ...] | None = None
    cost_thinking: FloatArray | None = None
    forced: FloatArray | None = None
    grid: dict[str, Any] | None = None

    def cost(self, unit: str) -> FloatArray:
        """Mean cost per problem of every point in ``unit`` (``n``/``samples``, ``tokens``,
        ``flops``)."""
        try:
            values: FloatArray | None = getattr(self, UNITS[unit])
        except KeyError:
            msg = f"cost unit must be one of {', '.join(UNITS)}, got {unit!r}"
            raise EstimationError(msg) from None
        if values is None:
            msg = (
                f"the curve of {self.strategy} has no thinking budgets: a budget in thinking"
                " tokens is measured by budget_forcing(...) (e.g. 'using"
                " budget_forcing(majority_vote, k = 4)')"
            )
            raise EstimationError(msg)
        if unit == "flops" and np.isnan(values).all():
            msg = (
                f"the curve of {self.strategy} has no FLOPs: the model's size is unknown (a"
                ' replayed or remote model needs config = "path/to/config.json" or'
                " params = 1.5e9 in its declaration)"
            )
            raise EstimationError(msg)
        return values

    @property
    def exact(self) -> bool:
        return not bool(np.any(self.mc_se > 0))

    def to_dict(self, per_problem: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (NaN FLOPs become None)."""

        def floats(a: npt.NDArray[Any]) -> list[Any]:
            return [None if not np.isfinite(x) else float(x) for x in np.ravel(a)]

        out: dict[str, Any] = {
            "strategy": self.strategy,
            "confidence": self.confidence,
            "exact": self.exact,
            "ks": [int(k) for k in self.ks],
            "mean": floats(self.mean),
            "ci_low": floats(self.ci_low),
            "ci_high": floats(self.ci_high),
            "mc_se": floats(self.mc_se),
            "cost_samples": floats(self.cost_samples),
            "cost_tokens": floats(self.cost_tokens),
            "cost_flops": floats(self.cost_flops),
        }
        if self.labels is not None:
            out["labels"] = list(self.labels)
        if self.cost_thinking is not None:
            out["cost_thinking"] = floats(self.cost_thinking)
        if self.forced is not None:
            out["forced"] = floats(self.forced)
        if self.grid is not None:
            out["grid"] = dict(self.grid)
        if per_problem:
            out["problem_ids"] = list(self.problem_ids)
            out["per_problem"] = [[float(x) for x in row] for row in self.per_problem]
        return out


def compute_curve(
    strategy: Strategy,
    pool: PoolArrays,
    ks: Ks | None = None,
    *,
    flops_fn: FlopsFn | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
) -> Curve:
    """The curve of ``strategy`` on ``pool`` at budgets ``ks`` (default :func:`default_ks`).

    FLOPs are ``flops_fn`` at each problem's prompt tokens and expected completion tokens
    (the sum over the k samples), averaged over problems, plus the FLOPs of any model-based
    verifier the strategy reads (:func:`verifier_flops`). The FLOPs model is nearly linear in
    tokens, so evaluating it at the expected token count is accurate to the small quadratic
    attention term. The bootstrap is seeded by ``seed``.
    """
    grid = default_ks(pool.n_samples) if ks is None else check_ks(ks, pool.n_samples)
    estimate = strategy.estimate(pool, grid)
    values = estimate.values
    if values.shape != (pool.n_problems, grid.size):
        msg = (
            f"strategy {strategy.text} returned shape {values.shape}, "
            f"expected {(pool.n_problems, grid.size)}"
        )
        raise EstimationError(msg)
    low, high = bootstrap_ci(values, confidence, resamples, seed)
    cost = strategy.cost(pool, grid)
    flops = np.full(grid.size, np.nan)
    if flops_fn is not None and getattr(flops_fn, "vectorized", False):
        vector_fn: Callable[..., Any] = flops_fn
        table = np.asarray(
            vector_fn(cost.prompt_tokens[:, None], cost.completion_tokens, cost.samples),
            dtype=np.float64,
        )
        flops = table.mean(axis=0)
    elif flops_fn is not None:
        table = np.array(
            [
                [
                    flops_fn(float(prompt), float(tokens), int(k))
                    for tokens, k in zip(row, cost.samples[p], strict=True)
                ]
                for p, (prompt, row) in enumerate(
                    zip(cost.prompt_tokens, cost.completion_tokens, strict=True)
                )
            ],
            dtype=np.float64,
        )
        flops = table.mean(axis=0)
    verifier_table = verifier_flops(strategy, pool, cost.samples, grid)
    if verifier_table is not None:
        # a verifier with model FLOPs (reward model, judge) is paid for every sample it
        # judges; with no generation FLOPs model, the verifier's alone are not a cost
        flops = flops + verifier_table.mean(axis=0)
    mc_se = np.sqrt((estimate.mc_se**2).sum(axis=0)) / pool.n_problems
    return Curve(
        strategy=strategy.text,
        ks=grid,
        problem_ids=pool.problem_ids,
        per_problem=values,
        mean=values.mean(axis=0),
        ci_low=low,
        ci_high=high,
        cost_samples=cost.samples.mean(axis=0),
        cost_tokens=cost.tokens.mean(axis=0),
        cost_flops=flops,
        confidence=confidence,
        mc_se=mc_se,
    )


def verifier_flops(
    strategy: Strategy, pool: PoolArrays, samples: FloatArray, ks: Ks | None = None
) -> FloatArray | None:
    """float[P, K]: the FLOPs of the verifiers ``strategy`` reads, for ``samples`` [P, K]
    expected samples judged per problem, or None when it reads none that costs FLOPs.

    A strategy reads verifier NAME when ``requires`` holds ``scores:NAME`` or
    ``accepted:NAME``; each judged sample costs that problem's mean FLOPs per verdict. A
    frontier (a strategy with ``members`` and ``choices``) pays, at each budget, for the
    verifiers of the member it chose there only.
    """
    members = getattr(strategy, "members", None)
    choices = getattr(strategy, "choices", None)
    if members is not None and callable(choices) and ks is not None:
        picks, _ = choices(pool, ks)
        chosen = [verifier_flops(m, pool, samples, ks) for m in members]
        if all(t is None for t in chosen):
            return None
        out = np.zeros(np.shape(samples), dtype=np.float64)
        for column, member in enumerate(picks):
            table = chosen[member]
            if table is not None:
                out[:, column] = table[:, column]
        return out
    names = sorted(
        {r.split(":", 1)[1] for r in strategy.requires if r.startswith(("scores:", "accepted:"))}
    )
    tables = [pool.verifier_flops[name] for name in names if name in pool.verifier_flops]
    if not tables:
        return None
    per_sample = sum(t.mean(axis=1) for t in tables)
    return np.asarray(samples * np.asarray(per_sample)[:, None], dtype=np.float64)


@dataclass(frozen=True)
class Point:
    """One point of a curve: its index, budget k, mean, interval and cost in the unit asked."""

    index: int
    k: int
    value: float
    ci_low: float
    ci_high: float
    cost: float
    label: str


def point(curve: Curve, index: int, unit: str = "n") -> Point:
    """The point at ``index`` of ``curve``, with its cost in ``unit``."""
    label = curve.labels[index] if curve.labels is not None else curve.strategy
    return Point(
        index=index,
        k=int(curve.ks[index]),
        value=float(curve.mean[index]),
        ci_low=float(curve.ci_low[index]),
        ci_high=float(curve.ci_high[index]),
        cost=float(curve.cost(unit)[index]),
        label=label,
    )


def best_within(curve: Curve, unit: str, budget: float) -> Point | None:
    """The point with the highest mean among those costing at most ``budget`` in ``unit``.

    Ties go to the cheaper point. None when every point costs more than the budget (a
    relative slack of 1e-9 absorbs float noise in costs such as k times mean tokens).
    """
    cost = curve.cost(unit)
    inside = np.flatnonzero(cost <= budget * (1 + 1e-9))
    if inside.size == 0:
        return None
    order = np.lexsort((cost[inside], -curve.mean[inside]))
    return point(curve, int(inside[order[0]]), unit)


def value_at(curve: Curve, unit: str, cost: float) -> tuple[float, bool]:
    """The curve's mean at ``cost``: piecewise linear in log cost; (value, extrapolated).

    Outside the range of costs the curve covers, the value of the nearest end is returned
    and ``extrapolated`` is True. Points with equal cost keep the best mean.
    """
    if not cost > 0:
        msg = f"cost must be positive, got {cost!r}"
        raise EstimationError(msg)
    costs = curve.cost(unit)
    order = np.argsort(costs, kind="stable")
    xs, ys = costs[order], curve.mean[order]
    unique_x, start = np.unique(xs, return_index=True)
    best_y = np.maximum.reduceat(ys, start)
    if unique_x[0] <= 0:
        msg = f"curve costs must be positive to interpolate in log cost, got {unique_x[0]!r}"
        raise EstimationError(msg)
    extrapolated = bool(cost < unique_x[0] or cost > unique_x[-1])
    value = float(np.interp(math.log(cost), np.log(unique_x), best_y))
    return value, extrapolated
