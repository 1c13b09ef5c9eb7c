"""The ``by fit`` gate: the law fitted on the pool's pass@k, read at K, decided by a
bootstrap over problems (its error rate by simulation is in bench/real_data.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.fits import fit_coverage
from pytest_tts.gates.fit import check_fit_threshold
from pytest_tts.report.gates import render_gate
from pytest_tts.strategies.coverage import pass_at_k_values


def _pool(seed: int = 0, problems: int = 120, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(0.4, 2.0, problems)
    correct = rng.random((problems, n)) < p[:, None]
    ks = np.arange(1, n + 1)
    return pass_at_k_values(n, correct.sum(axis=1), ks), ks


def test_the_forecast_is_the_law_fitted_on_the_mean_curve() -> None:
    per_problem, ks = _pool()
    gate = check_fit_threshold(per_problem, ks, op=">=", value=0.5, k_target=100)
    law = fit_coverage(ks, per_problem.mean(axis=0))
    assert gate.forecast == pytest.approx(float(law.predict([100])[0][0]))
    assert gate.low <= gate.forecast <= gate.high
    assert gate.passed == (gate.forecast >= 0.5)  # no confidence: the point forecast


def test_points_exactly_on_a_law_are_recovered() -> None:
    ks = np.arange(1, 9)
    curve = np.exp(-0.8 * ks**-0.6)
    per_problem = np.tile(curve, (30, 1))  # every problem alike: the bootstrap cannot vary
    gate = check_fit_threshold(per_problem, ks, op=">=", value=0.9, k_target=64, confidence=0.95)
    assert gate.fit.a == pytest.approx(0.8)
    assert gate.fit.b == pytest.approx(-0.6)
    assert gate.forecast == pytest.approx(np.exp(-0.8 * 64**-0.6))
    assert gate.low == pytest.approx(gate.forecast)
    assert gate.high == pytest.approx(gate.forecast)


def test_confidence_moves_the_decision_to_the_bound() -> None:
    per_problem, ks = _pool()
    point = check_fit_threshold(per_problem, ks, op=">=", value=0.0, k_target=64)
    just_below = point.forecast - 1e-6
    assert check_fit_threshold(per_problem, ks, op=">=", value=just_below, k_target=64).passed
    strict = check_fit_threshold(
        per_problem, ks, op=">=", value=just_below, k_target=64, confidence=0.95
    )
    assert not strict.passed  # the lower bound is below the point forecast
    assert strict.compared == strict.low
    upper = check_fit_threshold(
        per_problem, ks, op="<=", value=point.forecast + 1e-6, k_target=64, confidence=0.95
    )
    assert upper.compared == upper.high
    assert not upper.passed


def test_seeded_and_rendered() -> None:
    per_problem, ks = _pool(3)
    one = check_fit_threshold(per_problem, ks, op=">=", value=0.6, k_target=64, confidence=0.9)
    two = check_fit_threshold(per_problem, ks, op=">=", value=0.6, k_target=64, confidence=0.9)
    assert (one.low, one.high) == (two.low, two.high)
    text = render_gate(one)
    assert "coverage >= 0.6 at n = 64 by fit" in text.headline
    assert any("extrapolated 4x beyond" in note for note in text.notes)
    assert "given that the law holds" in text.error_rate
    assert text.rows[-1]["k"] == 64


def test_a_pool_the_law_cannot_fit_is_an_error() -> None:
    flat = np.ones((10, 4))
    with pytest.raises(EstimationError, match="at least 2 points"):
        check_fit_threshold(flat, np.arange(1, 5), op=">=", value=0.9, k_target=64)
    with pytest.raises(EstimationError, match="compares with"):
        check_fit_threshold(_pool()[0], _pool()[1], op="=", value=0.9, k_target=64)
