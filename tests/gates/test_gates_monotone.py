"""Monotonicity: negative scaling is caught; noise alone is not, with a confidence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_tts.gates import monotone
from pytest_tts.report.gates import GateText, render_gate


def check_monotone(*args: Any, **kwargs: Any) -> GateText:
    """The gate as every report reads it: its numbers, rendered."""
    return render_gate(monotone.check_monotone(*args, **kwargs))


def test_rising_curve_holds() -> None:
    rng = np.random.default_rng(0)
    values = np.clip(rng.random((100, 1)) + np.array([0, 0.05, 0.1, 0.12]), 0, 1)
    result = check_monotone(values, [1, 2, 4, 8], confidence=0.95)
    assert result.passed
    assert "no drop" in result.headline


def test_a_real_drop_is_found_and_reported_as_the_worst() -> None:
    rng = np.random.default_rng(1)
    base = rng.random((300, 1)) * 0.8
    values = base + np.array([0.0, 0.1, 0.15, 0.08])
    result = check_monotone(values, [1, 2, 4, 8], confidence=0.95, strategy="majority_vote")
    assert not result.passed
    assert result.data["worst_from_k"] == 4
    assert result.data["worst_drop"] == pytest.approx(0.07)
    assert [r["verdict"] for r in result.rows] == ["ok", "ok", "DROP"]
    assert "from k = 4 to k = 8" in result.headline


def test_tolerance_absorbs_small_drops() -> None:
    values = np.tile([0.5, 0.48, 0.6], (20, 1))
    assert not check_monotone(values, [1, 2, 4]).passed
    assert check_monotone(values, [1, 2, 4], tolerance=0.03).passed


def test_noise_drop_is_not_significant() -> None:
    rng = np.random.default_rng(2)
    flat = (rng.random((200, 1)) < 0.5).astype(float)
    noise = (rng.random((200, 2)) < 0.02).astype(float)
    values = np.clip(np.hstack([flat, flat]) - noise * np.array([0, 1]), 0, 1)
    assert values[:, 1].mean() < values[:, 0].mean()
    assert not check_monotone(values, [1, 2]).passed
    assert check_monotone(values, [1, 2], confidence=0.95).passed


def test_single_point_and_all_equal_pass() -> None:
    assert check_monotone(np.full((5, 1), 0.3), [4]).passed
    assert check_monotone(np.full((5, 3), 0.3), [1, 2, 4], confidence=0.95, method="maxt").passed
