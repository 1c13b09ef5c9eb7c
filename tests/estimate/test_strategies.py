"""Every strategy against brute-force enumeration of every k-subset of small pools."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import PoolArrays
from pytest_tts.spec import PluginCall, VerifierRef
from pytest_tts.strategies import vote
from pytest_tts.strategies.base import Strategy
from pytest_tts.strategies.coverage import pass_at_k, pass_hat_k, single
from pytest_tts.strategies.frontier import frontier
from pytest_tts.strategies.order import best_of_n, first_finish, self_certainty, worst_of_n
from pytest_tts.strategies.vote import filtered_vote, majority_vote, weighted_vote

EXAMPLES = settings(max_examples=40, deadline=None)


@st.composite
def pools(draw: st.DrawFn, max_n: int = 8) -> PoolArrays:
    """Small pools with many ties: few score levels, few answer classes, short lengths."""
    p = draw(st.integers(1, 3))
    n = draw(st.integers(1, max_n))

    def grid(elements: st.SearchStrategy[object]) -> list[list[object]]:
        return draw(st.lists(st.lists(elements, min_size=n, max_size=n), min_size=p, max_size=p))

    answers = np.array(grid(st.integers(-1, 3)))
    # Mostly the oracle agrees with the answer classes (class 0 is right), sometimes not.
    consistent = draw(st.booleans())
    correct = answers == 0 if consistent else np.array(grid(st.booleans()))
    return PoolArrays(
        problem_ids=tuple(f"p{i}" for i in range(p)),
        correct=correct,
        answers=answers,
        completion_tokens=np.array(grid(st.integers(1, 4))),
        prompt_tokens=np.array(draw(st.lists(st.integers(1, 9), min_size=p, max_size=p))),
        scores={"rm": np.array(grid(st.sampled_from([0.0, 0.5, 1.0, 2.0])))},
        accepted={"rm": np.array(grid(st.booleans()))},
        logprob_mean=np.array(grid(st.sampled_from([-2.0, -1.0, -0.5]))),
        logprob_sum=np.array(grid(st.sampled_from([-4.0, -1.0]))),
    )


Picker = Callable[[PoolArrays, int, np.ndarray], float]


def brute(pool: PoolArrays, k: int, pick: Picker) -> np.ndarray:
    """Mean over every k-subset of ``pick`` (the subset's expected correctness), per problem."""
    out = []
    for row in range(pool.n_problems):
        subsets = [np.array(s) for s in itertools.combinations(range(pool.n_samples), k)]
        out.append(np.mean([pick(pool, row, s) for s in subsets]))
    return np.array(out)


def tie_mean(keys: np.ndarray, correct: np.ndarray, best: float) -> float:
    return float(correct[keys == best].mean())


def pick_max(field: Callable[[PoolArrays], np.ndarray], lowest: bool = False) -> Picker:
    def pick(pool: PoolArrays, row: int, s: np.ndarray) -> float:
        keys = field(pool)[row, s]
        best = keys.min() if lowest else keys.max()
        return tie_mean(keys, pool.correct[row, s], best)

    return pick


def vote_of(codes: np.ndarray, correct: np.ndarray, weights: np.ndarray) -> float:
    """A vote among the given samples: plurality by total weight, ties averaged."""
    valid = codes >= 0
    if not valid.any():
        return 0.0
    classes = np.unique(codes[valid])
    totals = np.array([weights[codes == c].sum() for c in classes])
    winners = classes[totals == totals.max()]
    return float(np.mean([correct[codes == c].mean() for c in winners]))


def pick_majority(pool: PoolArrays, row: int, s: np.ndarray) -> float:
    codes = pool.answers[row, s]
    return vote_of(codes, pool.correct[row, s], np.ones(len(s)))


def pick_weighted(pool: PoolArrays, row: int, s: np.ndarray) -> float:
    return vote_of(pool.answers[row, s], pool.correct[row, s], pool.scores["rm"][row, s])


def pick_likelihood(pool: PoolArrays, row: int, s: np.ndarray) -> float:
    assert pool.logprob_mean is not None
    weights = np.exp(pool.logprob_mean[row, s])
    return vote_of(pool.answers[row, s], pool.correct[row, s], weights)


def pick_filtered(pool: PoolArrays, row: int, s: np.ndarray) -> float:
    keep = pool.accepted["rm"][row, s]
    chosen = s[keep] if keep.any() else s
    return vote_of(pool.answers[row, chosen], pool.correct[row, chosen], np.ones(len(chosen)))


CASES: dict[str, tuple[Callable[[], Strategy], Picker]] = {
    "single": (single, lambda pool, row, s: float(pool.correct[row, s].mean())),
    "pass_at_k": (pass_at_k, lambda pool, row, s: float(pool.correct[row, s].any())),
    "pass_hat_k": (pass_hat_k, lambda pool, row, s: float(pool.correct[row, s].all())),
    "best_of_n": (lambda: best_of_n(verifier="rm"), pick_max(lambda p: p.scores["rm"])),
    "worst_of_n": (lambda: worst_of_n("rm"), pick_max(lambda p: p.scores["rm"], lowest=True)),
    "self_certainty": (self_certainty, pick_max(lambda p: p.logprob_mean)),
    "first_finish": (first_finish, pick_max(lambda p: p.completion_tokens, lowest=True)),
    "majority_vote": (majority_vote, pick_majority),
    "weighted_vote": (lambda: weighted_vote(verifier="rm"), pick_weighted),
    "weighted_vote_likelihood": (lambda: weighted_vote(by="likelihood"), pick_likelihood),
    "filtered_vote": (lambda: filtered_vote(verifier="rm"), pick_filtered),
}


@pytest.mark.parametrize("name", sorted(CASES))
@EXAMPLES
@given(pool=pools())
def test_matches_brute_force_enumeration(name: str, pool: PoolArrays) -> None:
    make, pick = CASES[name]
    strategy = make()
    ks = np.arange(1, pool.n_samples + 1)
    if name == "single":
        expected = np.stack([brute(pool, 1, pick)] * ks.size, axis=1)
    else:
        expected = np.stack([brute(pool, int(k), pick) for k in ks], axis=1)
    estimate = strategy.estimate(pool, ks)
    assert estimate.exact
    np.testing.assert_allclose(estimate.values, expected, rtol=0, atol=1e-9)
    assert ((estimate.values >= 0) & (estimate.values <= 1)).all()


@EXAMPLES
@given(pool=pools())
def test_frontier_takes_the_best_mean_at_each_budget(pool: PoolArrays) -> None:
    members = [majority_vote(), best_of_n("rm"), first_finish()]
    ks = np.arange(1, pool.n_samples + 1)
    means = np.stack([brute_curve(m, pool, ks).mean(axis=0) for m in members])
    values = frontier(*members).per_problem(pool, ks)
    np.testing.assert_allclose(values.mean(axis=0), means.max(axis=0), atol=1e-9)


def brute_curve(strategy: Strategy, pool: PoolArrays, ks: np.ndarray) -> np.ndarray:
    picks = {"majority_vote": pick_majority, "first_finish": CASES["first_finish"][1]}
    pick = picks.get(strategy.text, CASES["best_of_n"][1])
    return np.stack([brute(pool, int(k), pick) for k in ks], axis=1)


@EXAMPLES
@given(pool=pools())
def test_first_finish_cost_is_k_times_the_expected_shortest(pool: PoolArrays) -> None:
    ks = np.arange(1, pool.n_samples + 1)
    cost = first_finish().cost(pool, ks)
    for j, k in enumerate(ks):
        shortest = brute(pool, int(k), lambda p, r, s: float(p.completion_tokens[r, s].min()))
        np.testing.assert_allclose(cost.completion_tokens[:, j], k * shortest, rtol=1e-12)
    np.testing.assert_array_equal(cost.samples, np.broadcast_to(ks, cost.samples.shape))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    data=st.data(),
)
def test_pass_at_k_is_monotone_and_bounded(n: int, data: st.DataObject) -> None:
    c = data.draw(st.lists(st.integers(0, n), min_size=1, max_size=5))
    correct = np.array([[i < ci for i in range(n)] for ci in c])
    pool = PoolArrays(
        problem_ids=tuple(str(i) for i in range(len(c))),
        correct=correct,
        answers=np.zeros_like(correct, dtype=int),
        completion_tokens=np.ones_like(correct, dtype=int),
        prompt_tokens=np.ones(len(c), dtype=int),
    )
    values = pass_at_k().per_problem(pool, np.arange(1, n + 1))
    assert (np.diff(values, axis=1) >= -1e-15).all()
    assert ((values >= 0) & (values <= 1)).all()
    np.testing.assert_allclose(values[:, 0], np.array(c) / n, atol=1e-15)
    np.testing.assert_array_equal(values[:, -1], (np.array(c) > 0).astype(float))


