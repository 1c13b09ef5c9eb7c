"""A wrapper that counts a real verifier's calls, for the verdict-cache tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pytest_tts.types import Problem, Verdict


class Counting:
    """A real verifier, counting the ``verify`` calls and items it gets; ``flops`` (a function
    of the completion) stands in for a model-based verifier's cost when given."""

    def __init__(self, inner: Any, flops: Any = None) -> None:
        self.inner = inner
        self.flops = flops
        self.calls = 0
        self.items = 0

    def identity(self) -> str:
        return str(self.inner.identity())

    def verify(self, items: Sequence[tuple[Problem, str]]) -> list[Verdict]:
        self.calls += 1
        self.items += len(items)
        verdicts = list(self.inner.verify(items))
        if self.flops is None:
            return verdicts
        return [
            Verdict(v.accepted, v.score, v.answer, v.step_scores, v.detail, self.flops(text))
            for v, (_, text) in zip(verdicts, items, strict=True)
        ]


@pytest.fixture
def counting() -> type[Counting]:
    return Counting
