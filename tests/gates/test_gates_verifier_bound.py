"""Verifier bounds: Clopper-Pearson, false-negative rate, and the accuracy ceiling."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.confseq import betting_upper_bound
from pytest_tts.gates import verifier_bound
from pytest_tts.gates.verifier_bound import accuracy_ceiling, clopper_pearson
from pytest_tts.report.gates import GateText, render_gate


def check_verifier_bound(*args: Any, **kwargs: Any) -> GateText:
    """The gate as every report reads it: its numbers, rendered."""
    return render_gate(verifier_bound.check_verifier_bound(*args, **kwargs))


@given(
    st.integers(0, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(0.5, 0.999),
)
def test_cp_interval_contains_the_mle_and_lies_in_unit_interval(
    xn: tuple[int, int], c: float
) -> None:
    x, n = xn
    for side in ("two-sided", "upper", "lower"):
        lo, hi = clopper_pearson(x, n, c, side)
        assert 0.0 <= lo <= hi <= 1.0
        if n:
            assert lo - 1e-12 <= x / n <= hi + 1e-12


def test_cp_matches_scipy_binomtest() -> None:
    ref = stats.binomtest(7, 60).proportion_ci(confidence_level=0.9, method="exact")
    lo, hi = clopper_pearson(7, 60, 0.9, "two-sided")
    assert lo == pytest.approx(ref.low)
    assert hi == pytest.approx(ref.high)


def test_cp_edge_counts() -> None:
    lo, hi = clopper_pearson(0, 20, 0.95, "upper")
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.05 ** (1 / 20))
    lo, hi = clopper_pearson(20, 20, 0.95, "lower")
    assert hi == 1.0
    assert lo == pytest.approx(0.05 ** (1 / 20))


def test_ceiling_formula_and_limits() -> None:
    np.testing.assert_allclose(accuracy_ceiling([0.5], 0.1, 0.0), [0.5 / (0.5 + 0.05)])
    np.testing.assert_allclose(accuracy_ceiling([0.3, 1.0, 0.0], 0.0, 0.2), [1.0, 1.0, 0.0])
    # No sample can ever be accepted: the problem yields no answer.
    np.testing.assert_allclose(accuracy_ceiling([0.0], 0.0, 0.0), [0.0])


def test_ceiling_agrees_with_simulated_resampling() -> None:
    rng = np.random.default_rng(0)
    p, fpr, fnr = 0.3, 0.2, 0.1
    correct = rng.random((200_000, 60)) < p
    accepted = np.where(correct, rng.random(correct.shape) > fnr, rng.random(correct.shape) < fpr)
    first = accepted.argmax(axis=1)
    got = correct[np.arange(correct.shape[0]), first][accepted.any(axis=1)].mean()
    assert got == pytest.approx(float(accuracy_ceiling([p], fpr, fnr)[0]), abs=0.005)


def test_gate_passes_and_fails_on_the_upper_bound() -> None:
    oracle = np.array([[True] * 5 + [False] * 5] * 40)
    verifier = oracle.copy()
    verifier[:4, 5] = True  # 4 false positives out of 200 negatives
    ok = check_verifier_bound(
        oracle, verifier, value=0.05, verifier_name="units", per_problem=False
    )
    assert ok.passed
    assert ok.data["rates"]["false_positive_rate"]["rate"] == pytest.approx(0.02)
    tight = check_verifier_bound(
        oracle, verifier, value=0.025, verifier_name="units", per_problem=False
    )
    assert not tight.passed  # estimate 0.02 below 0.025, bound above it
    assert "upper 0.95 bound" in tight.headline
    assert 0.5 < ok.data["ceiling"]["observed"] < 1.0
    assert ok.data["ceiling"]["at FPR upper bound"] < ok.data["ceiling"]["observed"]


def test_false_negative_rate_and_lower_bounds() -> None:
    oracle = np.ones(100, dtype=bool)
    verifier = np.arange(100) >= 30
    result = check_verifier_bound(
        oracle, verifier, metric="false_negative_rate", op=">=", value=0.2
    )
    assert result.passed
    assert "CP lower 0.95 bound" in result.rows[0]
    assert any("flat verdicts" in n for n in result.notes)


def test_no_negatives_cannot_bound_the_fpr() -> None:
    oracle = np.ones((3, 4), dtype=bool)
    result = check_verifier_bound(oracle, oracle, value=0.1)
    assert not result.passed
    assert "cannot be measured" in result.headline


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(4,\)"):
        check_verifier_bound(np.ones(3, bool), np.ones(4, bool), value=0.1)


def test_per_problem_rate_weighs_every_problem_the_same() -> None:
    oracle = np.zeros((4, 8), dtype=bool)
    oracle[0, :6] = True  # problem 0 has 2 wrong answers, the others 8
    verifier = np.zeros((4, 8), dtype=bool)
    verifier[0, 6] = True  # 1 of problem 0's 2 wrong answers accepted
    result = check_verifier_bound(oracle, verifier, value=0.9)
    fpr = result.data["rates"]["false_positive_rate"]
    assert fpr["rate"] == pytest.approx((0.5 + 0 + 0 + 0) / 4)
    assert fpr["sample_rate"] == pytest.approx(1 / 26)
    assert fpr["problems"] == 4
    assert "per problem over 4 problems (1/26 samples)" in result.headline
    assert "betting" in result.method


def test_clustered_errors_widen_the_per_problem_bound_beyond_the_plain_one() -> None:
    oracle = np.zeros((20, 8), dtype=bool)
    verifier = np.zeros((20, 8), dtype=bool)
    verifier[:2] = True  # every false positive sits in two problems
    per_problem = check_verifier_bound(oracle, verifier, value=0.5)
    plain = check_verifier_bound(oracle, verifier, value=0.5, per_problem=False)
    fpr_c = per_problem.data["rates"]["false_positive_rate"]
    fpr_p = plain.data["rates"]["false_positive_rate"]
    assert fpr_c["rate"] == fpr_p["rate"] == pytest.approx(0.1)
    # 2 of 20 problems: the binomial bound on 2/20, not on 16/160
    assert fpr_c["bound"] == pytest.approx(float(clopper_pearson(2, 20, 0.95, "upper")[1]))
    assert fpr_c["bound"] > fpr_p["bound"] + 0.1
    assert any("plain Clopper-Pearson" in n for n in plain.notes)
    with pytest.raises(ValueError, match="need a problem axis"):
        check_verifier_bound(oracle.ravel(), verifier.ravel(), value=0.5, per_problem=True)


def test_betting_bound_on_binary_values_is_clopper_pearson() -> None:
    for hits, n in ((0, 14), (3, 20), (20, 20)):
        values = np.array([1.0] * hits + [0.0] * (n - hits))
        expect = float(clopper_pearson(hits, n, 0.95, "upper")[1])
        assert betting_upper_bound(values, 0.05) == pytest.approx(expect)


def test_betting_bound_is_above_the_mean_and_shrinks_with_more_problems() -> None:
    rng = np.random.default_rng(4)
    x = rng.beta(1, 4, 400)
    bounds = [betting_upper_bound(x[:m], 0.05) for m in (25, 100, 400)]
    means = [x[:m].mean() for m in (25, 100, 400)]
    assert all(b > mu for b, mu in zip(bounds, means, strict=True))
    assert bounds[0] > bounds[1] > bounds[2]
    assert bounds[2] - means[2] < 0.06
    # deterministic: the permutations are seeded
    assert betting_upper_bound(x[:25], 0.05) == bounds[0]


@pytest.mark.parametrize(
    ("problems", "a", "b"),
    [(14, 0.3, 1.2), (40, 0.2, 1.8), (100, 1.0, 9.0)],
)
def test_betting_bound_covers_clustered_rates_at_its_level(
    problems: int, a: float, b: float
) -> None:
    """Per-problem FPRs from a Beta (strong clustering), a random number of wrong answers per
    problem: the 0.95 bound covers the true mean of the shares in >= 95% of 400 runs."""
    rng = np.random.default_rng(problems)
    covered = 0
    runs = 400
    for _ in range(runs):
        f_i = rng.beta(a, b, problems)
        t_i = rng.integers(1, 9, problems)
        e_i = rng.binomial(t_i, f_i)
        covered += betting_upper_bound(e_i / t_i, 0.05) >= a / (a + b)
    # 0.95 less 2.6 standard errors of a 400-run proportion
    assert covered / runs >= 0.95 - 2.6 * np.sqrt(0.95 * 0.05 / runs)


def test_betting_bound_rejects_bad_values() -> None:
    with pytest.raises(EstimationError, match=r"values must lie in \[0, 1\]"):
        betting_upper_bound([0.2, 1.5], 0.05)
    with pytest.raises(EstimationError, match="alpha must be in"):
        betting_upper_bound([0.2], 1.5)
    assert betting_upper_bound([], 0.05) == 1.0
