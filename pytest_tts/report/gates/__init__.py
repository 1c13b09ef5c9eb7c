"""Gate results in words: one renderer per gate kind, shared by every report.

The gates (``pytest_tts.gates``) return numbers in a result dataclass; :func:`render_gate`
turns one into a :class:`GateText` (headline, table rows, method, error rate, notes, key
figures), which the failure text, the terminal summary, the HTML report, the JSON results
and the JUnit properties all read. Results are read by attribute (the report package does
not import the gates); each kind's renderer lives in the module of the gate's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_tts.report.gates.adaptive import (
    render_adaptive_comparison,
    render_adaptive_rate,
    render_adaptive_regression,
    render_adaptive_threshold,
)
from pytest_tts.report.gates.bins import render_per_difficulty
from pytest_tts.report.gates.compare import render_comparison
from pytest_tts.report.gates.fit import render_fit_threshold
from pytest_tts.report.gates.monotone import render_monotone
from pytest_tts.report.gates.regression import render_baseline_recorded, render_regression
from pytest_tts.report.gates.step_metrics import render_step_metric
from pytest_tts.report.gates.text import GateText, budget_text, fmt
from pytest_tts.report.gates.threshold import render_threshold
from pytest_tts.report.gates.verifier_bound import render_verifier_bound

__all__ = ["RENDERERS", "GateText", "budget_text", "fmt", "render_gate"]

# result class name -> renderer
RENDERERS: dict[str, Callable[[Any], GateText]] = {
    "ThresholdResult": render_threshold,
    "ComparisonResult": render_comparison,
    "MonotoneResult": render_monotone,
    "VerifierBoundResult": render_verifier_bound,
    "StepMetricResult": render_step_metric,
    "RegressionResult": render_regression,
    "BaselineRecorded": render_baseline_recorded,
    "FitThresholdResult": render_fit_threshold,
    "AdaptiveThresholdResult": render_adaptive_threshold,
    "AdaptiveComparisonResult": render_adaptive_comparison,
    "AdaptiveRateResult": render_adaptive_rate,
    "AdaptiveRegressionResult": render_adaptive_regression,
    "PerDifficultyResult": lambda r: render_per_difficulty(r, render_gate),
}


def render_gate(result: Any) -> GateText:
    """The words of a gate's result (a ``GateText`` is returned as it is)."""
    if isinstance(result, GateText):
        return result
    renderer = RENDERERS.get(type(result).__name__)
    if renderer is None:
        known = ", ".join(sorted(RENDERERS))
        msg = f"no renderer for gate result {type(result).__name__}; known: {known}"
        raise TypeError(msg)
    return renderer(result)
