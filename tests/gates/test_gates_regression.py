"""Regression against a baseline: paired one-sided tests, Holm / max-T, problem matching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from pytest_tts.errors import ProvenanceMismatchError
from pytest_tts.gates import regression
from pytest_tts.gates.baseline import BaselineEntry, Provenance
from pytest_tts.gates.regression import (
    paired_t,
    regression_pvalues,
)
from pytest_tts.report.gates import GateText, render_gate


def check_regression(*args: Any, **kwargs: Any) -> GateText:
    """The gate as every report reads it: its numbers, rendered."""
    return render_gate(regression.check_regression(*args, **kwargs))


def check_regression_against(*args: Any, **kwargs: Any) -> GateText:
    """The gate as every report reads it: its numbers, rendered."""
    return render_gate(regression.check_regression_against(*args, **kwargs))


KS = [1, 2, 4, 8]


def runs(drop: float, problems: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Baseline and current per-problem values from 8-sample pools; ``drop`` on every point."""
    rng = np.random.default_rng(seed)
    theta = np.clip(rng.beta(2, 2, (problems, 1)) + np.array([0.0, 0.05, 0.1, 0.12]), 0, 1)
    base = rng.binomial(8, theta) / 8
    cur = rng.binomial(8, np.clip(theta - drop, 0, 1)) / 8
    return cur, base


def test_identical_runs_pass_with_p_one() -> None:
    _, base = runs(0.0)
    result = check_regression(base, base, ks=KS, tolerance=0.0)
    assert result.passed
    assert result.data["adjusted_p"] == [1.0] * 4
    assert [r["verdict"] for r in result.rows] == ["ok"] * 4


def test_a_clear_drop_fails_with_the_table() -> None:
    cur, base = runs(0.08)
    result = check_regression(cur, base, ks=KS, tolerance=0.02, metric="accuracy")
    assert not result.passed
    assert {r["verdict"] for r in result.rows} == {"REGRESSED"}
    row = result.rows[0]
    assert set(row) == {
        "k",
        "cost (n)",
        "baseline",
        "observed",
        "difference",
        "0.95 interval",
        "adjusted p",
        "verdict",
    }
    assert row["difference"] == pytest.approx(row["observed"] - row["baseline"])
    lo, hi = row["0.95 interval"]
    assert lo < row["difference"] < hi
    text = result.render()
    assert "REGRESSED" in text
    assert "Holm" in text
    assert "dropped by more than 0.02" in result.headline


def test_raw_p_values_match_scipy_one_sided_t_test() -> None:
    cur, base = runs(0.03, problems=150, seed=3)
    drop = base - cur
    _, _, _, p = paired_t(drop, 0.01)
    for j in range(drop.shape[1]):
        ref = stats.ttest_1samp(drop[:, j] - 0.01, 0.0, alternative="greater").pvalue
        assert p[j] == pytest.approx(ref)


def test_uniform_drop_within_tolerance_passes() -> None:
    base = np.tile(np.linspace(0.2, 0.9, 50)[:, None], (1, 4))
    assert check_regression(base - 0.01, base, ks=KS, tolerance=0.02).passed


def test_zero_spread_drop_gets_the_sign_test_p_value() -> None:
    base = np.full((30, 4), 0.8)
    result = check_regression(base - 0.05, base, ks=KS, tolerance=0.02)
    assert not result.passed
    np.testing.assert_allclose(result.data["adjusted_p"], [4 * 0.5**30] * 4)
    one = check_regression(base[:1] - 0.05, base[:1], ks=KS, tolerance=0.02)
    assert one.passed  # a single problem is never significant
    assert {r["verdict"] for r in one.rows} == {"drop not significant"}


def test_drop_beyond_tolerance_but_noisy_is_flagged_not_failed() -> None:
    cur, base = runs(0.04, problems=40, seed=1)
    result = check_regression(cur, base, ks=KS, tolerance=0.0)
    assert result.passed
    assert "drop not significant" in {r["verdict"] for r in result.rows}


def test_missing_problems_are_excluded_and_listed() -> None:
    cur, base = runs(0.0, problems=50)
    ids = [f"p{i:02d}" for i in range(50)]
    result = check_regression(
        cur[5:], base[:-3], ks=KS, tolerance=0.02, current_ids=ids[5:], baseline_ids=ids[:-3]
    )
    assert result.data["problems"] == 42
    assert "3 problem(s) only in the current run, excluded: p47, p48, p49" in result.notes
    assert any(n.startswith("5 problem(s) only in the baseline") for n in result.notes)
    strict = check_regression(
        cur[5:],
        base[:-3],
        ks=KS,
        tolerance=0.02,
        current_ids=ids[5:],
        baseline_ids=ids[:-3],
        missing="fail",
    )
    assert not strict.passed
    assert "5 gone" in strict.headline


def test_problems_are_matched_by_id_not_position() -> None:
    _, base = runs(0.0, problems=60)
    ids = [f"p{i}" for i in range(60)]
    order = np.random.default_rng(0).permutation(60)
    shuffled = check_regression(
        base[order],
        base,
        ks=KS,
        tolerance=0.0,
        current_ids=[ids[i] for i in order],
        baseline_ids=ids,
    )
    assert shuffled.data["adjusted_p"] == [1.0] * 4


