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
are counted like beam search's (``pytest_tts.search.cost``), ``prefix_cost`` included.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.search.cost import RunCost
from pytest_tts.search.loop import StepSearch
from pytest_tts.search.paths import Path, path_score
from pytest_tts.search.verdicts import Searcher
from pytest_tts.strategies.base import verifier_name
from pytest_tts.types import Problem

Particle = Path


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


class ParticleFilter(StepSearch):
    """A search strategy: the session calls :meth:`search_curve` (see the module doc)."""

    name = "particle_filter"

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
        super().__init__(
            prm,
            particles,
            delimiter=delimiter,
            max_steps=max_steps,
            step_tokens=step_tokens,
            aggregate=aggregate,
            prefix_cost=prefix_cost,
            counts=(("particles", particles),),
        )
        if not float(temperature) > 0:
            msg = f"particle_filter: temperature must be positive, got {temperature!r}"
            raise EstimationError(msg)
        self.particles = particles
        self.temperature = float(temperature)
        self.text = self.named(f"particle_filter(prm = {prm}, particles = {particles})")

    def new_run(self, problem: Problem, budget: int, context: Any) -> _Run:
        return _Run(problem, budget, _rng(int(context.sampling.seed), problem.prompt, budget))

    def samples_at(self, budget: int) -> float:
        return float(budget)

    def step(self, runs: list[_Run], search: Searcher) -> None:
        wants = [Counter(p.text for p in run.particles if not p.finished) for run in runs]
        moved: list[list[Particle]] = []
        for run, mine in zip(runs, search.draw(runs, wants), strict=True):
            queues = {text: list(draws) for text, draws in mine.items()}
            new: list[Particle] = []
            for p in run.particles:
                if p.finished:
                    new.append(p)
                    continue
                d = queues[p.text].pop(0)
                step = d.sample.text
                new.append(
                    Particle(p.text + step, finished=not step.endswith(self.delimiter), draw=d)
                )
            moved.append(new)
        verdicts = search.score(runs, [[p.ended() for p in new] for new in moved])
        for run, new, got in zip(runs, moved, verdicts, strict=True):
            for p, verdict in zip(new, got, strict=True):
                p.score = path_score(verdict, self.aggregate)
            scores = np.array([p.score for p in new])
            weights = np.exp((scores - scores.max()) / self.temperature)
            picks = run.rng.choice(len(new), size=run.count, p=weights / weights.sum())
            run.particles = [
                Particle(new[i].text, new[i].score, new[i].finished, new[i].draw)
                for i in sorted(picks)
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
