"""The round loop every step-wise search shares (:class:`StepSearch`): checked arguments,
one engine call per round for all problems and budgets, the oracle's verdicts, the curve.

See :mod:`pytest_tts.search.sampling` (generation), :mod:`pytest_tts.search.verdicts`
(verdicts) and :mod:`pytest_tts.search.cost` (cost) for what each round does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.curves import Curve
from pytest_tts.search.cost import RunCost, check_prefix_cost, search_curve_from
from pytest_tts.search.paths import AGGREGATES, Run
from pytest_tts.search.sampling import SamplerStats, StepSampler
from pytest_tts.search.verdicts import Searcher
from pytest_tts.types import Problem


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