def test_majority_exact_on_a_larger_pool_with_ties_and_blanks() -> None:
    rng = np.random.default_rng(3)
    codes = rng.choice([-1, 0, 1, 2], size=12, p=[0.2, 0.35, 0.3, 0.15])
    correct = rng.random(12) < 0.5
    pool = PoolArrays(("a",), correct[None], codes[None], np.ones((1, 12), int), np.ones(1, int))
    ks = np.arange(1, 13)
    expected = [brute(pool, int(k), pick_majority)[0] for k in ks]
    np.testing.assert_allclose(majority_vote().per_problem(pool, ks)[0], expected, atol=1e-12)


def test_majority_with_many_singleton_answers_needs_many_tie_nodes() -> None:
    """Every answer distinct: k draws tie k ways (up to 40 here, beyond the first table of
    tie rules), and by symmetry the vote is right with the classes' mean correctness
    whenever some sample answered at all."""
    import math

    from pytest_tts.strategies.majority import majority_circle

    rng = np.random.default_rng(11)
    cbar = (rng.random(40) < 0.4).astype(float)
    n, blanks = 50, 10
    ks = np.arange(1, n + 1)
    expected = [(1 - math.comb(blanks, int(k)) / math.comb(n, int(k))) * cbar.mean() for k in ks]
    got = majority_circle(np.ones(40, dtype=np.int64), cbar, n, ks)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_majority_monte_carlo_fallback_reports_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    n = 40
    codes = rng.choice([-1, 0, 1, 2, 3], size=(3, n), p=[0.1, 0.35, 0.3, 0.15, 0.1])
    correct = codes == 0
    pool = PoolArrays(("a", "b", "c"), correct, codes, np.ones((3, n), int), np.ones(3, int))
    ks = np.array([1, 3, 8, 20, 40])
    exact = majority_vote().estimate(pool, ks)
    assert exact.exact
    monkeypatch.setattr(vote, "EXACT_WORK_LIMIT", 0.0)
    mc = majority_vote(draws=3000, seed=1).estimate(pool, ks)
    assert not mc.exact
    assert (mc.mc_se[:, :-1] > 0).all()
    assert (mc.mc_se <= 0.5 / np.sqrt(3000 - 1)).all()  # the SE uses ddof = 1
    # Within 5 standard errors (plus float slack where the SE is 0, e.g. k = N).
    assert (np.abs(mc.values - exact.values) <= 5 * mc.mc_se + 1e-12).all()


