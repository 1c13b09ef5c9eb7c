"""The fill path on a real vLLM engine: top-up, kill and resume, pytest-xdist, provenance."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_tts.backends.vllm import VLLMBackend
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples, missing_samples
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem

pytestmark = pytest.mark.engine

PROBLEMS = [
    Problem(f"p{a}-{b}", f"Q:{a}+{b}\nA:", str(a + b)) for a, b in [(1, 2), (13, 29), (7, 7)]
]
ENGINE = {"dtype": "float32", "max_model_len": 64}


def test_topup_equals_one_large_request(vllm_backend: Any, tmp_path: Path) -> None:
    def pool(n: int) -> SampleRequest:
        return SampleRequest(vllm_backend, PROBLEMS, Sampling(n=n, max_tokens=10, seed=3))

    with SampleStore.in_dir(tmp_path / "a") as grown, SampleStore.in_dir(tmp_path / "b") as whole:
        assert ensure_samples(grown, [pool(4)]).generated == 12
        report = ensure_samples(grown, [pool(10)])
        assert (report.generated, report.reused) == (18, 12)
        assert report.completion_tokens > 0
        ensure_samples(whole, [pool(10)])
        a, b = load_samples(grown, pool(10)), load_samples(whole, pool(10))
        assert {k: [s.token_ids for s in v] for k, v in a.items()} == {
            k: [s.token_ids for s in v] for k, v in b.items()
        }
        assert [s.index for s in a["p13-29"]] == list(range(10))
        assert [s.index for s in load_samples(grown, pool(3))["p1-2"]] == [0, 1, 2]


def test_provenance_change_is_a_new_pool(
    vllm_backend: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / tiny_model_dir.name
    shutil.copytree(tiny_model_dir, copy)
    sampling = Sampling(n=2, max_tokens=6)
    with SampleStore.in_dir(tmp_path / "cache") as store:
        ensure_samples(store, [SampleRequest(vllm_backend, PROBLEMS, sampling)])
        same = VLLMBackend(copy, dict(ENGINE))
        (copy / "README.md").write_text("not part of the model")
        assert missing_samples(store, [SampleRequest(same, PROBLEMS, sampling)]) == []
        config = json.loads((copy / "config.json").read_text())
        config["rms_norm_eps"] = config.get("rms_norm_eps", 1e-6) * 2
        (copy / "config.json").write_text(json.dumps(config))
        changed = VLLMBackend(copy, dict(ENGINE))
        (shortfall,) = missing_samples(store, [SampleRequest(changed, PROBLEMS, sampling)])
        assert shortfall.missing == 6
        hotter = Sampling(n=2, max_tokens=6, temperature=0.5)
        (shortfall,) = missing_samples(store, [SampleRequest(vllm_backend, PROBLEMS, hotter)])
        assert shortfall.missing == 6
        assert not same.started
        assert not changed.started


FILL_SCRIPT = """
import json, os, sys
from pytest_tts.backends.vllm import vllm
from pytest_tts.generate import SampleRequest, ensure_samples
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem

def main():
    model, cache, n, prompts, max_tokens = sys.argv[1:6]
    problems = [Problem(f"p{i}", f"Q:{i}+{i}\\nA:") for i in range(int(prompts))]
    # few sequences per engine step: prompts finish in many waves, so that a kill lands
    # between commits however fast the machine is
    backend = vllm(model, dtype="float32", max_model_len=64, max_num_seqs=64)
    with SampleStore.in_dir(cache) as store:
        request = SampleRequest(backend, problems, Sampling(n=int(n), max_tokens=int(max_tokens)))
        report = ensure_samples(store, [request])
    backend.close()
    print(json.dumps({"generated": report.generated, "reused": report.reused}))

if __name__ == "__main__":
    main()
"""


def test_sigkill_mid_generation_loses_at_most_the_batch_in_flight(
    vllm_backend: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "fill.py"
    script.write_text(FILL_SCRIPT)
    cache = tmp_path / "cache"
    prompts, n, max_tokens = 40, 64, 40
    total = prompts * n
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(tiny_model_dir),
            str(cache),
            str(n),
            str(prompts),
            str(max_tokens),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the engine's subprocesses die too
    )
    committed = 0
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and proc.poll() is None:
            if (cache / "samples.sqlite").exists():
                with SampleStore.in_dir(cache) as store:
                    committed = store.sample_count()
                if committed > 0:
                    break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert 0 < committed < total, f"expected a partial fill, found {committed} of {total}"

    problems = [Problem(f"p{i}", f"Q:{i}+{i}\nA:") for i in range(prompts)]
    request = SampleRequest(vllm_backend, problems, Sampling(n=n, max_tokens=max_tokens))
    with SampleStore.in_dir(cache) as store:
        survived = store.sample_count()
        assert survived >= committed
        report = ensure_samples(store, [request])
        assert (report.generated, report.reused) == (total - survived, survived)
        assert store.sample_count() == total
        loaded = load_samples(store, request)
        assert all([s.index for s in v] == list(range(n)) for v in loaded.values())


XDIST_TEST = """
import json, os
from pytest_tts.backends.vllm import vllm
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem

def test_fill(worker_id):
    problems = [Problem(f"p{i}", f"Q:{i}+{i}{i}\\nA:") for i in range(12)]
    backend = vllm(os.environ["TTS_TEST_MODEL"], dtype="float32", max_model_len=64)
    cache = os.environ["TTS_TEST_CACHE"]
    try:
        with SampleStore.in_dir(cache) as store:
            request = SampleRequest(backend, problems, Sampling(n=16, max_tokens=16))
            report = ensure_samples(store, [request])
            loaded = load_samples(store, request)
            assert sum(len(v) for v in loaded.values()) == 12 * 16
    finally:
        backend.close()
    with open(os.path.join(cache, f"report-{worker_id}.json"), "w") as fh:
        json.dump({"generated": report.generated, "reused": report.reused,
                   "engines": report.engines}, fh)
"""


def test_xdist_workers_share_one_engine_and_one_store(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    (tmp_path / "test_fill.py").write_text(XDIST_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    cache = tmp_path / "cache"
    env = {**os.environ, "TTS_TEST_MODEL": str(tiny_model_dir), "TTS_TEST_CACHE": str(cache)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "each",
            "-p",
            "no:cacheprovider",
            "-q",
            "test_fill.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "database is locked" not in result.stdout + result.stderr
    reports = [json.loads(p.read_text()) for p in sorted(cache.glob("report-*.json"))]
    assert len(reports) == 2
    assert sorted(r["generated"] for r in reports) == [0, 12 * 16]
    assert sorted(r["reused"] for r in reports) == [0, 12 * 16]
    assert sorted(len(r["engines"]) for r in reports) == [0, 1]
    with SampleStore.in_dir(cache) as store:
        assert store.sample_count() == 12 * 16
