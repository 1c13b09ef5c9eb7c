"""The confidence sequence: valid at every sample size at once (checked by simulation)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.confseq import confidence_sequence


@pytest.mark.parametrize(
    ("draw", "mean"),
    [
        (lambda rng, n: rng.random(n) < 0.6, 0.6),  # Bernoulli: the largest variance
        (lambda rng, n: rng.beta(2.0, 1.0 / 3.0, n), 6.0 / 7.0),  # near the edge
        (lambda rng, n: np.full(n, 0.25) + 0.5 * (rng.random(n) < 0.5), 0.5),  # two values
    ],
)
def test_time_uniform_coverage_by_simulation(draw: object, mean: float) -> None:
    rng = np.random.default_rng(7)
    runs, n, alpha = 600, 400, 0.05
    low_misses = high_misses = 0
    for _ in range(runs):
        x = draw(rng, n)  # type: ignore[operator]
        bounds = confidence_sequence(x, alpha)
        low_misses += bool(np.any(bounds.lower > mean))  # ever above the mean, at any t
        high_misses += bool(np.any(bounds.upper < mean))
    # each side at most alpha over the whole sequence (a binomial margin of 3 sd)
    limit = alpha + 3 * np.sqrt(alpha * (1 - alpha) / runs)
    assert low_misses / runs <= limit
    assert high_misses / runs <= limit


def test_a_fixed_n_interval_checked_every_round_is_not_valid_but_the_sequence_is() -> None:
    """The reason for a CS: stopping when a 0.95 normal interval first clears the mean
    errs far more often than 0.05; the CS does not."""
    rng = np.random.default_rng(3)
    runs, n, mean = 400, 1000, 0.5
    naive = cs = 0
    checkpoints = np.array([32, 64, 128, 256, 512, 1000])
    for _ in range(runs):
        x = (rng.random(n) < mean).astype(float)
        t = checkpoints
        m = np.cumsum(x)[t - 1] / t
        se = np.sqrt(np.maximum(m * (1 - m), 1e-12) / t)
        naive += bool(np.any(m - 1.645 * se > mean))
        cs += bool(np.any(confidence_sequence(x, 0.05).lower[t - 1] > mean))
    assert naive / runs > 0.08  # optional stopping inflates a one-sided 0.05 test
    assert cs / runs <= 0.05


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=60),
    st.sampled_from([0.01, 0.05, 0.2]),
)
def test_bounds_are_ordered_nested_and_in_range(values: list[float], alpha: float) -> None:
    bounds = confidence_sequence(values, alpha)
    assert np.all(bounds.lower <= bounds.upper + 1e-12)
    assert np.all((bounds.lower >= 0) & (bounds.upper <= 1))
    assert np.all(np.diff(bounds.lower) >= -1e-12)  # running intersection
    assert np.all(np.diff(bounds.upper) <= 1e-12)
    wide = confidence_sequence(values, alpha / 2)
    assert np.all(wide.lower <= bounds.lower + 1e-12)


def test_other_ranges_are_rescaled() -> None:
    rng = np.random.default_rng(0)
    d = rng.random(300) * 2 - 1 + 0.2
    d = np.clip(d, -1, 1)
    scaled = confidence_sequence(d, 0.05, lo=-1, hi=1)
    unit = confidence_sequence((d + 1) / 2, 0.05)
    np.testing.assert_allclose(scaled.lower, unit.lower * 2 - 1)
    with pytest.raises(EstimationError, match="must lie in"):
        confidence_sequence([0.5, 1.5], 0.05)
    with pytest.raises(EstimationError, match="alpha"):
        confidence_sequence([0.5], 1.0)
