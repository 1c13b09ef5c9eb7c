"""What a step-wise search spends, and its curve from those costs.

Cost. Each request (one distinct prefix, ``n`` continuations) costs its real token counts:
the prefix's prompt tokens once (vLLM shares one prefill among the ``n`` samples of a
request) plus every generated token; FLOPs are ``flops_fn(prompt_tokens,
completion_tokens, n)``, the same function every other curve uses. The prefix is counted in
full in every round: no credit is taken for prefix caching across rounds (on the CPU build,
whose KV blocks are larger than these prompts, none happens), so search costs are an upper
bound of what an engine with block-level prefix caching would spend; ``RunCost.flops_cached``
keeps the matching lower bound (every earlier round's prefix cached), which a strategy's
``prefix_cost = "cached"`` makes its curve's cost (for engines whose prefix cache does hit).
The process verifier's ``Verdict.flops`` (a reward model's forward passes; 0.0 for a
rule-based verifier such as ``step_check``) are added to both, once per distinct verdict a
run uses, whether this run computed it or read it from the store: the cost is the method's.
A verifier scores whole paths, so no prefix caching is assumed for it. The oracle's verdicts
judge the search and are not part of its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.curves import Curve
from pytest_tts.estimate.stats import bootstrap_ci
from pytest_tts.types import Sample, Verdict

PREFIX_COSTS = ("full", "cached")


def check_prefix_cost(prefix_cost: str, strategy: str) -> None:
    if prefix_cost not in PREFIX_COSTS:
        msg = (
            f"{strategy}: prefix_cost must be one of {', '.join(map(repr, PREFIX_COSTS))}, "
            f"got {prefix_cost!r}"
        )
        raise EstimationError(msg)


@dataclass
class RunCost:
    """What one search run on one problem spent."""

    requests: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    flops: float = 0.0
    # what an engine whose prefix cache held every earlier round would spend (a lower bound)
    flops_cached: float = 0.0
    new_prompt_tokens: int = 0
    # the process verifier's share of flops (and of flops_cached), over distinct verdicts
    verifier_flops: float = 0.0
    verdicts: int = 0
    _judged: set[tuple[str, int]] = field(default_factory=set, repr=False, compare=False)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_cached(self) -> int:
        """Tokens an engine whose prefix cache held every earlier round would process."""
        return self.new_prompt_tokens + self.completion_tokens

    def add(
        self,
        samples: Sequence[Sample],
        flops_fn: Callable[..., float] | None,
        *,
        seen_prefix: bool = False,
    ) -> None:
        """Count one request's continuations (they share one prefill).

        ``seen_prefix``: the prefix was computed in an earlier round (it is the prompt plus
        steps this search generated), so an ideal prefix cache would not prefill it again;
        that saving goes into ``flops_cached`` only.
        """
        if not samples:
            return
        prompt = samples[0].prompt_tokens
        completion = sum(s.completion_tokens for s in samples)
        self.requests += 1
        self.samples += len(samples)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        if flops_fn is None:
            self.flops = self.flops_cached = float("nan")
            return
        full = flops_fn(float(prompt), float(completion), len(samples))
        self.flops += full
        if seen_prefix:
            self.flops_cached += full - flops_fn(float(prompt), 0.0, 1)
        else:
            self.flops_cached += full
            self.new_prompt_tokens += prompt

    def add_verdict(self, key: tuple[str, int], verdict: Verdict) -> None:
        """Count the verifier's FLOPs for a verdict this run uses, once per distinct path."""
        if key in self._judged:
            return
        self._judged.add(key)
        self.verdicts += 1
        self.verifier_flops += verdict.flops
        self.flops += verdict.flops
        self.flops_cached += verdict.flops


def search_curve_from(
    strategy: str,
    problem_ids: Sequence[str],
    ks: Sequence[int],
    correct: np.ndarray,
    costs: Sequence[Sequence[RunCost]],
    samples_per_point: Sequence[float],
    confidence: float = 0.95,
    prefix_cost: str = "full",
) -> Curve:
    """A Curve from one search run per (problem, budget).

    ``correct`` float[P, K] is the oracle's verdict on each run's final answer; ``costs``
    [P][K] what each run spent. A run's outcome is one draw, not an expectation: the
    bootstrap over problems covers that noise too, so ``mc_se`` is 0. ``prefix_cost``:
    ``"full"`` counts every round's prefix (the default, what an engine without a useful
    prefix cache spends), ``"cached"`` only the first round's prompt (an ideal prefix cache).
    """
    check_prefix_cost(prefix_cost, strategy)
    cached = prefix_cost == "cached"
    values = np.asarray(correct, dtype=np.float64)
    low, high = bootstrap_ci(values, confidence)
    tokens = np.array(
        [[c.tokens_cached if cached else c.tokens for c in row] for row in costs],
        dtype=np.float64,
    )
    flops = np.array(
        [[c.flops_cached if cached else c.flops for c in row] for row in costs],
        dtype=np.float64,
    )
    return Curve(
        strategy=strategy,
        ks=np.asarray(ks, dtype=np.int64),
        problem_ids=tuple(problem_ids),
        per_problem=values,
        mean=values.mean(axis=0),
        ci_low=low,
        ci_high=high,
        cost_samples=np.asarray(samples_per_point, dtype=np.float64),
        cost_tokens=tokens.mean(axis=0),
        cost_flops=flops.mean(axis=0),
        confidence=confidence,
        mc_se=np.zeros(len(ks)),
    )
