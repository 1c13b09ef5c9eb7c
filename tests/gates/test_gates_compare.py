"""Comparison at matched compute: interpolation, ranges, pairing, never extrapolating."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_tts.gates import compare
from pytest_tts.report.gates import GateText, render_gate


def check_comparison(*args: Any, **kwargs: Any) -> GateText:
    """The gate as every report reads it: its numbers, rendered."""
    return render_gate(compare.check_comparison(*args, **kwargs))


def pair(shift: float, problems: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.random((problems, 1)) * 0.6
    left = np.clip(base + np.array([0.1, 0.2, 0.3]) + shift, 0, 1)
    right = np.clip(base + np.array([0.1, 0.2, 0.3]), 0, 1)
    return left, right


def test_left_better_at_one_matched_budget() -> None:
    left, right = pair(0.05)
    ids = [f"p{i}" for i in range(left.shape[0])]
    result = check_comparison(
        left,
        [1, 2, 4],
        right,
        [1, 2, 4],
        op=">",
        at=2,
        confidence=0.95,
        left_ids=ids,
        right_ids=ids,
    )
    assert result.passed
    assert result.data["paired"] is True
    assert result.rows[0]["difference"] == pytest.approx(0.05, abs=1e-9)


def test_interpolates_in_log_cost_between_a_curves_points() -> None:
    left = np.array([[0.2, 0.6]])
    right = np.array([[0.3, 0.3, 0.3]])
    result = check_comparison(left, [10, 1000], right, [10, 100, 1000], op=">", unit="tokens")
    mid = next(r for r in result.rows if r["cost (tokens)"] == 100)
    assert mid["left"] == pytest.approx(0.4)
    assert mid["note"] == "interpolated: left"
    assert not result.passed  # at 10 tokens left (0.2) is below right (0.3)
    assert any("interpolated linearly in log cost" in n for n in result.notes)


def test_points_outside_either_range_are_not_compared() -> None:
    left, right = pair(0.05, problems=50)
    result = check_comparison(left, [10, 20, 40], right, [5, 20, 80], op=">", at=(5, 80))
    verdicts = {r["cost (flops)"]: r["verdict"] for r in result.rows}
    assert verdicts[5.0] == "not compared"
    assert verdicts[80.0] == "not compared"
    assert verdicts[20.0] == "holds"
    assert result.data["not_compared"] == 2
    assert any("never extrapolated" in n for n in result.notes)


def test_a_single_budget_outside_fails_with_nothing_compared() -> None:
    left, right = pair(0.05, problems=50)
    result = check_comparison(left, [10, 20, 40], right, [10, 20, 40], op=">", at=100)
    assert not result.passed
    assert "nothing to compare" in result.headline


def test_confidence_requires_the_interval_to_support_the_claim() -> None:
    rng = np.random.default_rng(5)
    right = 0.3 + 0.4 * rng.random((60, 3))
    swing = 0.2 * np.where(np.arange(60) % 2 == 0, 1.0, -1.0)[:, None]
    noisy = right + 0.01 + swing  # mean difference exactly 0.01, spread 0.2
    plain = check_comparison(noisy, [1, 2, 4], right, [1, 2, 4], op=">", at=4, paired=True)
    sure = check_comparison(
        noisy, [1, 2, 4], right, [1, 2, 4], op=">", at=4, paired=True, confidence=0.95
    )
    assert plain.rows[0]["difference"] > 0
    assert plain.passed
    assert not sure.passed
    assert "lower bound" in sure.rows[0]


def test_unpaired_when_the_problems_differ() -> None:
    left, right = pair(0.1, problems=100)
    result = check_comparison(
        left,
        [1, 2, 4],
        right[:80],
        [1, 2, 4],
        op=">",
        confidence=0.9,
        left_ids=[f"a{i}" for i in range(100)],
        right_ids=[f"b{i}" for i in range(80)],
    )
    assert result.data["paired"] is False
    assert any("different problems" in n for n in result.notes)


@pytest.mark.parametrize("method", ["bootstrap", "t"])
def test_pairing_narrows_the_interval(method: str) -> None:
    left, right = pair(0.02, problems=200, seed=4)
    kwargs = {"op": ">", "at": 2.0, "confidence": 0.95, "method": method}
    paired = check_comparison(left, [1, 2, 4], right, [1, 2, 4], paired=True, **kwargs)  # type: ignore[arg-type]
    unpaired = check_comparison(left, [1, 2, 4], right, [1, 2, 4], paired=False, **kwargs)  # type: ignore[arg-type]
    assert paired.rows[0]["lower bound"] > unpaired.rows[0]["lower bound"]
    assert paired.passed


def test_paired_insists_on_the_same_problems() -> None:
    left, right = pair(0.1, problems=10)
    with pytest.raises(ValueError, match="same problems"):
        check_comparison(left, [1, 2, 4], right[:5], [1, 2, 4], paired=True)


def test_less_than_claims_use_the_upper_bound() -> None:
    left, right = pair(-0.1, problems=100)
    result = check_comparison(
        left, [1, 2, 4], right, [1, 2, 4], op="<", confidence=0.95, paired=True
    )
    assert result.passed
    assert "upper bound" in result.rows[0]


def test_costs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        check_comparison(np.zeros((2, 2)), [0, 1], np.zeros((2, 2)), [1, 2])


def test_identical_curves_tie_with_zero_spread() -> None:
    values = np.tile([0.2, 0.5, 0.7], (40, 1))
    ids = [str(i) for i in range(40)]
    kw = {"confidence": 0.95, "left_ids": ids, "right_ids": ids}
    assert check_comparison(values, [1, 2, 4], values, [1, 2, 4], op=">=", **kw).passed  # type: ignore[arg-type]
    assert not check_comparison(values, [1, 2, 4], values, [1, 2, 4], op=">", **kw).passed  # type: ignore[arg-type]
