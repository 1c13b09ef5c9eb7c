"""No regression against a stored baseline: a paired, one-sided test per budget point with
family-wise error control.

For every budget point ``j`` and problem ``i`` let ``D_ij = baseline_ij - current_ij`` (the
drop; positive is worse). Per budget point the test is

    H0: E[D_j] <= tolerance    against    H1: E[D_j] > tolerance,

and the gate fails only where H0 is rejected after adjusting for testing every budget
point at once, at level ``alpha = 1 - confidence``. Two methods:

- ``holm`` (default): the paired t statistic ``T_j = (mean(D_j) - tolerance) / se_j`` with
  n - 1 degrees of freedom, one-sided p-values, Holm's step-down adjustment. Valid under
  any dependence between budget points.
- ``maxt``: Westfall–Young single-step max-T, the null distribution of the largest
  standardized deviation over budget points bootstrapped over problems (resampling whole
  rows keeps the correlation between budget points, so it is less conservative than Holm
  when the points move together, as scaling curves do).

A point with zero spread in ``D`` (every problem moved by the same amount) has no t
statistic; it gets the sign test's p-value instead: ``0.5 ** n`` when all ``n`` problems
dropped by more than the tolerance, 1 otherwise (so one problem alone never counts as
significant). Problems present on one side only
are excluded and listed (``missing="exclude"``) or make the gate fail
(``missing="fail"``): the dataset hash in the provenance already catches a changed
dataset, so a partial overlap means a deliberate change (a ``limit``), and the test stays
valid on the common problems as long as which problems are missing does not depend on
their outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pytest_tts.gates._stats import bootstrap_counts, budget_mask, check_level, holm
from pytest_tts.gates.baseline import BaselineEntry, Provenance, check_provenance, mismatch_notes
from pytest_tts.gates.result import GateResult, fmt
from pytest_tts.gates.threshold import budget_parts, budget_text

RegressionMethod = Literal["holm", "maxt"]
MissingPolicy = Literal["exclude", "fail"]


def paired_t(drop: NDArray[np.float64], tolerance: float) -> tuple[NDArray[np.float64], ...]:
    """One-sided paired t test of mean(drop) > tolerance along axis -2 (problems).

    ``drop`` is float[..., P, K]. Returns (mean, se, t, p) each float[..., K]; columns
    with zero spread get the sign test's ``0.5 ** n`` (all dropped beyond tolerance) or 1.
    """
    n = drop.shape[-2]
    mean = drop.mean(axis=-2)
    sd = drop.std(axis=-2, ddof=1) if n > 1 else np.zeros_like(mean)
    se = sd / np.sqrt(n)
    # Differences of [0, 1] values are multiples of small fractions; treat round-off as zero.
    flat = se <= 1e-12
    t = np.where(flat, 0.0, (mean - tolerance) / np.where(flat, 1.0, se))
    p = stats.t.sf(t, max(n - 1, 1))
    p = np.where(flat, np.where(mean - tolerance > 1e-12, 0.5**n, 1.0), p)
    return mean, se, t, p


def maxt_adjusted(
    drop: NDArray[np.float64], tolerance: float, *, resamples: int, seed: int
) -> NDArray[np.float64]:
    """Westfall–Young single-step max-T adjusted p-values for float[P, K] drops.

    The null distribution is the bootstrap distribution of ``max_j (mean*_j - mean_j) /
    se_j``: resampled means centred at the observed ones, scaled by the observed standard
    errors. Re-studentizing each resample (``se*_j``) was measured anti-conservative on a
    real pool where most per-problem differences are 0 (false-alarm rate 0.092 at 200
    problems for a nominal 0.05); the fixed scale stayed at or below 0.05
    (``bench/gate_calibration.py``).
    """
    n, k = drop.shape
    mean, se, t, p_exact = paired_t(drop, tolerance)
    flat = se <= 1e-12
    rng = np.random.default_rng(seed)
    counts = bootstrap_counts(n, resamples, rng)
    centred = counts @ drop / n - mean
    t_b = np.where(flat, -np.inf, centred / np.where(flat, 1.0, se))
    worst = t_b.max(axis=1) if k else np.zeros(resamples)
    exceed = (worst[:, None] >= t[None, :]).sum(axis=0)
    p = (1.0 + exceed) / (resamples + 1.0)
    return np.where(flat, p_exact, p)


def regression_pvalues(
    drop: NDArray[np.float64],
    tolerance: float,
    *,
    method: RegressionMethod = "holm",
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(mean drop, se, adjusted p) per budget point for float[P, K] (``holm`` also [..., P, K])."""
    mean, se, _, p = paired_t(drop, tolerance)
    if method == "holm":
        return mean, se, holm(p)
    if method == "maxt":
        if drop.ndim != 2:
            msg = "maxt takes one [problems, budget points] array at a time"
            raise ValueError(msg)
        return mean, se, maxt_adjusted(drop, tolerance, resamples=resamples, seed=seed)
    msg = f"regression method must be 'holm' or 'maxt', got {method!r}"
    raise ValueError(msg)


