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
real counts (see ``pytest_tts.search.cost``), prefixes counted in full every round;
``prefix_cost = "cached"`` counts only the first round's prompt instead, the cost on an
engine whose prefix cache keeps every earlier round (vLLM on GPU, for prompts longer than a
KV block).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pytest_tts.errors import EstimationError
from pytest_tts.search.cost import RunCost
from pytest_tts.search.loop import StepSearch
from pytest_tts.search.paths import Draw, Path, path_score
from pytest_tts.search.verdicts import Searcher
from pytest_tts.strategies.base import verifier_name
from pytest_tts.types import Problem


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
        # out of rounds, open beams end where they are
        pool = self.done + self.open
        best = max(range(len(pool)), key=lambda i: (pool[i].score, -i))
        return pool[best]


class BeamSearch(StepSearch):
    """A search strategy: the session calls :meth:`search_curve` (see the module doc)."""

    name = "beam_search"

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
        super().__init__(
            prm,
            width,
            delimiter=delimiter,
            max_steps=max_steps,
            step_tokens=step_tokens,
            aggregate=aggregate,
            prefix_cost=prefix_cost,
            counts=(("width", width), ("expansions", expansions)),
        )
        self.width = width
        self.expansions = expansions
        self.lookahead = lookahead
        text = f"beam_search(prm = {prm}, width = {width}, expansions = {expansions})"
        if lookahead:
            text = (
                f"lookahead_search(prm = {prm}, width = {width}, expansions = {expansions}, "
                f"lookahead = {lookahead})"
            )
        self.text = self.named(text)

    def new_run(self, problem: Problem, budget: int, context: Any) -> _Run:
        return _Run(problem, budget)

    def samples_at(self, budget: int) -> float:
        return float(budget * self.expansions)

    def step(self, runs: list[_Run], search: Searcher) -> None:
        wants: list[Counter[str]] = []
        for run in runs:
            counts: Counter[str] = Counter()
            for path in run.open:
                counts[path.text] += self.expansions
            wants.append(counts)
        candidates = [
            [
                Path(
                    text + d.sample.text,
                    finished=not d.sample.text.endswith(self.delimiter),
                    draw=d,
                )
                for text, draws in mine.items()
                for d in draws
            ]
            for mine in search.draw(runs, wants)
        ]
        rolled = self._rollouts(runs, candidates, search)
        scored = [
            [rolled_i.get(path.text, path.ended()) for path in mine]
            for mine, rolled_i in zip(candidates, rolled, strict=True)
        ]
        verdicts = search.score(runs, scored)
        for run, mine, got in zip(runs, candidates, verdicts, strict=True):
            for path, verdict in zip(mine, got, strict=True):
                path.score = path_score(verdict, self.aggregate)
            keep = run.width - len(run.done)
            order = sorted(range(len(mine)), key=lambda i: (-mine[i].score, i))[:keep]
            kept = [mine[i] for i in order]
            run.done.extend(p for p in kept if p.finished)
            run.open = [p for p in kept if not p.finished]
            run.rounds += 1

    def _rollouts(
        self, runs: list[_Run], candidates: list[list[Path]], search: Searcher
    ) -> list[dict[str, Draw]]:
        """The draw each open candidate is scored at: the last step of its ``lookahead``-step
        rollout (none without lookahead: a candidate is scored at its own draw).

        A rollout draws one continuation per step (sample 0 of its prefix, at the spec's
        temperature), in one engine call per depth for every run; identical candidates of a
        run share one rollout, and its cost is the run's.
        """
        ends: list[dict[str, Draw]] = [{} for _ in runs]
        if not self.lookahead:
            return ends
        texts = [{p.text: p.text for p in mine if not p.finished} for mine in candidates]
        opened = [set(t) for t in texts]
        for _ in range(self.lookahead):
            if not any(opened):
                break
            wants = [
                {rollout[t]: 1 for t in sorted(still)}
                for rollout, still in zip(texts, opened, strict=True)
            ]
            drawn = search.draw(runs, wants)
            for rollout, still, mine, end in zip(texts, opened, drawn, ends, strict=True):
                for t in sorted(still):
                    d = mine[rollout[t]][0]
                    end[t] = d
                    rollout[t] += d.sample.text
                    if not d.sample.text.endswith(self.delimiter):
                        still.discard(t)
        return ends


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
