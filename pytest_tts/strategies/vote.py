"""Voting strategies: majority (self-consistency), verifier-filtered and weighted votes.

Semantics shared by all votes:

- Samples vote for their answer class (``PoolArrays.answers``); samples with no extracted
  answer (-1) never vote, so a subset with no answer at all selects nothing and scores 0.
- The plurality class wins; ties are broken uniformly at random among the tied classes.
- The selected answer's correctness is its class's: the fraction of the class's samples the
  oracle marks correct (1 or 0 whenever the oracle agrees with the answer normalizer; with a
  disagreement it is the chance that a random member of the class is correct).

Majority vote is computed exactly (:mod:`pytest_tts.strategies.majority`);
when that would be too slow the estimate falls back to Monte Carlo over random k-subsets and
reports its standard error. Weighted votes are exact by enumeration on small pools and
Monte Carlo otherwise.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import numpy as np
from scipy.stats import hypergeom

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import FloatArray, PoolArrays
from pytest_tts.strategies.base import BaseStrategy, Estimate, Ks, check_ks, verifier_name
from pytest_tts.strategies.majority import circle_work, majority_circle

EXACT_WORK_LIMIT = 2e10
"""Above this bound on the work per problem, majority vote uses Monte Carlo."""
DEFAULT_DRAWS = 4000
# Python-level enumeration costs about 20 µs a subset: beyond this many the vectorized
# Monte Carlo estimate (with its standard error reported) is far faster.
ENUMERATION_LIMIT = 256
"""Weighted votes enumerate every k-subset when there are at most this many per problem."""


def answer_classes(codes: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sizes and mean correctness of the answer classes of one problem's samples."""
    valid = codes >= 0
    if not valid.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    _, inverse = np.unique(codes[valid], return_inverse=True)
    sizes = np.bincount(inverse)
    hits = np.bincount(inverse, weights=np.asarray(correct, dtype=np.float64)[valid])
    return sizes.astype(np.int64), hits / sizes


def running_sums(index: np.ndarray, values: np.ndarray | None, shape: tuple[int, ...]) -> Any:
    """Sums of ``values`` (1 each when None) per cell ``index`` of a flattened (budget
    segment, class, draw) array of ``shape``, then summed over segments up to each budget."""
    sums = np.bincount(index, weights=values, minlength=math.prod(shape)).reshape(shape)
    for segment in range(1, shape[0]):  # in place: far faster than np.cumsum over axis 0
        np.add(sums[segment], sums[segment - 1], out=sums[segment])
    return sums


