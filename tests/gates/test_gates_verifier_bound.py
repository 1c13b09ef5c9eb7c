"""Verifier bounds: Clopper-Pearson, false-negative rate, and the accuracy ceiling."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from pytest_tts.gates import verifier_bound
from pytest_tts.gates.verifier_bound import accuracy_ceiling, clopper_pearson, effective_counts
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
    ok = check_verifier_bound(oracle, verifier, value=0.05, verifier_name="units")
    assert ok.passed
    assert ok.data["rates"]["false_positive_rate"]["rate"] == pytest.approx(0.02)
    tight = check_verifier_bound(oracle, verifier, value=0.025, verifier_name="units")
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


def test_design_effect_is_one_for_spread_errors_and_larger_for_clustered_ones() -> None:
    spread = effective_counts([1] * 10, [10] * 10)
    assert spread[2] == 1.0
    assert spread[:2] == (10.0, 100.0)
    x_eff, n_eff, deff = effective_counts([10] + [0] * 9, [10] * 10)
    r = 0.1
    robust = 10 / 9 * ((10 - 1) ** 2 + 9 * 1**2) / 100**2
    assert deff == pytest.approx(robust / (r * (1 - r) / 100))
    assert n_eff == pytest.approx(100 / deff)
    assert x_eff / n_eff == pytest.approx(r)


def test_clustered_bound_is_wider_than_the_plain_one() -> None:
    oracle = np.zeros((20, 8), dtype=bool)
    verifier = np.zeros((20, 8), dtype=bool)
    verifier[:2] = True  # every false positive sits in two problems
    clustered = check_verifier_bound(oracle, verifier, value=0.5)
    plain = check_verifier_bound(oracle, verifier, value=0.5, clustered=False)
    fpr_c = clustered.data["rates"]["false_positive_rate"]
    fpr_p = plain.data["rates"]["false_positive_rate"]
    assert fpr_c["rate"] == fpr_p["rate"] == pytest.approx(0.1)
    assert fpr_c["design_effect"] > 5
    assert fpr_c["bound"] > fpr_p["bound"]
    assert "Korn-Graubard" in clustered.method
    assert any("plain Clopper-Pearson" in n for n in plain.notes)
    with pytest.raises(ValueError, match="need a problem axis"):
        check_verifier_bound(oracle.ravel(), verifier.ravel(), value=0.5, clustered=True)
