"""The strategy protocol and what every selection strategy shares.

A strategy turns a pool of N samples per problem into the expected metric of spending k of
them, for every budget k <= N. "Spending k" always means a uniformly random k-subset of the
N samples (never the first k), so each value is an unbiased estimate of the metric a fresh
run with k samples would get. ``estimate`` returns values per problem (the gates pair over
problems) and, for strategies that fall back to Monte Carlo, the standard error of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import FloatArray, PoolArrays

Ks = Sequence[int] | npt.NDArray[np.integer[Any]]
"""Budgets in samples: a list or an integer array."""


@dataclass(frozen=True)
class Estimate:
    """Per-problem values float[P, K] and their Monte Carlo standard errors (0 when exact)."""

    values: FloatArray
    mc_se: FloatArray

    @property
    def exact(self) -> bool:
        return not bool(np.any(self.mc_se > 0))


@dataclass(frozen=True)
class Cost:
    """Expected cost per problem of each budget k.

    ``samples`` float[P, K] completions generated (k for every sampling strategy);
    ``completion_tokens`` float[P, K] expected generated tokens summed over them;
    ``prompt_tokens`` float[P] prefill tokens (the prompt, once: the samples share it).
    """

    samples: FloatArray
    completion_tokens: FloatArray
    prompt_tokens: FloatArray

    @property
    def tokens(self) -> FloatArray:
        """Prompt plus completion tokens, float[P, K]."""
        return self.completion_tokens + self.prompt_tokens[:, None]


@runtime_checkable
class Strategy(Protocol):
    """What the estimator needs of a selection strategy.

    ``text`` is its canonical spec form (``best_of_n(verifier = units)``), ``requires`` the
    pool fields it reads (``"answers"``, ``"scores:NAME"``, ``"accepted:NAME"``,
    ``"logprob_mean"``, ...). ``estimate`` gives the expected correctness of the selected
    answer for each k in ``ks``; ``cost`` the expected cost of that budget.
    """

    text: str
    requires: frozenset[str]

    def estimate(self, pool: PoolArrays, ks: Ks) -> Estimate: ...

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray: ...

    def cost(self, pool: PoolArrays, ks: Ks) -> Cost: ...


class BaseStrategy:
    """Defaults for sampling strategies: exact estimates, and a cost of k full samples."""

    text: str = ""
    requires: frozenset[str] = frozenset()

    def estimate(self, pool: PoolArrays, ks: Ks) -> Estimate:
        values = self.per_problem(pool, ks)
        return Estimate(values, np.zeros_like(values))

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        raise NotImplementedError

    def cost(self, pool: PoolArrays, ks: Ks) -> Cost:
        k = check_ks(ks, pool.n_samples).astype(np.float64)
        mean_tokens = pool.completion_tokens.mean(axis=1)
        samples = np.broadcast_to(k, (pool.n_problems, k.size)).copy()
        return Cost(samples, samples * mean_tokens[:, None], pool.prompt_tokens.astype(np.float64))

    def __repr__(self) -> str:
        return f"<strategy {self.text}>"


def verifier_name(verifier: Any, strategy: str) -> str:
    """The name of a verifier given as a ``VerifierRef`` (``.name``) or a plain string."""
    if isinstance(verifier, str) and verifier:
        return verifier
    name = getattr(verifier, "name", None)
    if isinstance(name, str) and name:
        return name
    msg = f"{strategy} needs verifier = <a declared verifier>, got {verifier!r}"
    raise EstimationError(msg)


def check_ks(ks: Ks | npt.ArrayLike, n: int) -> npt.NDArray[np.int64]:
    """Budgets as an int array, each 1 <= k <= n."""
    arr = np.atleast_1d(np.asarray(ks))
    if arr.ndim != 1 or arr.size == 0:
        msg = f"ks must be a non-empty list of sample counts, got {ks!r}"
        raise EstimationError(msg)
    if not np.all(np.equal(np.mod(arr, 1), 0)):
        msg = f"ks must be whole numbers of samples, got {arr.tolist()}"
        raise EstimationError(msg)
    out = arr.astype(np.int64)
    bad = out[(out < 1) | (out > n)]
    if bad.size:
        msg = f"every k must be between 1 and the pool's N = {n}, got {int(bad[0])}"
        raise EstimationError(msg)
    return out


def log_comb(n: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
    """log C(n, k) elementwise, -inf where k < 0 or k > n."""
    n_arr = np.asarray(n, dtype=np.float64)
    k_arr = np.asarray(k, dtype=np.float64)
    valid = (k_arr >= 0) & (k_arr <= n_arr)
    safe_k = np.where(valid, k_arr, 0.0)
    safe_n = np.where(valid, n_arr, 0.0)
    out = gammaln(safe_n + 1) - gammaln(safe_k + 1) - gammaln(safe_n - safe_k + 1)
    return np.asarray(np.where(valid, out, -np.inf), dtype=np.float64)
