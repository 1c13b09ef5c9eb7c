"""What every step-wise search shares: the round loop, step sampling and verdicts through the
store, costs, curves.

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
would give. Every continuation lives in one *step pool* (the spec's backend and step
sampling; ``n`` is not part of a pool) under the key (prefix, index).

Verdicts. A path is the text a draw ends: its prefix (less the prompt) and the draw's
sample, so the draw's key determines it. The process verifier's verdict on a path, and the
oracle's on a final answer, go through :func:`pytest_tts.verifiers.cache.verify_cached`
under that key in the step pool (with the verifier's identity and the problem's reference
fingerprint, as every cached verdict): a re-run calls no verifier at all.

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

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

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


def path_score(verdict: Verdict, how: str) -> float:
    """The score of a (partial) path from a verifier's verdict on it.

    A process verifier's per-step scores are aggregated (:func:`aggregate`); an outcome
    verifier (a reward model, a judge: no ``step_scores``) scores the path as a whole, so
    its ``score`` is the path's value whatever ``how`` says.
    """
    if verdict.step_scores is None:
        return float(verdict.score)
    return aggregate(verdict.step_scores, how)


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


@dataclass(frozen=True)
class Draw:
    """One continuation: the prefix it continues (prompt + path so far) and its sample."""

    prefix: str
    sample: Sample

    @property
    def key(self) -> tuple[str, int]:
        """Its key in the step pool (and the key of verdicts on the path it ends)."""
        return (self.prefix, self.sample.index)


@dataclass
class Path:
    """A completion so far, its aggregated verifier score, whether it is finished, and the
    draw that ended it (None only before the first round)."""

    text: str
    score: float = 0.0
    finished: bool = False
    draw: Draw | None = None

    def ended(self) -> Draw:
        if self.draw is None:
            msg = f"a search path {self.text!r} has no draw: it was never expanded"
            raise EstimationError(msg)
        return self.draw


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


@dataclass
class SamplerStats:
    """Totals over every round of a search: rounds, requests, continuations generated or
    reused, and distinct verdicts computed (``verified``) or read from the store."""

    rounds: int = 0
    requests: int = 0
    generated: int = 0
    reused: int = 0
    verdicts: int = 0
    verified: int = 0

    @property
    def verdicts_cached(self) -> int:
        return self.verdicts - self.verified


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

    def pool(self) -> int:
        """The store's id of the step pool every continuation of this sampler lives in."""
        from pytest_tts.generate import PoolRequest, pool_id

        return pool_id(self.context.store, PoolRequest(self.context.backend, (), self.sampling(1)))

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


class Run(Protocol):
    """One search on one problem at one budget, as :class:`StepSearch` drives it."""

    problem: Problem
    cost: RunCost

    @property
    def active(self) -> bool: ...

    def answer(self) -> Path: ...


@dataclass(frozen=True)
class _DrawProblem(Problem):
    """A problem as the verdict cache keys a path: prompt = the draw's prefix; ``source``
    is the problem itself, what the verifier sees (answer and meta are its own)."""

    source: Problem | None = None


class _PathVerifier:
    """Hands the verifier its own problems back, and counts the verdicts it computes."""

    def __init__(self, verifier: Any, name: str, stats: SamplerStats) -> None:
        self.verifier = verifier
        self.name = name
        self.stats = stats

    def identity(self) -> str:
        return str(self.verifier.identity())

    def verify(self, items: Sequence[tuple[Problem, str]]) -> list[Verdict]:
        pairs = [
            (p.source if isinstance(p, _DrawProblem) and p.source is not None else p, text)
            for p, text in items
        ]
        verdicts = list(self.verifier.verify(pairs))
        if len(verdicts) != len(items):
            msg = f"verifier {self.name} returned {len(verdicts)} verdicts for {len(items)} paths"
            raise VerifierError(msg)
        self.stats.verified += len(items)
        return verdicts


