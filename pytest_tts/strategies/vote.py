"""Voting strategies: majority (self-consistency), verifier-filtered and weighted votes.

Semantics shared by all votes:

- Samples vote for their answer class (``PoolArrays.answers``); samples with no extracted
  answer (-1) never vote, so a subset with no answer at all selects nothing and scores 0.
- The plurality class wins; ties are broken uniformly at random among the tied classes.
- The selected answer's correctness is its class's: the fraction of the class's samples the
  oracle marks correct (1 or 0 whenever the oracle agrees with the answer normalizer; with a
  disagreement it is the chance that a random member of the class is correct).

Majority vote is computed exactly with generating functions (see :func:`majority_exact`);
when that would be too slow the estimate falls back to Monte Carlo over random k-subsets and
reports its standard error. Weighted votes are exact by enumeration on small pools and
Monte Carlo otherwise.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy.stats import hypergeom

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import FloatArray, PoolArrays
from pytest_tts.strategies.base import BaseStrategy, Estimate, Ks, check_ks, log_comb, verifier_name

LN2 = math.log(2.0)
EXACT_WORK_LIMIT = 4e8
"""Above this estimated number of multiply-adds per problem, majority vote uses Monte Carlo."""
EXACT_MAX_N = 1800
"""Beyond this pool size the scaled generating functions could leave float64's range."""
DEFAULT_DRAWS = 4000
ENUMERATION_LIMIT = 200_000
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


def exact_work(sizes: np.ndarray, kmax: int) -> float:
    """Estimated multiply-adds of :func:`majority_exact` for one problem."""
    ordered = np.sort(sizes)[::-1]
    second = int(ordered[1]) if ordered.size > 1 else 0
    work = 0.0
    for t in range(1, min(second, kmax) + 1):
        r = int(np.sum(ordered >= t))
        work += r * r * min(kmax, r * t) * t + kmax * min(kmax, r * t)
    return work


