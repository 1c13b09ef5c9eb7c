"""The arrays a strategy reads: P problems x N samples, rectangular.

A :class:`PoolArrays` is built once per (model, dataset, sampling) pool after verification and
shared by every strategy and expectation of a spec. Builders take the stage contracts
(:class:`~pytest_tts.types.Sample` and :class:`~pytest_tts.types.Verdict`) or plain lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from pytest_tts.errors import EstimationError
from pytest_tts.types import Sample, Verdict

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# per problem, per sample: a verdict's per-step scores (None: the verdict had none)
StepGrid = tuple[tuple[tuple[float, ...] | None, ...], ...]

NO_ANSWER = -1
"""The answer code of a sample from which no answer was extracted; it never wins a vote."""


@dataclass(frozen=True, eq=False)
class PoolArrays:
    """Verified samples of P problems, N each, as numpy arrays (row p = ``problem_ids[p]``).

    - ``correct``: bool[P, N], the oracle's verdict of each sample.
    - ``answers``: int[P, N], the answer class of each sample, numbered per problem from 0
      (equal codes in a row mean the same normalized answer); ``NO_ANSWER`` (-1) when none
      was extracted. Codes are only compared within a row.
    - ``scores``: verifier or reward name -> float[P, N] (best-of-N, weighted votes).
    - ``accepted``: verifier name -> bool[P, N] (filtered votes, false-positive rates).
    - ``completion_tokens``: int[P, N] generated tokens; ``prompt_tokens``: int[P].
    - ``logprob_sum`` / ``logprob_mean``: float[P, N] total and per-token mean log-likelihood
      of each completion, or None when the engine returned no logprobs.
    - ``verifier_flops``: verifier name -> float[P, N], the model FLOPs each verdict cost
      (reward models, judges); absent for verifiers that cost none. A strategy that reads a
      verifier's scores or verdicts pays these for every sample it judges.
    - ``step_scores``: verifier name -> P x N nested tuples of each verdict's per-step scores
      (process verifiers only: those with ``Verdict.step_scores`` on some sample; None where
      a verdict had none), for step-level measures.

    Arrays are made read-only on construction, so a pool can be shared safely.
    """

    problem_ids: tuple[str, ...]
    correct: BoolArray
    answers: IntArray
    completion_tokens: IntArray
    prompt_tokens: IntArray
    scores: Mapping[str, FloatArray] = field(default_factory=dict)
    accepted: Mapping[str, BoolArray] = field(default_factory=dict)
    logprob_sum: FloatArray | None = None
    logprob_mean: FloatArray | None = None
    verifier_flops: Mapping[str, FloatArray] = field(default_factory=dict)
    step_scores: Mapping[str, StepGrid] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = tuple(str(p) for p in self.problem_ids)
        object.__setattr__(self, "problem_ids", ids)
        correct = _array(self.correct, np.bool_, "correct")
        if correct.ndim != 2:
            msg = f"correct must be a P x N array, got shape {correct.shape}"
            raise EstimationError(msg)
        shape = correct.shape
        if shape[0] != len(ids):
            msg = f"problem_ids has {len(ids)} entries but correct has {shape[0]} rows"
            raise EstimationError(msg)
        if shape[1] < 1:
            msg = "a pool needs at least one sample per problem, got N = 0"
            raise EstimationError(msg)
        object.__setattr__(self, "correct", correct)
        answers = _array(self.answers, np.int64, "answers", shape)
        if (answers < NO_ANSWER).any():
            msg = f"answer codes must be >= {NO_ANSWER}, found {int(answers.min())}"
            raise EstimationError(msg)
        object.__setattr__(self, "answers", answers)
        tokens = _array(self.completion_tokens, np.int64, "completion_tokens", shape)
        object.__setattr__(self, "completion_tokens", tokens)
        prompt = _array(self.prompt_tokens, np.int64, "prompt_tokens", (shape[0],))
        object.__setattr__(self, "prompt_tokens", prompt)
        scores = {
            name: _array(v, np.float64, f"scores[{name!r}]", shape, finite=True)
            for name, v in self.scores.items()
        }
        object.__setattr__(self, "scores", MappingProxyType(scores))
        accepted = {
            name: _array(v, np.bool_, f"accepted[{name!r}]", shape)
            for name, v in self.accepted.items()
        }
        object.__setattr__(self, "accepted", MappingProxyType(accepted))
        verifier_flops = {
            name: _array(v, np.float64, f"verifier_flops[{name!r}]", shape, finite=True)
            for name, v in self.verifier_flops.items()
        }
        object.__setattr__(self, "verifier_flops", MappingProxyType(verifier_flops))
        for name, grid in self.step_scores.items():
            if len(grid) != shape[0] or any(len(row) != shape[1] for row in grid):
                msg = f"step_scores[{name!r}] must be {shape[0]} rows of {shape[1]} samples"
                raise EstimationError(msg)
        object.__setattr__(self, "step_scores", MappingProxyType(dict(self.step_scores)))
        for name in ("logprob_sum", "logprob_mean"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _array(value, np.float64, name, shape, finite=True))

    @property
    def n_problems(self) -> int:
        return int(self.correct.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.correct.shape[1])

    def score(self, name: str) -> FloatArray:
        """The scores of verifier ``name``; the error lists the names this pool has."""
        try:
            return self.scores[name]
        except KeyError:
            msg = f"the pool has no scores from verifier {name!r} (it has: {_names(self.scores)})"
            raise EstimationError(msg) from None

    def accepts(self, name: str) -> BoolArray:
        """The accept verdicts of verifier ``name``."""
        try:
            return self.accepted[name]
        except KeyError:
            msg = (
                f"the pool has no verdicts from verifier {name!r} (it has: {_names(self.accepted)})"
            )
            raise EstimationError(msg) from None

    def subset(self, rows: Sequence[int] | npt.NDArray[np.intp]) -> PoolArrays:
        """The pool restricted to the given problem rows (in that order)."""
        idx = np.asarray(rows, dtype=np.intp)
        return PoolArrays(
            problem_ids=tuple(self.problem_ids[i] for i in idx),
            correct=self.correct[idx],
            answers=self.answers[idx],
            completion_tokens=self.completion_tokens[idx],
            prompt_tokens=self.prompt_tokens[idx],
            scores={k: v[idx] for k, v in self.scores.items()},
            accepted={k: v[idx] for k, v in self.accepted.items()},
            logprob_sum=None if self.logprob_sum is None else self.logprob_sum[idx],
            logprob_mean=None if self.logprob_mean is None else self.logprob_mean[idx],
            verifier_flops={k: v[idx] for k, v in self.verifier_flops.items()},
        )

    def first(self, n: int) -> PoolArrays:
        """The pool of the first ``n`` samples of every problem (a smaller pool's view)."""
        if not 1 <= n <= self.n_samples:
            msg = f"n must be between 1 and the pool's N = {self.n_samples}, got {n}"
            raise EstimationError(msg)
        return PoolArrays(
            problem_ids=self.problem_ids,
            correct=self.correct[:, :n],
            answers=self.answers[:, :n],
            completion_tokens=self.completion_tokens[:, :n],
            prompt_tokens=self.prompt_tokens,
            scores={k: v[:, :n] for k, v in self.scores.items()},
            accepted={k: v[:, :n] for k, v in self.accepted.items()},
            logprob_sum=None if self.logprob_sum is None else self.logprob_sum[:, :n],
            logprob_mean=None if self.logprob_mean is None else self.logprob_mean[:, :n],
            verifier_flops={k: v[:, :n] for k, v in self.verifier_flops.items()},
        )


def _names(mapping: Mapping[str, Any]) -> str:
    return ", ".join(sorted(mapping)) or "none"


def _array(
    value: Any,
    dtype: type[np.generic],
    name: str,
    shape: tuple[int, ...] | None = None,
    *,
    finite: bool = False,
) -> Any:
    arr = np.array(value, dtype=dtype, copy=True)
    if shape is not None and arr.shape != shape:
        msg = f"{name} must have shape {shape}, got {arr.shape}"
        raise EstimationError(msg)
    if finite and not np.isfinite(arr).all():
        msg = f"{name} must be finite, found {int((~np.isfinite(arr)).sum())} NaN/inf values"
        raise EstimationError(msg)
    arr.setflags(write=False)
    return arr


def encode_answers(
    answers: Sequence[Sequence[str | None]],
    normalizer: Callable[[str], str | None] | None = None,
) -> IntArray:
    """Answer class codes from answer strings, one row per problem.

    Each string goes through ``normalizer`` (default: strip surrounding whitespace); equal
    normalized strings in a row get the same code, numbered in order of first appearance.
    None, an empty string, or a normalizer returning None/"" give ``NO_ANSWER``.
    """
    norm = normalizer if normalizer is not None else str.strip
    rows = [list(r) for r in answers]
    if not rows:
        return np.zeros((0, 0), dtype=np.int64)
    width = len(rows[0])
    codes = np.full((len(rows), width), NO_ANSWER, dtype=np.int64)
    for p, row in enumerate(rows):
        if len(row) != width:
            msg = f"answers must be rectangular: row 0 has {width} entries, row {p} has {len(row)}"
            raise EstimationError(msg)
        seen: dict[str, int] = {}
        for i, raw in enumerate(row):
            key = None if raw is None else norm(raw)
            if key:
                codes[p, i] = seen.setdefault(key, len(seen))
    return codes


def pool_from_samples(
    samples: Iterable[Sample],
    oracle: Iterable[Verdict],
    verifiers: Mapping[str, Iterable[Verdict]] | None = None,
    *,
    answers_from: str | None = None,
    normalizer: Callable[[str], str | None] | None = None,
    n: int | None = None,
    problem_ids: Sequence[str] | None = None,
) -> PoolArrays:
    """Build a pool from samples and their verdicts (parallel sequences, any order).

    ``oracle[i]`` and ``verifiers[name][i]`` judge ``samples[i]``. Samples are grouped by
    ``problem_id`` (rows in ``problem_ids`` order, default first appearance) and ordered by
    ``index``. With ``n`` only samples with index < n are used and every problem must have
    all of them; without it every problem must have the same number. Answer classes come
    from the ``answer`` of the oracle's verdicts, or of verifier ``answers_from``, through
    ``normalizer`` (see :func:`encode_answers`). Logprob arrays are filled when every sample
    carries ``logprobs``.
    """
    sample_list = list(samples)
    oracle_list = list(oracle)
    verifier_lists = {name: list(v) for name, v in (verifiers or {}).items()}
    for name, verdicts in [("oracle", oracle_list), *verifier_lists.items()]:
        if len(verdicts) != len(sample_list):
            msg = f"{name} has {len(verdicts)} verdicts for {len(sample_list)} samples"
            raise EstimationError(msg)
    if answers_from is not None and answers_from not in verifier_lists:
        msg = f"answers_from names verifier {answers_from!r}, not among: {_names(verifier_lists)}"
        raise EstimationError(msg)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(sample_list):
        groups.setdefault(s.problem_id, []).append(i)
    ids = list(problem_ids) if problem_ids is not None else list(groups)
    missing = [p for p in ids if p not in groups]
    if missing:
        msg = f"no samples for {len(missing)} problems, e.g. {missing[0]!r}"
        raise EstimationError(msg)
    rows: list[list[int]] = []
    for pid in ids:
        members = sorted(groups[pid], key=lambda i: sample_list[i].index)
        if n is not None:
            members = [i for i in members if sample_list[i].index < n]
            indices = [sample_list[i].index for i in members]
            if indices != list(range(n)):
                msg = f"problem {pid!r} needs samples 0..{n - 1}, has {len(set(indices))} of them"
                raise EstimationError(msg)
        rows.append(members)
    width = len(rows[0]) if rows else 0
    for pid, row in zip(ids, rows, strict=True):
        if len(row) != width:
            msg = (
                f"pools must be rectangular: problem {ids[0]!r} has {width} samples, "
                f"{pid!r} has {len(row)} (pass n= to use the first n of each)"
            )
            raise EstimationError(msg)
    if width == 0:
        msg = "cannot build a pool from zero samples"
        raise EstimationError(msg)
    take = np.array(rows, dtype=np.intp)

    def grid(values: Sequence[Any], dtype: type[np.generic]) -> Any:
        return np.asarray(values, dtype=dtype)[take]

    answer_source = oracle_list if answers_from is None else verifier_lists[answers_from]
    answer_strings = [[answer_source[i].answer for i in row] for row in rows]
    logprob_sum = logprob_mean = None
    if all(s.logprobs is not None for s in sample_list):
        sums = [float(np.sum(s.logprobs)) if s.logprobs else 0.0 for s in sample_list]
        means = [float(np.mean(s.logprobs)) if s.logprobs else 0.0 for s in sample_list]
        logprob_sum, logprob_mean = grid(sums, np.float64), grid(means, np.float64)
    prompt_tokens = [sample_list[row[0]].prompt_tokens for row in rows]
    return PoolArrays(
        problem_ids=tuple(ids),
        correct=grid([v.accepted for v in oracle_list], np.bool_),
        answers=encode_answers(answer_strings, normalizer),
        completion_tokens=grid([s.completion_tokens for s in sample_list], np.int64),
        prompt_tokens=np.asarray(prompt_tokens, dtype=np.int64),
        scores={k: grid([v.score for v in vs], np.float64) for k, vs in verifier_lists.items()},
        accepted={k: grid([v.accepted for v in vs], np.bool_) for k, vs in verifier_lists.items()},
        logprob_sum=logprob_sum,
        logprob_mean=logprob_mean,
        verifier_flops={
            k: grid([v.flops for v in vs], np.float64)
            for k, vs in verifier_lists.items()
            if any(v.flops for v in vs)
        },
        step_scores={
            k: tuple(tuple(vs[i].step_scores for i in row) for row in rows)
            for k, vs in verifier_lists.items()
            if any(v.step_scores is not None for v in vs)
        },
    )
