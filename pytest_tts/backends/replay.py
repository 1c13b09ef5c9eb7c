"""Replay samples generated elsewhere: ``replay("samples.jsonl", ...)`` in a spec.

Teams whose generation runs in another system export its samples as JSONL and gate on them
like on any other pool. The format, one JSON object per line::

    {"id": "algebra-17", "prompt": "Solve ...", "completion": "... so x = 4.",
     "answer": "4", "correct": true, "score": 0.93,
     "prompt_tokens": 41, "completion_tokens": 212, "finish_reason": "stop"}

``id`` and ``completion`` are required, plus ``prompt`` when problems are matched by
prompt; the rest is optional. Records of one problem are samples 0, 1, 2, ... in file
order (or by an ``index`` field when present). A record may instead carry *lists*: a list
``completion`` holds several samples of one problem, and ``answer``, ``correct``, ``score``,
``completion_tokens`` and ``finish_reason`` are then lists of the same length (a score that
is itself a list, as process reward models give, keeps its last element as the score and
the whole list as ``step_scores``).

Field names map with keyword arguments: ``replay("math.jsonl", id = "idx", prompt =
"question", completion = "code", answer = "pred", correct = "score", score = "pred_score")``.
A problem is found by its prompt text, else by its id (``match = "id"`` uses ids only).
Missing token counts are counted with ``tokenizer = "path/to/model"`` when given, else
estimated as characters / 4 and flagged ``tokens_estimated`` in the sample's extra fields.

Seeds are ignored: a replayed sample is whatever the file holds at that index. ``answer``,
``correct``, ``score`` and ``step_scores`` are kept with each sample (``Sample.extra``, with
the file's ``row``) for the ``recorded()`` verifier, which reads them as verdicts. A field
mapped by a keyword argument must be present on every record; ``correct`` must be a
boolean and ``score`` a number (or list of numbers), else the file and row are named.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pytest_tts.backends.base import (
    Completion,
    GenerationRequest,
    GenerationResult,
    file_sha256,
    flops_config,
    resolve_path,
)
from pytest_tts.errors import BackendError

FIELDS = (
    "id",
    "prompt",
    "completion",
    "index",
    "answer",
    "correct",
    "score",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
)
_PER_SAMPLE = ("answer", "correct", "score", "completion_tokens", "finish_reason")


class ReplayBackend:
    """Samples read from a JSONL file instead of generated."""

    def __init__(
        self,
        path: Path,
        mapping: dict[str, str],
        match: str,
        tokenizer: Path | None,
        flops_config: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.flops_config = flops_config
        self.mapping = mapping
        self.match = match
        self.tokenizer_path = tokenizer
        self.label = f"replay:{path.name}"
        self.reasoning: str | None = None
        self._by_prompt: dict[str, list[dict[str, Any]]] | None = None
        self._by_id: dict[str, list[dict[str, Any]]] = {}
        self._tokenizer: Any = None

    def provenance(self) -> dict[str, Any]:
        return {
            "engine": "replay",
            "engine_version": 1,
            "model": self.path.name,
            "model_hash": file_sha256(self.path),
            "mapping": dict(sorted(self.mapping.items())),
            "match": self.match,
        }

    def model_config(self) -> dict[str, Any]:
        if self.flops_config is not None:
            return dict(self.flops_config)
        if self.tokenizer_path is not None and (self.tokenizer_path / "config.json").is_file():
            config: dict[str, Any] = json.loads((self.tokenizer_path / "config.json").read_text())
            return config
        return {}

    def _field(self, record: dict[str, Any], name: str, line: int, *, required: bool) -> Any:
        key = self.mapping.get(name, name)
        if key not in record:
            if required:
                msg = (
                    f"{self.path}:{line}: record has no field {key!r} for the sample's {name}"
                    f' (fields: {", ".join(sorted(record))}); map it with {name} = "..."'
                )
                raise BackendError(msg)
            return None
        return record[key]

    def _load(self) -> None:
        if self._by_prompt is not None:
            return
        by_prompt: dict[str, list[dict[str, Any]]] = {}
        by_id: dict[str, list[dict[str, Any]]] = {}
        with self.path.open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    msg = f"{self.path}:{line_no}: not a JSON object: {exc}"
                    raise BackendError(msg) from exc
                for sample in self._samples_of(record, line_no):
                    by_id.setdefault(sample["id"], []).append(sample)
                    if sample["prompt"] is not None:
                        by_prompt.setdefault(sample["prompt"], []).append(sample)
        for table in (by_prompt, by_id):
            for samples in table.values():
                if any(s["index"] is not None for s in samples):
                    samples.sort(key=lambda s: (s["index"] is None, s["index"] or 0))
        self._by_prompt, self._by_id = by_prompt, by_id

    def _samples_of(self, record: dict[str, Any], line: int) -> Iterator[dict[str, Any]]:
        pid = str(self._field(record, "id", line, required=True))
        prompt = self._field(record, "prompt", line, required=self.match == "prompt")
        completion = self._field(record, "completion", line, required=True)
        values = {k: self._field(record, k, line, required=k in self.mapping) for k in _PER_SAMPLE}
        common = {
            "id": pid,
            "prompt": None if prompt is None else str(prompt),
            "prompt_tokens": self._field(record, "prompt_tokens", line, required=False),
        }
        if isinstance(completion, list):
            for k, v in values.items():
                if v is not None and (not isinstance(v, list) or len(v) != len(completion)):
                    msg = (
                        f"{self.path}:{line}: {len(completion)} completions but field "
                        f"{self.mapping.get(k, k)!r} is not a list of {len(completion)}"
                    )
                    raise BackendError(msg)
            for j, text in enumerate(completion):
                sample = {k: None if v is None else v[j] for k, v in values.items()}
                self._check(sample, line, f"[{j}]")
                yield {**common, "index": None, "completion": str(text), "row": line, **sample}
        else:
            index = self._field(record, "index", line, required=False)
            self._check(values, line, "")
            yield {
                **common,
                "index": None if index is None else int(index),
                "completion": str(completion),
                "row": line,
                **values,
            }

    def _check(self, sample: dict[str, Any], line: int, at: str) -> None:
        """Reject a recorded verdict or score of the wrong type, naming file, row and field."""
        correct = sample["correct"]
        if correct is not None and not isinstance(correct, bool):
            name = self.mapping.get("correct", "correct")
            msg = f"{self.path}:{line}: field {name!r}{at} is {correct!r}, not true or false"
            raise BackendError(msg)
        score = sample["score"]
        scores = score if isinstance(score, list) else [] if score is None else [score]
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in scores):
            name = self.mapping.get("score", "score")
            msg = (
                f"{self.path}:{line}: field {name!r}{at} is {score!r},"
                " not a number or a list of numbers"
            )
            raise BackendError(msg)

    def _count(self, text: str) -> tuple[int, bool]:
        if self.tokenizer_path is None:
            return max(1, round(len(text) / 4)), True
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(str(self.tokenizer_path))
        return len(self._tokenizer.encode(text, add_special_tokens=False)), False

    def _lookup(self, request: GenerationRequest) -> list[dict[str, Any]]:
        self._load()
        assert self._by_prompt is not None
        found = None
        if self.match == "prompt":
            found = self._by_prompt.get(request.prompt)
        if found is None:
            found = self._by_id.get(str(request.problem_id))
        if found is None:
            what = f"id {request.problem_id!r}"
            if self.match == "prompt":
                what = f"prompt {request.prompt[:60]!r} or {what}"
            msg = f"{self.path} has no samples for {what}"
            raise BackendError(msg)
        return found

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[GenerationResult]:
        for request in requests:
            samples = self._lookup(request)
            end = request.first_index + request.n
            if len(samples) < end:
                msg = (
                    f"{self.path} holds {len(samples)} samples of problem "
                    f"{request.problem_id!r}; the spec asks for {end}"
                )
                raise BackendError(msg)
            yield GenerationResult(
                request, tuple(self._completion(s) for s in samples[request.first_index : end])
            )

    def _completion(self, s: dict[str, Any]) -> Completion:
        extra: dict[str, Any] = {"row": s["row"]}
        for key in ("answer", "correct"):
            if s[key] is not None:
                extra[key] = s[key]
        score = s["score"]
        if isinstance(score, list):
            extra["step_scores"] = [float(x) for x in score]
            score = score[-1] if score else None
        if score is not None:
            extra["score"] = float(score)
        tokens = s["completion_tokens"]
        if tokens is None:
            tokens, estimated = self._count(s["completion"])
            if estimated:
                extra["tokens_estimated"] = True
        prompt_tokens = s["prompt_tokens"]
        if prompt_tokens is None:
            prompt_tokens = self._count(s["prompt"] or "")[0]
        return Completion(
            text=s["completion"],
            prompt_tokens=int(prompt_tokens),
            completion_tokens=int(tokens),
            finish_reason=str(s["finish_reason"] or "stop"),
            extra=extra,
        )

    def close(self) -> None:
        self._by_prompt = None
        self._by_id = {}


def replay(
    path: str,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    match: str = "prompt",
    tokenizer: str | None = None,
    config: str | None = None,
    params: float | None = None,
    reasoning: str | None = None,
    **fields: str,
) -> ReplayBackend:
    """Samples from a JSONL file (see the module docstring for the format).

    ``fields`` maps this format's field names to the file's (``completion = "code"``).
    ``config`` (the generating model's ``config.json`` or folder) or ``params`` (its
    parameter count) gives the pool FLOPs, counted as for a local engine; without either
    (or a ``tokenizer`` folder with a config.json) its FLOPs are unknown.
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        msg = f"replay() has no field {unknown[0]!r}; mappable fields: {', '.join(FIELDS)}"
        raise BackendError(msg)
    if match not in ("prompt", "id"):
        msg = f"match must be 'prompt' or 'id', got {match!r}"
        raise BackendError(msg)
    file = resolve_path(path, base_dir)
    if not file.is_file():
        msg = f"replay file {file} does not exist (resolved from {path!r})"
        raise BackendError(msg)
    tok = None if tokenizer is None else resolve_path(tokenizer, base_dir)
    flops = flops_config(config, params, base_dir, who=f"replay({path!r})")
    backend = ReplayBackend(file, dict(fields), match, tok, flops)
    backend.reasoning = reasoning
    return backend
