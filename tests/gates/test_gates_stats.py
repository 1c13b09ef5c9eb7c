"""Shared statistics: Holm, bootstrap, intervals, log-cost interpolation, budgets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pytest_tts.gates._stats import (
    bootstrap_counts,
    budget_mask,
    check_curve,
    holm,
    interp_log_cost,
    mean_interval,
    norm_op,
)

pvals = arrays(np.float64, st.integers(1, 12), elements=st.floats(0, 1))


@given(pvals)
def test_holm_is_at_least_raw_and_at_most_one(p: np.ndarray) -> None:
    adj = holm(p)
    assert np.all(adj >= p - 1e-15)
    assert np.all(adj <= 1.0)


@given(pvals)
def test_holm_keeps_the_order_of_the_raw_p_values(p: np.ndarray) -> None:
    adj = holm(p)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)


@given(arrays(np.float64, (5, 4), elements=st.floats(0, 1)))
def test_holm_vectorized_equals_row_by_row(p: np.ndarray) -> None:
    np.testing.assert_allclose(holm(p), np.stack([holm(row) for row in p]))


def test_holm_matches_the_textbook_example() -> None:
    # m = 3: sorted 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04
    np.testing.assert_allclose(holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])


def test_bootstrap_counts_draw_n_rows_per_resample() -> None:
    counts = bootstrap_counts(7, 50, np.random.default_rng(1))
    assert counts.shape == (50, 7)
    assert np.all(counts.sum(axis=1) == 7)


@pytest.mark.parametrize("method", ["bootstrap", "t"])
def test_intervals_contain_the_mean_and_widen_with_confidence(method: str) -> None:
    rng = np.random.default_rng(0)
    values = rng.random((80, 3))
    mean = values.mean(axis=0)
    lo90, hi90 = mean_interval(values, 0.9, "two-sided", method=method)  # type: ignore[arg-type]
    lo99, hi99 = mean_interval(values, 0.99, "two-sided", method=method)  # type: ignore[arg-type]
    assert np.all(lo90 < mean)
    assert np.all(mean < hi90)
    assert np.all(lo99 < lo90)
    assert np.all(hi99 > hi90)


@pytest.mark.parametrize("method", ["bootstrap", "t"])
def test_zero_spread_gives_the_degenerate_interval(method: str) -> None:
    values = np.full((30, 2), 0.75)
    lo, hi = mean_interval(values, 0.95, "two-sided", method=method)  # type: ignore[arg-type]
    np.testing.assert_allclose(lo, 0.75)
    np.testing.assert_allclose(hi, 0.75)


def test_interpolation_is_linear_in_log_cost_and_exact_at_points() -> None:
    values = np.array([[0.0, 1.0, 1.0]])
    cost = np.array([1.0, 100.0, 1000.0])
    out = interp_log_cost(values, cost, np.array([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0, 1.0]])


def test_budget_mask_exact_and_bounded() -> None:
    cost = np.array([1.0, 2.0, 4.0, 8.0])
    assert budget_mask(cost, "=", 8).tolist() == [False, False, False, True]
    assert budget_mask(cost, "≤", 4).tolist() == [True, True, True, False]
    assert budget_mask(cost, "<", 4).tolist() == [True, True, False, False]


def test_unknown_operator_is_named() -> None:
    with pytest.raises(ValueError, match="got '~'"):
        norm_op("~")


def test_curve_validation_says_what_was_found() -> None:
    with pytest.raises(ValueError, match="3 columns, 2 ks, 2 costs"):
        check_curve(np.zeros((4, 3)), [1, 2], [1, 2])
    with pytest.raises(ValueError, match="no problems"):
        check_curve(np.zeros((0, 2)), [1, 2], [1, 2])
    with pytest.raises(ValueError, match="must not decrease"):
        check_curve(np.zeros((3, 2)), [1, 2], [2, 1])


@settings(max_examples=30)
@given(st.integers(2, 40), st.integers(0, 2**31 - 1))
def test_bootstrap_interval_is_within_the_data_range(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.random((n, 2))
    lo, hi = mean_interval(values, 0.95, "two-sided", method="bootstrap", resamples=200, seed=seed)
    assert np.all(lo >= values.min(axis=0) - 1e-12)
    assert np.all(hi <= values.max(axis=0) + 1e-12)
