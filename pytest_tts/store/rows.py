"""What the store holds, row by row: the schema, pool and prompt keys, sample rows, packing."""

from __future__ import annotations

import array
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The store's folder when none is given, relative to the rootdir (pytest) or the working
# directory (the command line). Not inside .pytest_cache, which --cache-clear wipes.
DEFAULT_CACHE_DIR = ".tts-cache"
STORE_FILENAME = "samples.sqlite"
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 120_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pools (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    provenance TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS prompts (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    pool INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    prompt INTEGER NOT NULL REFERENCES prompts(id),
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason TEXT NOT NULL,
    token_ids BLOB,
    logprobs BLOB,
    extra TEXT,
    PRIMARY KEY (pool, prompt, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verdicts (
    pool INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    prompt INTEGER NOT NULL REFERENCES prompts(id),
    idx INTEGER NOT NULL,
    verifier TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    score REAL NOT NULL,
    answer TEXT,
    step_scores TEXT,
    detail TEXT NOT NULL,
    flops REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (pool, prompt, idx, verifier)
) WITHOUT ROWID;
"""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pool_key(provenance: Mapping[str, Any]) -> str:
    """The pool's identity: sha256 of its provenance as canonical JSON."""
    return hashlib.sha256(canonical_json(dict(provenance)).encode()).hexdigest()


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()


@dataclass(frozen=True)
class StoredSample:
    """One sample row as written and read by the store."""

    prompt: str
    index: int
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    token_ids: tuple[int, ...] | None = None
    logprobs: tuple[float, ...] | None = None
    extra: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PoolInfo:
    """What ``cache info`` shows of one pool."""

    key: str
    provenance: Mapping[str, Any]
    prompts: int
    samples: int
    completion_tokens: int
    bytes: int
    created: float
    last_used: float


def pack_ints(values: Sequence[int] | None) -> bytes | None:
    return None if values is None else array.array("i", values).tobytes()


def pack_floats(values: Sequence[float] | None) -> bytes | None:
    # float32 halves the size; logprobs need no more than 7 significant digits
    return None if values is None else array.array("f", values).tobytes()


def unpack(code: str, blob: bytes | None) -> tuple[Any, ...] | None:
    if blob is None:
        return None
    values = array.array(code)
    values.frombytes(blob)
    return tuple(values)


def missing_runs(present: Iterable[int], n: int) -> list[tuple[int, int]]:
    """Contiguous runs ``(first, count)`` of the indices ``0..n-1`` not in ``present``."""
    have = set(present)
    runs: list[tuple[int, int]] = []
    first = None
    for i in range(n + 1):
        gap = i < n and i not in have
        if gap and first is None:
            first = i
        elif not gap and first is not None:
            runs.append((first, i - first))
            first = None
    return runs
