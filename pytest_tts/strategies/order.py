"""Strategies that keep one sample by a score: best-of-N, worst-of-N, first-finish, self-certainty.

All reduce to one exact computation over order statistics. Sort a problem's N samples by
score, ascending; the item at (0-based) position j is the maximum of a uniformly random
k-subset with probability C(j, k-1) / C(N, k). Ties are broken uniformly at random among the
tied maxima of the subset, which is the same as giving every member of a tie group the
group's mean correctness and then using the formula above (the group's probabilities add up
to [C(L+g, k) - C(L, k)] / C(N, k) by the hockey-stick identity, L items below, g in the tie).
One matrix product evaluates all problems and budgets at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import FloatArray, PoolArrays
from pytest_tts.strategies.base import BaseStrategy, Cost, Ks, check_ks, log_comb, verifier_name


def max_weights(n: int, ks: np.ndarray) -> FloatArray:
    """W[K, N]: W[i, j] = P(the item ranked j-th lowest is the max of a random ks[i]-subset)."""
    j = np.arange(n, dtype=np.float64)[None, :]
    k = np.asarray(ks, dtype=np.float64)[:, None]
    return np.asarray(np.exp(log_comb(j, k - 1) - log_comb(n, k)), dtype=np.float64)


def expected_at_max(keys: np.ndarray, values: np.ndarray, ks: np.ndarray) -> FloatArray:
    """E[value of the max-key item of a random k-subset], ties at random; float[P, K]."""
    keys = np.asarray(keys, dtype=np.float64)
    p, n = keys.shape
    order = np.argsort(keys, axis=1, kind="stable")
    sorted_keys = np.take_along_axis(keys, order, axis=1)
    sorted_values = np.take_along_axis(np.asarray(values, dtype=np.float64), order, axis=1)
    starts = np.ones((p, n), dtype=bool)
    starts[:, 1:] = sorted_keys[:, 1:] != sorted_keys[:, :-1]
    group = np.cumsum(starts.ravel()) - 1
    sums = np.bincount(group, weights=sorted_values.ravel())
    sizes = np.bincount(group)
    tied_mean = (sums / sizes)[group].reshape(p, n)
    return np.asarray(tied_mean @ max_weights(n, ks).T, dtype=np.float64)


class OrderSelect(BaseStrategy):
    """Keep the sample with the highest (or lowest) key among k; score its correctness."""

    def __init__(self, text: str, requires: frozenset[str], lowest: bool = False) -> None:
        self.text = text
        self.requires = requires
        self.lowest = lowest

    def keys(self, pool: PoolArrays) -> np.ndarray:
        raise NotImplementedError

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        k = check_ks(ks, pool.n_samples)
        keys = self.keys(pool)
        values = expected_at_max(-keys if self.lowest else keys, pool.correct, k)
        # The weights of a column sum to 1 up to rounding; keep probabilities in [0, 1].
        return np.clip(values, 0.0, 1.0)


class ByScore(OrderSelect):
    def __init__(self, text: str, verifier: str, lowest: bool = False) -> None:
        super().__init__(text, frozenset({f"scores:{verifier}"}), lowest)
        self.verifier = verifier

    def keys(self, pool: PoolArrays) -> np.ndarray:
        return pool.score(self.verifier)


class SelfCertainty(OrderSelect):
    def keys(self, pool: PoolArrays) -> np.ndarray:
        if pool.logprob_mean is None:
            msg = (
                "self_certainty needs per-token logprobs, but the pool has none "
                "(sample with logprobs enabled)"
            )
            raise EstimationError(msg)
        return pool.logprob_mean


class FirstFinish(OrderSelect):
    """The shortest of k samples; cost is k streams stopped when the first one finishes."""

    def keys(self, pool: PoolArrays) -> np.ndarray:
        return pool.completion_tokens.astype(np.float64)

    def cost(self, pool: PoolArrays, ks: Ks) -> Cost:
        k = check_ks(ks, pool.n_samples)
        lengths = pool.completion_tokens.astype(np.float64)
        shortest = expected_at_max(-lengths, lengths, k)
        samples = np.broadcast_to(k.astype(np.float64), shortest.shape).copy()
        return Cost(samples, samples * shortest, pool.prompt_tokens.astype(np.float64))


def best_of_n(verifier: Any) -> ByScore:
    """Keep the sample the verifier (or reward model) scores highest; ties at random."""
    name = verifier_name(verifier, "best_of_n")
    return ByScore(f"best_of_n(verifier = {name})", name)


def worst_of_n(verifier: Any) -> ByScore:
    """Keep the sample the verifier scores lowest; ties at random (a lower bound, and a check)."""
    name = verifier_name(verifier, "worst_of_n")
    return ByScore(f"worst_of_n(verifier = {name})", name, lowest=True)


def self_certainty() -> SelfCertainty:
    """Best-of-N by the model's own confidence: the highest mean token log-likelihood.

    A cheap stand-in for the self-certainty score of Kang et al. (2025), which needs the full
    next-token distributions; ties at random.
    """
    return SelfCertainty("self_certainty", frozenset({"logprob_mean"}))


def first_finish() -> FirstFinish:
    """The shortest of k samples (fewest completion tokens; ties at random).

    Cost semantics: the k samples decode in parallel and all stop when the first finishes, so
    a budget of k costs k samples and k times the expected shortest length in completion
    tokens (plus the shared prompt), not k full completions.
    """
    return FirstFinish("first_finish", frozenset({"completion_tokens"}), lowest=True)
