"""Step-level measures of a process verifier against a step oracle (ProcessBench, calibration).

A process reward model is judged on where it says a solution goes wrong, not only on which
solutions it ranks first (best-of-N alone is a biased judge of a PRM: Zhang et al., "The
Lessons of Developing Process Reward Models", 2025). With per-step scores of the verifier
under test and of a step oracle (``step_check`` on the bundled task) on the same samples, a
step is *flagged* when its score is below 0.5, and (ProcessBench, Zheng et al. 2024):

- ``first_error_accuracy``: on the wrong traces (the oracle rejects some step), the share
  whose first flagged step is the oracle's first wrong step;
- ``right_trace_accuracy``: on the right traces (the oracle accepts every step), the share
  with no step flagged;
- ``first_error_f1``: their harmonic mean, the ProcessBench score;
- ``step_calibration_error``: the expected calibration error of the step scores as
  probabilities of "this step is right" (10 equal-width bins; the mean over steps of
  |mean score - share right| within a step's bin).

Steps are paired by position; a sample whose verifier and oracle split it into different
numbers of steps is judged on the steps both have (counted as ``mismatched``). Samples
without steps are skipped.

With a confidence level the claim is decided by a one-sided percentile bound of a cluster
bootstrap over problems (1,000 resamples, seeded): samples of one problem are correlated, so
problems, not samples, are resampled. The bootstrap is approximate: ``tests/gates/
test_step_metrics.py`` measures its coverage by simulation. Without one the point estimate
is compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pytest_tts.errors import EstimationError
from pytest_tts.gates._stats import OPS, check_level, norm_op

FLAG_BELOW = 0.5
BINS = 10
RESAMPLES = 1000
STEP_MEASURES = (
    "first_error_f1",
    "first_error_accuracy",
    "right_trace_accuracy",
    "step_calibration_error",
)
StepGrid = Sequence[Sequence[Sequence[float] | None]]


@dataclass(frozen=True)
class StepCounts:
    """Per-problem sums every measure is made of (float[P] and float[P, BINS])."""

    err_hits: NDArray[np.float64]
    err_total: NDArray[np.float64]
    ok_hits: NDArray[np.float64]
    ok_total: NDArray[np.float64]
    bin_count: NDArray[np.float64]
    bin_score: NDArray[np.float64]
    bin_right: NDArray[np.float64]
    mismatched: int = 0


def step_counts(verifier: StepGrid, oracle: StepGrid, *, names: tuple[str, str]) -> StepCounts:
    """The per-problem counts of ``verifier``'s step scores against ``oracle``'s (P x N grids
    of per-sample step-score sequences)."""
    if len(verifier) != len(oracle):
        msg = f"step grids differ in problems: {len(verifier)} and {len(oracle)}"
        raise EstimationError(msg)
    p = len(oracle)
    out = {k: np.zeros(p) for k in ("err_hits", "err_total", "ok_hits", "ok_total")}
    bins = {k: np.zeros((p, BINS)) for k in ("bin_count", "bin_score", "bin_right")}
    mismatched = 0
    seen_oracle = seen_verifier = False
    for i, (v_row, o_row) in enumerate(zip(verifier, oracle, strict=True)):
        for v_steps, o_steps in zip(v_row, o_row, strict=True):
            if o_steps is None:
                continue
            seen_oracle = True
            if v_steps is None:
                continue
            seen_verifier = True
            width = min(len(v_steps), len(o_steps))
            mismatched += len(v_steps) != len(o_steps)
            if width == 0:
                continue
            labels = [s >= FLAG_BELOW for s in o_steps[:width]]
            scores = [float(s) for s in v_steps[:width]]
            first_wrong = next((j for j, ok in enumerate(labels) if not ok), None)
            first_flag = next((j for j, s in enumerate(scores) if s < FLAG_BELOW), None)
            if first_wrong is None:
                out["ok_total"][i] += 1
                out["ok_hits"][i] += first_flag is None
            else:
                out["err_total"][i] += 1
                out["err_hits"][i] += first_flag == first_wrong
            for s, ok in zip(scores, labels, strict=True):
                b = min(int(s * BINS), BINS - 1) if s >= 0 else 0
                bins["bin_count"][i, b] += 1
                bins["bin_score"][i, b] += s
                bins["bin_right"][i, b] += ok
    if not seen_oracle:
        msg = f"{names[1]} gave no step scores: a step oracle must be a process verifier"
        raise EstimationError(msg)
    if not seen_verifier:
        msg = f"{names[0]} gave no step scores: step measures need a process verifier"
        raise EstimationError(msg)
    return StepCounts(**out, **bins, mismatched=mismatched)


def measures(c: StepCounts, weights: NDArray[np.float64] | None = None) -> dict[str, Any]:
    """Every measure from the counts; ``weights`` (float[B, P], problem multiplicities of
    bootstrap resamples) gives arrays of B values instead."""

    def total(x: NDArray[np.float64]) -> Any:
        return x.sum(axis=0) if weights is None else weights @ x

    with np.errstate(invalid="ignore", divide="ignore"):
        err = total(c.err_hits) / total(c.err_total)
        ok = total(c.ok_hits) / total(c.ok_total)
        f1 = np.where(err + ok > 0, 2 * err * ok / (err + ok), 0.0)
        n = total(c.bin_count).sum(axis=-1)
        ece = np.abs(total(c.bin_score) - total(c.bin_right)).sum(axis=-1) / n
    return {
        "first_error_accuracy": err,
        "right_trace_accuracy": ok,
        "first_error_f1": f1,
        "step_calibration_error": ece,
    }


@dataclass(frozen=True)
class StepMetricResult:
    """A step-level claim's numbers; ``pytest_tts.report.gates`` renders them."""

    passed: bool
    metric: str
    op: str
    value: float
    verifier_name: str
    oracle_name: str
    confidence: float | None
    estimate: float
    bound: float | None
    values: dict[str, float]
    counts: dict[str, int]
    # per bin: (mean score, share right, steps), for the reliability diagram
    reliability: list[tuple[float, float, int]] = field(default_factory=list)
    kind: str = "step_metric"


