"""The :class:`SampleStore`: one SQLite file of pools, prompts, samples and verdicts (the
layout, durability and concurrency rules are in :mod:`pytest_tts.store`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_tts.errors import StoreError
from pytest_tts.store.rows import (
    BUSY_TIMEOUT_MS,
    SCHEMA,
    SCHEMA_VERSION,
    STORE_FILENAME,
    PoolInfo,
    StoredSample,
    canonical_json,
    pack_floats,
    pack_ints,
    pool_key,
    prompt_hash,
    unpack,
)
from pytest_tts.types import Verdict


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
                for statement in SCHEMA.split(";"):
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
                pack_ints(s.token_ids),
                pack_floats(s.logprobs),
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
                        token_ids=unpack("i", row[6]),
                        logprobs=unpack("f", row[7]),
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
