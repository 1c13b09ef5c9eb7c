"""Per-difficulty gates: every bin judged, passed only when every bin passes."""

from __future__ import annotations

from types import SimpleNamespace

from pytest_tts.gates.bins import difficulty_bins, natural_key, per_difficulty
from pytest_tts.report.gates import render_gate
from pytest_tts.report.gates.text import GateText


def test_bins_in_natural_order_with_their_rows() -> None:
    bins = difficulty_bins(["Level 10", "Level 2", "Level 2", None, "Level 1"])
    assert list(bins) == ["Level 1", "Level 2", "Level 10"]
    assert bins["Level 2"] == [1, 2]
    assert sorted(["b10", "b9", "a"], key=natural_key) == ["a", "b9", "b10"]


def _gate(passed: bool, headline: str) -> GateText:
    return GateText(passed=passed, kind="threshold", headline=headline, method="m", error_rate="e")


def test_passes_only_when_every_bin_passes_and_says_which_failed() -> None:
    ok = per_difficulty(
        ["easy", "hard"], [3, 4], [_gate(True, "acc >= 0.5: 0.8"), _gate(True, "acc >= 0.5: 0.6")]
    )
    assert ok.passed
    bad = per_difficulty(
        ["easy", "hard"], [3, 4], [_gate(True, "acc >= 0.5: 0.8"), _gate(False, "acc >= 0.5: 0.3")]
    )
    assert not bad.passed
    text = render_gate(bad)
    assert text.headline == "acc >= 0.5 per difficulty: 1 of 2 difficulty bins fail: hard"
    assert [row["passed"] for row in text.rows] == ["yes", "NO"]
    assert [row["problems"] for row in text.rows] == [3, 4]
    assert "intersection-union" in text.error_rate
    assert set(text.data["bins"]) == {"easy", "hard"}


def test_any_object_with_passed_combines() -> None:
    assert not per_difficulty(["a"], [1], [SimpleNamespace(passed=False)]).passed