def vote_monte_carlo(
    codes: np.ndarray,
    correct: np.ndarray,
    weights: np.ndarray | None,
    ks: np.ndarray,
    draws: int,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Monte Carlo (mean, standard error) of a vote over random k-subsets of one problem.

    Each draw is a random permutation; its first k samples are the k-subset, so one draw
    serves every k (draws are independent across problems and permutations, correlated
    across k, which leaves each k's estimate unbiased). A draw whose top classes tie scores
    the mean correctness of the tied classes: the expectation of a uniformly random
    tie-break, so the estimate is the same and its variance lower.

    Class totals at the budgets come from one ``bincount`` per quantity over (budget
    segment, class, draw) cells and a running sum over segments; only the first max(ks)
    positions of each permutation are read.
    """
    n = codes.size
    valid = codes >= 0
    budgets, back = np.unique(np.asarray(ks, dtype=np.int64), return_inverse=True)
    segments = budgets.size
    if not valid.any():  # nothing ever wins: every draw scores 0
        return np.zeros(back.size), np.full(back.size, 0.0 if draws > 1 else 0.5)
    _, inverse = np.unique(codes[valid], return_inverse=True)
    m = int(inverse.max()) + 1
    cls = np.full(n, m, dtype=np.intp)  # no-answer samples fill a class column that is dropped
    cls[valid] = inverse
    weight = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    # With every weight > 0 a class is present exactly when its total is > 0.
    positive = bool((weight[valid] > 0).all())
    sizes = np.bincount(inverse, minlength=m)
    class_right = np.bincount(inverse, weights=right[valid], minlength=m) / sizes
    # Classes whose members disagree on correctness score their drawn members' mean.
    mixed = np.unique(inverse[right[valid] != class_right[inverse]])
    steady = np.setdiff1d(np.flatnonzero(class_right), mixed)
    top = int(budgets[-1])
    # Position j (0-based) of a permutation first counts towards the smallest budget >= j + 1.
    segment_of = np.searchsorted(budgets, np.arange(1, top + 1))
    # About 1e5 cells a batch keeps each array in a core's cache (measured: 1.5x faster than 4e6).
    batch = max(1, min(draws, max(64, int(1e5 // (segments * (m + 1))))))
    outcomes = np.zeros((segments, draws))
    done = 0
    while done < draws:
        size = min(batch, draws - done)
        shape = (segments, m + 1, size)
        perm = rng.permuted(np.broadcast_to(np.arange(n), (size, n)), axis=1)[:, :top]
        cells = (segment_of * (m + 1))[None, :] + cls[perm]
        index = (cells * size + np.arange(size)[:, None]).ravel()
        totals = running_sums(index, weight[perm].ravel(), shape)[:, :m]
        counts = None
        if not positive or mixed.size:
            counts = running_sums(index, None, shape)[:, :m]
        score = totals
        if counts is not None and not positive:
            score = np.where(counts > 0, totals, -1.0)
        best = score.max(axis=1)
        anything = best > 0 if positive else best >= 0
        tie = score == best[:, None, :]
        won = np.zeros((segments, size))
        for c in steady:
            won += class_right[c] * tie[:, c]
        if counts is not None and mixed.size:
            hits = running_sums(index, right[perm].ravel(), shape)[:, :m]
            for c in mixed:
                won += np.where(tie[:, c], hits[:, c] / np.maximum(counts[:, c], 1), 0.0)
        outcomes[:, done : done + size] = np.where(anything, won / tie.sum(axis=1), 0.0)
        done += size
    means = outcomes.mean(axis=1)
    ses = outcomes.std(axis=1, ddof=1) / math.sqrt(draws) if draws > 1 else np.full(segments, 0.5)
    return means[back], ses[back]


def weighted_enumerate(
    codes: np.ndarray, correct: np.ndarray, weights: np.ndarray, k: int
) -> float:
    """Exact weighted vote of one problem at budget k by enumerating every k-subset."""
    n = codes.size
    total = 0.0
    subsets = 0
    for subset in itertools.combinations(range(n), k):
        idx = np.fromiter(subset, dtype=np.intp)
        sel = idx[codes[idx] >= 0]
        subsets += 1
        if sel.size == 0:
            continue
        classes = np.unique(codes[sel])
        sums = np.array([weights[sel][codes[sel] == c].sum() for c in classes])
        winners = classes[sums == sums.max()]
        total += float(np.mean([correct[sel][codes[sel] == c].mean() for c in winners]))
    return total / subsets


class MajorityVote(BaseStrategy):
    """Self-consistency: the most frequent answer among k samples (exact, MC beyond limits)."""

    requires = frozenset({"answers", "correct"})

    def __init__(self, draws: int = DEFAULT_DRAWS, seed: int = 0) -> None:
        self.text = "majority_vote"
        self.draws = draws
        self.seed = seed

    def rows(self, pool: PoolArrays) -> tuple[np.ndarray, np.ndarray]:
        return pool.answers, pool.correct

    def estimate(self, pool: PoolArrays, ks: Ks) -> Estimate:
        k = check_ks(ks, pool.n_samples)
        codes, correct = self.rows(pool)
        return majority_rows(codes, correct, k, self.draws, self.seed)

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        return self.estimate(pool, ks).values


@functools.lru_cache(maxsize=1 << 16)
def _exact_majority(sizes: bytes, cbar: bytes, n: int, ks: bytes) -> FloatArray:
    """:func:`majority_circle`, remembered: adaptive runs re-judge the problems they have seen
    every round, and most problems' answer classes did not change since the last one."""
    values = majority_circle(
        np.frombuffer(sizes, dtype=np.int64),
        np.frombuffer(cbar, dtype=np.float64),
        n,
        np.frombuffer(ks, dtype=np.int64),
    )
    values.flags.writeable = False
    return values


def majority_rows(
    codes: np.ndarray, correct: np.ndarray, ks: np.ndarray, draws: int, seed: int
) -> Estimate:
    """Majority vote of every row of a pool: exact where feasible, else Monte Carlo."""
    p, n = codes.shape
    values = np.zeros((p, ks.size))
    se = np.zeros((p, ks.size))
    rng = np.random.default_rng(seed)
    budgets = np.ascontiguousarray(ks, dtype=np.int64).tobytes()
    for row in range(p):
        sizes, cbar = answer_classes(codes[row], correct[row])
        if circle_work(sizes, n, ks) <= EXACT_WORK_LIMIT:
            values[row] = _exact_majority(sizes.tobytes(), cbar.tobytes(), n, budgets)
        else:
            values[row], se[row] = vote_monte_carlo(codes[row], correct[row], None, ks, draws, rng)
    return Estimate(np.clip(values, 0.0, 1.0), se)


class FilteredVote(BaseStrategy):
    """Majority among the samples a verifier accepts; a plain vote when it accepts none.

    Exact: the number a of accepted samples in a random k-subset is hypergeometric, and given
    a >= 1 they are a random a-subset of the accepted samples, so the value is
    sum_a P(a) maj@a(accepted) + P(0) maj@k(rejected). With no accepted sample among the k,
    the vote falls back to all k (it does not abstain).
    """

    def __init__(self, verifier: str, draws: int = DEFAULT_DRAWS, seed: int = 0) -> None:
        self.verifier = verifier
        self.text = f"filtered_vote(verifier = {verifier})"
        self.requires = frozenset({"answers", "correct", f"accepted:{verifier}"})
        self.draws = draws
        self.seed = seed

    def estimate(self, pool: PoolArrays, ks: Ks) -> Estimate:
        k = check_ks(ks, pool.n_samples)
        accepted = pool.accepts(self.verifier)
        n = pool.n_samples
        values = np.zeros((pool.n_problems, k.size))
        se = np.zeros_like(values)
        for row in range(pool.n_problems):
            acc = accepted[row]
            n_acc = int(acc.sum())
            n_rej = n - n_acc
            if n_acc:
                # P(a accepted among k) for a = 1..n_acc, each k; only the a's with weight
                # above 1e-18 are evaluated (their total is below 1e-15).
                grid = np.arange(1, n_acc + 1)
                pa = hypergeom.pmf(grid[None, :], n, n_acc, k[:, None])
                used = pa.max(axis=0) > 1e-18
                inner = majority_rows(
                    pool.answers[row][acc][None],
                    pool.correct[row][acc][None],
                    grid[used],
                    self.draws,
                    self.seed + row,
                )
                values[row] += pa[:, used] @ inner.values[0]
                se[row] += np.sqrt(pa[:, used] ** 2 @ inner.mc_se[0] ** 2)
            if n_rej:
                p0 = hypergeom.pmf(0, n, n_acc, k)
                usable = k <= n_rej
                if usable.any():
                    inner = majority_rows(
                        pool.answers[row][~acc][None],
                        pool.correct[row][~acc][None],
                        k[usable],
                        self.draws,
                        self.seed + row,
                    )
                    values[row, usable] += p0[usable] * inner.values[0]
                    se[row, usable] += p0[usable] * inner.mc_se[0]
        return Estimate(np.clip(values, 0.0, 1.0), se)

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        return self.estimate(pool, ks).values


class WeightedVote(BaseStrategy):
    """The answer with the largest total weight among k samples; ties at random.

    Weights are a verifier's scores (must be >= 0) or, with ``by = "likelihood"``, each
    sample's geometric-mean token probability exp(mean logprob). Exact by enumerating every
    k-subset when there are at most ``ENUMERATION_LIMIT`` of them, Monte Carlo otherwise.
    """

    def __init__(
        self, verifier: str | None, by: str, draws: int = DEFAULT_DRAWS, seed: int = 0
    ) -> None:
        self.verifier = verifier
        self.by = by
        self.draws = draws
        self.seed = seed
        if by == "likelihood":
            self.text = 'weighted_vote(by = "likelihood")'
            self.requires = frozenset({"answers", "correct", "logprob_mean"})
        else:
            self.text = f"weighted_vote(verifier = {verifier})"
            self.requires = frozenset({"answers", "correct", f"scores:{verifier}"})

    def weights(self, pool: PoolArrays) -> np.ndarray:
        if self.by == "likelihood":
            if pool.logprob_mean is None:
                msg = 'weighted_vote(by = "likelihood") needs logprobs, but the pool has none'
                raise EstimationError(msg)
            return np.exp(pool.logprob_mean)
        assert self.verifier is not None
        scores = pool.score(self.verifier)
        if (scores < 0).any():
            msg = (
                f"weighted_vote needs non-negative weights, but verifier {self.verifier!r} "
                f"gave scores down to {float(scores.min()):g}"
            )
            raise EstimationError(msg)
        return scores

    def estimate(self, pool: PoolArrays, ks: Ks) -> Estimate:
        k = check_ks(ks, pool.n_samples)
        weights = self.weights(pool)
        n = pool.n_samples
        values = np.zeros((pool.n_problems, k.size))
        se = np.zeros_like(values)
        rng = np.random.default_rng(self.seed)
        enumerable = np.array([math.comb(n, int(x)) <= ENUMERATION_LIMIT for x in k])
        for row in range(pool.n_problems):
            codes, correct, w = pool.answers[row], pool.correct[row], weights[row]
            for i in np.flatnonzero(enumerable):
                values[row, i] = weighted_enumerate(codes, correct, w, int(k[i]))
            if not enumerable.all():
                rest = k[~enumerable]
                mean, err = vote_monte_carlo(codes, correct, w, rest, self.draws, rng)
                values[row, ~enumerable] = mean
                se[row, ~enumerable] = err
        return Estimate(values, se)

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        return self.estimate(pool, ks).values


def majority_vote(draws: int = DEFAULT_DRAWS, seed: int = 0) -> MajorityVote:
    """Self-consistency (maj@k). ``draws``/``seed`` only matter for the Monte Carlo fallback."""
    return MajorityVote(draws, seed)


def filtered_vote(verifier: Any, draws: int = DEFAULT_DRAWS, seed: int = 0) -> FilteredVote:
    """Majority vote among the samples ``verifier`` accepts (all samples if it accepts none)."""
    return FilteredVote(verifier_name(verifier, "filtered_vote"), draws, seed)


def weighted_vote(
    verifier: Any = None, by: str = "score", draws: int = DEFAULT_DRAWS, seed: int = 0
) -> WeightedVote:
    """Vote weighted by a verifier's score (``verifier = v``) or by likelihood (``by``)."""
    if by not in ("score", "likelihood"):
        msg = f'weighted_vote by must be "score" or "likelihood", got {by!r}'
        raise EstimationError(msg)
    if by == "likelihood":
        if verifier is not None:
            msg = 'weighted_vote takes either verifier = v or by = "likelihood", not both'
            raise EstimationError(msg)
        return WeightedVote(None, by, draws, seed)
    return WeightedVote(verifier_name(verifier, "weighted_vote"), by, draws, seed)
