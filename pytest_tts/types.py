"""Plain data shared across stages: problems, samples and verdicts.

These are the currency between dataset sources, backends, the sample store, verifiers and
estimators. They are frozen and hold only plain Python values, so they pickle, hash and
serialize without surprises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PARAMS_KEY = "num_parameters"
"""The key of a model config that gives only its parameter count (``replay(..., params =
1.5e9)``); :mod:`pytest_tts.estimate.flops` then counts 2 x parameters per token."""


@dataclass(frozen=True)
class Problem:
    """One dataset row after mapping: a stable id, the exact prompt text, the reference.

    ``prompt`` is exactly what the engine sees (templates already applied; for chat models
    the chat template too). ``answer`` is the reference answer the oracle compares against
    (None for problems judged by tests, e.g. HumanEval). ``meta`` holds anything else a
    verifier needs (unit tests, entry point, step annotations). ``difficulty`` is the bin the
    dataset puts the problem in (``difficulty = "level"`` on a source), None when it has none.
    """

    id: str
    prompt: str
    answer: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    difficulty: str | None = None


@dataclass(frozen=True)
class Sample:
    """One completion of one prompt, as the engine returned it.

    ``index`` is the sample's position in its pool for that prompt (0-based); together with
    the pool's seed it determines the sample exactly. ``logprobs`` are per generated token
    (None unless a strategy asked for them). ``extra`` holds what a backend recorded beside
    the text (a replayed sample's ``answer``, ``correct``, ``score``, ``step_scores``); it
    is never part of the sample's identity.
    """

    problem_id: str
    index: int
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    logprobs: tuple[float, ...] | None = None
    token_ids: tuple[int, ...] | None = None
    extra: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class Verdict:
    """What a verifier says of one sample.

    ``accepted`` is the binary verdict; ``score`` a real-valued score (1.0/0.0 for binary
    verifiers, a reward for reward models) used by best-of-N and weighted voting; ``answer``
    the extracted, normalized answer (None when none could be extracted) that voting groups
    by; ``step_scores`` per-step scores for process verifiers; ``detail`` a short reason
    shown in reports (e.g. "timeout", "assertion failed"); ``flops`` the model FLOPs spent
    reaching the verdict (0.0 for rule-based verifiers; a reward model's or judge's forward
    passes otherwise), which strategies that read the verifier add to their cost. ``error``
    marks a sample the verifier could not judge for a reason of the *problem* (a reference it
    cannot parse): the sample counts as rejected, the engine counts and lists such problems,
    and the verdict is never cached.
    """

    accepted: bool
    score: float
    answer: str | None = None
    step_scores: tuple[float, ...] | None = None
    detail: str = ""
    flops: float = 0.0
    error: bool = False
