"""The words of a scaling-law gate (``pytest_tts.gates.fit.FitThresholdResult``)."""

from __future__ import annotations

from typing import Any

from pytest_tts.report.gates.text import GateText, fmt


def render_fit_threshold(r: Any) -> GateText:
    law = r.fit
    claim = f"{r.metric} {r.op} {fmt(r.value)} at n = {r.k_target} by fit"
    interval = f"[{fmt(r.low)}, {fmt(r.high)}]"
    level = f"{r.interval_confidence:g}"
    beyond = r.k_target / max(r.n_samples, 1)
    headline = (
        f"{claim}: the law {law.describe().split(' (')[0]} forecasts {fmt(r.forecast)} at "
        f"n = {r.k_target} (bootstrap {level} range {interval}), from pools of n = "
        f"{r.n_samples}"
    )
    if r.confidence is not None:
        side = "lower" if r.op in (">=", ">") else "upper"
        method = (
            f"one-sided {side} {r.confidence:g} percentile bootstrap bound of the forecast, "
            f"refitting exp(-a·k^b) on {r.resamples} resamples of the {r.problems} problems "
            f"(seed {r.seed})"
        )
        error_rate = (
            f"passes with probability at most {1 - r.confidence:.3g} when the law's true "
            f"value at n = {r.k_target} fails the threshold, given that the law holds there"
        )
    else:
        method = "point forecast of the fitted law; no interval compared"
        error_rate = "not controlled (point forecast); add `with confidence c` to bound it"
    notes = [
        f"extrapolated {beyond:.3g}x beyond the largest measured n = {r.n_samples}; "
        f"R² {law.r2:.3f} in log space on k = {law.k_min:g}..{law.k_max:g}"
    ]
    if r.failed_resamples:
        notes.append(
            f"{r.failed_resamples} of {r.resamples} resamples could not be fitted and count "
            "against the claim"
        )
    rows: list[dict[str, Any]] = [
        {
            "k": int(k),
            "coverage": float(c),
            "law": float(law.predict([k])[0][0]),
            "kind": "measured",
        }
        for k, c in zip(r.measured_k, r.measured, strict=True)
    ]
    rows.append(
        {"k": r.k_target, "coverage": None, "law": r.forecast, "kind": f"forecast {interval}"}
    )
    return GateText(
        passed=r.passed,
        kind="threshold",
        headline=headline,
        rows=rows,
        confidence=r.confidence,
        method=method,
        error_rate=error_rate,
        notes=tuple(notes),
        data={
            "forecast": r.forecast,
            "interval": [r.low, r.high],
            "compared": r.compared,
            "k": r.k_target,
            "a": law.a,
            "b": law.b,
            "r2": law.r2,
            "threshold": r.value,
            "op": r.op,
        },
    )
