"""Results-model objects built from what the estimators and gates really return."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_tts.estimate.curves import Curve
from pytest_tts.estimate.fits import fit_coverage
from pytest_tts.estimate.frontier import frontier_curve
from pytest_tts.gates.baseline import BaselineEntry
from pytest_tts.gates.threshold import check_threshold
from pytest_tts.report.adapt import (
    budget_lines,
    coverage_fit,
    curve_result,
    error_result,
    expectation_result,
)
from pytest_tts.report.failure import render_failure
from pytest_tts.report.gates import render_gate
from pytest_tts.report.html import plot_units
from pytest_tts.report.results import BudgetLine, SpecResult
from pytest_tts.spec import Budget, Comparison, Measure, ModelRef, PluginCall, Threshold


def make_curve(strategy: str, per_problem: np.ndarray, tokens_per_k: float, flops: bool) -> Curve:
    ks = np.array([1, 2, 4, 8])
    tokens = 10 + tokens_per_k * ks
    mean = per_problem.mean(axis=0)
    return Curve(
        strategy=strategy,
        ks=ks,
        problem_ids=tuple(f"p{i}" for i in range(per_problem.shape[0])),
        per_problem=per_problem,
        mean=mean,
        ci_low=mean - 0.05,
        ci_high=mean + 0.05,
        cost_samples=ks.astype(float),
        cost_tokens=tokens.astype(float),
        cost_flops=tokens * 1e6 if flops else np.full(4, np.nan),
        confidence=0.9,
        mc_se=np.zeros(4),
    )


@pytest.fixture
def curves() -> tuple[Curve, Curve]:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, size=(40, 1))
    vote = np.clip(base + np.array([0.0, 0.05, 0.1, 0.12]), 0, 1)
    best = np.clip(base + np.array([0.0, 0.08, 0.09, 0.09]), 0, 1)
    return make_curve("majority_vote", vote, 12, True), make_curve("best_of_n", best, 14, True)


def test_curve_result_from_an_estimator_curve(curves: tuple[Curve, Curve]) -> None:
    vote, _ = curves
    result = curve_result(vote, "accuracy", model="arith")
    assert result.strategy == "majority_vote"
    assert result.ks == (1.0, 2.0, 4.0, 8.0)
    assert result.mean == pytest.approx(vote.mean.tolist())
    assert result.confidence == 0.9
    assert result.label == "arith: accuracy · majority_vote"


def test_nan_flops_mean_no_flops_plot(curves: tuple[Curve, Curve]) -> None:
    vote, _ = curves
    no_flops = make_curve("majority_vote", vote.per_problem, 12, flops=False)
    result = curve_result(no_flops, "accuracy")
    assert result.cost_flops is None
    spec = SpecResult(name="s", path="s.tts", model="m", curves=[result])
    assert plot_units(spec) == ["n", "tokens"]


def test_a_frontier_is_drawn_only_on_its_own_axis(curves: tuple[Curve, Curve]) -> None:
    frontier = curve_result(frontier_curve(list(curves), "flops"), "accuracy", unit="flops")
    assert frontier.is_frontier
    assert frontier.strategy == "frontier(majority_vote | best_of_n)"
    assert frontier.x("n") is None
    assert frontier.x("flops") is not None


def test_baseline_entry_becomes_the_mean_overlay(curves: tuple[Curve, Curve]) -> None:
    vote, _ = curves
    entry = BaselineEntry.from_arrays(
        vote.per_problem + 0.02,
        vote.problem_ids,
        vote.ks,
        costs={"n": vote.cost_samples, "flops": vote.cost_flops},
        strategy="majority_vote",
    )
    result = curve_result(vote, "accuracy", baseline=entry)
    assert result.baseline is not None
    assert result.baseline.mean == pytest.approx((vote.mean + 0.02).tolist())
    assert result.baseline.x("flops") == pytest.approx(vote.cost_flops.tolist())
    assert result.baseline.x("n") == (1.0, 2.0, 4.0, 8.0)


def test_coverage_fit_extrapolates_with_the_fitted_law() -> None:
    ks = np.array([1, 2, 4, 8, 16])
    fit = fit_coverage(ks, np.array([0.41, 0.58, 0.76, 0.85, 0.91]))
    result = coverage_fit(fit, extrapolate_to=[32, 64])
    assert [k for k, _ in result.extrapolated] == [32.0, 64.0]
    assert result.extrapolated[0][1] == pytest.approx(float(fit.predict([32])[0][0]))
    assert result.form == "exp(-a·k^b)"
    assert 0.91 < result.extrapolated[0][1] < result.extrapolated[1][1] <= 1.0


def test_gate_result_becomes_an_expectation_result(curves: tuple[Curve, Curve]) -> None:
    vote, _ = curves
    gate = check_threshold(
        vote.per_problem,
        vote.ks,
        vote.cost_flops,
        op=">=",
        value=0.9,
        budget=("flops", "<=", 100e6),
        confidence=0.95,
        strategy="majority_vote",
        resamples=200,
    )
    assert not gate.passed
    result = expectation_result(
        gate,
        id="e1",
        text="expect accuracy >= 0.9 at flops <= 100M using majority_vote",
        line=7,
        budgets=[BudgetLine("flops", 100e6)],
    )
    assert result.outcome == "failed"
    assert result.kind == "threshold"
    words = render_gate(gate)  # what expectation_result read
    assert result.headline == words.headline
    assert result.headline.startswith("accuracy >= 0.9 at flops <= 1e8 using majority_vote")
    assert len(result.table) == len(words.rows) == len(gate.ks)
    assert "(confidence 0.95)" in result.method
    assert result.properties["confidence"] == 0.95
    text = render_failure(result, "specs/a.tts", 7, "    " + result.text)
    assert text.startswith("expectation failed: accuracy >= 0.9 at flops <= 100M")
    assert words.headline in text
    assert "next: the curve does not reach the threshold" in text


def test_error_result_names_the_exception() -> None:
    result = error_result(ValueError("no samples"), id="e", text="expect x", line=3)
    assert result.outcome == "error"
    assert result.detail == "ValueError: no samples"


def test_budget_lines_of_checked_expectations() -> None:
    measure = Measure(
        metric="accuracy",
        strategy=PluginCall(kind="strategy", name="majority_vote"),
        model=ModelRef(name="m", backend=PluginCall(kind="backend", name="vllm")),
    )
    threshold = Threshold(measure, ">=", 0.5, budget=Budget("flops", "<=", 4e9))
    assert budget_lines(threshold) == [BudgetLine("flops", 4e9)]
    comparison = Comparison(measure, ">", measure, unit="tokens", range=(100.0, 2000.0))
    assert budget_lines(comparison) == [
        BudgetLine("tokens", 100.0, "from"),
        BudgetLine("tokens", 2000.0, "to"),
    ]
    assert budget_lines(Threshold(measure, ">=", 0.5)) == []
