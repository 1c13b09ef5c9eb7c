"""GateText: rendering and JSON view."""

from __future__ import annotations

import json

import numpy as np

from pytest_tts.report.gates.text import GateText, fmt


def test_render_has_headline_table_method_error_rate_and_notes() -> None:
    result = GateText(
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
    result = GateText(
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


def test_every_gate_result_has_a_renderer() -> None:
    import typing

    from pytest_tts.gates import GateResult as AnyGateResult
    from pytest_tts.report.gates import RENDERERS

    classes = {cls.__name__ for cls in typing.get_args(AnyGateResult)}
    assert classes == set(RENDERERS)


def test_render_gate_refuses_what_it_does_not_know() -> None:
    import pytest

    from pytest_tts.report.gates import render_gate

    with pytest.raises(TypeError, match="no renderer for gate result dict"):
        render_gate({"kind": "threshold"})


def test_gates_return_numbers_and_the_renderer_words() -> None:
    """The threshold gate's result holds arrays and the selected point, no prose; the
    rendered text quotes those numbers."""
    from pytest_tts.gates.threshold import ThresholdResult, check_threshold
    from pytest_tts.report.gates import render_gate

    values = np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    result = check_threshold(values, [1, 2, 4], [1, 2, 4], op=">=", value=0.5)
    assert isinstance(result, ThresholdResult)
    assert result.passed
    assert result.best == 1  # 0.75 at k = 2 and k = 4: the first best point is kept
    np.testing.assert_allclose(result.means, [0.5, 0.75, 0.75])
    assert not any(isinstance(v, str) and " " in v for v in vars(result).values())
    text = render_gate(result)
    assert text.headline == "accuracy >= 0.5: best point k = 2 has accuracy 0.75"
    assert text.data["selected"] == {"k": 2, "cost": 2.0, "value": 0.75, "compared": 0.75}
