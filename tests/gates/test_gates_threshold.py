"""Threshold gates: best point within budget, point estimate or one-sided bound."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_tts.gates import threshold
from pytest_tts.report.gates import GateText, render_gate
from pytest_tts.spec import Budget


def check_threshold(*args: Any, **kwargs: Any) -> GateText:
    """The gate as every report reads it: its numbers, rendered."""
    return render_gate(threshold.check_threshold(*args, **kwargs))


KS = [1, 2, 4, 8]


def curve(means: list[float], problems: int = 400, seed: int = 0) -> np.ndarray:
    """Binary-ish per-problem values whose column means are close to ``means``."""
    rng = np.random.default_rng(seed)
    u = rng.random((problems, 1))
    return (u < np.array(means)).astype(float)


def test_point_estimate_at_an_exact_n() -> None:
    values = curve([0.3, 0.4, 0.5, 0.6])
    result = check_threshold(values, KS, KS, op=">=", value=0.55, budget=("n", "=", 8))
    assert result.passed
    assert result.data["selected"]["k"] == 8
    assert result.confidence is None
    assert "point estimate" in result.method
    fail = check_threshold(values, KS, KS, op=">=", value=0.55, budget=("n", "=", 4))
    assert not fail.passed
    assert fail.data["selected"]["k"] == 4


def test_best_point_within_a_cost_budget_is_selected() -> None:
    values = curve([0.3, 0.4, 0.5, 0.6])
    flops = [1e9, 2e9, 4e9, 8e9]
    result = check_threshold(
        values, KS, flops, op=">=", value=0.45, budget=Budget("flops", "<=", 4e9)
    )
    assert result.passed
    assert result.data["selected"]["k"] == 4
    assert [r["within budget"] for r in result.rows] == ["yes", "yes", "yes", "no"]
    assert [r["selected"] for r in result.rows] == ["", "", "<-", ""]
    assert "k = 4 (4e9 flops)" in result.headline


def test_confidence_uses_the_lower_bound_and_says_so() -> None:
    values = curve([0.5, 0.56, 0.58, 0.6], problems=200)
    mean8 = values[:, 3].mean()
    just_below = mean8 - 0.005
    plain = check_threshold(values, KS, KS, op=">=", value=just_below, budget=("n", "=", 8))
    bounded = check_threshold(
        values, KS, KS, op=">=", value=just_below, budget=("n", "=", 8), confidence=0.95
    )
    assert plain.passed
    assert not bounded.passed
    assert "one-sided lower 0.95 bound" in bounded.method
    assert bounded.data["selected"]["compared"] < mean8


@pytest.mark.parametrize("method", ["bootstrap", "t"])
def test_upper_bound_for_at_most_claims(method: str) -> None:
    values = curve([0.1, 0.1, 0.1, 0.1], problems=300)
    result = check_threshold(
        values,
        KS,
        KS,
        op="<=",
        value=0.2,
        confidence=0.95,
        method=method,  # type: ignore[arg-type]
    )
    assert result.passed
    assert "upper" in result.method
    assert result.data["selected"]["compared"] > result.data["selected"]["value"]


def test_simultaneous_bound_is_below_the_single_point_bound() -> None:
    values = curve([0.5, 0.52, 0.54, 0.56], problems=300, seed=3)
    single = check_threshold(
        values, KS, KS, op=">=", value=0.0, budget=("n", "=", 8), confidence=0.95
    )
    several = check_threshold(
        values, KS, KS, op=">=", value=0.0, budget=("n", "<=", 8), confidence=0.95
    )
    bound8 = several.rows[3]["lower bound"]
    assert several.data["selected"]["k"] == 8
    assert bound8 < single.data["selected"]["compared"]


def test_no_point_fits_the_budget_names_the_cheapest() -> None:
    values = curve([0.3, 0.4, 0.5, 0.6])
    result = check_threshold(
        values, KS, [10.0, 20.0, 40.0, 80.0], op=">=", value=0.1, budget=("tokens", "<=", 5)
    )
    assert not result.passed
    assert "no budget point fits tokens <= 5" in result.headline
    assert "cheapest point is k = 1 at 10 tokens" in result.headline
    assert "no budget point" in result.render()


def test_all_equal_values_have_a_degenerate_bound() -> None:
    values = np.full((50, 4), 0.7)
    result = check_threshold(values, KS, KS, op=">=", value=0.7, confidence=0.99)
    assert result.passed
    assert result.data["selected"]["compared"] == pytest.approx(0.7)


def test_render_shows_table_method_and_error_rate() -> None:
    values = curve([0.3, 0.4, 0.5, 0.6])
    text = check_threshold(values, KS, KS, op=">=", value=0.5, confidence=0.9).render()
    assert text.startswith("threshold: PASS: accuracy >= 0.5")
    assert "lower bound" in text
    assert "error rate: passes with probability at most 0.1" in text


def test_equality_with_confidence_uses_the_two_sided_interval() -> None:
    values = curve([0.3, 0.4, 0.5, 0.6])
    mean = float(values[:, 3].mean())
    kw = {"budget": ("n", "=", 8), "confidence": 0.95, "method": "t"}
    assert check_threshold(values, KS, KS, op="=", value=mean + 0.01, **kw).passed  # type: ignore[arg-type]
    assert not check_threshold(values, KS, KS, op="=", value=mean + 0.2, **kw).passed  # type: ignore[arg-type]
    assert not check_threshold(values, KS, KS, op="=", value=mean + 0.01).passed
