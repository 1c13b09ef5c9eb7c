"""The words of a comparison at matched compute (``pytest_tts.gates.compare``)."""

from __future__ import annotations

from typing import Any

from pytest_tts.report.gates.text import GateText, fmt


def render_comparison(r: Any) -> GateText:
    unit, op, side = r.unit, r.op, r.side
    if r.at is None:
        where = "at matched " + unit
    elif isinstance(r.at, tuple):
        where = f"at matched {unit} in [{fmt(float(r.at[0]))}, {fmt(float(r.at[1]))}]"
    else:
        where = f"at {unit} = {fmt(float(r.at))}"
    claim = f"{r.left_label} {op} {r.right_label} {where}"
    notes = ["the curves are on different problems: compared unpaired"] * r.different_problems
    rows = _rows(r)
    not_compared = int((~r.within).sum())
    if not_compared:
        ranges = (
            f"[{fmt(r.left_range[0])}, {fmt(r.left_range[1])}] vs "
            f"[{fmt(r.right_range[0])}, {fmt(r.right_range[1])}] {unit}"
        )
        notes.append(
            f"{not_compared} cost point(s) outside the range both curves cover ({ranges}): "
            "not compared, never extrapolated"
        )
    if any(r.interpolated):
        notes.append(
            "values between a curve's own budget points are interpolated linearly in log "
            "cost, per problem"
        )
    compared = int(r.holds.size)
    if not compared:
        headline = f"{claim}: nothing to compare (no cost inside both curves' ranges)"
    elif r.passed:
        headline = f"{claim}: holds at all {compared} compared cost(s)"
    else:
        failing = int((~r.holds).sum())
        headline = f"{claim}: fails at {failing} of {compared} compared cost(s)"
    pairing = "paired over problems" if r.paired else "unpaired (independent resampling)"
    if r.confidence is not None:
        how = (
            f"percentile bootstrap, {r.resamples} resamples, seed {r.seed}"
            if r.method == "bootstrap"
            else "Student t"
        )
        method_text = (
            f"one-sided {r.confidence:g} {side} bound of the difference per cost, {pairing}; {how}"
        )
        error_rate = (
            f"passes with probability at most {1 - r.confidence:.3g} when the claim is false at "
            "any compared cost (intersection-union test)"
        )
    else:
        method_text = f"point estimates of the difference ({pairing})"
        error_rate = "not controlled (point estimate); add `with confidence c` to bound it"
    return GateText(
        passed=r.passed,
        kind="comparison",
        headline=headline,
        rows=rows,
        confidence=r.confidence,
        method=method_text,
        error_rate=error_rate,
        notes=tuple(notes),
        data={"paired": r.paired, "compared": compared, "not_compared": not_compared},
    )


def _rows(r: Any) -> list[dict[str, Any]]:
    """One row per cost asked about, compared or not."""
    unit, side = r.unit, r.side
    lo_overlap, hi_overlap = r.overlap
    rows: list[dict[str, Any]] = []
    g = 0
    for cost_point, inside_both in zip(r.candidates, r.within, strict=True):
        row: dict[str, Any] = {f"cost ({unit})": float(cost_point)}
        if not inside_both:
            row.update({r.left_label: None, r.right_label: None, "difference": None})
            if r.confidence is not None:
                row[f"{side} bound"] = None
            row["verdict"] = "not compared"
            row["note"] = (
                f"outside the common range [{fmt(lo_overlap)}, {fmt(hi_overlap)}]"
                if lo_overlap <= hi_overlap
                else "the curves' costs do not overlap"
            )
            rows.append(row)
            continue
        row.update(
            {
                r.left_label: float(r.left[g]),
                r.right_label: float(r.right[g]),
                "difference": float(r.difference[g]),
            }
        )
        if r.confidence is not None:
            row[f"{side} bound"] = float(r.tested[g])
        row["verdict"] = "holds" if r.holds[g] else "fails"
        interp = r.interpolated[g]
        row["note"] = ("interpolated: " + ", ".join(interp)) if interp else ""
        rows.append(row)
        g += 1

    return rows
