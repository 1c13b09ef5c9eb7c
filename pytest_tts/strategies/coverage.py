"""Coverage (pass@k), reliability (pass^k) and the single-sample baseline."""

from __future__ import annotations

import numpy as np

from pytest_tts.estimate.pool import FloatArray, PoolArrays
from pytest_tts.strategies.base import BaseStrategy, Cost, Ks, check_ks


class Single(BaseStrategy):
    """One sample, judged by the oracle: mean correctness, the same for every k.

    Its cost is one sample whatever k is, so on a cost axis it is a single point.
    """

    text = "single"
    requires = frozenset({"correct"})

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        k = check_ks(ks, pool.n_samples)
        rate = pool.correct.mean(axis=1)
        return np.repeat(rate[:, None], k.size, axis=1)

    def cost(self, pool: PoolArrays, ks: Ks) -> Cost:
        k = check_ks(ks, pool.n_samples)
        ones = np.ones((pool.n_problems, k.size))
        tokens = pool.completion_tokens.mean(axis=1)[:, None] * ones
        return Cost(ones, tokens, pool.prompt_tokens.astype(np.float64))


def pass_at_k_values(n: int, c: np.ndarray, ks: np.ndarray) -> FloatArray:
    """1 - C(n - c, k) / C(n, k) for every count c (float[P]) and k, float[P, K].

    The ratio is the running product of (n - c - i) / (n - i) for i < k, which never forms a
    binomial coefficient and so neither overflows nor loses precision (the same product as
    the reference estimator of Chen et al. 2021).
    """
    c = np.asarray(c, dtype=np.float64)
    i = np.arange(int(ks.max()), dtype=np.float64)
    factors = np.clip((n - c[:, None] - i[None, :]) / (n - i[None, :]), 0.0, 1.0)
    miss = np.cumprod(factors, axis=1)
    return np.asarray(1.0 - miss[:, ks - 1], dtype=np.float64)


class PassAtK(BaseStrategy):
    """Coverage: the probability that at least one of k random samples is correct.

    The unbiased estimator 1 - C(N - c, k) / C(N, k) of Chen et al. (2021), with c the
    problem's number of correct samples among N.
    """

    text = "pass_at_k"
    requires = frozenset({"correct"})

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        k = check_ks(ks, pool.n_samples)
        return pass_at_k_values(pool.n_samples, pool.correct.sum(axis=1), k)


def pass_hat_k_values(n: int, c: np.ndarray, ks: np.ndarray) -> FloatArray:
    """C(c, k) / C(n, k) for every count c (float[P]) and k, float[P, K]: the running
    product of (c - i) / (n - i) for i < k (0 once i reaches c)."""
    c = np.asarray(c, dtype=np.float64)
    i = np.arange(int(ks.max()), dtype=np.float64)
    factors = np.clip((c[:, None] - i[None, :]) / (n - i[None, :]), 0.0, 1.0)
    hit = np.cumprod(factors, axis=1)
    return np.asarray(hit[:, ks - 1], dtype=np.float64)


class PassHatK(BaseStrategy):
    """Reliability, pass^k: the probability that *all* of k random samples are correct.

    The metric τ-bench introduced (Yao et al. 2024) for agents that must succeed every time;
    unbiased from a pool of N samples with c correct as C(c, k) / C(N, k) (k samples drawn
    without replacement), the counterpart of pass@k's estimator. It falls with k; its cost is
    k samples.
    """

    text = "pass_hat_k"
    requires = frozenset({"correct"})

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        k = check_ks(ks, pool.n_samples)
        return pass_hat_k_values(pool.n_samples, pool.correct.sum(axis=1), k)


def single() -> Single:
    """The single-sample baseline (accuracy without a strategy)."""
    return Single()


def pass_at_k() -> PassAtK:
    """Coverage, pass@k."""
    return PassAtK()


def pass_hat_k() -> PassHatK:
    """Reliability, pass^k: all of k samples correct."""
    return PassHatK()
