"""Beam search guided by a process verifier: ``beam_search(prm = steps, width = 4)``.

Per problem, with beam width ``w`` and ``e`` expansions per beam (Snell et al. 2024):

1. round 1 draws ``w x e`` first steps from the prompt;
2. every candidate (its path so far) is scored by the process verifier ``prm``; a path's
   score aggregates its step scores (``aggregate``: ``min`` by default, i.e. "every step so
   far is right" for a 0/1 verifier such as ``step_check``);
3. the best ``w - f`` candidates are kept (``f`` beams already finished; ties keep the
   earlier-drawn candidate, and the draws are random); a kept candidate that ended without
   the step delimiter (the model stopped, or ran out of the step's tokens) is finished,
   the others are open beams;
4. each open beam draws ``e`` next steps, and so on, until no beam is open or after
   ``max_steps`` rounds (open beams then count as finished, unfinished);
5. the answer is the finished path with the highest aggregated score (ties: the one that
   finished first), and the oracle judges it.

Lookahead search (``lookahead_search(prm = steps, width = 4, lookahead = 1)``) is the same
search with step 2 changed: each open candidate is first rolled out ``lookahead`` more steps
(one draw per step), and it is ranked by the verifier's score of the rollout; only the
candidate's own step is kept.

Budget. The curve's budgets ``k`` are beam widths: powers of two up to ``width``, and
``width``. Every budget is an independent search whose cost is counted on its own, as if it
ran alone (generation is shared through the store only to save time). ``cost_samples`` of a
point is ``k x e``, the candidates drawn per round: with steps of similar length it is the
number of full samples a best-of-N would decode as many tokens for. Tokens and FLOPs are the
real counts (see ``pytest_tts.search.common``), prefixes counted in full every round;
``prefix_cost = "cached"`` counts only the first round's prompt instead, the cost on an
engine whose prefix cache keeps every earlier round (vLLM on GPU, for prompts longer than a
KV block).
"""

from __future__ import annotations

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
class Path:
    """A completion so far, its aggregated verifier score, and whether it is finished."""

    text: str
    score: float = 0.0
    finished: bool = False


@dataclass
class _Run:
    """One beam search on one problem at one width."""

    problem: Problem
    width: int
    open: list[Path] = field(default_factory=list)
    done: list[Path] = field(default_factory=list)
    cost: RunCost = field(default_factory=RunCost)
    rounds: int = 0

    def __post_init__(self) -> None:
        # round 1: every beam starts from the bare prompt (width x expansions first steps)
        self.open = [Path("") for _ in range(self.width)]

    @property
    def active(self) -> bool:
        return bool(self.open)

    def answer(self) -> Path:
        pool = self.done or self.open
        best = max(range(len(pool)), key=lambda i: (pool[i].score, -i))
        return pool[best]