def _match(
    current: NDArray[np.float64],
    baseline: NDArray[np.float64],
    current_ids: Sequence[str] | None,
    baseline_ids: Sequence[str] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[str], list[str]]:
    """Rows of both sides for the common problems; ids only in the current / the baseline."""
    if current_ids is None or baseline_ids is None:
        if current.shape[0] != baseline.shape[0]:
            msg = (
                "without problem ids both sides must hold the same problems in the same order: "
                f"{current.shape[0]} current rows vs {baseline.shape[0]} baseline rows"
            )
            raise ValueError(msg)
        return current, baseline, [], []
    cid, bid = [str(x) for x in current_ids], [str(x) for x in baseline_ids]
    if len(cid) != current.shape[0] or len(bid) != baseline.shape[0]:
        msg = "one problem id per row is expected on both sides"
        raise ValueError(msg)
    if len(set(cid)) != len(cid) or len(set(bid)) != len(bid):
        msg = "problem ids must be unique"
        raise ValueError(msg)
    bpos = {pid: i for i, pid in enumerate(bid)}
    common = [i for i, pid in enumerate(cid) if pid in bpos]
    only_current = sorted(pid for pid in cid if pid not in bpos)
    only_baseline = sorted(set(bid) - set(cid))
    return current[common], baseline[[bpos[cid[i]] for i in common]], only_current, only_baseline


