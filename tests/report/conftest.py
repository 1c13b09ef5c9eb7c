"""A synthetic run with the shapes real runs have: two specs, several strategies, a stored
baseline, a fitted trend, a compute-optimal frontier, and every outcome."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pytest_tts.report.results import (
    BaselineOverlay,
    BudgetLine,
    CurveResult,
    ExpectationResult,
    Fit,
    Machine,
    PoolSummary,
    RunResults,
    SpecResult,
)

ADDITION_SOURCE = """\
spec "voting pays off on two-digit addition" {
    model   arith
    dataset sums
    sample  n = 64, temperature = 1.0, max_tokens = 24, seed = 0
    oracle  exact

    expect accuracy >= 0.55 at flops <= 300M using majority_vote
    expect accuracy >= 0.45 at n = 8 using best_of_n(verifier = units)
    expect coverage >= 0.95 at n = 64
    expect accuracy using majority_vote is monotone in n
    expect false_positive_rate(units) <= 0.15 with confidence 0.95
    expect no regression of accuracy using majority_vote against baseline within 0.02
}
"""

GSM_SOURCE = """\
# a public model on grade-school math
spec "weighted voting on gsm8k" {
    model   smollm2
    dataset gsm8k
    sample  n = 16, temperature = 0.7, max_tokens = 256, seed = 1

    expect accuracy using weighted_vote(rm = orm) > accuracy using majority_vote at matched flops
    expect accuracy >= 0.30 at tokens <= 2.5k using majority_vote
    expect accuracy using beam_search(prm = steps, width = 4) is monotone in flops
}
"""


def _curve(
    strategy: str,
    metric: str,
    ks: np.ndarray,
    mean: np.ndarray,
    tokens_per_sample: float,
    flops_per_token: float,
    half_width: float = 0.04,
    **kwargs: object,
) -> CurveResult:
    tokens = 10 + tokens_per_sample * ks
    return CurveResult(
        strategy=strategy,
        metric=metric,
        ks=ks,
        mean=mean,
        ci_low=np.clip(mean - half_width, 0, 1),
        ci_high=np.clip(mean + half_width, 0, 1),
        cost_samples=ks,
        cost_tokens=tokens,
        cost_flops=tokens * flops_per_token,
        **kwargs,  # type: ignore[arg-type]
    )


def synthetic_results() -> RunResults:
    ks = np.array([1, 2, 4, 8, 16, 32, 64])
    fpt = 1.32e6  # FLOPs per token of a 0.66M-parameter model
    vote = np.array([0.41, 0.45, 0.49, 0.52, 0.55, 0.57, 0.58])
    cover = np.array([0.41, 0.58, 0.76, 0.85, 0.91, 0.95, 0.97])
    best = np.array([0.41, 0.44, 0.46, 0.47, 0.47, 0.46, 0.46])
    base_tokens = 10 + 12 * ks
    majority = _curve(
        "majority_vote",
        "accuracy",
        ks,
        vote,
        12,
        fpt,
        baseline=BaselineOverlay(
            ks=ks,
            mean=vote + np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.04, 0.04]),
            costs={"tokens": base_tokens, "flops": base_tokens * fpt},
        ),
    )
    coverage = _curve(
        "pass_at_k",
        "coverage",
        ks,
        cover,
        12,
        fpt,
        fit=Fit(a=0.43, b=0.135, r2=0.97, unit="n", extrapolated=[(128, 0.99), (256, 1.0)]),
    )
    best_of_n = _curve("best_of_n(verifier = units)", "accuracy", ks, best, 12, fpt)
    frontier_tokens = 10 + 12 * ks
    frontier = CurveResult(
        strategy="frontier(accuracy)",
        metric="accuracy",
        ks=ks,
        mean=np.maximum(vote, best),
        cost_tokens=frontier_tokens,
        cost_flops=frontier_tokens * fpt,
    )
    addition = SpecResult(
        name="voting pays off on two-digit addition",
        path="specs/addition.tts",
        model="arith",
        model_provenance={
            "path": "models/tiny-arith",
            "sha256": "3f9a0c1d",
            "engine": "vllm 0.32.0+cpu",
        },
        dataset="sums",
        dataset_hash="sha256:77be10aa",
        sampling={"n": 64, "temperature": 1.0, "max_tokens": 24, "seed": 0},
        source=ADDITION_SOURCE,
        source_line=8,
        pools=PoolSummary(
            pools=1,
            problems=200,
            samples_generated=9600,
            samples_reused=3200,
            tokens=np.int64(2_048_000),
            flops=2.7e12,
        ),
        curves=[majority, coverage, best_of_n, frontier],
        expectations=[
            ExpectationResult(
                id="addition-1",
                nodeid="specs/addition.tts::voting pays off on two-digit addition::E1",
                text="expect accuracy >= 0.55 at flops <= 300M using majority_vote",
                line=14,
                kind="threshold",
                outcome="failed",
                headline=(
                    "best point within 300M FLOPs: 0.520 [0.480, 0.560] at n = 8 "
                    "(140M FLOPs); expected ≥ 0.55"
                ),
                table=[
                    {
                        "n": 4,
                        "FLOPs": 76.6e6,
                        "accuracy": 0.49,
                        "interval": (0.45, 0.53),
                        "verdict": "below",
                    },
                    {
                        "n": 8,
                        "FLOPs": 140e6,
                        "accuracy": 0.52,
                        "interval": (0.48, 0.56),
                        "verdict": "best within budget",
                    },
                    {
                        "n": 16,
                        "FLOPs": 266e6,
                        "accuracy": 0.55,
                        "interval": (0.51, 0.59),
                        "verdict": "over budget",
                    },
                ],
                method=(
                    "point estimate at the best k within budget; 95% "
                    "percentile bootstrap over problems"
                ),
                budgets=[BudgetLine("flops", 3e8)],
                target=0.55,
                properties={"value": 0.52, "ci_low": 0.48, "ci_high": 0.56, "k": 8},
            ),
            ExpectationResult(
                id="addition-2",
                text="expect accuracy >= 0.45 at n = 8 using best_of_n(verifier = units)",
                line=15,
                kind="threshold",
                outcome="passed",
                headline="0.470 [0.430, 0.510] at n = 8; expected ≥ 0.45",
                budgets=[{"unit": "n", "value": 8}],
                target=0.45,
                properties={"value": 0.47},
            ),
            ExpectationResult(
                id="addition-3",
                text="expect coverage >= 0.95 at n = 64",
                line=16,
                kind="threshold",
                outcome="passed",
                headline="0.970 [0.930, 1.000] at n = 64; expected ≥ 0.95",
                budgets=[BudgetLine("n", 64)],
                target=0.95,
            ),
            ExpectationResult(
                id="addition-4",
                text="expect accuracy using majority_vote is monotone in n",
                line=17,
                kind="monotone",
                outcome="passed",
                headline="largest drop 0.000 (no drop) over 7 points",
            ),
            ExpectationResult(
                id="addition-5",
                text="expect false_positive_rate(units) <= 0.15 with confidence 0.95",
                line=18,
                kind="verifier_bound",
                outcome="passed",
                headline="false-positive rate 0.091, 95% upper bound 0.112 ≤ 0.15",
                method="one-sided Clopper-Pearson bound over 7,571 wrong samples",
            ),
            ExpectationResult(
                id="addition-6",
                text=(
                    "expect no regression of accuracy using "
                    "majority_vote against baseline within 0.02"
                ),
                line=19,
                kind="no_regression",
                outcome="failed",
                headline=(
                    "accuracy dropped by 0.040 at n = 16 (baseline "
                    "0.590, now 0.550); tolerance 0.02"
                ),
                table=[
                    {
                        "n": 8,
                        "baseline": 0.55,
                        "now": 0.52,
                        "drop": 0.03,
                        "p (Holm)": 0.041,
                        "verdict": "regressed",
                    },
                    {
                        "n": 16,
                        "baseline": 0.59,
                        "now": 0.55,
                        "drop": 0.04,
                        "p (Holm)": 0.004,
                        "verdict": "regressed",
                    },
                    {
                        "n": 64,
                        "baseline": 0.62,
                        "now": 0.58,
                        "drop": 0.04,
                        "p (Holm)": 0.006,
                        "verdict": "regressed",
                    },
                ],
                method=(
                    "paired over 200 problems; one-sided sign-flip test "
                    "per point, Holm-corrected at 0.05"
                ),
            ),
        ],
        tags=("smoke",),
    )
    ks2 = np.array([1, 2, 4, 8, 16])
    fpt2 = 2.7e8  # FLOPs per token of a 135M-parameter model
    gsm = SpecResult(
        name="weighted voting on gsm8k",
        path="specs/gsm8k.tts",
        model="smollm2",
        model_provenance={"path": "models/smollm2-135m", "sha256": "b71c55e0"},
        dataset="gsm8k",
        dataset_hash="sha256:0c1e9f42",
        sampling={"n": 16, "temperature": 0.7, "max_tokens": 256, "seed": 1},
        source=GSM_SOURCE,
        source_line=1,
        pools=PoolSummary(
            problems=100, samples_generated=0, samples_reused=1600, tokens=310_000, flops=8.4e13
        ),
        curves=[
            _curve(
                "weighted_vote(rm = orm)",
                "accuracy",
                ks2,
                np.array([0.22, 0.26, 0.30, 0.33, 0.35]),
                190,
                fpt2,
                half_width=0.08,
            ),
            _curve(
                "majority_vote",
                "accuracy",
                ks2,
                np.array([0.22, 0.24, 0.27, 0.29, 0.30]),
                190,
                fpt2,
                half_width=0.08,
            ),
            CurveResult(
                strategy="frontier(accuracy)",
                metric="accuracy",
                ks=ks2,
                mean=[0.22, 0.26, 0.30, 0.33, 0.35],
                cost_flops=(60 + 190 * ks2) * fpt2 * 1.02,
            ),
        ],
        expectations=[
            ExpectationResult(
                id="gsm-1",
                text=(
                    "expect accuracy using weighted_vote(rm = orm) > "
                    "accuracy using majority_vote at matched flops"
                ),
                line=7,
                kind="comparison",
                outcome="passed",
                headline="weighted_vote ahead at 4 of 4 matched points; smallest lead 0.020",
            ),
            ExpectationResult(
                id="gsm-2",
                text="expect accuracy >= 0.30 at tokens <= 2.5k using majority_vote",
                line=8,
                kind="threshold",
                outcome="error",
                detail=(
                    "MissingSamplesError: --tts-offline and pool smollm2/gsm8k lacks 400 samples"
                ),
                budgets=[BudgetLine("tokens", 2500)],
                target=0.30,
            ),
            ExpectationResult(
                id="gsm-3",
                text=(
                    "expect accuracy using beam_search(prm = steps, width = 4) is monotone in flops"
                ),
                line=9,
                kind="monotone",
                outcome="skipped",
                detail="deselected strategy: beam_search needs step-wise generation",
            ),
        ],
    )
    return RunResults(
        started="2026-11-22T10:00:00+00:00",
        finished="2026-11-22T10:04:31+00:00",
        pytest_tts_version="0.1.0.dev0",
        machine=Machine(platform="Linux-x86_64", cpu_count=2, python="3.11.2"),
        specs=[addition, gsm],
    )


@pytest.fixture
def results() -> RunResults:
    return synthetic_results()


GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``golden/<name>``; ``TTS_UPDATE_GOLDEN=1`` rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("TTS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    expected = path.read_text(encoding="utf-8").removesuffix("\n")
    assert text == expected, f"{name} differs from the golden file (TTS_UPDATE_GOLDEN=1 rewrites)"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    return assert_golden


@pytest.fixture(scope="session")
def report_html() -> str:
    """The HTML report of the synthetic run, rendered once per session (plots are slow)."""
    from pytest_tts.report.html import render_html

    return render_html(synthetic_results())
