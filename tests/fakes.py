"""The test suite's one fake backend and one counting verifier, for tests of plumbing.

A fake is never the only proof that a feature works: every path they stand in for is also
run on a real engine (``tests/generate/test_engine.py``, the ``engine``-marked tests).
Importable as ``tests.fakes`` (the repository root is on ``sys.path`` through its
``conftest.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_tts.backends.base import Completion, GenerationRequest, GenerationResult
from pytest_tts.errors import EngineError
from pytest_tts.types import Problem, Verdict

# script(request, index) -> the completion text (or a whole Completion) of sample ``index``
Script = Callable[[GenerationRequest, int], "str | Completion"]


class ScriptedBackend:
    """A backend whose completions ``script(request, index)`` writes.

    ``index`` is the sample's index in its pool (``request.first_index + j``), so a seeded
    script is reproducible like a seeded engine. A text becomes a completion with the prompt's
    length + 1 (BOS) prompt tokens and its own length in completion tokens. Every call is kept
    in ``calls``; ``fail_after=k`` raises ``EngineError`` at the k-th request of a call;
    ``out_of_order`` yields results last request first, as an engine may finish them.
    """

    def __init__(
        self,
        script: Script,
        *,
        label: str = "scripted",
        provenance: Mapping[str, Any] | None = None,
        model_config: Mapping[str, Any] | None = None,
        fail_after: int | None = None,
        out_of_order: bool = False,
    ) -> None:
        self.script = script
        self.label = label
        self._provenance = dict(provenance or {"engine": label})
        self._model_config = dict(model_config or {})
        self.fail_after = fail_after
        self.out_of_order = out_of_order
        self.calls: list[list[GenerationRequest]] = []
        self.closed = 0

    def provenance(self) -> dict[str, Any]:
        return dict(self._provenance)

    def model_config(self) -> dict[str, Any]:
        return dict(self._model_config)

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[GenerationResult]:
        self.calls.append(list(requests))
        ordered = list(reversed(requests)) if self.out_of_order else list(requests)
        for k, request in enumerate(ordered):
            if self.fail_after is not None and k >= self.fail_after:
                raise EngineError("engine died")
            completions = []
            for j in range(request.n):
                out = self.script(request, request.first_index + j)
                if isinstance(out, str):
                    out = Completion(out, len(request.prompt) + 1, len(out))
                completions.append(out)
            yield GenerationResult(request, tuple(completions))

    def close(self) -> None:
        self.closed += 1


class Counting:
    """A real verifier, counting the ``verify`` calls and items it gets; ``flops`` (a
    function of the completion) stands in for a model-based verifier's cost when given."""

    def __init__(self, inner: Any, flops: Callable[[str], float] | None = None) -> None:
        self.inner = inner
        self.flops = flops
        self.calls = 0
        self.items = 0

    def identity(self) -> str:
        return str(self.inner.identity())

    def verify(self, items: Sequence[tuple[Problem, Any]]) -> list[Verdict]:
        self.calls += 1
        self.items += len(items)
        verdicts = list(self.inner.verify(items))
        if self.flops is None:
            return verdicts
        flops = self.flops
        return [
            Verdict(v.accepted, v.score, v.answer, v.step_scores, v.detail, flops(_text(item)))
            for v, item in zip(verdicts, items, strict=True)
        ]


def _text(item: tuple[Problem, Any]) -> str:
    _, completion = item
    return completion if isinstance(completion, str) else str(completion.text)


def write_replayed_sums(
    folder: Path,
    *,
    problems: int,
    samples: int,
    right: Callable[[int, int], bool],
    step: int = 3,
) -> None:
    """Write ``sums.jsonl`` (problem i is ``10 + i`` plus ``step * i + 1``) and
    ``samples.jsonl`` (its samples for the ``replay`` backend) into ``folder``.

    Sample j of problem i states the sum when ``right(i, j)``, else the sum plus one (so
    ``last_digit`` rejects it too). Real files through the real replay backend, store,
    verifiers and gates: only the samples are made up.
    """
    rows, records = [], []
    for i in range(problems):
        a, b = 10 + i, step * i + 1
        rows.append({"id": f"p{i}", "question": f"{a}+{b}", "answer": str(a + b)})
        for j in range(samples):
            answer = a + b if right(i, j) else a + b + 1
            records.append(
                {
                    "id": f"p{i}",
                    "prompt": f"Q:{a}+{b}\nA:",
                    "completion": f"={answer}",
                    "index": j,
                    "completion_tokens": 3,
                    "prompt_tokens": 6,
                }
            )
    (folder / "sums.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (folder / "samples.jsonl").write_text("\n".join(json.dumps(r) for r in records))


def write_replayed_math(folder: Path, *, problems: int, samples: int, seed: int = 0) -> Path:
    """Write ``math.jsonl`` in the shape of the shared Qwen MATH file: one record per problem
    (``idx``, ``question``, ``gt``, ``level``) with lists of ``samples`` solutions (``code``),
    extracted answers (``pred``), labels (``score``) and reward scores (``pred_score``, one
    list per sample, the last entry the outcome score). Answers are LaTeX, labels agree with
    the reference, rewards are noisy, problems of a higher level are harder."""
    import random

    rng = random.Random(seed)
    records = []
    for i in range(problems):
        level = 1 + i % 5
        truth = rng.randint(2, 60)
        gt = f"\\frac{{{truth}}}{{2}}" if i % 3 == 0 else str(truth)
        preds, labels, rewards, code = [], [], [], []
        for _ in range(samples):
            right = rng.random() < 1.0 - 0.15 * level
            value = truth if right else truth + rng.choice([-2, -1, 1, 2])
            pred = f"\\frac{{{value}}}{{2}}" if i % 3 == 0 else str(value)
            preds.append(pred)
            labels.append(right)
            rewards.append([round(rng.random(), 2), round(rng.random() * 0.5 + 0.5 * right, 2)])
            code.append(f"Working through it step by step, we find $\\boxed{{{pred}}}$.")
        records.append(
            {
                "idx": i,
                "question": f"Problem {i}: what is the value?",
                "gt": gt,
                "level": f"Level {level}",
                "code": code,
                "pred": preds,
                "score": labels,
                "pred_score": rewards,
            }
        )
    path = folder / "math.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path
