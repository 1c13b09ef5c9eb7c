"""``recorded()``: the judgement that came with a replayed sample, as a verifier.

Samples generated elsewhere often carry their own verdicts: a correctness label, a reward
model's score (per step for a process reward model), the extracted answer. ``replay(...)``
keeps those fields with each sample (``Sample.extra``); this verifier reads them back, so a
spec can use them as its oracle::

    verifier labels = recorded()
    spec "…" { oracle labels   expect accuracy >= 0.85 at n = 1 }

or put them under test against another oracle (``best_of_n(verifier = labels)``,
``false_positive_rate(labels)``). The verdict is ``correct``; the score is ``score`` (1.0/0.0
from ``correct`` when the file has none); ``step_scores`` is kept; the answer that votes is
the recorded ``answer``. With ``threshold = t`` a sample without ``correct`` is accepted when
its score is at least ``t`` (a reward model's verdict).

A sample that lacks a field the verdict needs is an error naming the problem, the sample and
the field; the engine adds the pool. Samples of a live engine carry no such fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_tts.errors import VerifierError
from pytest_tts.types import Problem, Sample, Verdict
from pytest_tts.verifiers.base import make_identity


class Recorded:
    """Verdicts read from the samples' recorded fields (see the module docstring)."""

    name = "recorded"
    version = 1
    # verify() receives (problem, Sample) pairs, not (problem, text)
    reads_samples = True

    def __init__(self, threshold: float | None) -> None:
        self.threshold = threshold

    def identity(self) -> str:
        return make_identity(self.name, self.version, {"threshold": self.threshold})

    def verify(self, items: Sequence[tuple[Problem, Any]]) -> list[Verdict]:
        return [self._one(problem, sample) for problem, sample in items]

    def _one(self, problem: Problem, sample: Any) -> Verdict:
        if not isinstance(sample, Sample):
            msg = (
                "recorded() reads the fields a replayed sample carries; it cannot judge text "
                "generated in this run (use it on a replay(...) model, not in a search)"
            )
            raise VerifierError(msg)
        extra: Mapping[str, Any] = sample.extra or {}
        where = f"problem {problem.id!r}, sample {sample.index}"
        if "row" in extra:
            where += f" (row {extra['row']} of the replayed file)"
        score = extra.get("score")
        if score is not None and not _is_number(score):
            msg = f"{where}: recorded field 'score' is {score!r}, not a number"
            raise VerifierError(msg)
        correct = extra.get("correct")
        if correct is None:
            if self.threshold is None:
                msg = (
                    f"{where} has no recorded field 'correct'"
                    f" (recorded fields: {_listing(extra)}); map it in replay(correct = ...)"
                    " or give recorded(threshold = ...) to accept by score"
                )
                raise VerifierError(msg)
            if score is None:
                msg = (
                    f"{where} has neither 'correct' nor 'score' recorded"
                    f" (recorded fields: {_listing(extra)})"
                )
                raise VerifierError(msg)
            accepted = float(score) >= self.threshold
        elif isinstance(correct, bool):
            accepted = correct
        else:
            msg = f"{where}: recorded field 'correct' is {correct!r}, not true or false"
            raise VerifierError(msg)
        steps = extra.get("step_scores")
        answer = extra.get("answer")
        return Verdict(
            accepted=accepted,
            score=float(score) if score is not None else (1.0 if accepted else 0.0),
            answer=None if answer is None else str(answer),
            step_scores=None if steps is None else tuple(float(x) for x in steps),
            detail="recorded",
        )

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _listing(extra: Mapping[str, Any]) -> str:
    return ", ".join(sorted(k for k in extra if k != "row")) or "none"


def recorded(threshold: float | None = None) -> Recorded:
    """The replayed samples' own verdicts (``correct``), scores and answers."""
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float))
    ):
        msg = f"threshold must be a number, got {threshold!r}"
        raise VerifierError(msg)
    return Recorded(None if threshold is None else float(threshold))
