"""Comparison of two curves at matched compute.

Each curve has its own costs (mean cost per problem at each of its budget points). Both
are interpolated per problem, piecewise linearly in log cost, at common costs, and only
where both curves have data: a cost outside either curve's range is reported as "not
compared", never extrapolated.

The costs compared are the budget given (one point), or for a range ``[lo, hi]`` the two
ends plus every cost point of either curve inside it (restricted to the overlap), or with
no budget every cost point of either curve inside the overlap.

The claim (``left OP right``) must hold at every compared cost. With ``confidence c``
each point needs its one-sided ``c`` bound of the difference on the right side of zero;
requiring all of them is an intersection-union test, so the chance of passing when the
claim is false at some compared cost stays at most ``1 - c`` without a multiplicity
correction. Paired over problems (the difference is bootstrapped per problem) when both
curves come from the same problems, matched by id; otherwise the two curves are
resampled independently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pytest_tts.gates._stats import (
    DEFAULT_RESAMPLES,
    OPS,
    IntervalMethod,
    bootstrap_means,
    check_level,
    interp_log_cost,
    norm_op,
)


def _curve(
    values: ArrayLike, cost: ArrayLike, name: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    c = np.asarray(cost, dtype=np.float64).reshape(-1)
    if v.ndim != 2 or v.shape[1] != c.size:
        msg = f"{name}: expected values [problems, {c.size}] for {c.size} costs, got {v.shape}"
        raise ValueError(msg)
    if v.shape[0] == 0:
        msg = f"{name}: no problems"
        raise ValueError(msg)
    if np.any(c <= 0) or np.any(np.diff(c) < 0):
        msg = (
            f"{name}: costs must be positive and non-decreasing (interpolation is in log "
            f"cost), got {c.tolist()}"
        )
        raise ValueError(msg)
    return v, c


def _align(
    left: NDArray[np.float64],
    right: NDArray[np.float64],
    left_ids: Sequence[str] | None,
    right_ids: Sequence[str] | None,
    paired: bool | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool, bool]:
    """Rows of both sides in the same problem order; (left, right, paired, on different
    problems)."""
    if left_ids is not None and right_ids is not None:
        lid, rid = [str(x) for x in left_ids], [str(x) for x in right_ids]
        same = set(lid) == set(rid) and len(lid) == len(rid)
        if same and paired is not False:
            position = {pid: i for i, pid in enumerate(rid)}
            return left, right[[position[pid] for pid in lid]], True, False
        if paired:
            only_l = sorted(set(lid) - set(rid))
            only_r = sorted(set(rid) - set(lid))
            msg = (
                "a paired comparison needs both curves on the same problems: "
                f"{len(only_l)} only in the left curve {only_l[:5]}, "
                f"{len(only_r)} only in the right {only_r[:5]}"
            )
            raise ValueError(msg)
        return left, right, False, not same
    if paired:
        if left.shape[0] != right.shape[0]:
            msg = (
                "a paired comparison needs the same problems: "
                f"{left.shape[0]} vs {right.shape[0]} rows"
            )
            raise ValueError(msg)
        return left, right, True, False
    return left, right, False, False


def difference_bounds(
    left: NDArray[np.float64],
    right: NDArray[np.float64],
    *,
    paired: bool,
    confidence: float,
    method: IntervalMethod,
    resamples: int,
    seed: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One-sided ``confidence`` lower and upper bounds of mean(left) - mean(right), per column."""
    check_level(confidence)
    alpha = 1.0 - confidence
    diff = left.mean(axis=0) - right.mean(axis=0)
    if method == "bootstrap":
        if paired:
            boot = bootstrap_means(left - right, resamples, seed)
        else:
            boot = bootstrap_means(left, resamples, seed) - bootstrap_means(
                right, resamples, seed + 1
            )
        return np.quantile(boot, alpha, axis=0), np.quantile(boot, confidence, axis=0)
    if method == "t":
        if paired:
            d = left - right
            n = d.shape[0]
            se = d.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(d.shape[1])
            df = np.full(d.shape[1], max(n - 1, 1), dtype=np.float64)
        else:
            n1, n2 = left.shape[0], right.shape[0]
            v1 = left.var(axis=0, ddof=1) / n1 if n1 > 1 else np.zeros(left.shape[1])
            v2 = right.var(axis=0, ddof=1) / n2 if n2 > 1 else np.zeros(right.shape[1])
            se = np.sqrt(v1 + v2)
            denom = v1**2 / max(n1 - 1, 1) + v2**2 / max(n2 - 1, 1)
            df = np.where(denom > 0, (v1 + v2) ** 2 / np.where(denom > 0, denom, 1.0), 1.0)
        q = stats.t.ppf(confidence, df)
        return np.where(se > 0, diff - q * se, diff), np.where(se > 0, diff + q * se, diff)
    msg = f"interval method must be 'bootstrap' or 't', got {method!r}"
    raise ValueError(msg)


@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """The numbers of a comparison at matched compute; ``pytest_tts.report.gates`` renders
    them.

    ``candidates`` are the costs asked about (in ``unit``), ``within`` whether each lies in
    the range both curves cover (``overlap``); the compared ones, in order, have the curves'
    means ``left``/``right``, their ``difference``, the value ``tested`` against zero (the
    ``side`` bound with a confidence, else the difference), ``holds`` and which curves were
    ``interpolated`` there. ``left_range``/``right_range`` are each curve's cost range.
    """

    passed: bool
    op: str
    unit: str
    at: float | tuple[float, float] | None
    left_label: str
    right_label: str
    candidates: NDArray[np.float64]
    within: NDArray[np.bool_]
    left: NDArray[np.float64]
    right: NDArray[np.float64]
    difference: NDArray[np.float64]
    tested: NDArray[np.float64]
    holds: NDArray[np.bool_]
    interpolated: tuple[tuple[str, ...], ...]
    overlap: tuple[float, float]
    left_range: tuple[float, float]
    right_range: tuple[float, float]
    paired: bool
    different_problems: bool
    confidence: float | None
    side: str
    method: IntervalMethod
    resamples: int
    seed: int
    kind: str = "comparison"


