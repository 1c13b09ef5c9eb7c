"""Adaptive threshold decisions: decided only when the confidence sequence says so."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_tts.errors import EstimationError
from pytest_tts.gates.adaptive import check_adaptive_threshold
from pytest_tts.report.gates import render_gate


def _values(mean: float, problems: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((problems, 1)) < mean).astype(float)


def test_far_above_passes_far_below_fails_close_stays_open() -> None:
    ks = [1]
    high = check_adaptive_threshold(
        _values(0.9, 256), ks, op=">=", value=0.6, confidence=0.95, problems_total=1000
    )
    assert (high.decided, high.passed) == (True, True)
    low = check_adaptive_threshold(
        _values(0.3, 256), ks, op=">=", value=0.6, confidence=0.95, problems_total=1000
    )
    assert (low.decided, low.passed) == (True, False)
    close = check_adaptive_threshold(
        _values(0.62, 64), ks, op=">=", value=0.6, confidence=0.95, problems_total=1000
    )
    assert not close.decided
    mirrored = check_adaptive_threshold(
        _values(0.3, 256), ks, op="<=", value=0.6, confidence=0.95, problems_total=1000
    )
    assert (mirrored.decided, mirrored.passed) == (True, True)


def test_points_within_budget_share_the_error() -> None:
    values = np.hstack([_values(0.5, 200, 1), _values(0.9, 200, 2)])
    ks = [1, 8]
    at_one = check_adaptive_threshold(
        values, ks, op=">=", value=0.7, confidence=0.95, budget_n=("=", 1), problems_total=200
    )
    assert list(at_one.ks) == [1]
    within = check_adaptive_threshold(
        values, ks, op=">=", value=0.7, confidence=0.95, budget_n=("<=", 8), problems_total=200
    )
    assert list(within.ks) == [1, 8]
    assert within.passed
    assert int(within.ks[within.best]) == 8
    text = render_gate(within)
    assert "decided after 200 of 200 problems, anytime-valid at 0.95" in text.headline
    assert "union bound over 2 points" in text.method


def test_wrong_decisions_at_the_threshold_stay_under_alpha() -> None:
    """Truth exactly at the threshold, decided after rounds of 32, 64, ... 1,024 problems."""
    rng = np.random.default_rng(11)
    wrong = 0
    runs = 300
    for _ in range(runs):
        x = (rng.random((1024, 1)) < 0.6).astype(float)
        for used in (32, 64, 128, 256, 512):
            r = check_adaptive_threshold(
                x[:used], [1], op=">=", value=0.6, confidence=0.95, problems_total=1024
            )
            if r.decided:
                wrong += not r.passed  # the claim ">= 0.6" is true: failing it is wrong
                break
    assert wrong / runs <= 0.05


def test_bad_input() -> None:
    with pytest.raises(EstimationError, match="compares with"):
        check_adaptive_threshold(
            _values(0.5, 8), [1], op="=", value=0.5, confidence=0.9, problems_total=8
        )
    with pytest.raises(EstimationError, match="no budget point"):
        check_adaptive_threshold(
            _values(0.5, 8),
            [1],
            op=">=",
            value=0.5,
            confidence=0.9,
            budget_n=("=", 4),
            problems_total=8,
        )


def test_comparisons_need_every_point_to_pass_and_one_to_fail() -> None:
    from pytest_tts.gates.adaptive import check_adaptive_comparison

    rng = np.random.default_rng(4)
    better = (rng.random((300, 3)) < [0.8, 0.85, 0.9]).astype(float)
    worse = (rng.random((300, 3)) < [0.5, 0.5, 0.5]).astype(float)
    ks = [1, 2, 4]
    win = check_adaptive_comparison(better, worse, ks, op=">", confidence=0.95, problems_total=1000)
    assert (win.decided, win.passed) == (True, True)
    lose = check_adaptive_comparison(
        worse, better, ks, op=">=", confidence=0.95, problems_total=1000
    )
    assert (lose.decided, lose.passed) == (True, False)
    # equal curves: nothing to decide either way
    same = check_adaptive_comparison(
        worse, worse.copy(), ks, op=">", confidence=0.95, problems_total=1000
    )
    assert not same.passed
    in_range = check_adaptive_comparison(
        better, worse, ks, op=">", confidence=0.95, at=(2, 4), problems_total=1000
    )
    assert list(in_range.ks) == [2, 4]
    text = render_gate(win)
    assert "at matched n: decided after 300 of 1,000 problems" in text.headline
    assert "intersection-union" in text.method


def test_matched_costs_come_from_the_pilot_and_the_cs_from_the_rest() -> None:
    from pytest_tts.gates._stats import interp_log_cost
    from pytest_tts.gates.adaptive import check_adaptive_comparison, check_adaptive_matched_cost

    rng = np.random.default_rng(5)
    left = (rng.random((300, 3)) < [0.7, 0.8, 0.9]).astype(float)
    right = (rng.random((300, 3)) < [0.3, 0.4, 0.5]).astype(float)
    lc, rc = np.array([10.0, 20.0, 40.0]), np.array([15.0, 30.0, 60.0])
    got = check_adaptive_matched_cost(
        left, lc, right, rc, pilot=32, op=">", confidence=0.95, unit="tokens",
        problems_total=1000,
    )  # fmt: skip
    assert got is not None
    grid = np.array([15.0, 20.0, 30.0, 40.0])  # every cost point of either curve they share
    assert list(got.ks) == list(grid)
    want = check_adaptive_comparison(
        interp_log_cost(left[32:], lc, grid),
        interp_log_cost(right[32:], rc, grid),
        grid,
        op=">",
        confidence=0.95,
        problems_total=1000,
        unit="tokens",
        pilot=32,
    )
    assert list(got.lower) == list(want.lower)
    assert (got.decided, got.passed, got.problems_seen) == (True, True, 300)
    text = render_gate(got)
    assert "at matched tokens: decided after 300 of 1,000 problems" in text.headline
    assert "tokens matched at the mean costs of the first 32 problems" in text.method
    # nothing to decide: only the pilot seen, costs that do not overlap, bad costs
    for lc_, rows in ((lc, 32), (lc * 100, 300), (np.array([10.0, 5.0, 40.0]), 300)):
        none = check_adaptive_matched_cost(
            left[:rows], lc_, right[:rows], rc, pilot=32, op=">", confidence=0.95,
            unit="tokens", problems_total=1000,
        )  # fmt: skip
        assert none is None


def test_a_true_comparison_is_rarely_failed_early() -> None:
    """The claim holds by a hair at one point: early fails stay under alpha."""
    from pytest_tts.gates.adaptive import check_adaptive_comparison

    rng = np.random.default_rng(8)
    wrong = 0
    runs = 200
    for _ in range(runs):
        left = (rng.random((512, 2)) < [0.6, 0.9]).astype(float)
        right = (rng.random((512, 2)) < [0.6, 0.5]).astype(float)
        for used in (32, 64, 128, 256):
            r = check_adaptive_comparison(
                left[:used], right[:used], [1, 2], op=">=", confidence=0.95, problems_total=512
            )
            if r.decided:
                wrong += not r.passed
                break
    assert wrong / runs <= 0.05


def test_rate_bounds_decide_from_error_and_trial_counts() -> None:
    from pytest_tts.gates.adaptive import check_adaptive_rate

    rng = np.random.default_rng(2)
    n = 8
    wrong = rng.integers(0, n + 1, 400)  # oracle-rejected samples per problem
    low_fp = rng.binomial(wrong, 0.05)  # the verifier accepts 5% of them
    ok = check_adaptive_rate(low_fp, wrong, op="<=", value=0.2, confidence=0.95, problems_total=400)
    assert (ok.decided, ok.passed) == (True, True)
    high_fp = rng.binomial(wrong, 0.5)
    bad = check_adaptive_rate(
        high_fp, wrong, op="<=", value=0.2, confidence=0.95, problems_total=400
    )
    assert (bad.decided, bad.passed) == (True, False)
    assert "false_positive_rate() <= 0.2: decided after 400" in render_gate(bad).headline


def test_a_rate_exactly_at_its_bound_is_rarely_decided_wrongly() -> None:
    """FPR exactly 0.2 (the claim '<= 0.2' is true): early fails stay under alpha."""
    from pytest_tts.gates.adaptive import check_adaptive_rate

    rng = np.random.default_rng(6)
    wrong_decisions = 0
    runs = 300
    for _ in range(runs):
        trials = rng.integers(0, 9, 512)
        errors = rng.binomial(trials, 0.2)
        for used in (32, 64, 128, 256):
            r = check_adaptive_rate(
                errors[:used],
                trials[:used],
                op="<=",
                value=0.2,
                confidence=0.95,
                problems_total=512,
            )
            if r.decided:
                wrong_decisions += not r.passed
                break
    assert wrong_decisions / runs <= 0.05


def test_regressions_fail_early_on_a_clear_drop_and_wait_otherwise() -> None:
    from pytest_tts.gates.adaptive import check_adaptive_regression

    rng = np.random.default_rng(9)
    base = (rng.random((128, 2)) < 0.8).astype(float)
    dropped = (rng.random((128, 2)) < 0.4).astype(float)
    fell = check_adaptive_regression(
        dropped, base, [1, 4], tolerance=0.05, confidence=0.95, problems_total=1000
    )
    assert (fell.decided, fell.passed) == (True, False)
    same = check_adaptive_regression(
        base.copy(), base, [1, 4], tolerance=0.05, confidence=0.95, problems_total=1000
    )
    assert not same.decided  # no regression, but not yet shown within 0.05
    assert "no regression of accuracy" in render_gate(fell).headline


def test_monotonicity_fails_early_on_a_clear_drop() -> None:
    from pytest_tts.gates.adaptive import check_adaptive_monotone

    rng = np.random.default_rng(12)
    falling = (rng.random((256, 3)) < [0.8, 0.8, 0.4]).astype(float)
    fell = check_adaptive_monotone(
        falling, [1, 2, 4], tolerance=0.01, confidence=0.95, problems_total=1000
    )
    assert (fell.decided, fell.passed) == (True, False)
    assert int(fell.ks[fell.worst]) == 4
    text = render_gate(fell)
    assert "is monotone in n within 0.01: decided after 256" in text.headline
    assert text.kind == "monotone"
    rising = (rng.random((64, 3)) < [0.5, 0.6, 0.7]).astype(float)
    assert not check_adaptive_monotone(
        rising, [1, 2, 4], tolerance=0.01, confidence=0.95, problems_total=1000
    ).decided
    with pytest.raises(EstimationError, match="two budget points"):
        check_adaptive_monotone(rising[:, :1], [1], tolerance=0.0, confidence=0.9, problems_total=9)
