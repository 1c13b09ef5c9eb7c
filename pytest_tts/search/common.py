"""What every step-wise search shares: step sampling through the store, costs, curves.

Generation. A *prefix* is a problem's prompt followed by the completion text chosen so far
(whole steps, each ending with the delimiter). :class:`StepSampler` asks for ``n``
continuations of many prefixes at once: each prefix becomes a
:class:`~pytest_tts.types.Problem` whose prompt is the prefix text, in a
:class:`~pytest_tts.generate.PoolRequest` whose sampling is the spec's (temperature, top_p,
seed) with ``max_tokens`` capped to one step and ``stop = [delimiter]``,
``include_stop_str_in_output = true``. One ``ensure_samples`` call per round fills what the
store lacks, so intermediate generations are cached like samples: a re-run, or a wider beam
that shares a prefix with a narrower one, reuses them. Samples of a prefix are seeded from
the prefix text, and continuation ``i`` is the pool's sample ``i``: a prefix that ``m``
beams hold asks for ``m x expansions`` samples, exactly what ``m`` independent requests
would give.

Cost. Each request (one distinct prefix, ``n`` continuations) costs its real token counts:
the prefix's prompt tokens once (vLLM shares one prefill among the ``n`` samples of a
request) plus every generated token; FLOPs are ``flops_fn(prompt_tokens,
completion_tokens, n)``, the same function every other curve uses. The prefix is counted in
full in every round: no credit is taken for prefix caching across rounds (on the CPU build,
whose KV blocks are larger than these prompts, none happens), so search costs are an upper
bound of what an engine with block-level prefix caching would spend; ``RunCost.flops_cached``
keeps the matching lower bound (every earlier round's prefix cached), which a strategy's
``prefix_cost = "cached"`` makes its curve's cost (for engines whose prefix cache does hit). A
rule-based verifier (``step_check``) costs no model FLOPs and is counted as zero; the
scoring FLOPs of a model-based process verifier are not counted yet (the verifier protocol
has no way to report them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError, VerifierError
from pytest_tts.estimate.curves import Curve
from pytest_tts.estimate.stats import bootstrap_ci
from pytest_tts.spec import Sampling
from pytest_tts.types import Problem, Sample, Verdict

AGGREGATES = ("min", "product", "mean", "last")
PREFIX_COSTS = ("full", "cached")


def check_prefix_cost(prefix_cost: str, strategy: str) -> None:
    if prefix_cost not in PREFIX_COSTS:
        msg = (
            f"{strategy}: prefix_cost must be one of {', '.join(map(repr, PREFIX_COSTS))}, "
            f"got {prefix_cost!r}"
        )
        raise EstimationError(msg)


def aggregate(step_scores: Sequence[float] | None, how: str) -> float:
    """One score for a path from its per-step scores (``min``, ``product``, ``mean``, ``last``).

    A path with no scored step scores 0.0.
    """
    if not step_scores:
        return 0.0
    if how == "min":
        return float(min(step_scores))
    if how == "product":
        return float(np.prod(step_scores))
    if how == "mean":
        return float(np.mean(step_scores))
    if how == "last":
        return float(step_scores[-1])
    msg = f"aggregate must be one of {', '.join(AGGREGATES)}, got {how!r}"
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


@dataclass
class SamplerStats:
    """Totals over every round of a sampler: rounds, requests, what was generated or reused."""

    rounds: int = 0
    requests: int = 0
    generated: int = 0
    reused: int = 0


@dataclass
class StepSampler:
    """Continuations of prefixes, one step each, through the sample store (see module doc)."""

    context: Any
    delimiter: str = "|"
    step_tokens: int = 12
    label: str = "search"
    stats: SamplerStats = field(default_factory=SamplerStats)

    def sampling(self, n: int) -> Sampling:
        base: Sampling = self.context.sampling
        extra = {
            **dict(base.extra),
            "stop": [self.delimiter],
            "include_stop_str_in_output": True,
        }
        return Sampling(
            n=n,
            temperature=base.temperature,
            top_p=base.top_p,
            max_tokens=min(self.step_tokens, base.max_tokens),
            seed=base.seed,
            extra=extra,
        )

    def expand(self, wants: Mapping[str, int]) -> dict[str, list[Sample]]:
        """``n`` continuations of each prefix text in ``wants`` (prefix -> n), by prefix.

        One batched fill for all prefixes; prefixes wanting the same n share a request.
        """
        from pytest_tts.generate import PoolRequest, ensure_samples, load_samples

        if not wants:
            return {}
        by_n: dict[int, list[Problem]] = {}
        for prefix, n in wants.items():
            if n < 1:
                msg = f"a search asked for {n} continuations of a prefix; expected at least 1"
                raise EstimationError(msg)
            by_n.setdefault(n, []).append(Problem(id=_prefix_id(prefix), prompt=prefix))
        requests = [
            PoolRequest(
                backend=self.context.backend,
                problems=problems,
                sampling=self.sampling(n),
                label=f"{self.label} (step continuations)",
            )
            for n, problems in sorted(by_n.items())
        ]
        report = ensure_samples(self.context.store, requests, offline=self.context.offline)
        self.stats.rounds += 1
        self.stats.requests += len(wants)
        self.stats.generated += report.generated
        self.stats.reused += report.reused
        out: dict[str, list[Sample]] = {}
        for request in requests:
            loaded = load_samples(self.context.store, request)
            for problem in request.problems:
                out[problem.prompt] = loaded[problem.id]
        return out


def _prefix_id(prefix: str) -> str:
    return "prefix-" + hashlib.sha256(prefix.encode()).hexdigest()[:16]


def score_paths(
    verifier: Any, items: Sequence[tuple[Problem, str]], name: str = "prm"
) -> list[Verdict]:
    """The verifier's verdicts on (problem, completion so far) pairs, checked for count."""
    if not items:
        return []
    verdicts = list(verifier.verify(list(items)))
    if len(verdicts) != len(items):
        msg = f"verifier {name} returned {len(verdicts)} verdicts for {len(items)} paths"
        raise VerifierError(msg)
    return verdicts


def prm_of(context: Any, name: str, strategy: str) -> Any:
    """The verifier instance named ``name`` from the search context, or a clear error."""
    verifiers: Mapping[str, Any] = context.verifiers
    if name not in verifiers:
        known = ", ".join(sorted(verifiers)) or "none"
        msg = f"{strategy}: verifier {name!r} is not among the spec's verifiers ({known})"
        raise EstimationError(msg)
    return verifiers[name]


def widths_up_to(width: int) -> list[int]:
    """The budgets of a search curve: powers of two below ``width``, and ``width``."""
    if width < 1:
        msg = f"width must be a positive integer, got {width!r}"
        raise EstimationError(msg)
    out = [1]
    while out[-1] * 2 < width:
        out.append(out[-1] * 2)
    if out[-1] != width:
        out.append(width)
    return out


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
