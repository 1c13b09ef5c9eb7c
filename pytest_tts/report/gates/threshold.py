"""The words of a threshold gate (``pytest_tts.gates.threshold.ThresholdResult``)."""

from __future__ import annotations

from typing import Any

from pytest_tts.report.gates.text import GateText, budget_text, fmt


def render_threshold(r: Any) -> GateText:
    unit = r.unit
    k, c, means = r.ks, r.cost, r.means
    where = f" at {budget_text(*r.budget)}" if r.budget else ""
    using = f" using {r.strategy}" if r.strategy else ""
    claim = f"{r.metric} {r.op} {fmt(r.value)}{where}{using}"
    if r.best is None:
        return _no_point_fits(r, claim)
    side, best, confidence = r.side, r.best, r.confidence
    if side != "estimate":
        several = int(r.within.sum()) > 1
        simultaneous = " simultaneous over the points within budget" if several else ""
        how = (
            f"percentile bootstrap over {r.problems} problems "
            f"({r.resamples} resamples, seed {r.seed})"
            if r.method == "bootstrap"
            else f"Student t over {r.problems} problems" + (" with Bonferroni" if several else "")
        )
        method_text = f"one-sided {side} {confidence:g} bound{simultaneous}; {how}"
        error_rate = (
            f"passes with probability at most {1 - confidence:.3g} when the true {r.metric} "
            f"fails the threshold at every point within budget"
        )
    else:
        method_text = "point estimate (mean over problems); no interval compared"
        error_rate = "not controlled (point estimate); add `with confidence c` to bound it"
    if r.interval is not None:
        method_text = f"two-sided {confidence:g} interval ({r.method}) must contain the value"
        error_rate = "equality cannot be proven; the interval only fails to reject it"
    bound_key = f"{side} bound" if side != "estimate" else None
    rows = []
    for j in range(k.size):
        row: dict[str, Any] = {
            "k": int(k[j]),
            f"cost ({unit})": float(c[j]),
            r.metric: float(means[j]),
        }
        for name, values in getattr(r, "columns", {}).items():
            row[name] = float(values[j])
        if bound_key:
            row[bound_key] = float(r.compared[j]) if r.within[j] else None
        row["within budget"] = "yes" if r.within[j] else "no"
        row["selected"] = "<-" if j == best else ""
        rows.append(row)
    shown = f"{fmt(float(means[best]))}"
    if bound_key:
        shown += f" ({side} {confidence:g} bound {fmt(float(r.compared[best]))})"
    at = f"k = {k[best]}" + (f" ({fmt(float(c[best]))} {unit})" if unit != "n" else "")
    return GateText(
        passed=r.passed,
        kind="threshold",
        headline=f"{claim}: best point {at} has {r.metric} {shown}",
        rows=rows,
        confidence=confidence,
        method=method_text,
        error_rate=error_rate,
        data={
            "selected": {
                "k": int(k[best]),
                "cost": float(c[best]),
                "value": float(means[best]),
                "compared": float(r.compared[best]),
            },
            "threshold": r.value,
            "op": r.op,
        },
    )


def _no_point_fits(r: Any, claim: str) -> GateText:
    unit, k, c, means = r.unit, r.ks, r.cost, r.means
    cheapest = int(c.argmin())
    headline = (
        f"{claim}: no budget point fits {budget_text(*r.budget)}; the cheapest point is "
        f"k = {k[cheapest]} at {fmt(float(c[cheapest]))} {unit}"
    )
    rows = [
        {
            "k": int(k[j]),
            f"cost ({unit})": float(c[j]),
            r.metric: float(means[j]),
            "within budget": "no",
        }
        for j in range(k.size)
    ]
    return GateText(
        passed=False,
        kind="threshold",
        headline=headline,
        rows=rows,
        confidence=r.confidence,
        method="none (no point within budget)",
        notes=(f"budget points available: {', '.join(fmt(float(x)) for x in c)} {unit}",),
        data={"selected": None},
    )