def test_weighted_vote_monte_carlo_beyond_enumeration(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    n = 9
    codes = rng.choice([-1, 0, 1, 2], size=(2, n))
    scores = rng.choice([0.25, 1.0, 3.0], size=(2, n))
    pool = PoolArrays(
        ("a", "b"), codes == 1, codes, np.ones((2, n), int), np.ones(2, int), {"rm": scores}
    )
    ks = np.array([2, 4, 7])
    exact = weighted_vote(verifier="rm").estimate(pool, ks)
    monkeypatch.setattr(vote, "ENUMERATION_LIMIT", 1)
    mc = weighted_vote(verifier="rm", draws=4000).estimate(pool, ks)
    assert exact.exact
    assert not mc.exact
    assert (np.abs(mc.values - exact.values) <= 5 * mc.mc_se + 1e-12).all()


def test_verifier_given_as_a_spec_reference_uses_its_name() -> None:
    ref = VerifierRef("units", PluginCall("verifier", "last_digit"))
    assert best_of_n(verifier=ref).text == "best_of_n(verifier = units)"
    assert best_of_n(verifier=ref).requires == frozenset({"scores:units"})
    with pytest.raises(EstimationError, match="needs verifier"):
        best_of_n(verifier=3)


def test_missing_inputs_are_named() -> None:
    pool = PoolArrays(("a",), [[True, False]], [[0, 1]], [[1, 2]], [3])
    with pytest.raises(EstimationError, match=r"no scores from verifier 'rm' \(it has: none\)"):
        best_of_n("rm").per_problem(pool, [1])
    with pytest.raises(EstimationError, match="needs per-token logprobs"):
        self_certainty().per_problem(pool, [1])
    with pytest.raises(EstimationError, match="between 1 and the pool's N = 2, got 3"):
        pass_at_k().per_problem(pool, [3])
    negative = PoolArrays(("a",), [[True]], [[0]], [[1]], [3], scores={"rm": [[-1.0]]})
    with pytest.raises(EstimationError, match="non-negative weights"):
        weighted_vote("rm").per_problem(negative, [1])


@pytest.mark.parametrize("n", [64, 1024, 3000])
def test_majority_of_two_answers_matches_the_hypergeometric_closed_form(n: int) -> None:
    from scipy.stats import hypergeom

    n_a = int(0.55 * n)
    codes = np.where(np.arange(n) < n_a, 0, 1)[None]
    pool = PoolArrays(("a",), codes == 0, codes, np.ones((1, n), int), np.ones(1, int))
    ks = np.unique(np.r_[1, 2, 3, 7, 8, n // 3, n // 2, n - 1, n])
    x = hypergeom(n, n_a, ks)
    half = ks / 2
    expected = x.sf(np.floor(half)) + 0.5 * np.where(ks % 2 == 0, x.pmf(half.astype(int)), 0.0)
    np.testing.assert_allclose(majority_vote().per_problem(pool, ks)[0], expected, atol=1e-12)


def test_majority_exact_agrees_with_monte_carlo_on_a_long_tailed_pool() -> None:
    rng = np.random.default_rng(12)
    n = 300
    codes = np.where(rng.random((2, n)) < 0.3, 0, rng.zipf(1.6, size=(2, n)) % 40)
    codes[:, :10] = -1
    pool = PoolArrays(("a", "b"), codes == 0, codes, np.ones((2, n), int), np.ones(2, int))
    ks = np.array([1, 5, 16, 60, 150, 299])
    exact = majority_vote().estimate(pool, ks)
    mc = vote.vote_monte_carlo(codes[0], codes[0] == 0, None, ks, 4000, rng)
    assert exact.exact
    assert (np.abs(exact.values[0] - mc[0]) <= 5 * mc[1] + 1e-9).all()


def majority_by_counts(sizes: list[int], right: list[float], blanks: int, k: int) -> float:
    """maj@k by enumerating every vector of class counts in a k-subset (multivariate
    hypergeometric weights), in exact integers: feasible for a few classes of any pool size."""
    from math import comb

    n = sum(sizes) + blanks
    total = 0
    value = 0.0
    for counts in itertools.product(*(range(min(s, k) + 1) for s in sizes)):
        rest = k - sum(counts)
        if rest < 0 or rest > blanks:
            continue
        ways = comb(blanks, rest)
        for size, x in zip(sizes, counts, strict=True):
            ways *= comb(size, x)
        total += ways
        top = max(counts)
        if top:
            winners = [c for c, x in zip(right, counts, strict=True) if x == top]
            value += ways * sum(winners) / len(winners)
    assert total == comb(n, k)
    return value / total


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 14), min_size=1, max_size=4),
    blanks=st.integers(0, 6),
    data=st.data(),
)
def test_majority_matches_count_enumeration_on_larger_pools(
    sizes: list[int], blanks: int, data: st.DataObject
) -> None:
    """Pools too large for subsets (up to 62 samples): ties among several classes, equal
    class sizes, classes that disagree with the oracle, blanks."""
    right = [data.draw(st.sampled_from([0.0, 1.0, 0.5])) for _ in sizes]
    codes = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)] + [np.full(blanks, -1)])
    correct = np.concatenate(
        [np.arange(s) < round(r * s) for s, r in zip(sizes, right, strict=True)]
        + [np.zeros(blanks, bool)]
    )
    exact = [float(correct[codes == c].mean()) for c in range(len(sizes))]
    n = codes.size
    ks = np.unique(np.clip([1, 2, n // 3, n // 2, n - 1, n], 1, n))
    pool = PoolArrays(("a",), correct[None], codes[None], np.ones((1, n), int), np.ones(1, int))
    expected = [majority_by_counts(sizes, exact, blanks, int(k)) for k in ks]
    np.testing.assert_allclose(majority_vote().per_problem(pool, ks)[0], expected, atol=1e-12)


def test_majority_with_three_close_classes_in_a_large_pool() -> None:
    """Three-way ties at the top carry real weight here; the tie rule must keep them."""
    sizes, blanks = [60, 58, 55, 12], 15
    right = [1.0, 0.0, 0.0, 0.0]
    codes = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)] + [np.full(blanks, -1)])
    n = codes.size
    pool = PoolArrays(("a",), codes[None] == 0, codes[None], np.ones((1, n), int), np.ones(1, int))
    ks = np.array([3, 9, 30, 75, 150])
    expected = [majority_by_counts(sizes, right, blanks, int(k)) for k in ks]
    np.testing.assert_allclose(majority_vote().per_problem(pool, ks)[0], expected, atol=1e-12)
