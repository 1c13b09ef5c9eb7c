"""The sample store: one SQLite file that never loses or duplicates a sample.

Layout (``<cache_dir>/samples.sqlite``, WAL mode)::

    pools     one row per provenance: model content hash, engine name and version, engine
              arguments, sampling parameters and seed (everything but n); ``key`` is the
              sha256 of that provenance as canonical JSON
    prompts   exact prompt texts, by sha256
    samples   (pool, prompt, idx) -> completion text, token counts, finish reason, token ids,
              per-token logprobs (float32), extra fields (JSON)
    verdicts  (pool, prompt, idx, verifier) -> a verifier's verdict on one sample

Incremental: a pool does not depend on n. Asking for 64 samples of a prompt that has 16
finds indices 16..63 missing; asking for 8 reads indices 0..7.

Durable: writers commit small batches (``put_samples``) in their own short transaction.
WAL with ``synchronous=NORMAL`` loses no committed transaction when the process dies; a
SIGKILL loses at most the batch being written.

Concurrent: every connection sets a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` (it takes the write lock up front instead of failing on upgrade from a
read lock, the usual source of "database is locked"). Sample rows have a primary key on
(pool, prompt, idx) and are written with an upsert, so two writers of the same sample leave
one row. Keeping two processes from *generating* the same samples at all is
``pytest_tts.generate``'s job (a file lock per model, see there).
"""

from __future__ import annotations

from pytest_tts.store.rows import (
    BUSY_TIMEOUT_MS,
    DEFAULT_CACHE_DIR,
    SCHEMA_VERSION,
    STORE_FILENAME,
    PoolInfo,
    StoredSample,
    canonical_json,
    missing_runs,
    pool_key,
    prompt_hash,
)
from pytest_tts.store.sqlite import SampleStore

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_CACHE_DIR",
    "SCHEMA_VERSION",
    "STORE_FILENAME",
    "PoolInfo",
    "SampleStore",
    "StoredSample",
    "canonical_json",
    "missing_runs",
    "pool_key",
    "prompt_hash",
]
