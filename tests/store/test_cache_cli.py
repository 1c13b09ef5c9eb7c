"""``pytest-tts cache info | export | import | prune`` on a real store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_tts.cli import main
from pytest_tts.store import SampleStore, StoredSample, pool_key

PROV = {
    "engine": "vllm",
    "engine_version": "0.32.0",
    "model": "tiny-arith",
    "model_hash": "cd" * 32,
    "sampling": {"temperature": 1.0, "top_p": 1.0, "max_tokens": 24, "seed": 0},
}


def fill(cache: Path, prov: dict, prompts: int, n: int) -> None:
    with SampleStore.in_dir(cache) as store:
        pool = store.pool(prov)
        store.put_samples(
            pool,
            [
                StoredSample(f"Q{p}", i, f"A{i}", 4, 2, "stop", (5, 6))
                for p in range(prompts)
                for i in range(n)
            ],
        )


def test_info_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "c"
    fill(cache, PROV, 3, 4)
    assert main(["cache", "--cache-dir", str(cache), "info"]) == 0
    out = capsys.readouterr().out
    assert "1 pools, 12 samples" in out
    assert pool_key(PROV)[:12] in out
    assert "temperature=1.0" in out
    assert main(["cache", "--cache-dir", str(cache), "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (pool,) = data["pools"]
    assert (pool["prompts"], pool["samples"], pool["tokens"]) == (3, 12, 24)
    assert pool["provenance"] == PROV
    assert data["file_bytes"] > 0


def test_export_then_import_moves_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpu, ci, file = tmp_path / "gpu", tmp_path / "ci", tmp_path / "cache.sqlite"
    fill(gpu, PROV, 2, 8)
    assert main(["cache", "--cache-dir", str(gpu), "export", str(file)]) == 0
    assert main(["cache", "--cache-dir", str(ci), "import", str(file)]) == 0
    assert "imported 16 new samples" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", str(ci), "import", str(file)]) == 0
    assert "imported 0 new samples" in capsys.readouterr().out
    with SampleStore.in_dir(ci) as store:
        assert store.sample_count() == 16


def test_prune_one_pool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "c"
    other = {**PROV, "sampling": {**PROV["sampling"], "temperature": 0.5}}
    fill(cache, PROV, 1, 2)
    fill(cache, other, 1, 3)
    assert main(["cache", "--cache-dir", str(cache), "prune", "--pool", pool_key(other)[:12]]) == 0
    assert "removed 1 pools; 2 samples remain" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", str(cache), "prune"]) == 0  # nothing is 30 days old
    assert "removed 0 pools" in capsys.readouterr().out


def test_missing_store_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "--cache-dir", str(tmp_path / "none"), "info"]) == 1
    err = capsys.readouterr().err
    assert "no sample store at" in err
    assert "--cache-dir" in err
