"""The words of a step-level claim on a process verifier (``pytest_tts.gates.step_metrics``)."""

from __future__ import annotations

from typing import Any

from pytest_tts.report.gates.text import GateText, fmt

_DESCRIPTIONS = {
    "first_error_accuracy": "first wrong step found (wrong traces)",
    "right_trace_accuracy": "no step flagged (right traces)",
    "first_error_f1": "ProcessBench F1 (harmonic mean)",
    "step_calibration_error": "expected calibration error of step scores",
}


def render_step_metric(r: Any) -> GateText:
    claim = f"{r.metric}({r.verifier_name}, {r.oracle_name}) {r.op} {fmt(r.value)}"
    c = r.counts
    seen = (
        f"{c['wrong_traces']} wrong and {c['right_traces']} right traces, {c['steps']} steps, "
        f"{c['problems']} problems"
    )
    if r.bound is None:
        headline = f"{claim}: {fmt(r.estimate)} ({seen})"
    else:
        side = "lower" if r.op in (">=", ">") else "upper"
        headline = (
            f"{claim}: {fmt(r.estimate)}, {side} {r.confidence:g} bound {fmt(r.bound)} ({seen})"
        )
    rows = [
        {
            "measure": name,
            "meaning": meaning,
            "estimate": r.values[name],
            "tested": "<-" if name == r.metric else "",
        }
        for name, meaning in _DESCRIPTIONS.items()
    ]
    notes = []
    if c["mismatched"]:
        notes.append(
            f"{c['mismatched']} samples split into different numbers of steps by "
            f"{r.verifier_name} and {r.oracle_name}: judged on the steps both have"
        )
    if r.bound is None:
        method = "point estimate; add `with confidence c` to bound it"
        error_rate = "not controlled (point estimate)"
    else:
        method = (
            "one-sided percentile bound of a cluster bootstrap over problems (1,000 "
            "resamples, seeded); a step is flagged below 0.5"
        )
        error_rate = (
            f"approximately {1 - r.confidence:.3g} (bootstrap; samples within a problem may be "
            "correlated, problems independent)"
        )
    return GateText(
        passed=r.passed,
        kind="step_metric",
        headline=headline,
        rows=rows,
        confidence=r.confidence,
        method=method,
        error_rate=error_rate,
        notes=tuple(notes),
        data={
            "values": r.values,
            "counts": c,
            "bound": r.bound,
            "reliability": [list(b) for b in r.reliability],
        },
        hint=(
            f"{r.verifier_name} misplaces the first wrong step or flags right ones; the HTML "
            "report (--tts-report PATH.html) draws its reliability diagram"
        ),
    )
