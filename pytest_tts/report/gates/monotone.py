"""The words of a monotonicity gate (``pytest_tts.gates.monotone.MonotoneResult``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_tts.report.gates.text import GateText, fmt


def render_monotone(r: Any) -> GateText:
    using = f" using {r.strategy}" if r.strategy else ""
    claim = f"{r.metric}{using} is monotone in {r.unit}" + (
        f" within {fmt(r.tolerance)}" if r.tolerance else ""
    )
    k, c = r.ks, r.cost
    if k.size < 2:
        return GateText(
            passed=True,
            kind="monotone",
            headline=f"{claim}: only one budget point, nothing to compare",
            confidence=r.confidence,
            method="none",
            notes=("a single budget point cannot drop",),
        )
    if r.confidence is not None:
        method_text = (
            f"paired one-sided test per consecutive pair over {r.problems} problems ("
            + (
                "t test, Holm-adjusted"
                if r.method == "holm"
                else f"bootstrap max-T, {r.resamples} resamples, seed {r.seed}"
            )
            + ")"
        )
        error_rate = (
            f"family-wise: fails with probability at most {1 - r.confidence:.3g} when no pair "
            f"drops by more than {fmt(r.tolerance)}"
        )
    else:
        method_text = "observed drops (point estimates)"
        error_rate = "not controlled (point estimate); add `with confidence c` to test drops"
    rows: list[dict[str, Any]] = []
    for j in range(k.size - 1):
        row: dict[str, Any] = {
            "from k": int(k[j]),
            "to k": int(k[j + 1]),
            f"cost ({r.unit})": f"{fmt(float(c[j]))} -> {fmt(float(c[j + 1]))}",
            "from": float(r.means[j]),
            "to": float(r.means[j + 1]),
            "drop": float(r.drop[j]),
        }
        for name, values in getattr(r, "columns", {}).items():
            row[name] = f"{fmt(float(values[j]))} -> {fmt(float(values[j + 1]))}"
        if r.adjusted_p is not None:
            row["adjusted p"] = float(r.adjusted_p[j])
        row["verdict"] = "DROP" if r.bad[j] else "ok"
        rows.append(row)
    worst = int(np.argmax(r.drop))
    worst_drop = float(r.drop[worst])
    worst_text = (
        f"worst drop {fmt(worst_drop)} from k = {k[worst]} to k = {k[worst + 1]}"
        if worst_drop > 0
        else "no drop"
    )
    if r.bad.any():
        headline = f"{claim}: {int(r.bad.sum())} drop(s) beyond the tolerance; {worst_text}"
    else:
        headline = f"{claim}: holds; {worst_text}"
    return GateText(
        passed=r.passed,
        kind="monotone",
        headline=headline,
        rows=rows,
        confidence=r.confidence,
        method=method_text,
        error_rate=error_rate,
        data={"worst_drop": worst_drop, "worst_from_k": int(k[worst])},
    )
