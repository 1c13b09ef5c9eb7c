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
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pytest_tts.gates._stats import bootstrap_counts, budget_mask, check_level, holm
from pytest_tts.gates.baseline import BaselineEntry, Provenance, check_provenance, mismatch_notes
from pytest_tts.gates.threshold import budget_parts

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


@dataclass(frozen=True, eq=False)
class RegressionResult:
    """The numbers of a regression gate; ``pytest_tts.report.gates`` renders them.

    ``refused`` says why nothing was tested (``problems differ``, ``no common problem``,
    ``no budget point``), else it is empty and, per tested budget point (``tested_ks``,
    ``cost`` in ``unit``): the ``baseline`` and ``observed`` means, the mean ``drop``, its
    standard error ``se``, the Holm or max-T ``adjusted_p`` and whether it ``regressed``;
    ``t_quantile`` makes the two-sided interval of the difference. ``only_current`` and
    ``only_baseline`` are problems on one side only, ``untested_ks`` budget points not in
    the baseline, ``gone_ks`` baseline points missing from this run; ``notes`` are the
    caller's (an allowed provenance mismatch).
    """

    passed: bool
    metric: str
    tolerance: float
    budget: tuple[str, str, float] | None
    confidence: float
    unit: str
    notes: tuple[str, ...]
    only_current: tuple[str, ...]
    only_baseline: tuple[str, ...]
    current_ks: tuple[int, ...]
    baseline_ks: tuple[int, ...]
    refused: str = ""
    tested_ks: tuple[int, ...] = ()
    cost: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    baseline: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    observed: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    drop: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    se: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    adjusted_p: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    regressed: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    t_quantile: float = 0.0
    untested_ks: tuple[int, ...] = ()
    gone_ks: tuple[int, ...] = ()
    method: RegressionMethod = "holm"
    resamples: int = 2000
    seed: int = 0
    problems: int = 0
    kind: str = "regression"


@dataclass(frozen=True)
class BaselineRecorded:
    """A regression expectation run with ``--tts-update-baselines``: recorded, not tested."""

    path: str
    points: int
    problems: int
    passed: bool = True
    kind: str = "regression"


def _arrays(
    current: ArrayLike,
    baseline: ArrayLike,
    ks: ArrayLike,
    baseline_ks: ArrayLike | None,
    cost: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], Any]:
    """Both sides' values and budget points, checked, and the current cost per point."""
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
    return cur, base, k_cur, k_base, c_cur


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
) -> RegressionResult:
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
    cur, base, k_cur, k_base, c_cur = _arrays(current, baseline, ks, baseline_ks, cost)
    alpha = 1.0 - confidence
    cur, base, only_cur, only_base = _match(cur, base, current_ids, baseline_ids)
    parts = budget_parts(budget)
    common: dict[str, Any] = {
        "metric": metric,
        "tolerance": float(tolerance),
        "budget": parts,
        "confidence": confidence,
        "unit": unit,
        "notes": tuple(notes),
        "only_current": tuple(only_cur),
        "only_baseline": tuple(only_base),
        "current_ks": tuple(int(k) for k in k_cur),
        "baseline_ks": tuple(int(k) for k in k_base),
    }
    if missing == "fail" and (only_cur or only_base):
        return RegressionResult(passed=False, refused="problems differ", **common)
    if cur.shape[0] == 0:
        return RegressionResult(passed=False, refused="no common problem", **common)

    # Match budget points by k.
    base_pos = {int(k): j for j, k in enumerate(k_base)}
    in_budget = budget_mask(c_cur, parts[1], parts[2]) if parts else np.ones(k_cur.size, dtype=bool)
    tested = [j for j, k in enumerate(k_cur) if int(k) in base_pos and in_budget[j]]
    if not tested:
        return RegressionResult(passed=False, refused="no budget point", **common)
    cur_t = cur[:, tested]
    base_t = base[:, [base_pos[int(k_cur[j])] for j in tested]]
    drop = base_t - cur_t
    mean, se, p_adj = regression_pvalues(
        drop, tolerance, method=method, resamples=resamples, seed=seed
    )
    n = drop.shape[0]
    regressed = p_adj <= alpha
    return RegressionResult(
        passed=not bool(regressed.any()),
        tested_ks=tuple(int(k_cur[j]) for j in tested),
        cost=c_cur[tested],
        baseline=base_t.mean(axis=0),
        observed=cur_t.mean(axis=0),
        drop=mean,
        se=se,
        adjusted_p=p_adj,
        regressed=regressed,
        t_quantile=float(stats.t.ppf(1 - alpha / 2, max(n - 1, 1))),
        untested_ks=tuple(int(k) for j, k in enumerate(k_cur) if j not in tested and in_budget[j]),
        gone_ks=tuple(sorted(set(int(k) for k in k_base) - set(int(k) for k in k_cur))),
        method=method,
        resamples=resamples,
        seed=seed,
        problems=n,
        **common,
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
) -> RegressionResult:
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