def test_budget_points_are_matched_by_k() -> None:
    cur, base = runs(0.0, problems=80)
    result = check_regression(
        cur[:, 1:], base[:, :3], ks=[2, 4, 8], baseline_ks=[1, 2, 4], tolerance=0.02
    )
    assert [r["k"] for r in result.rows] == [2, 4]
    assert "budget points not in the baseline, not tested: k = [8]" in result.notes
    assert "baseline budget points missing from this run, not tested: k = [1]" in result.notes


def test_budget_restricts_the_tested_points() -> None:
    cur, base = runs(0.0, problems=80)
    result = check_regression(cur, base, ks=KS, tolerance=0.02, budget=("n", "<=", 2))
    assert [r["k"] for r in result.rows] == [1, 2]
    none = check_regression(cur, base, ks=KS, tolerance=0.02, budget=("n", "=", 3))
    assert not none.passed
    assert "no budget point to test" in none.headline


def test_maxt_is_less_conservative_than_holm_for_correlated_points() -> None:
    rng = np.random.default_rng(7)
    d = rng.normal(0.01, 0.1, (300, 1))
    drop = np.repeat(d, 4, axis=1)  # four perfectly correlated budget points
    _, _, holm_p = regression_pvalues(drop, 0.0, method="holm")
    _, _, maxt_p = regression_pvalues(drop, 0.0, method="maxt", resamples=4000, seed=1)
    _, _, _, raw = paired_t(drop, 0.0)
    np.testing.assert_allclose(holm_p, np.minimum(1, 4 * raw))
    assert np.all(maxt_p < holm_p)
    assert maxt_p[0] == pytest.approx(raw[0], abs=0.02)


def test_maxt_gate_agrees_on_a_clear_drop() -> None:
    cur, base = runs(0.08, seed=4)
    result = check_regression(cur, base, ks=KS, tolerance=0.0, method="maxt", resamples=500)
    assert not result.passed
    assert "max-T" in result.method


def test_provenance_notes_are_carried() -> None:
    _, base = runs(0.0, problems=20)
    result = check_regression(
        base, base, ks=KS, tolerance=0.0, notes=["provenance mismatch allowed: engine_version"]
    )
    assert "provenance mismatch allowed: engine_version" in result.render()


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"current values must be \[problems, 4\]"):
        check_regression(np.zeros((3, 2)), np.zeros((3, 4)), ks=KS, tolerance=0.0)
    with pytest.raises(ValueError, match="same problems in the same order"):
        check_regression(np.zeros((3, 4)), np.zeros((2, 4)), ks=KS, tolerance=0.0)


def test_against_a_stored_entry_checks_provenance_first() -> None:
    cur, base = runs(0.08, problems=100)
    ids = [f"p{i}" for i in range(100)]
    stored = Provenance(model_hash="a", sampling={"n": 8})
    entry = BaselineEntry.from_arrays(base, ids, KS, provenance=stored)
    result = check_regression_against(
        entry, cur[::-1], ids[::-1], ks=KS, tolerance=0.0, provenance=stored
    )
    assert not result.passed
    assert result.data["problems"] == 100
    other = Provenance(model_hash="b", sampling={"n": 8})
    with pytest.raises(ProvenanceMismatchError, match="model_hash: baseline 'a', current 'b'"):
        check_regression_against(entry, cur, ids, ks=KS, tolerance=0.0, provenance=other)
    allowed = check_regression_against(
        entry, base, ids, ks=KS, tolerance=0.0, provenance=other, allow_mismatch=True
    )
    assert allowed.passed
    assert allowed.notes == ("provenance mismatch allowed: model_hash baseline 'a', current 'b'",)


def test_false_alarm_rate_under_no_change_stays_at_alpha() -> None:
    # 1,000 re-runs of a no-change world (8-sample pools, 4 correlated budget points).
    rng = np.random.default_rng(11)
    theta = rng.beta(0.7, 0.5, (1000, 150, 1)) * np.ones(4)
    u_base = rng.random((1000, 150, 8, 1))
    u_cur = rng.random((1000, 150, 8, 1))
    base = (u_base < theta[:, :, None, :]).mean(axis=2)
    cur = (u_cur < theta[:, :, None, :]).mean(axis=2)
    _, _, p_adj = regression_pvalues(base - cur, 0.0)
    rate = (p_adj <= 0.05).any(axis=-1).mean()
    assert rate <= 0.05
    shifted = cur - 0.08  # a true drop of 8 points is found nearly always
    _, _, p_drop = regression_pvalues(base - shifted, 0.0)
    assert (p_drop <= 0.05).any(axis=-1).mean() > 0.95


GOLDEN = Path(__file__).parent / "golden" / "regression_failure.txt"


def test_failure_report_golden() -> None:
    base = np.array([[1.0, 1.0], [1.0, 0.5], [0.5, 1.0], [1.0, 1.0]] * 10)
    cur = base - np.array([[0.5, 0.0], [0.5, 0.0], [0.0, 0.0], [0.5, 0.0]] * 10)
    result = check_regression(
        cur, base, ks=[1, 4], cost=[12.0, 48.0], unit="tokens", tolerance=0.02
    )
    assert result.render() + "\n" == GOLDEN.read_text(encoding="utf-8")