@dataclass
class Searcher:
    """The engine and verifier side of one ``search_curve``: draws and cached verdicts."""

    context: Any
    prm: Any
    prm_name: str
    sampler: StepSampler
    _pool: int | None = None

    @property
    def stats(self) -> SamplerStats:
        return self.sampler.stats

    def draw(
        self, runs: Sequence[Run], wants: Sequence[Mapping[str, int]]
    ) -> list[dict[str, list[Draw]]]:
        """Continuations for every run in one engine call; ``wants[i]`` maps a path text of
        run ``i`` to how many continuations it needs.

        Runs (budgets) that share a prefix draw from the same continuations: each prefix is
        asked for the most any run needs, and each run pays for the ones it takes.
        """
        need: dict[str, int] = {}
        for run, counts in zip(runs, wants, strict=True):
            for text, n in counts.items():
                key = run.problem.prompt + text
                need[key] = max(need.get(key, 0), n)
        continuations = self.sampler.expand(need)
        out: list[dict[str, list[Draw]]] = []
        for run, counts in zip(runs, wants, strict=True):
            mine: dict[str, list[Draw]] = {}
            for text, n in counts.items():
                prefix = run.problem.prompt + text
                samples = continuations[prefix][:n]
                run.cost.add(samples, self.context.flops_fn, seen_prefix=bool(text))
                mine[text] = [Draw(prefix, sample) for sample in samples]
            out.append(mine)
        return out

    def score(self, runs: Sequence[Run], draws: Sequence[Sequence[Draw]]) -> list[list[Verdict]]:
        """The process verifier's verdicts on the paths ``draws[i]`` end, for run ``i``;
        each run pays the verifier's FLOPs once per distinct path it has scored."""
        items = [(run.problem, d) for run, mine in zip(runs, draws, strict=True) for d in mine]
        verdicts = iter(self.verdicts(self.prm, self.prm_name, items))
        out: list[list[Verdict]] = []
        for run, mine in zip(runs, draws, strict=True):
            got = [next(verdicts) for _ in mine]
            for d, verdict in zip(mine, got, strict=True):
                run.cost.add_verdict(d.key, verdict)
            out.append(got)
        return out

    def judge(self, runs: Sequence[Run]) -> list[bool]:
        """The oracle's verdict on each run's answer (not a cost of the search)."""
        items = [(run.problem, run.answer().ended()) for run in runs]
        return [v.accepted for v in self.verdicts(self.context.oracle, "oracle", items)]

    def verdicts(
        self, verifier: Any, name: str, items: Sequence[tuple[Problem, Draw]]
    ) -> list[Verdict]:
        """Verdicts on the paths the draws end, through the store's verdict cache.

        Each distinct (problem, draw) is looked up, or verified, once.
        """
        from pytest_tts.verifiers.cache import verify_cached

        if not items:
            return []
        if self._pool is None:
            self._pool = self.sampler.pool()
        unique: dict[tuple[str, str, int], int] = {}
        keyed: list[tuple[Problem, Sample]] = []
        for problem, d in items:
            key = (problem.id, *d.key)
            if key in unique:
                continue
            unique[key] = len(keyed)
            path = d.prefix[len(problem.prompt) :] + d.sample.text
            as_keyed = _DrawProblem(
                id=problem.id,
                prompt=d.prefix,
                answer=problem.answer,
                meta=problem.meta,
                source=problem,
            )
            keyed.append((as_keyed, replace(d.sample, text=path)))
        self.stats.verdicts += len(keyed)
        checker = _PathVerifier(verifier, name, self.stats)
        found = verify_cached(checker, self.context.store, self._pool, keyed)
        if len(found) != len(keyed):
            msg = f"verifier {name} returned {len(found)} verdicts for {len(keyed)} paths"
            raise VerifierError(msg)
        return [found[unique[(problem.id, *d.key)]] for problem, d in items]


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


class StepSearch:
    """What beam search and particle filtering share: checked arguments, the round loop and
    the curve. A subclass sets ``name`` and ``text`` and implements :meth:`new_run`,
    :meth:`step` (one round over the active runs) and :meth:`samples_at`."""

    name = "step_search"
    requires: frozenset[str] = frozenset()

    def __init__(
        self,
        prm: str,
        budget: int,
        *,
        delimiter: str,
        max_steps: int,
        step_tokens: int,
        aggregate: str,
        prefix_cost: str,
        counts: Sequence[tuple[str, Any]] = (),
    ) -> None:
        for label, value in (*counts, ("max_steps", max_steps), ("step_tokens", step_tokens)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                msg = f"{self.name}: {label} must be a positive integer, got {value!r}"
                raise EstimationError(msg)
        if not delimiter:
            msg = f"{self.name}: delimiter must be a non-empty string"
            raise EstimationError(msg)
        if aggregate not in AGGREGATES:
            msg = (
                f"{self.name}: aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}"
            )
            raise EstimationError(msg)
        check_prefix_cost(prefix_cost, self.name)
        self.prm = prm
        self.budget = budget
        self.delimiter = delimiter
        self.max_steps = max_steps
        self.step_tokens = step_tokens
        self.aggregate = aggregate
        self.prefix_cost = prefix_cost
        self.text = self.name
        self.stats = SamplerStats()
        # what each (problem, budget) run spent, from the last search_curve (for reports)
        self.costs: list[list[RunCost]] = []

    def named(self, text: str) -> str:
        """``text`` with a non-default ``prefix_cost`` spelled out, as a spec would."""
        if self.prefix_cost != "full":
            return text[:-1] + f', prefix_cost = "{self.prefix_cost}")'
        return text

    def __repr__(self) -> str:
        return f"<strategy {self.text}>"

    def new_run(self, problem: Problem, budget: int, context: Any) -> Run:
        raise NotImplementedError

    def step(self, runs: list[Any], search: Searcher) -> None:
        raise NotImplementedError

    def samples_at(self, budget: int) -> float:
        raise NotImplementedError

    def search_curve(self, context: Any) -> Curve:
        """Run the search at every budget for every problem; one engine call per round."""
        if context.oracle is None:
            msg = f"{self.text} needs the spec's oracle to judge its answers"
            raise EstimationError(msg)
        prm = prm_of(context, self.prm, self.name)
        budgets = widths_up_to(self.budget)
        problems = list(context.problems)
        runs = [[self.new_run(p, k, context) for k in budgets] for p in problems]
        sampler = StepSampler(
            context, self.delimiter, self.step_tokens, label=f"{context.label} {self.text}"
        )
        search = Searcher(context, prm, self.prm, sampler)
        flat = [run for row in runs for run in row]
        for _ in range(self.max_steps):
            active = [run for run in flat if run.active]
            if not active:
                break
            self.step(active, search)
        accepted = search.judge(flat)
        correct = np.array([1.0 if a else 0.0 for a in accepted]).reshape(
            len(problems), len(budgets)
        )
        self.stats = sampler.stats
        self.costs = [[run.cost for run in row] for row in runs]
        return search_curve_from(
            self.text,
            [p.id for p in problems],
            budgets,
            correct,
            self.costs,
            [self.samples_at(k) for k in budgets],
            confidence=context.confidence,
            prefix_cost=self.prefix_cost,
        )


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