def _candidates(
    lc: NDArray[np.float64], rc: NDArray[np.float64], at: float | tuple[float, float] | None
) -> NDArray[np.float64]:
    """The costs asked about: every cost point of either curve, a range's ends and the
    points inside it, or the one cost given."""
    if at is None:
        return np.unique(np.concatenate([lc, rc]))
    if isinstance(at, tuple):
        lo, hi = float(at[0]), float(at[1])
        if not 0 < lo <= hi:
            msg = f"a cost range needs 0 < lo <= hi, got [{lo}, {hi}]"
            raise ValueError(msg)
        inside = np.concatenate([lc, rc])
        inside = inside[(inside >= lo) & (inside <= hi)]
        return np.unique(np.concatenate([[lo, hi], inside]))
    return np.array([float(at)])


def matched_costs(
    lc: NDArray[np.float64], rc: NDArray[np.float64], at: float | tuple[float, float] | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """The costs asked about (see :func:`_candidates`), which of them both curves cover,
    and those, clipped into the overlap: the costs the curves are compared at."""
    lo_overlap, hi_overlap = max(lc[0], rc[0]), min(lc[-1], rc[-1])
    tol = 1e-9
    candidates = _candidates(lc, rc, at)
    within = (candidates >= lo_overlap * (1 - tol)) & (candidates <= hi_overlap * (1 + tol))
    return candidates, within, np.clip(candidates[within], lo_overlap, hi_overlap)


def _on_grid(
    lv: NDArray[np.float64],
    lc: NDArray[np.float64],
    rv: NDArray[np.float64],
    rc: NDArray[np.float64],
    grid: NDArray[np.float64],
    confidence: float | None,
    side: str,
    paired: bool,
    method: IntervalMethod,
    resamples: int,
    seed: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Both curves' means at the grid's costs (interpolated per problem), and the value
    tested against zero there: the ``side`` bound of the difference, or the difference."""
    if not grid.size:
        empty = np.zeros(0)
        return empty, empty, empty
    li = interp_log_cost(lv, lc, grid)
    ri = interp_log_cost(rv, rc, grid)
    li_mean, ri_mean = li.mean(axis=0), ri.mean(axis=0)
    if confidence is None:
        return li_mean, ri_mean, li_mean - ri_mean
    lower, upper = difference_bounds(
        li, ri, paired=paired, confidence=confidence, method=method, resamples=resamples, seed=seed
    )
    return li_mean, ri_mean, lower if side == "lower" else upper


def check_comparison(
    left: ArrayLike,
    left_cost: ArrayLike,
    right: ArrayLike,
    right_cost: ArrayLike,
    *,
    op: str = ">",
    at: float | tuple[float, float] | None = None,
    confidence: float | None = None,
    unit: str = "flops",
    left_label: str = "left",
    right_label: str = "right",
    left_ids: Sequence[str] | None = None,
    right_ids: Sequence[str] | None = None,
    paired: bool | None = None,
    method: IntervalMethod = "bootstrap",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> ComparisonResult:
    """Does ``left OP right`` hold at matched compute (at ``at``: one cost, a range, or all)?

    ``left``/``right`` are float[P, K] per-problem values with their own ``*_cost`` float[K]
    (positive, non-decreasing). ``paired=None`` pairs when both id lists are given and hold
    the same problems; ``True`` insists (an error otherwise); ``False`` never pairs.
    """
    op = norm_op(op)
    if op == "=":
        msg = "a comparison needs >, >=, < or <=, got '='"
        raise ValueError(msg)
    lv, lc = _curve(left, left_cost, left_label)
    rv, rc = _curve(right, right_cost, right_label)
    lv, rv, is_paired, different = _align(lv, rv, left_ids, right_ids, paired)
    lo_overlap, hi_overlap = max(lc[0], rc[0]), min(lc[-1], rc[-1])
    candidates, within, grid = matched_costs(lc, rc, at)
    side = "lower" if op in (">", ">=") else "upper"
    li_mean, ri_mean, tested = _on_grid(
        lv, lc, rv, rc, grid, confidence, side, is_paired, method, resamples, seed
    )
    diff = li_mean - ri_mean
    holds = np.array([OPS[op](float(x), 0.0) for x in tested], dtype=bool)
    interpolated = tuple(
        tuple(
            label
            for label, costs in ((left_label, lc), (right_label, rc))
            if not np.isclose(costs, point, rtol=1e-9).any()
        )
        for point in grid
    )
    return ComparisonResult(
        passed=bool(holds.size) and bool(holds.all()),
        op=op,
        unit=unit,
        at=at,
        left_label=left_label,
        right_label=right_label,
        candidates=candidates,
        within=within,
        left=li_mean,
        right=ri_mean,
        difference=diff,
        tested=np.asarray(tested, dtype=np.float64),
        holds=holds,
        interpolated=interpolated,
        overlap=(float(lo_overlap), float(hi_overlap)),
        left_range=(float(lc[0]), float(lc[-1])),
        right_range=(float(rc[0]), float(rc[-1])),
        paired=is_paired,
        different_problems=different,
        confidence=confidence,
        side=side,
        method=method,
        resamples=resamples,
        seed=seed,
    )
