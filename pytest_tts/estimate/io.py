"""Reading imported sample files (JSON lines) into pools.

Two layouts are read, detected from the first record:

- **per sample**: one object per sample, ``{"problem_id", "index"?, "completion"?, "answer",
  "correct", "completion_tokens"?, "prompt_tokens"?, "scores": {name: float}?,
  "accepted": {name: bool}?, "logprob_mean"?, "logprob_sum"?}``. The same layout is what the
  replay backend reads, so a pool exported from a run can be replayed and re-estimated.
- **per problem**: one object per problem holding parallel lists, e.g. Qwen2.5-Math's
  evaluation files (``pred[8]``, ``score[8]``, ``pred_score[8]``). :class:`ProblemFields`
  names the fields; list-valued scores per sample (a reward per step) use their last element.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.pool import PoolArrays, encode_answers


@dataclass(frozen=True)
class ProblemFields:
    """Where a per-problem record keeps each list (defaults: Qwen2.5-Math's evaluation files).

    ``scores`` maps a verifier name to a field; ``completion_tokens`` a list of counts, or
    None for none (token costs are then 0).
    """

    id: str = "idx"
    answers: str = "pred"
    correct: str = "score"
    scores: Mapping[str, str] = field(default_factory=lambda: {"reward": "pred_score"})
    completion_tokens: str | None = None
    prompt_tokens: str | None = None


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """JSON objects, one per non-blank line; errors name the line."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{path}:{number}: not valid JSON ({exc.msg})"
                raise EstimationError(msg) from None
            if not isinstance(record, dict):
                msg = f"{path}:{number}: expected a JSON object, got {type(record).__name__}"
                raise EstimationError(msg)
            records.append(record)
    if not records:
        msg = f"{path}: no records"
        raise EstimationError(msg)
    return records


def _last(value: Any) -> float:
    """A score, or the last element of a list of step scores."""
    while isinstance(value, list):
        if not value:
            return float("nan")
        value = value[-1]
    return float(value)


def _field(record: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return record[name]
    except KeyError:
        msg = f"{where}: no field {name!r} (fields: {', '.join(sorted(record))})"
        raise EstimationError(msg) from None


def pool_from_problem_records(
    records: Iterable[Mapping[str, Any]],
    fields: ProblemFields | None = None,
    normalizer: Callable[[str], str | None] | None = None,
) -> PoolArrays:
    """A pool from per-problem records with parallel per-sample lists."""
    f = fields or ProblemFields()
    rows = list(records)
    ids, answers, correct, tokens, prompt = [], [], [], [], []
    scores: dict[str, list[list[float]]] = {name: [] for name in f.scores}
    for i, rec in enumerate(rows):
        where = f"record {i + 1}"
        ids.append(str(rec.get(f.id, i)))
        answers.append([None if a is None else str(a) for a in _field(rec, f.answers, where)])
        correct.append([bool(c) for c in _field(rec, f.correct, where)])
        for name, source in f.scores.items():
            scores[name].append([_last(s) for s in _field(rec, source, where)])
        n = len(answers[-1])
        tokens.append(
            [int(t) for t in _field(rec, f.completion_tokens, where)]
            if f.completion_tokens
            else [0] * n
        )
        prompt.append(int(_field(rec, f.prompt_tokens, where)) if f.prompt_tokens else 0)
        lengths = {len(answers[-1]), len(correct[-1]), len(tokens[-1])}
        lengths |= {len(v[-1]) for v in scores.values()}
        if len(lengths) != 1:
            msg = f"{where}: per-sample lists have different lengths {sorted(lengths)}"
            raise EstimationError(msg)
    return PoolArrays(
        problem_ids=tuple(ids),
        correct=np.array(correct, dtype=bool),
        answers=encode_answers(answers, normalizer),
        completion_tokens=np.array(tokens, dtype=np.int64),
        prompt_tokens=np.array(prompt, dtype=np.int64),
        scores={name: np.array(v, dtype=np.float64) for name, v in scores.items()},
    )


def pool_from_sample_records(
    records: Iterable[Mapping[str, Any]],
    normalizer: Callable[[str], str | None] | None = None,
) -> PoolArrays:
    """A pool from per-sample records (see the module docstring); rectangular."""
    groups: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for i, rec in enumerate(records):
        pid = str(_field(rec, "problem_id", f"record {i + 1}"))
        members = groups.setdefault(pid, [])
        members.append((int(rec.get("index", len(members))), rec))
    ids = list(groups)
    sizes = {pid: len(v) for pid, v in groups.items()}
    if len(set(sizes.values())) != 1:
        few = min(sizes, key=sizes.__getitem__)
        msg = (
            f"every problem needs the same number of samples; {ids[0]!r} has {sizes[ids[0]]}, "
            f"{few!r} has {sizes[few]}"
        )
        raise EstimationError(msg)
    ordered = [[rec for _, rec in sorted(groups[pid], key=lambda x: x[0])] for pid in ids]
    first = ordered[0][0]
    score_names = sorted(first.get("scores") or {})
    accept_names = sorted(first.get("accepted") or {})

    def grid(get: Callable[[Mapping[str, Any]], Any], dtype: Any) -> Any:
        return np.array([[get(rec) for rec in row] for row in ordered], dtype=dtype)

    def optional(name: str) -> Any:
        if all(name in rec for row in ordered for rec in row):
            return grid(lambda r: r[name], np.float64)
        return None

    return PoolArrays(
        problem_ids=tuple(ids),
        correct=grid(lambda r: bool(r.get("correct", False)), bool),
        answers=encode_answers([[r.get("answer") for r in row] for row in ordered], normalizer),
        completion_tokens=grid(lambda r: int(r.get("completion_tokens", 0)), np.int64),
        prompt_tokens=np.array([int(row[0].get("prompt_tokens", 0)) for row in ordered]),
        scores={n: grid(_getter("scores", n, _last), np.float64) for n in score_names},
        accepted={n: grid(_getter("accepted", n, bool), bool) for n in accept_names},
        logprob_sum=optional("logprob_sum"),
        logprob_mean=optional("logprob_mean"),
    )


def _getter(
    group: str, name: str, convert: Callable[[Any], Any]
) -> Callable[[Mapping[str, Any]], Any]:
    def get(record: Mapping[str, Any]) -> Any:
        try:
            return convert(record[group][name])
        except (KeyError, TypeError):
            msg = f"a sample of {record.get('problem_id')!r} has no {group}[{name!r}]"
            raise EstimationError(msg) from None

    return get


def read_pool(
    path: str | Path,
    layout: str = "auto",
    fields: ProblemFields | None = None,
    normalizer: Callable[[str], str | None] | None = None,
) -> PoolArrays:
    """Read a JSON-lines sample file of either layout (``auto`` looks at the first record)."""
    records = read_records(path)
    if layout == "auto":
        layout = "samples" if "problem_id" in records[0] else "problems"
    if layout == "samples":
        return pool_from_sample_records(records, normalizer)
    if layout == "problems":
        return pool_from_problem_records(records, fields, normalizer)
    msg = f'layout must be "auto", "samples" or "problems", got {layout!r}'
    raise EstimationError(msg)
