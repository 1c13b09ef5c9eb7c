"""``frontier(s1, s2, ...)``: at each sample budget, the best of the named strategies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import FloatArray, PoolArrays
from pytest_tts.strategies.base import BaseStrategy, Cost, Estimate, Ks, Strategy, check_ks


class Frontier(BaseStrategy):
    """For each k, the member strategy with the highest mean over problems at budget k.

    The choice is made on the mean (one strategy for all problems at a budget, as a deployed
    system would), never per problem. Its per-problem values and cost are those of the
    chosen member. For frontiers in tokens or FLOPs, where members' costs differ at equal k,
    use :func:`pytest_tts.estimate.frontier.frontier_curve` on the members' curves.
    """

    def __init__(self, members: Sequence[Strategy]) -> None:
        if not members:
            msg = "frontier needs at least one strategy, got none"
            raise EstimationError(msg)
        for m in members:
            if not isinstance(m, Strategy):
                msg = f"frontier takes strategies, got {m!r}"
                raise EstimationError(msg)
        self.members = tuple(members)
        self.text = f"frontier({', '.join(m.text for m in self.members)})"
        self.requires = frozenset().union(*(m.requires for m in self.members))

    def choices(self, pool: PoolArrays, ks: Ks) -> tuple[list[int], list[Estimate]]:
        k = check_ks(ks, pool.n_samples)
        estimates = [m.estimate(pool, k) for m in self.members]
        means = np.stack([e.values.mean(axis=0) for e in estimates])
        return [int(i) for i in np.argmax(means, axis=0)], estimates

    def chosen(self, pool: PoolArrays, ks: Ks) -> list[str]:
        """The text of the strategy chosen at each k."""
        picks, _ = self.choices(pool, ks)
        return [self.members[i].text for i in picks]

    def estimate(self, pool: PoolArrays, ks: Ks) -> Estimate:
        picks, estimates = self.choices(pool, ks)
        cols = range(len(picks))
        values = np.stack([estimates[m].values[:, j] for j, m in zip(cols, picks, strict=True)], 1)
        se = np.stack([estimates[m].mc_se[:, j] for j, m in zip(cols, picks, strict=True)], 1)
        return Estimate(values, se)

    def per_problem(self, pool: PoolArrays, ks: Ks) -> FloatArray:
        return self.estimate(pool, ks).values

    def cost(self, pool: PoolArrays, ks: Ks) -> Cost:
        picks, _ = self.choices(pool, ks)
        costs = [m.cost(pool, ks) for m in self.members]
        cols = range(len(picks))
        samples = np.stack([costs[m].samples[:, j] for j, m in zip(cols, picks, strict=True)], 1)
        tokens = np.stack(
            [costs[m].completion_tokens[:, j] for j, m in zip(cols, picks, strict=True)], 1
        )
        return Cost(samples, tokens, costs[0].prompt_tokens)


def frontier(*strategies: Strategy) -> Frontier:
    """The compute-optimal choice among ``strategies`` at every sample budget."""
    return Frontier(strategies)
