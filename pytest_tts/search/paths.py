"""Paths of a step-wise search: draws, partial completions and their scores.

A *draw* is one continuation of a prefix (the prompt and the whole steps chosen so far); a
*path* is the completion a draw ends, scored by aggregating a process verifier's step scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.search.cost import RunCost
from pytest_tts.types import Problem, Sample, Verdict

AGGREGATES = ("min", "product", "mean", "last")


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


class Run(Protocol):
    """One search on one problem at one budget, as :class:`StepSearch` drives it."""

    problem: Problem
    cost: RunCost

    @property
    def active(self) -> bool: ...

    def answer(self) -> Path: ...
