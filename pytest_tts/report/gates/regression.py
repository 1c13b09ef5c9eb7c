"""The words of a regression gate (``pytest_tts.gates.regression``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_tts.report.gates.text import GateText, budget_text, fmt


def render_baseline_recorded(r: Any) -> GateText:
    return GateText(
        passed=True,
        kind="regression",
        headline=f"baseline recorded in {r.path} ({r.points} budget points, {r.problems} problems)",
        method="--tts-update-baselines: recorded, not compared",
    )


def render_regression(r: Any) -> GateText:
    notes = list(r.notes)
    for side, ids in (("the current run", r.only_current), ("the baseline", r.only_baseline)):
        if ids:
            shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
            notes.append(f"{len(ids)} problem(s) only in {side}, excluded: {shown}")
    claim = f"no regression of {r.metric} beyond {fmt(r.tolerance)}"
    if r.budget:
        claim += f" at {budget_text(*r.budget)}"
    if r.refused:
        return GateText(
            passed=False,
            kind="regression",
            headline=f"{claim}: {_refusal(r)}",
            confidence=r.confidence,
            method="none",
            notes=tuple(notes),
        )
    confidence, tolerance = r.confidence, r.tolerance
    rows = _rows(r)
    if r.untested_ks:
        notes.append(f"budget points not in the baseline, not tested: k = {list(r.untested_ks)}")
    if r.gone_ks:
        notes.append(
            f"baseline budget points missing from this run, not tested: k = {list(r.gone_ks)}"
        )
    worst = int(np.argmax(r.drop))
    tested = len(r.tested_ks)
    if r.regressed.any():
        where = ", ".join(
            f"k = {r.tested_ks[i]} (drop {fmt(float(r.drop[i]))}, "
            f"adjusted p {fmt(float(r.adjusted_p[i]), 2)})"
            for i in np.flatnonzero(r.regressed)
        )
        headline = (
            f"{claim}: dropped by more than {fmt(tolerance)} at {int(r.regressed.sum())} of "
            f"{tested} budget point(s): {where}"
        )
    else:
        headline = (
            f"{claim}: no significant drop at {tested} budget point(s); largest drop "
            f"{fmt(float(r.drop[worst]))} at k = {r.tested_ks[worst]} "
            f"(adjusted p {fmt(float(r.adjusted_p[worst]), 2)})"
        )
    if r.method == "holm":
        method_text = (
            f"paired one-sided t test per budget point over {r.problems} problems, Holm-adjusted"
        )
    else:
        method_text = (
            f"paired bootstrap max-T (Westfall-Young single step) over {r.problems} problems, "
            f"{r.resamples} resamples, seed {r.seed}"
        )
    return GateText(
        passed=r.passed,
        kind="regression",
        headline=headline,
        rows=rows,
        confidence=confidence,
        method=method_text
        + f"; interval: two-sided {confidence:g} t interval of the difference, unadjusted",
        error_rate=(
            f"family-wise: fails with probability at most {1 - confidence:.3g} when no budget "
            f"point dropped by more than {fmt(tolerance)}"
        ),
        notes=tuple(notes),
        data={
            "problems": r.problems,
            "tested_ks": list(r.tested_ks),
            "adjusted_p": [float(x) for x in r.adjusted_p],
            "max_drop": float(r.drop[worst]),
        },
    )


def _refusal(r: Any) -> str:
    """Why nothing was tested."""
    if r.refused == "problems differ":
        return (
            f"the problems differ from the baseline ({len(r.only_current)} new, "
            f"{len(r.only_baseline)} gone) and missing problems are not allowed; update "
            "the baseline"
        )
    if r.refused == "no common problem":
        return "no problem in common with the baseline"
    return (
        f"no budget point to test (current ks {list(r.current_ks)}, baseline ks "
        f"{list(r.baseline_ks)}" + (f", within {budget_text(*r.budget)}" if r.budget else "") + ")"
    )


def _rows(r: Any) -> list[dict[str, Any]]:
    """One row per tested budget point."""
    confidence, tolerance = r.confidence, r.tolerance
    interval_key = f"{confidence:g} interval"
    rows: list[dict[str, Any]] = []
    for i, k in enumerate(r.tested_ks):
        diff = -float(r.drop[i])
        half = r.t_quantile * float(r.se[i])
        if r.regressed[i]:
            verdict = "REGRESSED"
        elif r.drop[i] > tolerance + 1e-12:
            verdict = "drop not significant"
        else:
            verdict = "ok"
        rows.append(
            {
                "k": k,
                f"cost ({r.unit})": float(r.cost[i]),
                "baseline": float(r.baseline[i]),
                "observed": float(r.observed[i]),
                "difference": diff,
                interval_key: (diff - half, diff + half),
                "adjusted p": float(r.adjusted_p[i]),
                "verdict": verdict,
            }
        )
    return rows