def check_step_metric(
    verifier: StepGrid,
    oracle: StepGrid,
    *,
    metric: str,
    op: str,
    value: float,
    confidence: float | None = None,
    verifier_name: str = "verifier",
    oracle_name: str = "oracle",
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> StepMetricResult:
    """Is ``metric(verifier, oracle) OP value``? (See the module doc.)"""
    if metric not in STEP_MEASURES:
        msg = f"unknown step measure {metric!r}; known: {', '.join(STEP_MEASURES)}"
        raise EstimationError(msg)
    op = norm_op(op)
    if op == "=":
        msg = "a step measure is compared with <=, <, >= or >, not '='"
        raise EstimationError(msg)
    c = step_counts(verifier, oracle, names=(verifier_name, oracle_name))
    point = {k: float(v) for k, v in measures(c).items()}
    estimate = point[metric]
    bound: float | None = None
    if confidence is not None:
        check_level(confidence)
        rng = np.random.default_rng(seed)
        p = c.err_total.size
        draws = rng.integers(0, p, (resamples, p))
        weights = np.zeros((resamples, p))
        np.add.at(weights, (np.repeat(np.arange(resamples), p), draws.ravel()), 1.0)
        boot = np.asarray(measures(c, weights)[metric], dtype=np.float64)
        boot = boot[np.isfinite(boot)]
        lower_side = op in (">=", ">")
        if boot.size == 0:
            bound = 0.0 if lower_side else 1.0
        else:
            q = 1.0 - confidence if lower_side else confidence
            bound = float(np.quantile(boot, q))
    decided_on = estimate if bound is None else bound
    passed = bool(np.isfinite(decided_on) and OPS[op](decided_on, float(value)))
    n = c.bin_count.sum(axis=0)
    reliability = [
        (float(c.bin_score[:, b].sum() / n[b]), float(c.bin_right[:, b].sum() / n[b]), int(n[b]))
        for b in range(BINS)
        if n[b]
    ]
    counts = {
        "problems": int(((c.err_total + c.ok_total) > 0).sum()),
        "wrong_traces": int(c.err_total.sum()),
        "right_traces": int(c.ok_total.sum()),
        "steps": int(n.sum()),
        "mismatched": c.mismatched,
    }
    return StepMetricResult(
        passed=passed,
        metric=metric,
        op=op,
        value=float(value),
        verifier_name=verifier_name,
        oracle_name=oracle_name,
        confidence=confidence,
        estimate=estimate,
        bound=bound,
        values=point,
        counts=counts,
        reliability=reliability,
    )
