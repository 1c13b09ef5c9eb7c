"""Gates: statistical decisions over scaling curves, each returning its numbers.

Plain Python over numpy arrays; nothing here knows pytest or writes prose. One module per
kind of expectation, each returning a result dataclass that ``pytest_tts.report.gates``
renders into words:

- ``threshold``: "metric >= x at budget" (the best point within budget);
- ``compare``: two curves at matched compute, interpolated in log cost;
- ``monotone``: no drop between consecutive budget points;
- ``verifier_bound``: false-positive / false-negative rate bounds and the accuracy ceiling
  an imperfect verifier implies for resampling;
- ``step_metrics``: a process verifier's step scores against a step oracle (ProcessBench
  measures, calibration);
- ``fit``: "coverage >= x at n = K by fit", from the fitted coverage law and a bootstrap;
- ``adaptive``: anytime-valid threshold decisions for ``--tts-adaptive``;
- ``bins``: one gate per difficulty bin ("per difficulty");
- ``regression``: paired per-problem comparison against a stored baseline with
  family-wise error control;
- ``baseline``: the baseline files; ``planning``: sample-size planning.
"""

from __future__ import annotations

from pytest_tts.gates.adaptive import (
    AdaptiveComparisonResult,
    AdaptiveRateResult,
    AdaptiveRegressionResult,
    AdaptiveThresholdResult,
)
from pytest_tts.gates.bins import PerDifficultyResult
from pytest_tts.gates.compare import ComparisonResult
from pytest_tts.gates.fit import FitThresholdResult
from pytest_tts.gates.monotone import MonotoneResult
from pytest_tts.gates.regression import BaselineRecorded, RegressionResult
from pytest_tts.gates.step_metrics import StepMetricResult
from pytest_tts.gates.threshold import ThresholdResult
from pytest_tts.gates.verifier_bound import VerifierBoundResult

GateResult = (
    AdaptiveComparisonResult
    | AdaptiveRateResult
    | AdaptiveRegressionResult
    | AdaptiveThresholdResult
    | ThresholdResult
    | ComparisonResult
    | MonotoneResult
    | VerifierBoundResult
    | StepMetricResult
    | RegressionResult
    | BaselineRecorded
    | FitThresholdResult
    | PerDifficultyResult
)

__all__ = [
    "AdaptiveComparisonResult",
    "AdaptiveRateResult",
    "AdaptiveRegressionResult",
    "AdaptiveThresholdResult",
    "BaselineRecorded",
    "ComparisonResult",
    "FitThresholdResult",
    "GateResult",
    "MonotoneResult",
    "PerDifficultyResult",
    "RegressionResult",
    "StepMetricResult",
    "ThresholdResult",
    "VerifierBoundResult",
]
