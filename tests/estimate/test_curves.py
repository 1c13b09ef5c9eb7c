"""Curves, intervals, fits and the frontier."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.curves import best_within, compute_curve, default_ks, value_at
from pytest_tts.estimate.fits import fit_coverage
from pytest_tts.estimate.flops import generation_flops
from pytest_tts.estimate.frontier import frontier_curve
from pytest_tts.estimate.pool import PoolArrays, encode_answers
from pytest_tts.estimate.stats import (
    bootstrap_ci,
    bootstrap_means,
    clopper_pearson_interval,
    upper_bound,
    wilson_interval,
)
from pytest_tts.strategies.coverage import pass_at_k, single
from pytest_tts.strategies.order import best_of_n, first_finish
from pytest_tts.strategies.vote import majority_vote

TINY = {
    "hidden_size": 128,
    "num_hidden_layers": 3,
    "num_attention_heads": 2,
    "intermediate_size": 352,
    "vocab_size": 20,
}


def synthetic_pool(p: int = 40, n: int = 16, seed: int = 0) -> PoolArrays:
    rng = np.random.default_rng(seed)
    skill = rng.beta(2, 2, size=p)
    right = rng.random((p, n)) < skill[:, None]
    answers = np.where(right, 0, rng.integers(1, 4, size=(p, n)))
    scores = right + rng.normal(0, 0.7, size=(p, n))
    tokens = rng.integers(5, 40, size=(p, n))
    return PoolArrays(
        tuple(f"q{i}" for i in range(p)),
        right,
        answers,
        tokens,
        rng.integers(5, 20, size=p),
        scores={"rm": scores},
        accepted={"rm": scores > 0.5},
    )


def test_curve_carries_means_intervals_and_costs() -> None:
    pool = synthetic_pool()
    flops_fn = lambda p, c, n: generation_flops(TINY, p, c, n)  # noqa: E731
    curve = compute_curve(majority_vote(), pool, flops_fn=flops_fn, seed=3)
    np.testing.assert_array_equal(curve.ks, np.arange(1, 17))
    assert curve.per_problem.shape == (40, 16)
    np.testing.assert_allclose(curve.mean, curve.per_problem.mean(axis=0))
    assert (curve.ci_low <= curve.mean).all()
    assert (curve.mean <= curve.ci_high).all()
    assert (curve.ci_high - curve.ci_low > 0).all()
    np.testing.assert_allclose(curve.cost_samples, np.arange(1, 17))
    mean_tokens = pool.completion_tokens.mean(axis=1)
    np.testing.assert_allclose(
        curve.cost_tokens,
        (np.arange(1, 17)[None] * mean_tokens[:, None]).mean(0) + pool.prompt_tokens.mean(),
    )
    assert (np.diff(curve.cost_flops) > 0).all()
    again = compute_curve(majority_vote(), pool, flops_fn=flops_fn, seed=3)
    np.testing.assert_array_equal(again.ci_low, curve.ci_low)
    assert curve.to_dict()["ks"][-1] == 16


def test_default_grid_is_full_then_powers_of_two() -> None:
    np.testing.assert_array_equal(default_ks(5), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(default_ks(100), [1, 2, 4, 8, 16, 32, 64, 100])
    np.testing.assert_array_equal(default_ks(1024)[-2:], [512, 1024])


def test_best_within_budget_and_interpolation() -> None:
    pool = synthetic_pool()
    curve = compute_curve(pass_at_k(), pool, ks=[1, 2, 4, 8, 16])
    best = best_within(curve, "n", 5)
    assert best is not None
    assert best.k == 4
    assert best.value == pytest.approx(curve.mean[2])
    assert best_within(curve, "n", 0.5) is None
    value, extrapolated = value_at(curve, "n", 3.0)
    expected = np.interp(np.log(3.0), np.log([2.0, 4.0]), curve.mean[1:3])
    assert value == pytest.approx(expected)
    assert not extrapolated
    assert value_at(curve, "n", 64.0) == (pytest.approx(curve.mean[-1]), True)
    with pytest.raises(EstimationError, match="no FLOPs"):
        best_within(curve, "flops", 1e9)


def test_first_finish_is_cheaper_in_tokens_than_voting() -> None:
    pool = synthetic_pool()
    ff = compute_curve(first_finish(), pool, ks=[8])
    mv = compute_curve(majority_vote(), pool, ks=[8])
    assert ff.cost_samples[0] == mv.cost_samples[0] == 8
    assert ff.cost_tokens[0] < mv.cost_tokens[0]


def test_frontier_is_the_upper_envelope_in_tokens() -> None:
    pool = synthetic_pool()
    curves = [
        compute_curve(s, pool) for s in (single(), majority_vote(), best_of_n("rm"), first_finish())
    ]
    front = frontier_curve(curves, unit="tokens")
    assert (np.diff(front.cost_tokens) > 0).all()
    assert (np.diff(front.mean) > 0).all()
    for c in curves:
        for cost, mean in zip(c.cost_tokens, c.mean, strict=True):
            cheaper = front.mean[front.cost_tokens <= cost]
            assert cheaper.size == 0 or cheaper.max() >= mean - 1e-12
    assert set(front.labels or ()) <= {c.strategy for c in curves}


@settings(max_examples=30, deadline=None)
@given(k=st.integers(0, 60), extra=st.integers(0, 60), conf=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_binomial_intervals_agree_with_scipy(k: int, extra: int, conf: float) -> None:
    n = k + extra
    if n == 0:
        return
    ref = binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    low, high = wilson_interval(k, n, conf)
    assert (float(low), float(high)) == (
        pytest.approx(ref.low, abs=1e-12),
        pytest.approx(ref.high, abs=1e-12),
    )
    ref = binomtest(k, n).proportion_ci(confidence_level=conf, method="exact")
    low, high = clopper_pearson_interval(k, n, conf)
    assert (float(low), float(high)) == (
        pytest.approx(ref.low, abs=1e-9),
        pytest.approx(ref.high, abs=1e-9),
    )


def test_one_sided_bound_and_bad_inputs() -> None:
    assert float(upper_bound(0, 30, 0.95)) == pytest.approx(1 - 0.05 ** (1 / 30))
    with pytest.raises(EstimationError, match="confidence must be strictly between 0 and 1"):
        wilson_interval(1, 2, 1.0)
    with pytest.raises(EstimationError, match="0 <= successes <= trials"):
        clopper_pearson_interval(3, 2)


def test_bootstrap_covers_the_mean_at_the_nominal_rate() -> None:
    # 200 independent data sets of 60 Bernoulli(0.3) problems: about 95% of the intervals
    # should contain 0.3 (percentile bootstrap runs slightly under nominal at small P).
    rng = np.random.default_rng(11)
    hits = 0
    for rep in range(200):
        low, high = bootstrap_ci(rng.random(60) < 0.3, 0.95, resamples=1000, seed=rep)
        hits += bool(low[0] <= 0.3 <= high[0])
    assert 0.88 <= hits / 200 <= 0.99
    means = bootstrap_means(np.ones((5, 2)), resamples=10)
    np.testing.assert_array_equal(means, np.ones((10, 2)))


def test_power_law_recovers_its_parameters_and_labels_extrapolation() -> None:
    ks = np.array([1, 2, 4, 8, 16, 32])
    fit = fit_coverage(ks, np.exp(-0.9 * ks**-0.45))
    assert fit.a == pytest.approx(0.9)
    assert fit.b == pytest.approx(-0.45)
    assert fit.r2 == pytest.approx(1.0)
    values, outside = fit.predict([8, 256])
    assert values[1] == pytest.approx(np.exp(-0.9 * 256**-0.45))
    assert outside.tolist() == [False, True]
    with pytest.raises(EstimationError, match="at least 2 points"):
        fit_coverage([1, 2], [1.0, 1.0])


def test_encode_answers_with_a_normalizer() -> None:
    codes = encode_answers([[" 42", "42.0", None, "x", ""]], lambda s: s.strip().removesuffix(".0"))
    assert codes.tolist() == [[0, 0, -1, 1, -1]]


def test_vectorized_flops_function_gives_the_same_curve() -> None:
    from pytest_tts.estimate.flops import flops_from_config

    pool = synthetic_pool()
    scalar = compute_curve(
        first_finish(), pool, flops_fn=lambda p, c, n: generation_flops(TINY, p, c, n)
    )
    fast = compute_curve(first_finish(), pool, flops_fn=flops_from_config(TINY))
    np.testing.assert_allclose(fast.cost_flops, scalar.cost_flops, rtol=1e-12)


def test_a_model_based_verifier_adds_its_flops_per_judged_sample() -> None:
    base = synthetic_pool()
    rng = np.random.default_rng(7)
    per_verdict = rng.uniform(1e5, 3e5, size=(base.n_problems, base.n_samples))
    pool = PoolArrays(
        base.problem_ids,
        base.correct,
        base.answers,
        base.completion_tokens,
        base.prompt_tokens,
        scores=base.scores,
        accepted=base.accepted,
        verifier_flops={"rm": per_verdict},
    )
    flops_fn = lambda p, c, n: generation_flops(TINY, p, c, n)  # noqa: E731
    plain = compute_curve(best_of_n("rm"), base, flops_fn=flops_fn)
    paid = compute_curve(best_of_n("rm"), pool, flops_fn=flops_fn)
    # brute force: k samples judged, each at its problem's mean cost per verdict
    expected = np.array([(k * per_verdict.mean(axis=1)).mean() for k in plain.ks])
    np.testing.assert_allclose(paid.cost_flops - plain.cost_flops, expected, rtol=1e-12)
    np.testing.assert_array_equal(paid.mean, plain.mean)
    # a strategy that never reads the verifier pays nothing for it
    voting = compute_curve(majority_vote(), pool, flops_fn=flops_fn)
    np.testing.assert_array_equal(
        voting.cost_flops, compute_curve(majority_vote(), base, flops_fn=flops_fn).cost_flops
    )
    # the view of the first n samples and a subset keep the verifier's costs
    assert pool.first(4).verifier_flops["rm"].shape == (base.n_problems, 4)
    assert pool.subset([2, 0]).verifier_flops["rm"][1, 0] == per_verdict[0, 0]


def test_a_frontier_pays_for_the_verifier_of_the_member_it_chose() -> None:
    from pytest_tts.estimate.curves import verifier_flops
    from pytest_tts.strategies.frontier import Frontier

    base = synthetic_pool(p=6, n=4)
    per_verdict = np.arange(24, dtype=np.float64).reshape(6, 4) * 1e4
    pool = PoolArrays(
        base.problem_ids,
        base.correct,
        base.answers,
        base.completion_tokens,
        base.prompt_tokens,
        scores=base.scores,
        verifier_flops={"rm": per_verdict},
    )

    class Picked(Frontier):  # a frontier whose choices are fixed: voting, then ranking
        def choices(self, pool: PoolArrays, ks: object) -> tuple[list[int], list[object]]:
            return [0, 1, 1, 0], []

    ks = np.arange(1, 5)
    samples = np.broadcast_to(ks.astype(np.float64), (6, 4))
    table = verifier_flops(Picked([majority_vote(), best_of_n("rm")]), pool, samples, ks)
    assert table is not None
    ranking = verifier_flops(best_of_n("rm"), pool, samples, ks)
    assert ranking is not None
    np.testing.assert_array_equal(table[:, [0, 3]], 0.0)
    np.testing.assert_array_equal(table[:, [1, 2]], ranking[:, [1, 2]])
    np.testing.assert_allclose(ranking, samples * per_verdict.mean(axis=1)[:, None])
    assert verifier_flops(Picked([majority_vote(), majority_vote()]), pool, samples, ks) is None
