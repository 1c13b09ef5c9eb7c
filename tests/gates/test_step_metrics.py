"""Step-level measures of a process verifier: by hand, against brute force, by simulation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pytest_tts.errors import EstimationError
from pytest_tts.gates.step_metrics import check_step_metric, measures, step_counts
from pytest_tts.report.gates import render_gate

R, W = 1.0, 0.0  # oracle step labels


def test_processbench_measures_by_hand() -> None:
    oracle = [
        [(R, R, R), (R, W, W)],  # problem 0: a right trace, a wrong one (first error 2)
        [(W, R), (R, R)],  # problem 1: wrong (first error 1), right
    ]
    prm = [
        [(0.9, 0.8, 0.7), (0.9, 0.3, 0.2)],  # right: nothing flagged; wrong: found at 2
        [(0.6, 0.4), (0.4, 0.9)],  # wrong: flags step 2, not 1; right: flags step 1
    ]
    r = check_step_metric(prm, oracle, metric="first_error_f1", op=">=", value=0.5)
    assert r.values["first_error_accuracy"] == pytest.approx(0.5)
    assert r.values["right_trace_accuracy"] == pytest.approx(0.5)
    assert r.values["first_error_f1"] == pytest.approx(0.5)
    assert r.passed
    assert r.bound is None
    # calibration: every step score against its label, 10 bins, brute force
    scores = [s for row in prm for t in row for s in t]
    labels = [x for row in oracle for t in row for x in t]
    ece = 0.0
    for b in range(10):
        members = [i for i, s in enumerate(scores) if min(int(s * 10), 9) == b]
        if members:
            gap = np.mean([scores[i] for i in members]) - np.mean([labels[i] for i in members])
            ece += len(members) / len(scores) * abs(gap)
    assert r.values["step_calibration_error"] == pytest.approx(ece)
    assert r.counts == {
        "problems": 2,
        "wrong_traces": 2,
        "right_traces": 2,
        "steps": 10,
        "mismatched": 0,
    }
    assert sum(n for _, _, n in r.reliability) == 10
    text = render_gate(r)
    assert "first_error_f1(verifier, oracle) >= 0.5: 0.5 (2 wrong and 2 right traces" in (
        text.headline
    )


def test_mismatched_and_missing_steps() -> None:
    oracle = [[(R, W), None, (R,)]]
    prm = [[(0.9, 0.2, 0.1), (0.5,), None]]  # one step more than the oracle; others skipped
    r = check_step_metric(prm, oracle, metric="first_error_accuracy", op=">=", value=1.0)
    assert r.values["first_error_accuracy"] == 1.0
    assert r.counts["mismatched"] == 1
    assert any("different numbers of steps" in n for n in render_gate(r).notes)
    with pytest.raises(EstimationError, match="oracle gave no step scores"):
        check_step_metric([[(0.5,)]], [[None]], metric="first_error_f1", op=">=", value=0.1)
    with pytest.raises(EstimationError, match="verifier gave no step scores"):
        check_step_metric([[None]], [[(R,)]], metric="first_error_f1", op=">=", value=0.1)
    with pytest.raises(EstimationError, match="unknown step measure"):
        check_step_metric(prm, oracle, metric="f2", op=">=", value=0.1)


def test_bootstrap_weights_equal_brute_force_resamples() -> None:
    """The weighted sums equal the measures of the resampled problems, built by hand."""
    rng = np.random.default_rng(1)
    oracle = [[tuple(rng.random(3) > 0.3) for _ in range(4)] for _ in range(5)]
    oracle = [[tuple(float(x) for x in t) for t in row] for row in oracle]
    prm = [[tuple(rng.random(3)) for _ in range(4)] for _ in range(5)]
    counts = step_counts(prm, oracle, names=("v", "o"))
    for draw in itertools.islice(itertools.product(range(5), repeat=5), 0, 3125, 97):
        weights = np.bincount(draw, minlength=5)[None, :].astype(float)
        fast = measures(counts, weights)
        slow = step_counts([prm[i] for i in draw], [oracle[i] for i in draw], names=("v", "o"))
        for name, value in measures(slow).items():
            np.testing.assert_allclose(fast[name][0], value, atol=1e-12, equal_nan=True)


def _simulate(rng: np.random.Generator, problems: int) -> tuple[list, list]:
    """Problems differ in how often the model errs and how well the PRM reads them."""
    oracle, prm = [], []
    for _ in range(problems):
        wrong_rate = rng.beta(2, 2)
        finds = rng.beta(3, 2)  # this problem's chance the PRM finds the first error
        clean = rng.beta(8, 2)  # its chance of leaving a right trace unflagged
        o_row, p_row = [], []
        for _ in range(6):
            steps = 4
            if rng.random() < wrong_rate:
                first = int(rng.integers(0, steps))
                labels = [R] * first + [W] * (steps - first)
                flag = first if rng.random() < finds else int(rng.integers(0, steps))
            else:
                labels = [R] * steps
                flag = None if rng.random() < clean else int(rng.integers(0, steps))
            scores = [0.2 if flag is not None and j == flag else 0.8 for j in range(steps)]
            if flag is not None:
                scores = [0.8 if j < flag else s for j, s in enumerate(scores)]
            o_row.append(tuple(labels))
            p_row.append(tuple(scores))
        oracle.append(o_row)
        prm.append(p_row)
    return prm, oracle


def test_cluster_bootstrap_bound_covers_the_truth_by_simulation() -> None:
    """A 0.9 lower bound on F1 from 40 problems covers the truth (estimated on 20,000
    problems of the same process) in about 90% of 200 runs."""
    rng = np.random.default_rng(7)
    big_prm, big_oracle = _simulate(rng, 20_000)
    truth = check_step_metric(
        big_prm, big_oracle, metric="first_error_f1", op=">=", value=0.0
    ).estimate
    covered = 0
    runs = 200
    for seed in range(runs):
        prm, oracle = _simulate(np.random.default_rng(1000 + seed), 40)
        r = check_step_metric(
            prm, oracle, metric="first_error_f1", op=">=", value=truth, confidence=0.9,
            resamples=400, seed=seed,
        )  # fmt: skip
        assert r.bound is not None
        covered += r.bound <= truth
    # percentile bootstraps undercover a little at 40 clusters; a wide miss would fail
    assert covered / runs >= 0.84, f"coverage {covered / runs:.3f} for a nominal 0.9"
