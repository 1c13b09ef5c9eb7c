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

import array
import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tts.errors import StoreError
from pytest_tts.types import Verdict

# The store's folder when none is given, relative to the rootdir (pytest) or the working
# directory (the command line). Not inside .pytest_cache, which --cache-clear wipes.
DEFAULT_CACHE_DIR = ".tts-cache"
STORE_FILENAME = "samples.sqlite"
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 120_000

_SCHEMA = """
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


def _pack_ints(values: Sequence[int] | None) -> bytes | None:
    return None if values is None else array.array("i", values).tobytes()


def _pack_floats(values: Sequence[float] | None) -> bytes | None:
    # float32 halves the size; logprobs need no more than 7 significant digits
    return None if values is None else array.array("f", values).tobytes()


def _unpack(code: str, blob: bytes | None) -> tuple[Any, ...] | None:
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


class SampleStore:
    """A connection to one sample store file. Not thread-safe; open one per process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Processes that open a new store at the same moment (pytest-xdist workers) race to
        # switch it to WAL and create its tables; SQLite can answer "database is locked" there
        # without waiting on the busy timeout, so opening is retried until that timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay = 0.05
        while True:
            try:
                self._open()
                break
            except StoreError as exc:
                locked = isinstance(exc.__cause__, sqlite3.OperationalError) and "locked" in str(
                    exc.__cause__
                )
                if not locked or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        self._pool_ids: dict[str, int] = {}
        self._prompt_ids: dict[str, int] = {}

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            with self.transaction() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) == 1:
                    # version 2 added the verifier's FLOPs per verdict; old verdicts cost 0
                    db.execute("ALTER TABLE verdicts ADD COLUMN flops REAL NOT NULL DEFAULT 0")
                    db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),)
                    )
                elif int(row[0]) != SCHEMA_VERSION:
                    msg = (
                        f"sample store {self.path} has schema version {row[0]}, expected "
                        f"{SCHEMA_VERSION}; export it with the version that wrote it or remove it"
                    )
                    raise StoreError(msg)
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self._db.close()
            msg = f"cannot open the sample store {self.path}: {exc}"
            raise StoreError(msg) from exc

    @classmethod
    def in_dir(cls, cache_dir: str | os.PathLike[str]) -> SampleStore:
        """The store file of a cache folder (``<cache_dir>/samples.sqlite``)."""
        return cls(Path(cache_dir) / STORE_FILENAME)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SampleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its first statement."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    # pools and prompts

    def pool(self, provenance: Mapping[str, Any]) -> int:
        """The row id of the pool with this provenance, created on first use."""
        key = pool_key(provenance)
        pool_id = self._pool_ids.get(key)
        if pool_id is not None:
            return pool_id
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO pools (key, provenance, created, last_used) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET last_used = excluded.last_used",
                (key, canonical_json(dict(provenance)), now, now),
            )
            (pool_id,) = db.execute("SELECT id FROM pools WHERE key = ?", (key,)).fetchone()
        self._pool_ids[key] = pool_id
        return int(pool_id)

    def find_pool(self, key: str) -> int | None:
        row = self._db.execute("SELECT id FROM pools WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def _prompt_ids_for(self, prompts: Iterable[str], *, create: bool) -> dict[str, int]:
        wanted = {p: prompt_hash(p) for p in prompts if p not in self._prompt_ids}
        if wanted:
            by_hash = {h: p for p, h in wanted.items()}
            hashes = list(by_hash)
            for chunk in _chunks(hashes, 500):
                marks = ",".join("?" * len(chunk))
                for pid, h in self._db.execute(
                    f"SELECT id, hash FROM prompts WHERE hash IN ({marks})", chunk
                ):
                    self._prompt_ids[by_hash[h]] = pid
            new = [(h, p) for p, h in wanted.items() if p not in self._prompt_ids]
            if new and create:
                with self.transaction() as db:
                    db.executemany("INSERT OR IGNORE INTO prompts (hash, text) VALUES (?, ?)", new)
                    for h, p in new:
                        (pid,) = db.execute(
                            "SELECT id FROM prompts WHERE hash = ?", (h,)
                        ).fetchone()
                        self._prompt_ids[p] = pid
        return self._prompt_ids

    # samples

    def present(
        self, pool: int, prompts: Sequence[str], *, need_logprobs: bool = False
    ) -> dict[str, set[int]]:
        """Indices stored per prompt (only those with logprobs when ``need_logprobs``)."""
        ids = self._prompt_ids_for(prompts, create=False)
        result: dict[str, set[int]] = {p: set() for p in prompts}
        by_id = {ids[p]: p for p in prompts if p in ids}
        condition = " AND logprobs IS NOT NULL" if need_logprobs else ""
        for chunk in _chunks(list(by_id), 500):
            marks = ",".join("?" * len(chunk))
            for prompt_id, idx in self._db.execute(
                "SELECT prompt, idx FROM samples"
                f" WHERE pool = ? AND prompt IN ({marks}){condition}",
                [pool, *chunk],
            ):
                result[by_id[prompt_id]].add(idx)
        return result

    def put_samples(self, pool: int, samples: Sequence[StoredSample]) -> int:
        """Write samples in one transaction; returns how many rows were new or gained logprobs.

        A sample already stored is left alone, except that a stored sample without logprobs
        takes them from a new copy that has them (seeded samples are reproducible).
        """
        if not samples:
            return 0
        ids = self._prompt_ids_for({s.prompt for s in samples}, create=True)
        rows = [
            (
                pool,
                ids[s.prompt],
                s.index,
                s.text,
                s.prompt_tokens,
                s.completion_tokens,
                s.finish_reason,
                _pack_ints(s.token_ids),
                _pack_floats(s.logprobs),
                None if not s.extra else canonical_json(dict(s.extra)),
            )
            for s in samples
        ]
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO samples (pool, prompt, idx, text, prompt_tokens, completion_tokens,"
                " finish_reason, token_ids, logprobs, extra) VALUES (?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (pool, prompt, idx) DO UPDATE SET logprobs = excluded.logprobs,"
                " token_ids = coalesce(samples.token_ids, excluded.token_ids)"
                " WHERE samples.logprobs IS NULL AND excluded.logprobs IS NOT NULL",
                rows,
            )
            return db.total_changes - before

    def load(self, pool: int, prompts: Sequence[str], n: int) -> dict[str, list[StoredSample]]:
        """The samples with index < n of each prompt, ordered by index."""
        ids = self._prompt_ids_for(prompts, create=False)
        result: dict[str, list[StoredSample]] = {p: [] for p in prompts}
        by_id = {ids[p]: p for p in prompts if p in ids}
        for chunk in _chunks(list(by_id), 500):
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                "SELECT prompt, idx, text, prompt_tokens, completion_tokens, finish_reason,"
                " token_ids, logprobs, extra FROM samples"
                f" WHERE pool = ? AND idx < ? AND prompt IN ({marks}) ORDER BY prompt, idx",
                [pool, n, *chunk],
            ):
                prompt = by_id[row[0]]
                result[prompt].append(
                    StoredSample(
                        prompt=prompt,
                        index=row[1],
                        text=row[2],
                        prompt_tokens=row[3],
                        completion_tokens=row[4],
                        finish_reason=row[5],
                        token_ids=_unpack("i", row[6]),
                        logprobs=_unpack("f", row[7]),
                        extra=None if row[8] is None else json.loads(row[8]),
                    )
                )
        return result

    def touch(self, pool: int) -> None:
        """Mark a pool used now (``cache prune`` removes pools unused for long)."""
        with self.transaction() as db:
            db.execute("UPDATE pools SET last_used = ? WHERE id = ?", (time.time(), pool))

    # verdicts

    def get_verdicts(
        self, pool: int, verifier: str, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], Verdict]:
        """Cached verdicts of ``verifier`` (its name and version) on samples (prompt, index).

        Keys without a cached verdict are absent from the result.
        """
        keys = list(keys)
        ids = self._prompt_ids_for({p for p, _ in keys}, create=False)
        wanted = {(ids[p], i): (p, i) for p, i in keys if p in ids}
        result: dict[tuple[str, int], Verdict] = {}
        prompt_ids = sorted({pid for pid, _ in wanted})
        for chunk in _chunks(prompt_ids, 500):
            marks = ",".join("?" * len(chunk))
            for pid, idx, accepted, score, answer, steps, detail, flops in self._db.execute(
                "SELECT prompt, idx, accepted, score, answer, step_scores, detail, flops"
                " FROM verdicts"
                f" WHERE pool = ? AND verifier = ? AND prompt IN ({marks})",
                [pool, verifier, *chunk],
            ):
                key = wanted.get((pid, idx))
                if key is not None:
                    result[key] = Verdict(
                        accepted=bool(accepted),
                        score=score,
                        answer=answer,
                        step_scores=None if steps is None else tuple(json.loads(steps)),
                        detail=detail,
                        flops=flops,
                    )
        return result

    def put_verdicts(
        self, pool: int, verifier: str, verdicts: Mapping[tuple[str, int], Verdict]
    ) -> None:
        """Store verdicts of ``verifier`` on samples (prompt, index); replaces older ones."""
        if not verdicts:
            return
        ids = self._prompt_ids_for({p for p, _ in verdicts}, create=True)
        rows = [
            (
                pool,
                ids[p],
                i,
                verifier,
                int(v.accepted),
                float(v.score),
                v.answer,
                None if v.step_scores is None else json.dumps(list(v.step_scores)),
                v.detail,
                float(v.flops),
            )
            for (p, i), v in verdicts.items()
        ]
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    # maintenance (the cache command line)

    def pools(self) -> list[PoolInfo]:
        """Every pool with its sample counts and approximate size in bytes."""
        infos = []
        for pool_id, key, prov, created, last_used in self._db.execute(
            "SELECT id, key, provenance, created, last_used FROM pools ORDER BY created"
        ).fetchall():
            prompts, samples, tokens, size = self._db.execute(
                "SELECT count(DISTINCT prompt), count(*), coalesce(sum(completion_tokens), 0),"
                " coalesce(sum(length(text) + coalesce(length(token_ids), 0)"
                " + coalesce(length(logprobs), 0) + coalesce(length(extra), 0) + 32), 0)"
                " FROM samples WHERE pool = ?",
                (pool_id,),
            ).fetchone()
            infos.append(
                PoolInfo(key, json.loads(prov), prompts, samples, tokens, size, created, last_used)
            )
        return infos

    def file_bytes(self) -> int:
        """Size of the store on disk, WAL included."""
        total = 0
        for suffix in ("", "-wal"):
            path = Path(str(self.path) + suffix)
            if path.exists():
                total += path.stat().st_size
        return total

    def sample_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM samples").fetchone()[0])

    def export_to(self, target: str | os.PathLike[str]) -> None:
        """Write a consistent copy of the whole store to ``target`` (a new SQLite file)."""
        target = Path(target)
        if target.exists():
            msg = f"export target {target} exists; remove it or choose another name"
            raise StoreError(msg)
        self._db.execute("VACUUM INTO ?", (str(target),))

    def import_from(self, source: str | os.PathLike[str]) -> tuple[int, int]:
        """Merge another store file into this one; returns (samples added, verdicts added).

        Pools are matched by key and prompts by hash, so importing the same file twice, or
        a file that overlaps this store, adds nothing twice.
        """
        source = Path(source)
        if not source.is_file():
            msg = f"cannot import {source}: no such file"
            raise StoreError(msg)
        try:
            self._db.execute("ATTACH DATABASE ? AS src", (f"file:{source}?mode=ro",))
        except sqlite3.DatabaseError as exc:
            msg = f"cannot import {source}: {exc}"
            raise StoreError(msg) from exc
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO pools (key, provenance, created, last_used)"
                    " SELECT key, provenance, created, last_used FROM src.pools WHERE true"
                    " ON CONFLICT (key) DO NOTHING"
                )
                db.execute(
                    "INSERT OR IGNORE INTO prompts (hash, text) SELECT hash, text FROM src.prompts"
                )
                mapping = (
                    " FROM src.{table} AS s"
                    " JOIN src.pools AS sp ON sp.id = s.pool JOIN pools AS p ON p.key = sp.key"
                    " JOIN src.prompts AS sq ON sq.id = s.prompt"
                    " JOIN prompts AS q ON q.hash = sq.hash"
                )
                before = db.total_changes
                db.execute(
                    "INSERT OR IGNORE INTO samples SELECT p.id, q.id, s.idx, s.text,"
                    " s.prompt_tokens, s.completion_tokens, s.finish_reason, s.token_ids,"
                    " s.logprobs, s.extra" + mapping.format(table="samples")
                )
                added_samples = db.total_changes - before
                before = db.total_changes
                columns = {row[1] for row in db.execute("PRAGMA src.table_info(verdicts)")}
                flops = "s.flops" if "flops" in columns else "0"  # a version-1 file
                db.execute(
                    "INSERT OR IGNORE INTO verdicts SELECT p.id, q.id, s.idx, s.verifier,"
                    f" s.accepted, s.score, s.answer, s.step_scores, s.detail, {flops}"
                    + mapping.format(table="verdicts")
                )
                added_verdicts = db.total_changes - before
        except sqlite3.DatabaseError as exc:
            msg = f"cannot import {source}: {exc} (is it a pytest-tts sample store?)"
            raise StoreError(msg) from exc
        finally:
            self._db.execute("DETACH DATABASE src")
        self._pool_ids.clear()
        self._prompt_ids.clear()
        return added_samples, added_verdicts

    def prune(self, *, unused_for_s: float | None = None, keys: Sequence[str] = ()) -> int:
        """Delete pools unused for ``unused_for_s`` seconds and/or whose key starts with one
        of ``keys``, then unreferenced prompts; compacts the file. Returns pools deleted."""
        with self.transaction() as db:
            doomed: set[int] = set()
            if unused_for_s is not None:
                cutoff = time.time() - unused_for_s
                doomed |= {
                    r[0] for r in db.execute("SELECT id FROM pools WHERE last_used < ?", (cutoff,))
                }
            for prefix in keys:
                doomed |= {
                    r[0]
                    for r in db.execute("SELECT id FROM pools WHERE key LIKE ?", (f"{prefix}%",))
                }
            for pool_id in doomed:
                db.execute("DELETE FROM verdicts WHERE pool = ?", (pool_id,))
                db.execute("DELETE FROM samples WHERE pool = ?", (pool_id,))
                db.execute("DELETE FROM pools WHERE id = ?", (pool_id,))
            db.execute(
                "DELETE FROM prompts WHERE id NOT IN (SELECT prompt FROM samples)"
                " AND id NOT IN (SELECT prompt FROM verdicts)"
            )
        self._db.execute("VACUUM")
        self._pool_ids.clear()
        self._prompt_ids.clear()
        return len(doomed)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
