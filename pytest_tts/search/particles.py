"""Particle filtering over steps: ``particle_filter(prm = steps, particles = 8)``.

The probabilistic-inference view of test-time scaling (Puri et al. 2025): a set of ``N``
partial solutions (particles) is moved forward one step at a time, and after each step it
is resampled in proportion to the process verifier's weights, so that particles on good
paths multiply and those on bad paths die out, while a weak path can still survive by
chance (unlike beam search's hard cut).

Per problem, with ``N`` particles:

1. every open particle draws one next step (particles that share a prefix draw distinct
   continuations of it);
2. each particle's score aggregates its step scores (``aggregate``, ``min`` by default) and
   its weight is ``exp(score / temperature)``; finished particles (the model stopped, or
   ran out of the step's tokens) keep their weight and take part in resampling;
3. ``N`` particles are drawn with replacement in proportion to their weights (a seeded
   multinomial draw, so a re-run draws the same and finds every continuation cached);
4. until every particle is finished or after ``max_steps`` rounds; the answer is the
   finished particle with the highest score (ties: the most frequent, then the first).

Budget and cost: the curve's budgets are particle counts, powers of two up to
``particles``; ``cost_samples`` is ``N`` (continuations drawn per round). Tokens and FLOPs
are counted like beam search's (``pytest_tts.search.common``), ``prefix_cost`` included.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.curves import Curve
from pytest_tts.search.common import (
    AGGREGATES,
    RunCost,
    SamplerStats,
    StepSampler,
    aggregate,
    check_prefix_cost,
    prm_of,
    score_paths,
    search_curve_from,
    widths_up_to,
)
from pytest_tts.strategies.base import verifier_name
from pytest_tts.types import Problem


@dataclass
class Particle:
    text: str
    score: float = 0.0
    finished: bool = False


@dataclass
class _Run:
    problem: Problem
    count: int
    rng: np.random.Generator
    particles: list[Particle] = field(default_factory=list)
    cost: RunCost = field(default_factory=RunCost)

    def __post_init__(self) -> None:
        self.particles = [Particle("") for _ in range(self.count)]

    @property
    def active(self) -> bool:
        return any(not p.finished for p in self.particles)

    def answer(self) -> Particle:
        pool = [p for p in self.particles if p.finished] or self.particles
        counts = Counter(p.text for p in pool)
        best = max(range(len(pool)), key=lambda i: (pool[i].score, counts[pool[i].text], -i))
        return pool[best]


class ParticleFilter:
    """A search strategy: the session calls :meth:`search_curve` (see the module doc)."""

    requires: frozenset[str] = frozenset()

    def __init__(
        self,
        prm: str,
        particles: int = 8,
        *,
        temperature: float = 0.25,
        delimiter: str = "|",
        max_steps: int = 8,
        step_tokens: int = 12,
        aggregate: str = "min",
        prefix_cost: str = "full",
    ) -> None:
        for label, value in (
            ("particles", particles),
            ("max_steps", max_steps),
            ("step_tokens", step_tokens),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                msg = f"particle_filter: {label} must be a positive integer, got {value!r}"
                raise EstimationError(msg)
        if not float(temperature) > 0:
            msg = f"particle_filter: temperature must be positive, got {temperature!r}"
            raise EstimationError(msg)
        if aggregate not in AGGREGATES:
            msg = (
                f"particle_filter: aggregate must be one of {', '.join(AGGREGATES)}, "
                f"got {aggregate!r}"
            )
            raise EstimationError(msg)
        self.prm = prm
        self.particles = particles
        self.temperature = float(temperature)
        self.delimiter = delimiter
        self.max_steps = max_steps
        self.step_tokens = step_tokens
        self.aggregate = aggregate
        check_prefix_cost(prefix_cost, "particle_filter")
        self.prefix_cost = prefix_cost
        self.text = f"particle_filter(prm = {prm}, particles = {particles})"
        self.stats = SamplerStats()
        # what each (problem, budget) run spent, from the last search_curve (for reports)
        self.costs: list[list[RunCost]] = []

        if prefix_cost != "full":
            self.text = self.text[:-1] + f', prefix_cost = "{prefix_cost}")'

    def __repr__(self) -> str:
        return f"<strategy {self.text}>"

    def search_curve(self, context: Any) -> Curve:
        if context.oracle is None:
            msg = f"{self.text} needs the spec's oracle to judge its answers"
            raise EstimationError(msg)
        prm = prm_of(context, self.prm, "particle_filter")
        counts = widths_up_to(self.particles)
        problems = list(context.problems)
        seed = int(context.sampling.seed)
        runs = [[_Run(p, n, _rng(seed, p.prompt, n)) for n in counts] for p in problems]
        sampler = StepSampler(
            context, self.delimiter, self.step_tokens, label=f"{context.label} {self.text}"
        )
        flat = [run for row in runs for run in row]
        for _ in range(self.max_steps):
            active = [run for run in flat if run.active]
            if not active:
                break
            self._round(active, sampler, prm, context.flops_fn)
        finals = [(run.problem, run.answer().text) for run in flat]
        verdicts = score_paths(context.oracle, finals, "oracle")
        correct = np.array([1.0 if v.accepted else 0.0 for v in verdicts]).reshape(
            len(problems), len(counts)
        )
        self.stats = sampler.stats
        self.costs = [[run.cost for run in row] for row in runs]
        return search_curve_from(
            self.text,
            [p.id for p in problems],
            counts,
            correct,
            [[run.cost for run in row] for row in runs],
            [float(n) for n in counts],
            confidence=context.confidence,
            prefix_cost=self.prefix_cost,
        )

    def _round(self, runs: list[_Run], sampler: StepSampler, prm: Any, flops_fn: Any) -> None:
        need: dict[str, int] = {}
        per_run: list[Counter[str]] = []
        for run in runs:
            wants = Counter(p.text for p in run.particles if not p.finished)
            per_run.append(wants)
            for text, n in wants.items():
                key = run.problem.prompt + text
                need[key] = max(need.get(key, 0), n)
        continuations = sampler.expand(need)
        items: list[tuple[Problem, str]] = []
        moved: list[list[Particle]] = []
        for run, wants in zip(runs, per_run, strict=True):
            drawn: dict[str, list[str]] = {}
            for text, n in wants.items():
                samples = continuations[run.problem.prompt + text][:n]
                run.cost.add(samples, flops_fn, seen_prefix=bool(text))
                drawn[text] = [s.text for s in samples]
            new: list[Particle] = []
            for p in run.particles:
                if p.finished:
                    new.append(p)
                    continue
                step = drawn[p.text].pop(0)
                new.append(Particle(p.text + step, finished=not step.endswith(self.delimiter)))
            moved.append(new)
            items.extend((run.problem, p.text) for p in new)
        verdicts = iter(score_paths(prm, items, self.prm))
        for run, new in zip(runs, moved, strict=True):
            for p in new:
                p.score = aggregate(next(verdicts).step_scores, self.aggregate)
            scores = np.array([p.score for p in new])
            weights = np.exp((scores - scores.max()) / self.temperature)
            picks = run.rng.choice(len(new), size=run.count, p=weights / weights.sum())
            run.particles = [
                Particle(new[i].text, new[i].score, new[i].finished) for i in sorted(picks)
            ]


def _rng(seed: int, prompt: str, count: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\0{count}\0{prompt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def particle_filter(
    prm: Any,
    particles: int = 8,
    temperature: float = 0.25,
    delimiter: str = "|",
    max_steps: int = 8,
    step_tokens: int = 12,
    aggregate: str = "min",
    prefix_cost: str = "full",
) -> ParticleFilter:
    """Particle filtering over steps, weighted by a process verifier (``prm = <verifier>``).

    The curve's budgets are particle counts 1, 2, 4, … up to ``particles``; weights are
    ``exp(score / temperature)`` of each particle's aggregated step scores.
    """
    name = verifier_name(prm, "particle_filter")
    return ParticleFilter(
        name,
        particles,
        temperature=temperature,
        delimiter=delimiter,
        max_steps=max_steps,
        step_tokens=step_tokens,
        aggregate=aggregate,
        prefix_cost=prefix_cost,
    )