class BeamSearch:
    """A search strategy: the session calls :meth:`search_curve` (see the module doc)."""

    requires: frozenset[str] = frozenset()

    def __init__(
        self,
        prm: str,
        width: int = 4,
        expansions: int = 4,
        *,
        delimiter: str = "|",
        max_steps: int = 8,
        step_tokens: int = 12,
        aggregate: str = "min",
        lookahead: int = 0,
        prefix_cost: str = "full",
    ) -> None:
        if not isinstance(lookahead, int) or isinstance(lookahead, bool) or lookahead < 0:
            msg = f"beam_search: lookahead must be a non-negative integer, got {lookahead!r}"
            raise EstimationError(msg)
        for label, value in (
            ("width", width),
            ("expansions", expansions),
            ("max_steps", max_steps),
            ("step_tokens", step_tokens),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                msg = f"beam_search: {label} must be a positive integer, got {value!r}"
                raise EstimationError(msg)
        if not delimiter:
            msg = "beam_search: delimiter must be a non-empty string"
            raise EstimationError(msg)
        if aggregate not in AGGREGATES:
            msg = (
                f"beam_search: aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}"
            )
            raise EstimationError(msg)
        self.prm = prm
        self.width = width
        self.expansions = expansions
        self.delimiter = delimiter
        self.max_steps = max_steps
        self.step_tokens = step_tokens
        self.aggregate = aggregate
        check_prefix_cost(prefix_cost, "beam_search")
        self.prefix_cost = prefix_cost
        self.lookahead = lookahead
        self.text = f"beam_search(prm = {prm}, width = {width}, expansions = {expansions})"
        if lookahead:
            self.text = (
                f"lookahead_search(prm = {prm}, width = {width}, expansions = {expansions}, "
                f"lookahead = {lookahead})"
            )
        self.stats = SamplerStats()
        # what each (problem, budget) run spent, from the last search_curve (for reports)
        self.costs: list[list[RunCost]] = []

        if prefix_cost != "full":
            self.text = self.text[:-1] + f', prefix_cost = "{prefix_cost}")'

    def __repr__(self) -> str:
        return f"<strategy {self.text}>"

    def search_curve(self, context: Any) -> Curve:
        """Run the search at every width for every problem; one engine call per round."""
        if context.oracle is None:
            msg = f"{self.text} needs the spec's oracle to judge its answers"
            raise EstimationError(msg)
        prm = prm_of(context, self.prm, "beam_search")
        widths = widths_up_to(self.width)
        problems = list(context.problems)
        runs = [[_Run(p, w) for w in widths] for p in problems]
        sampler = StepSampler(
            context, self.delimiter, self.step_tokens, label=f"{context.label} {self.text}"
        )
        flat = [run for row in runs for run in row]
        for _ in range(self.max_steps):
            active = [run for run in flat if run.active]
            if not active:
                break
            self._round(active, sampler, prm, context.flops_fn)
        for run in flat:  # out of rounds: open beams end where they are
            run.done.extend(run.open)
            run.open = []
        finals = [(run.problem, run.answer().text) for run in flat]
        verdicts = score_paths(context.oracle, finals, "oracle")
        correct = np.array([1.0 if v.accepted else 0.0 for v in verdicts]).reshape(
            len(problems), len(widths)
        )
        self.stats = sampler.stats
        self.costs = [[run.cost for run in row] for row in runs]
        return search_curve_from(
            self.text,
            [p.id for p in problems],
            widths,
            correct,
            [[run.cost for run in row] for row in runs],
            [float(w * self.expansions) for w in widths],
            confidence=context.confidence,
            prefix_cost=self.prefix_cost,
        )

    def _round(self, runs: list[_Run], sampler: StepSampler, prm: Any, flops_fn: Any) -> None:
        # two runs (widths) that share a prefix draw from the same continuations: the
        # larger ask covers the smaller, so ask each prefix for the most any run needs
        need: dict[str, int] = {}
        per_run: list[Counter[str]] = []
        for run in runs:
            counts: Counter[str] = Counter()
            for path in run.open:
                counts[path.text] += self.expansions
            per_run.append(counts)
            for text, n in counts.items():
                key = run.problem.prompt + text
                need[key] = max(need.get(key, 0), n)
        continuations = sampler.expand(need)
        candidates: list[list[Path]] = []
        items: list[tuple[Problem, str]] = []
        for run, counts in zip(runs, per_run, strict=True):
            mine: list[Path] = []
            for text, n in counts.items():
                samples = continuations[run.problem.prompt + text][:n]
                run.cost.add(samples, flops_fn, seen_prefix=bool(text))
                for sample in samples:
                    step = sample.text
                    closed = not step.endswith(self.delimiter)
                    mine.append(Path(text + step, finished=closed))
            candidates.append(mine)
        scored = self._rollouts(runs, candidates, sampler, flops_fn)
        for run, mine, texts in zip(runs, candidates, scored, strict=True):
            items.extend((run.problem, texts[path.text]) for path in mine)
        verdicts = iter(score_paths(prm, items, self.prm))
        for run, mine in zip(runs, candidates, strict=True):
            for path in mine:
                path.score = aggregate(next(verdicts).step_scores, self.aggregate)
            keep = run.width - len(run.done)
            order = sorted(range(len(mine)), key=lambda i: (-mine[i].score, i))[:keep]
            kept = [mine[i] for i in order]
            run.done.extend(p for p in kept if p.finished)
            run.open = [p for p in kept if not p.finished]
            run.rounds += 1

    def _rollouts(
        self,
        runs: list[_Run],
        candidates: list[list[Path]],
        sampler: StepSampler,
        flops_fn: Any,
    ) -> list[dict[str, str]]:
        """The text each candidate is scored on: itself, or its ``lookahead``-step rollout.

        A rollout draws one continuation per step (sample 0 of its prefix, at the spec's
        temperature), in one engine call per depth for every run; identical candidates of a
        run share one rollout, and its cost is the run's.
        """
        scored = [{path.text: path.text for path in mine} for mine in candidates]
        if not self.lookahead:
            return scored
        open_texts = [{path.text for path in mine if not path.finished} for mine in candidates]
        for _ in range(self.lookahead):
            need = {
                run.problem.prompt + texts[t]: 1
                for run, texts, opened in zip(runs, scored, open_texts, strict=True)
                for t in opened
            }
            if not need:
                break
            continuations = sampler.expand(need)
            for run, texts, opened in zip(runs, scored, open_texts, strict=True):
                for t in sorted(opened):
                    sample = continuations[run.problem.prompt + texts[t]][0]
                    run.cost.add([sample], flops_fn, seen_prefix=True)
                    texts[t] += sample.text
                    if not sample.text.endswith(self.delimiter):
                        opened.discard(t)
        return scored


def beam_search(
    prm: Any,
    width: int = 4,
    expansions: int = 4,
    delimiter: str = "|",
    max_steps: int = 8,
    step_tokens: int = 12,
    aggregate: str = "min",
    prefix_cost: str = "full",
) -> BeamSearch:
    """Beam search over steps, scored by a process verifier (``prm = <a declared verifier>``).

    The curve's budgets are beam widths 1, 2, 4, … up to ``width``; ``expansions`` next steps
    are drawn per beam per round, each stopping at ``delimiter`` or after ``step_tokens``.
    """
    name = verifier_name(prm, "beam_search")
    return BeamSearch(
        name,
        width,
        expansions,
        delimiter=delimiter,
        max_steps=max_steps,
        step_tokens=step_tokens,
        aggregate=aggregate,
        prefix_cost=prefix_cost,
    )


def lookahead_search(
    prm: Any,
    width: int = 4,
    expansions: int = 4,
    lookahead: int = 1,
    delimiter: str = "|",
    max_steps: int = 8,
    step_tokens: int = 12,
    aggregate: str = "min",
    prefix_cost: str = "full",
) -> BeamSearch:
    """Beam search that scores each candidate step after rolling it out ``lookahead`` steps.

    Snell et al.'s lookahead search: a candidate is judged by the process verifier's score
    of its rollout, so a step whose consequences go wrong later ranks lower; only the
    candidate step itself is kept. Rollouts cost tokens and FLOPs like every draw.
    """
    name = verifier_name(prm, "lookahead_search")
    return BeamSearch(
        name,
        width,
        expansions,
        delimiter=delimiter,
        max_steps=max_steps,
        step_tokens=step_tokens,
        aggregate=aggregate,
        lookahead=lookahead,
        prefix_cost=prefix_cost,
    )
