"""The Monte Carlo vote estimator against exact enumeration, and its reported error."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_tts.strategies.vote import vote_monte_carlo, weighted_enumerate


def small_pool(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to 8 samples over at most 4 classes and blanks; dyadic weights (sums are exact, so
    ties are real ties) including zeros; correctness per class or per sample."""
    n = int(rng.integers(1, 9))
    codes = rng.integers(-1, 4, size=n)
    if rng.random() < 0.5:
        correct = (codes == 0).astype(np.float64)
    else:
        correct = (rng.random(n) < 0.5).astype(np.float64)
    weights = rng.choice([0.0, 0.5, 1.0, 2.0], size=n)
    return codes, correct, weights


@pytest.mark.parametrize("unweighted", [False, True])
def test_agrees_with_enumeration_within_four_standard_errors(unweighted: bool) -> None:
    rng = np.random.default_rng(2026)
    checked = 0
    for case in range(60):
        codes, correct, weights = small_pool(rng)
        n = codes.size
        ks = np.arange(1, n + 1)
        w = np.ones(n) if unweighted else weights
        exact = np.array([weighted_enumerate(codes, correct, w, int(k)) for k in ks])
        mean, se = vote_monte_carlo(
            codes, correct, None if unweighted else weights, ks, 3000, np.random.default_rng(case)
        )
        assert np.all(np.abs(mean - exact) <= 4 * se + 1e-12), (codes, correct, w, mean, exact, se)
        checked += int((se > 0).sum())
    assert checked > 100  # most budgets carry sampling error, so the bound is not vacuous


def test_ties_blanks_and_zero_weights_have_their_exact_values() -> None:
    # Right (0) and wrong (1) tie at k = 2 and k = 4; the blank (-1) is drawn but never wins;
    # the zero-weight sample of class 2 still beats an empty subset.
    codes = np.array([0, 1, 0, 1, -1, 2])
    correct = (codes == 0).astype(np.float64)
    weights = np.array([1.0, 1.0, 1.0, 1.0, 5.0, 0.0])
    ks = np.arange(1, 7)
    exact = np.array([weighted_enumerate(codes, correct, weights, int(k)) for k in ks])
    assert exact[0] == pytest.approx(2 / 6)  # one sample: the right one wins if drawn
    mean, se = vote_monte_carlo(codes, correct, weights, ks, 20000, np.random.default_rng(3))
    assert np.all(np.abs(mean - exact) <= 4 * se + 1e-12)
    # The full pool is a 2-2 tie: the tie is averaged over, not drawn, so no sampling error.
    assert mean[-1] == pytest.approx(0.5)
    assert se[-1] == 0.0


def test_reported_error_matches_the_spread_across_seeds() -> None:
    rng = np.random.default_rng(11)
    n = 24
    codes = rng.choice([-1, 0, 1, 2, 3], size=n, p=[0.1, 0.3, 0.3, 0.2, 0.1])
    correct = (codes == 0).astype(np.float64)
    correct[:3] = 1.0 - correct[:3]  # the oracle disagrees with the normalizer on a few
    weights = rng.choice([0.0, 0.25, 1.0, 3.0], size=n)
    ks = np.array([1, 2, 5, 9, 16, 23])
    runs = [
        vote_monte_carlo(codes, correct, weights, ks, 400, np.random.default_rng(s))
        for s in range(200)
    ]
    means = np.array([r[0] for r in runs])
    ses = np.array([r[1] for r in runs])
    ratio = ses.mean(axis=0) / means.std(axis=0, ddof=1)
    assert np.all((ratio >= 0.8) & (ratio <= 1.25)), ratio


def test_same_seed_same_estimate_and_budget_order_is_free() -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(-1, 5, size=30)
    correct = (codes == 1).astype(np.float64)
    weights = rng.random(30)
    ks = np.array([17, 3, 30, 3, 8])
    first = vote_monte_carlo(codes, correct, weights, ks, 500, np.random.default_rng(9))
    again = vote_monte_carlo(codes, correct, weights, ks, 500, np.random.default_rng(9))
    ordered = vote_monte_carlo(
        codes, correct, weights, np.unique(ks), 500, np.random.default_rng(9)
    )
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    lookup = {int(k): i for i, k in enumerate(np.unique(ks))}
    np.testing.assert_array_equal(first[0], ordered[0][[lookup[int(k)] for k in ks]])
    other = vote_monte_carlo(codes, correct, weights, ks, 500, np.random.default_rng(10))
    assert not np.array_equal(first[0], other[0])


def test_a_problem_without_answers_scores_zero() -> None:
    codes = np.full(5, -1)
    mean, se = vote_monte_carlo(
        codes, np.zeros(5), None, np.array([1, 5]), 100, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(mean, [0.0, 0.0])
    np.testing.assert_array_equal(se, [0.0, 0.0])
