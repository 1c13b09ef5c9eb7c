"""GateResult: rendering and JSON view."""

from __future__ import annotations

import json

import numpy as np

from pytest_tts.gates.result import GateResult, fmt


def test_render_has_headline_table_method_error_rate_and_notes() -> None:
    result = GateResult(
        passed=False,
        kind="regression",
        headline="dropped",
        rows=[{"k": 1, "interval": (0.1, 0.2)}, {"k": 2, "interval": (0.3, 0.4), "extra": "x"}],
        confidence=0.95,
        method="paired t",
        error_rate="at most 0.05",
        notes=("problems excluded",),
    )
    lines = result.render().splitlines()
    assert lines[0] == "regression: FAIL: dropped"
    assert lines[1].split() == ["k", "interval", "extra"]
    assert "[0.1, 0.2]" in lines[3]
    assert lines[-3:] == [
        "method: paired t (confidence 0.95)",
        "error rate: at most 0.05",
        "note: problems excluded",
    ]


def test_to_dict_is_json_ready() -> None:
    result = GateResult(
        True,
        "threshold",
        "ok",
        rows=[{"v": np.float64(0.5), "i": (0.1, 0.9)}],
        data={"k": np.int64(3)},
    )
    text = json.dumps(result.to_dict())
    assert json.loads(text)["rows"] == [{"v": 0.5, "i": [0.1, 0.9]}]


def test_fmt() -> None:
    assert fmt(0.3) == "0.3"
    assert fmt(4e9) == "4e9"
    assert fmt(1.23456e-7) == "1.235e-7"
    assert fmt(None) == ""
    assert fmt(float("nan")) == "nan"