def majority_exact(sizes: np.ndarray, cbar: np.ndarray, n: int, ks: np.ndarray) -> FloatArray:
    """Exact expected correctness of the plurality answer of a random k-subset, float[K].

    ``sizes``/``cbar``: the answer classes of one problem (counts and mean correctness);
    ``n``: the pool size, the remaining ``n - sum(sizes)`` samples have no answer.

    The winner's count in the subset is its maximum t. If only the largest class can reach t
    (t above the runner-up's size) the winner is that class, with hypergeometric probability.
    Otherwise, with T the classes of size >= t and S the other samples, the weighted count of
    subsets whose maximum count is t is the coefficient of z^k in

        (1 + z)^S * integral_0^1 (1/u) [s] prod_{b in T} (L_b(z) + u C(n_b, t) z^t (1 + s c_b)) du,

    where L_b(z) = sum_{x < t} C(n_b, x) z^x, u marks the classes tied at t (integrating
    u^(j-1) gives the 1/j of a uniform tie break) and [s] takes the part linear in s, which
    sums the correctness c_b of the tied classes. The polynomials are kept exactly in u and
    z; coefficients are scaled by 2^(-n_b/2) to stay within float64 for n <= ``EXACT_MAX_N``.
    """
    ks = np.asarray(ks, dtype=np.int64)
    out = np.zeros(ks.size)
    if sizes.size == 0:
        return out
    order = np.argsort(-sizes, kind="stable")
    sizes, cbar = sizes[order], cbar[order]
    second = int(sizes[1]) if sizes.size > 1 else 0
    out += cbar[0] * hypergeom.sf(second, n, int(sizes[0]), ks)
    kmax = int(ks.max())
    log_norm = log_comb(n, ks) - n * LN2 / 2
    for t in range(1, min(second, kmax) + 1):
        r = int(np.sum(sizes >= t))
        rest = n - int(sizes[:r].sum())
        deg = min(kmax, r * t)
        plain = np.zeros((r + 1, deg + 1))
        plain[0, 0] = 1.0
        marked = np.zeros_like(plain)
        for b in range(r):
            nb = int(sizes[b])
            below = np.exp(log_comb(nb, np.arange(t)) - nb * LN2 / 2)
            at_t = float(np.exp(log_comb(nb, t) - nb * LN2 / 2))
            new_plain = np.zeros_like(plain)
            new_marked = np.zeros_like(marked)
            for u in range(b + 1):
                new_plain[u] = np.convolve(plain[u], below)[: deg + 1]
                if u:
                    new_marked[u] = np.convolve(marked[u], below)[: deg + 1]
            if deg >= t:
                shifted_plain = plain[: b + 1, : deg + 1 - t]
                new_plain[1 : b + 2, t:] += at_t * shifted_plain
                new_marked[1 : b + 2, t:] += at_t * (
                    marked[: b + 1, : deg + 1 - t] + cbar[b] * shifted_plain
                )
            plain, marked = new_plain, new_marked
        tied = (marked[1:] / np.arange(1, r + 1)[:, None]).sum(axis=0)
        j = np.arange(deg + 1)
        log_rest = log_comb(rest, ks[:, None] - j[None, :]) - rest * LN2 / 2
        out += np.exp(log_rest - log_norm[:, None]) @ tied
    return out


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
    across k, which leaves each k's estimate unbiased).
    """
    n = codes.size
    valid = codes >= 0
    _, inverse = np.unique(np.where(valid, codes, codes.max() + 1), return_inverse=True)
    m = int(inverse.max()) + 1
    weight = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    weight = np.where(valid, weight, 0.0)
    present = np.where(valid, 1.0, 0.0)
    means = np.zeros(ks.size)
    ses = np.zeros(ks.size)
    batch = max(1, min(draws, int(2e7 // max(1, n * m))))
    outcomes = np.zeros((draws, ks.size))
    done = 0
    while done < draws:
        size = min(batch, draws - done)
        perm = np.argsort(rng.random((size, n)), axis=1)
        onehot = np.zeros((size, n, m))
        cls = inverse[perm]
        rows = np.arange(size)[:, None]
        cols = np.arange(n)[None, :]
        onehot[rows, cols, cls] = weight[perm]
        members = np.zeros((size, n, m))
        members[rows, cols, cls] = present[perm]
        hits = np.zeros((size, n, m))
        hits[rows, cols, cls] = present[perm] * np.asarray(correct, dtype=np.float64)[perm]
        totals = np.cumsum(onehot, axis=1)[:, ks - 1, :]
        counts = np.cumsum(members, axis=1)[:, ks - 1, :]
        right = np.cumsum(hits, axis=1)[:, ks - 1, :]
        counts_safe = np.where(counts > 0, counts, 1.0)
        score = np.where(counts > 0, totals, -np.inf)
        best = score.max(axis=2, keepdims=True)
        tie = (score == best) & (counts > 0)
        pick = np.argmax(tie * (1.0 + rng.random(tie.shape)), axis=2)[..., None]
        chosen = np.take_along_axis(right / counts_safe, pick, axis=2)[..., 0]
        anything = np.take_along_axis(tie, pick, axis=2)[..., 0]
        outcomes[done : done + size] = np.where(anything, chosen, 0.0)
        done += size
    means = outcomes.mean(axis=0)
    ses = outcomes.std(axis=0, ddof=1) / math.sqrt(draws) if draws > 1 else np.full(ks.size, 0.5)
    return means, ses


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


def majority_rows(
    codes: np.ndarray, correct: np.ndarray, ks: np.ndarray, draws: int, seed: int
) -> Estimate:
    """Majority vote of every row of a pool: exact where feasible, else Monte Carlo."""
    p, n = codes.shape
    values = np.zeros((p, ks.size))
    se = np.zeros((p, ks.size))
    rng = np.random.default_rng(seed)
    kmax = int(ks.max())
    for row in range(p):
        sizes, cbar = answer_classes(codes[row], correct[row])
        if n <= EXACT_MAX_N and exact_work(sizes, kmax) <= EXACT_WORK_LIMIT:
            values[row] = majority_exact(sizes, cbar, n, ks)
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
                grid = np.arange(1, n_acc + 1)
                inner = majority_rows(
                    pool.answers[row][acc][None],
                    pool.correct[row][acc][None],
                    grid,
                    self.draws,
                    self.seed + row,
                )
                # P(a accepted among k) for a = 1..n_acc, each k.
                pa = hypergeom.pmf(grid[None, :], n, n_acc, k[:, None])
                values[row] += pa @ inner.values[0]
                se[row] += np.sqrt(pa**2 @ inner.mc_se[0] ** 2)
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
