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
from typing import Any

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
from pytest_tts.gates.result import GateResult, fmt


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
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool, list[str]]:
    notes: list[str] = []
    if left_ids is not None and right_ids is not None:
        lid, rid = [str(x) for x in left_ids], [str(x) for x in right_ids]
        same = set(lid) == set(rid) and len(lid) == len(rid)
        if same and paired is not False:
            position = {pid: i for i, pid in enumerate(rid)}
            return left, right[[position[pid] for pid in lid]], True, notes
        if paired:
            only_l = sorted(set(lid) - set(rid))
            only_r = sorted(set(rid) - set(lid))
            msg = (
                "a paired comparison needs both curves on the same problems: "
                f"{len(only_l)} only in the left curve {only_l[:5]}, "
                f"{len(only_r)} only in the right {only_r[:5]}"
            )
            raise ValueError(msg)
        if not same:
            notes.append("the curves are on different problems: compared unpaired")
        return left, right, False, notes
    if paired:
        if left.shape[0] != right.shape[0]:
            msg = (
                "a paired comparison needs the same problems: "
                f"{left.shape[0]} vs {right.shape[0]} rows"
            )
            raise ValueError(msg)
        return left, right, True, notes
    return left, right, False, notes


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
) -> GateResult:
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
    lv, rv, is_paired, notes = _align(lv, rv, left_ids, right_ids, paired)
    lo_overlap, hi_overlap = max(lc[0], rc[0]), min(lc[-1], rc[-1])
    tol = 1e-9

    if at is None:
        candidates = np.unique(np.concatenate([lc, rc]))
        where = "at matched " + unit
    elif isinstance(at, tuple):
        lo, hi = float(at[0]), float(at[1])
        if not 0 < lo <= hi:
            msg = f"a cost range needs 0 < lo <= hi, got [{lo}, {hi}]"
            raise ValueError(msg)
        inside = np.concatenate([lc, rc])
        inside = inside[(inside >= lo) & (inside <= hi)]
        candidates = np.unique(np.concatenate([[lo, hi], inside]))
        where = f"at matched {unit} in [{fmt(lo)}, {fmt(hi)}]"
    else:
        candidates = np.array([float(at)])
        where = f"at {unit} = {fmt(float(at))}"
    within = (candidates >= lo_overlap * (1 - tol)) & (candidates <= hi_overlap * (1 + tol))
    grid = np.clip(candidates[within], lo_overlap, hi_overlap)
    claim = f"{left_label} {op} {right_label} {where}"

    rows: list[dict[str, Any]] = []
    compared_ok: list[bool] = []
    lower = upper = None
    if grid.size:
        li = interp_log_cost(lv, lc, grid)
        ri = interp_log_cost(rv, rc, grid)
        diff = li.mean(axis=0) - ri.mean(axis=0)
        if confidence is not None:
            lower, upper = difference_bounds(
                li,
                ri,
                paired=is_paired,
                confidence=confidence,
                method=method,
                resamples=resamples,
                seed=seed,
            )
    g = 0
    side = "lower" if op in (">", ">=") else "upper"
    for cost_point, inside_both in zip(candidates, within, strict=True):
        row: dict[str, Any] = {f"cost ({unit})": float(cost_point)}
        if not inside_both:
            row.update({left_label: None, right_label: None, "difference": None})
            if confidence is not None:
                row[f"{side} bound"] = None
            row["verdict"] = "not compared"
            row["note"] = (
                f"outside the common range [{fmt(float(lo_overlap))}, {fmt(float(hi_overlap))}]"
                if lo_overlap <= hi_overlap
                else "the curves' costs do not overlap"
            )
            rows.append(row)
            continue
        d = float(diff[g])
        tested = d
        if confidence is not None:
            assert lower is not None
            assert upper is not None
            tested = float(lower[g] if side == "lower" else upper[g])
        ok = OPS[op](tested, 0.0)
        compared_ok.append(ok)
        interp = [
            label
            for label, costs in ((left_label, lc), (right_label, rc))
            if not np.isclose(costs, grid[g], rtol=1e-9).any()
        ]
        row.update(
            {
                left_label: float(li[:, g].mean()),
                right_label: float(ri[:, g].mean()),
                "difference": d,
            }
        )
        if confidence is not None:
            row[f"{side} bound"] = tested
        row["verdict"] = "holds" if ok else "fails"
        row["note"] = ("interpolated: " + ", ".join(interp)) if interp else ""
        rows.append(row)
        g += 1

    not_compared = int((~within).sum())
    if not_compared:
        ranges = (
            f"[{fmt(float(lc[0]))}, {fmt(float(lc[-1]))}] vs "
            f"[{fmt(float(rc[0]))}, {fmt(float(rc[-1]))}] {unit}"
        )
        notes.append(
            f"{not_compared} cost point(s) outside the range both curves cover ({ranges}): "
            "not compared, never extrapolated"
        )
    if any(r.get("note", "").startswith("interpolated") for r in rows):
        notes.append(
            "values between a curve's own budget points are interpolated linearly in log "
            "cost, per problem"
        )
    passed = bool(compared_ok) and all(compared_ok)
    if not compared_ok:
        headline = f"{claim}: nothing to compare (no cost inside both curves' ranges)"
    else:
        failing = sum(not ok for ok in compared_ok)
        headline = (
            f"{claim}: holds at all {len(compared_ok)} compared cost(s)"
            if passed
            else f"{claim}: fails at {failing} of {len(compared_ok)} compared cost(s)"
        )
    pairing = "paired over problems" if is_paired else "unpaired (independent resampling)"
    if confidence is not None:
        how = (
            f"percentile bootstrap, {resamples} resamples, seed {seed}"
            if method == "bootstrap"
            else "Student t"
        )
        method_text = (
            f"one-sided {confidence:g} {side} bound of the difference per cost, {pairing}; {how}"
        )
        error_rate = (
            f"passes with probability at most {1 - confidence:.3g} when the claim is false at any "
            "compared cost (intersection-union test)"
        )
    else:
        method_text = f"point estimates of the difference ({pairing})"
        error_rate = "not controlled (point estimate); add `with confidence c` to bound it"
    return GateResult(
        passed=passed,
        kind="comparison",
        headline=headline,
        rows=rows,
        confidence=confidence,
        method=method_text,
        error_rate=error_rate,
        notes=tuple(notes),
        data={"paired": is_paired, "compared": int(grid.size), "not_compared": not_compared},
    )
