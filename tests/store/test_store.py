"""The SQLite sample store: keys, incremental reads, upserts, verdicts, export/import, prune."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tts.errors import StoreError
from pytest_tts.store import SampleStore, StoredSample, missing_runs, pool_key
from pytest_tts.types import Verdict

PROV = {"engine": "vllm", "model_hash": "ab" * 32, "sampling": {"temperature": 1.0, "seed": 0}}


def rows(prompt: str, indices: range, *, logprobs: bool = False) -> list[StoredSample]:
    return [
        StoredSample(
            prompt=prompt,
            index=i,
            text=f"{prompt}-{i}",
            prompt_tokens=5,
            completion_tokens=3,
            finish_reason="length",
            token_ids=(1, 2, i),
            logprobs=(-0.5, -0.25, -1.0) if logprobs else None,
        )
        for i in indices
    ]


def test_store_is_one_wal_file_in_the_cache_dir(store: SampleStore, tmp_path: Path) -> None:
    assert store.path == tmp_path / "cache" / "samples.sqlite"
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_pool_key_depends_on_every_provenance_field() -> None:
    other = {**PROV, "sampling": {"temperature": 0.7, "seed": 0}}
    assert pool_key(PROV) == pool_key(dict(reversed(PROV.items())))
    assert pool_key(PROV) != pool_key(other)
    assert pool_key(PROV) != pool_key({**PROV, "engine_version": "0.33"})


def test_roundtrip_and_first_n_by_index(store: SampleStore) -> None:
    pool = store.pool(PROV)
    assert store.pool(PROV) == pool
    assert store.put_samples(pool, rows("p", range(16))) == 16
    loaded = store.load(pool, ["p", "q"], 8)
    assert [s.index for s in loaded["p"]] == list(range(8))
    assert loaded["p"][3] == rows("p", range(3, 4))[0]
    assert loaded["q"] == []


def test_rewriting_a_sample_keeps_one_row(store: SampleStore) -> None:
    pool = store.pool(PROV)
    store.put_samples(pool, rows("p", range(4)))
    assert store.put_samples(pool, rows("p", range(2, 6))) == 2
    assert store.sample_count() == 6


def test_logprobs_fill_in_without_duplicating(store: SampleStore) -> None:
    pool = store.pool(PROV)
    store.put_samples(pool, rows("p", range(4)))
    assert store.present(pool, ["p"], need_logprobs=True) == {"p": set()}
    assert store.put_samples(pool, rows("p", range(4), logprobs=True)) == 4
    assert store.present(pool, ["p"], need_logprobs=True) == {"p": {0, 1, 2, 3}}
    assert store.sample_count() == 4
    assert store.load(pool, ["p"], 4)["p"][0].logprobs == (-0.5, -0.25, -1.0)


def test_other_pool_does_not_see_samples(store: SampleStore) -> None:
    store.put_samples(store.pool(PROV), rows("p", range(4)))
    other = store.pool({**PROV, "sampling": {"temperature": 0.5, "seed": 0}})
    assert store.present(other, ["p"]) == {"p": set()}


@given(present=st.sets(st.integers(0, 40)), n=st.integers(0, 40))
def test_missing_runs_cover_exactly_the_gaps(present: set[int], n: int) -> None:
    runs = missing_runs(present, n)
    covered = [i for first, count in runs for i in range(first, first + count)]
    assert covered == sorted(set(range(n)) - present)
    assert all(count > 0 for _, count in runs)
    # runs are maximal: consecutive runs are separated by a present index
    for (f1, c1), (f2, _) in itertools.pairwise(runs):
        assert f1 + c1 < f2


def test_verdicts_roundtrip(store: SampleStore) -> None:
    pool = store.pool(PROV)
    store.put_samples(pool, rows("p", range(3)))
    verdicts = {
        ("p", 0): Verdict(True, 1.0, "42"),
        ("p", 1): Verdict(False, 0.25, None, (0.5, 0.1), "wrong"),
    }
    store.put_verdicts(pool, "exact_match@1", verdicts)
    got = store.get_verdicts(pool, "exact_match@1", [("p", 0), ("p", 1), ("p", 2), ("q", 0)])
    assert got == verdicts
    assert store.get_verdicts(pool, "exact_match@2", [("p", 0)]) == {}


def test_export_import_merges_without_duplicates(store: SampleStore, tmp_path: Path) -> None:
    pool = store.pool(PROV)
    store.put_samples(pool, rows("p", range(8)))
    store.put_verdicts(pool, "v", {("p", 0): Verdict(True, 1.0)})
    exported = tmp_path / "export.sqlite"
    store.export_to(exported)
    with pytest.raises(StoreError, match="exists"):
        store.export_to(exported)
    with SampleStore(tmp_path / "other" / "samples.sqlite") as other:
        other.put_samples(other.pool({**PROV, "x": 1}), rows("z", range(2)))
        other.put_samples(other.pool(PROV), rows("p", range(4, 12)))
        assert other.import_from(exported) == (4, 1)
        assert other.import_from(exported) == (0, 0)
        merged = other.load(other.pool(PROV), ["p"], 100)["p"]
        assert [s.index for s in merged] == list(range(12))
        assert other.get_verdicts(other.pool(PROV), "v", [("p", 0)]) == {
            ("p", 0): Verdict(True, 1.0)
        }


def test_import_rejects_a_non_store(store: SampleStore, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match="cannot import"):
        store.import_from(bogus)
    with pytest.raises(StoreError, match="no such file"):
        store.import_from(tmp_path / "absent.sqlite")


def test_prune_by_key_and_age(store: SampleStore) -> None:
    keep, drop = store.pool(PROV), store.pool({**PROV, "x": 1})
    store.put_samples(keep, rows("p", range(3)))
    store.put_samples(drop, rows("q", range(3)))
    assert store.prune(keys=[pool_key({**PROV, "x": 1})[:10]]) == 1
    assert [p.key for p in store.pools()] == [pool_key(PROV)]
    assert store.sample_count() == 3
    assert store.prune(unused_for_s=3600) == 0
    assert store.prune(unused_for_s=-1) == 1
    assert store.sample_count() == 0


def test_pool_info_counts(store: SampleStore) -> None:
    pool = store.pool(PROV)
    store.put_samples(pool, rows("p", range(5)) + rows("q", range(2)))
    (info,) = store.pools()
    assert (info.prompts, info.samples, info.completion_tokens) == (2, 7, 21)
    assert info.provenance == PROV
    assert info.bytes > 0


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite"
    SampleStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99, expected 2"):
        SampleStore(path)


def _make_version_1(path: Path) -> None:
    """Rewrite a fresh store into the version-1 layout (verdicts without ``flops``)."""
    with SampleStore(path) as s:
        pool = s.pool(PROV)
        s.put_samples(pool, rows("p", range(2)))
        s.put_verdicts(pool, "v@1", {("p", 0): Verdict(True, 1.0, "7")})
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE verdicts DROP COLUMN flops")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    db.commit()
    db.close()


def test_version_1_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite"
    _make_version_1(path)
    with SampleStore(path) as s:
        pool = s.pool(PROV)
        assert s.get_verdicts(pool, "v@1", [("p", 0)]) == {("p", 0): Verdict(True, 1.0, "7")}
        s.put_verdicts(pool, "v@1", {("p", 1): Verdict(False, 0.2, None, flops=3e6)})
        assert s.get_verdicts(pool, "v@1", [("p", 1)])[("p", 1)].flops == 3e6
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
    db.close()


def test_import_of_a_version_1_file(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    _make_version_1(old)
    with SampleStore(tmp_path / "new.sqlite") as s:
        assert s.import_from(old) == (2, 1)
        verdict = s.get_verdicts(s.pool(PROV), "v@1", [("p", 0)])[("p", 0)]
        assert verdict == Verdict(True, 1.0, "7", flops=0.0)


def _writer(path: str, worker: int) -> None:
    with SampleStore(path) as s:
        pool = s.pool(PROV)
        for batch in range(60):
            # both writers write every prompt; batches overlap between the two processes
            s.put_samples(pool, rows(f"p{batch % 10}", range(batch, batch + 4)))
            s.put_verdicts(pool, f"v{worker}", {(f"p{batch % 10}", batch): Verdict(True, 1.0)})


def test_concurrent_writers_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    import multiprocessing

    path = str(tmp_path / "samples.sqlite")
    SampleStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    expected = {(f"p{b % 10}", i) for b in range(60) for i in range(b, b + 4)}
    with SampleStore(path) as s:
        assert s.sample_count() == len(expected)
        pool = s.pool(PROV)
        present = s.present(pool, [f"p{k}" for k in range(10)])
        assert {(p, i) for p, idx in present.items() for i in idx} == expected
        for w in range(3):
            assert len(s.get_verdicts(pool, f"v{w}", [(f"p{b % 10}", b) for b in range(60)])) == 60


def _opener(path: str, start: object, worker: int) -> None:
    start.wait()  # type: ignore[attr-defined]
    with SampleStore(path) as s:
        s.put_samples(s.pool(PROV), rows(f"w{worker}", range(3)))


def test_processes_that_create_one_store_at_once_all_open_it(tmp_path: Path) -> None:
    # xdist workers open a store that does not exist yet at the same moment: each must wait
    # its turn (switching to WAL, creating tables), none may fail with "database is locked"
    import multiprocessing

    for attempt in range(3):
        path = str(tmp_path / f"samples{attempt}.sqlite")
        ctx = multiprocessing.get_context("spawn")
        start = ctx.Event()
        procs = [ctx.Process(target=_opener, args=(path, start, w)) for w in range(6)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0] * 6
        with SampleStore(path) as s:
            assert s.sample_count() == 18