def check_regression(
    current: ArrayLike,
    baseline: ArrayLike,
    *,
    ks: ArrayLike,
    tolerance: float,
    confidence: float = 0.95,
    cost: ArrayLike | None = None,
    current_ids: Sequence[str] | None = None,
    baseline_ids: Sequence[str] | None = None,
    baseline_ks: ArrayLike | None = None,
    budget: Any = None,
    unit: str = "n",
    metric: str = "accuracy",
    method: RegressionMethod = "holm",
    missing: MissingPolicy = "exclude",
    resamples: int = 2000,
    seed: int = 0,
    notes: Sequence[str] = (),
) -> GateResult:
    """Has the curve dropped by more than ``tolerance`` anywhere, significantly?

    ``current`` float[Pc, K] at ``ks`` (with ``cost`` float[K] in ``unit``, shown in the
    table); ``baseline`` float[Pb, Kb] at ``baseline_ks`` (default: ``ks``). Budget points
    are matched by k, problems by id. ``budget`` (``(unit, op, value)`` or a
    ``spec.Budget``, in the unit of ``cost``) restricts the test to the points within it.
    ``notes`` are carried into the result (e.g. an allowed provenance mismatch).
    """
    check_level(confidence)
    if tolerance < 0:
        msg = f"tolerance must be >= 0, got {tolerance!r}"
        raise ValueError(msg)
    cur = np.asarray(current, dtype=np.float64)
    base = np.asarray(baseline, dtype=np.float64)
    k_cur = np.asarray(ks).astype(np.int64).reshape(-1)
    k_base = k_cur if baseline_ks is None else np.asarray(baseline_ks).astype(np.int64).reshape(-1)
    if cur.ndim != 2 or cur.shape[1] != k_cur.size:
        msg = f"current values must be [problems, {k_cur.size}], got shape {cur.shape}"
        raise ValueError(msg)
    if base.ndim != 2 or base.shape[1] != k_base.size:
        msg = f"baseline values must be [problems, {k_base.size}], got shape {base.shape}"
        raise ValueError(msg)
    c_cur = (
        np.asarray(cost, dtype=np.float64).reshape(-1)
        if cost is not None
        else k_cur.astype(np.float64)
    )
    alpha = 1.0 - confidence
    all_notes = list(notes)

    cur, base, only_cur, only_base = _match(cur, base, current_ids, baseline_ids)
    for side, ids in (("the current run", only_cur), ("the baseline", only_base)):
        if ids:
            shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
            all_notes.append(f"{len(ids)} problem(s) only in {side}, excluded: {shown}")
    claim = f"no regression of {metric} beyond {fmt(float(tolerance))}"
    parts = budget_parts(budget)
    if parts:
        claim += f" at {budget_text(*parts)}"

    def failed(headline: str) -> GateResult:
        return GateResult(
            passed=False,
            kind="regression",
            headline=f"{claim}: {headline}",
            confidence=confidence,
            method="none",
            notes=tuple(all_notes),
        )

    if missing == "fail" and (only_cur or only_base):
        return failed(
            f"the problems differ from the baseline ({len(only_cur)} new, {len(only_base)} gone) "
            "and missing problems are not allowed; update the baseline"
        )
    if cur.shape[0] == 0:
        return failed("no problem in common with the baseline")

    # Match budget points by k.
    base_pos = {int(k): j for j, k in enumerate(k_base)}
    rows: list[dict[str, Any]] = []
    in_budget = budget_mask(c_cur, parts[1], parts[2]) if parts else np.ones(k_cur.size, dtype=bool)
    tested = [j for j, k in enumerate(k_cur) if int(k) in base_pos and in_budget[j]]
    if not tested:
        return failed(
            f"no budget point to test (current ks {k_cur.tolist()}, baseline ks {k_base.tolist()}"
            + (f", within {budget_text(*parts)}" if parts else "")
            + ")"
        )
    cur_t = cur[:, tested]
    base_t = base[:, [base_pos[int(k_cur[j])] for j in tested]]
    drop = base_t - cur_t
    mean, se, p_adj = regression_pvalues(
        drop, tolerance, method=method, resamples=resamples, seed=seed
    )
    n = drop.shape[0]
    q = float(stats.t.ppf(1 - alpha / 2, max(n - 1, 1)))
    regressed = p_adj <= alpha
    interval_key = f"{confidence:g} interval"
    for i, j in enumerate(tested):
        diff = -float(mean[i])
        half = q * float(se[i])
        if regressed[i]:
            verdict = "REGRESSED"
        elif mean[i] > tolerance + 1e-12:
            verdict = "drop not significant"
        else:
            verdict = "ok"
        rows.append(
            {
                "k": int(k_cur[j]),
                f"cost ({unit})": float(c_cur[j]),
                "baseline": float(base_t[:, i].mean()),
                "observed": float(cur_t[:, i].mean()),
                "difference": diff,
                interval_key: (diff - half, diff + half),
                "adjusted p": float(p_adj[i]),
                "verdict": verdict,
            }
        )
    untested = [int(k) for j, k in enumerate(k_cur) if j not in tested and in_budget[j]]
    gone = sorted(set(int(k) for k in k_base) - set(int(k) for k in k_cur))
    if untested:
        all_notes.append(f"budget points not in the baseline, not tested: k = {untested}")
    if gone:
        all_notes.append(f"baseline budget points missing from this run, not tested: k = {gone}")

    worst = int(np.argmax(mean))
    if regressed.any():
        where = ", ".join(
            f"k = {k_cur[tested[i]]} (drop {fmt(float(mean[i]))}, "
            f"adjusted p {fmt(float(p_adj[i]), 2)})"
            for i in np.flatnonzero(regressed)
        )
        headline = (
            f"{claim}: dropped by more than {fmt(float(tolerance))} at {int(regressed.sum())} of "
            f"{len(tested)} budget point(s): {where}"
        )
    else:
        headline = (
            f"{claim}: no significant drop at {len(tested)} budget point(s); largest drop "
            f"{fmt(float(mean[worst]))} at k = {k_cur[tested[worst]]} "
            f"(adjusted p {fmt(float(p_adj[worst]), 2)})"
        )
    if method == "holm":
        method_text = f"paired one-sided t test per budget point over {n} problems, Holm-adjusted"
    else:
        method_text = (
            f"paired bootstrap max-T (Westfall-Young single step) over {n} problems, "
            f"{resamples} resamples, seed {seed}"
        )
    return GateResult(
        passed=not bool(regressed.any()),
        kind="regression",
        headline=headline,
        rows=rows,
        confidence=confidence,
        method=method_text
        + f"; interval: two-sided {confidence:g} t interval of the difference, unadjusted",
        error_rate=(
            f"family-wise: fails with probability at most {alpha:.3g} when no budget point "
            f"dropped by more than {fmt(float(tolerance))}"
        ),
        notes=tuple(all_notes),
        data={
            "problems": n,
            "tested_ks": [int(k_cur[j]) for j in tested],
            "adjusted_p": [float(x) for x in p_adj],
            "max_drop": float(mean[worst]),
        },
    )


def check_regression_against(
    entry: BaselineEntry,
    current: ArrayLike,
    current_ids: Sequence[str],
    *,
    ks: ArrayLike,
    tolerance: float,
    provenance: Provenance,
    confidence: float = 0.95,
    cost: ArrayLike | None = None,
    unit: str = "n",
    allow_mismatch: bool = False,
    where: str = "",
    **options: Any,
) -> GateResult:
    """``check_regression`` against a stored ``BaselineEntry``, provenance checked first.

    Raises ``ProvenanceMismatchError`` (naming every differing field) unless
    ``allow_mismatch``; an allowed mismatch is flagged in the result's notes. ``options``
    pass on to ``check_regression`` (budget, method, missing, resamples, seed, metric).
    """
    diffs = check_provenance(
        entry.provenance, provenance, allow_mismatch=allow_mismatch, where=where
    )
    return check_regression(
        current,
        entry.matrix(),
        ks=ks,
        tolerance=tolerance,
        confidence=confidence,
        cost=cost,
        current_ids=current_ids,
        baseline_ids=entry.problem_ids,
        baseline_ks=list(entry.ks),
        unit=unit,
        notes=mismatch_notes(diffs),
        **options,
    )
