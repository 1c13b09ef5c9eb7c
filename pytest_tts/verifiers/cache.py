"""Cached verification: judge only the samples whose verdicts the store lacks.

A verdict depends on the verifier (its ``identity()``: name, version, arguments), on the
sample (pool, prompt, index) and on the problem's reference: its answer and the meta a
verifier reads (unit tests, entry point). The store keys verdicts by (pool, prompt, index,
verifier string), so :func:`verdict_key` folds a fingerprint of the reference into that
string: editing a dataset's answer or tests re-verifies instead of reusing stale verdicts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from pytest_tts.types import Problem, Sample, Verdict
from pytest_tts.verifiers.base import Verifier


class VerdictStore(Protocol):
    """What caching needs from :class:`pytest_tts.store.SampleStore`."""

    def get_verdicts(
        self, pool: int, verifier: str, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], Verdict]: ...

    def put_verdicts(
        self, pool: int, verifier: str, verdicts: Mapping[tuple[str, int], Verdict]
    ) -> None: ...


def reference_fingerprint(problem: Problem) -> str:
    """A short hash of what a verifier compares against: the answer and the meta."""
    payload = json.dumps(
        {"answer": problem.answer, "meta": dict(problem.meta)},
        sort_keys=True,
        default=repr,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def verdict_key(verifier: Verifier, problem: Problem) -> str:
    """The store's verifier string for verdicts on ``problem``: identity + reference hash."""
    return f"{verifier.identity()}#ref={reference_fingerprint(problem)}"


def verify_cached(
    verifier: Verifier,
    store: VerdictStore,
    pool: int,
    items: Sequence[tuple[Problem, Sample]],
) -> list[Verdict]:
    """Verdicts for ``items`` in order: cached ones read, missing ones verified in one batch
    (so code verifiers still spread it over cores) and stored."""
    by_key: dict[str, list[int]] = {}
    for position, (problem, _) in enumerate(items):
        by_key.setdefault(verdict_key(verifier, problem), []).append(position)
    results: list[Verdict | None] = [None] * len(items)
    for key, positions in by_key.items():
        wanted = [(items[i][0].prompt, items[i][1].index) for i in positions]
        cached = store.get_verdicts(pool, key, wanted)
        for i, sample_key in zip(positions, wanted, strict=True):
            results[i] = cached.get(sample_key)
    missing = [i for i, verdict in enumerate(results) if verdict is None]
    if missing:
        # a verifier that reads what the backend recorded (``recorded()``) gets the samples
        whole = bool(getattr(verifier, "reads_samples", False))
        batch: list[Any] = [
            (items[i][0], items[i][1] if whole else items[i][1].text) for i in missing
        ]
        fresh = verifier.verify(batch)
        new: dict[str, dict[tuple[str, int], Verdict]] = {}
        for i, verdict in zip(missing, fresh, strict=True):
            problem, sample = items[i]
            results[i] = verdict
            if verdict.error:
                continue  # not cached: a fixed reference or verifier is tried again
            new.setdefault(verdict_key(verifier, problem), {})[(problem.prompt, sample.index)] = (
                verdict
            )
        for key, verdicts in new.items():
            store.put_verdicts(pool, key, verdicts)
    return [v for v in results if v is not None]
