"""The replay backend: external samples through the store like generated ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_tts.backends.replay import replay
from pytest_tts.errors import BackendError
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples, sample_extras
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem

QWEN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "qwen_math_cot_100.jsonl"


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_one_record_per_sample(tmp_path: Path) -> None:
    write(
        tmp_path / "s.jsonl",
        [
            {
                "id": "a",
                "prompt": "Q:1+1",
                "completion": "2",
                "correct": True,
                "index": 1,
                "completion_tokens": 1,
            },
            {
                "id": "a",
                "prompt": "Q:1+1",
                "completion": "3",
                "correct": False,
                "index": 0,
                "completion_tokens": 1,
                "score": 0.25,
            },
            {"id": "b", "prompt": "Q:2+2", "completion": "four, I think", "answer": "4"},
        ],
    )
    backend = replay("s.jsonl", base_dir=tmp_path)
    problems = [Problem("a", "Q:1+1", "2"), Problem("b", "Q:2+2", "4")]
    with SampleStore.in_dir(tmp_path / "c") as store:
        request = SampleRequest(backend, problems[:1], Sampling(n=2))
        assert ensure_samples(store, [request]).generated == 2
        assert [s.text for s in load_samples(store, request)["a"]] == ["3", "2"]
        extras = sample_extras(store, request)
        assert extras[("a", 0)] == {"correct": False, "score": 0.25, "row": 2}
        one = SampleRequest(backend, problems[1:], Sampling(n=1))
        ensure_samples(store, [one])
        (sample,) = load_samples(store, one)["b"]
        assert sample.completion_tokens == 3  # 13 characters / 4, flagged as estimated
        assert sample_extras(store, one)[("b", 0)] == {
            "answer": "4",
            "tokens_estimated": True,
            "row": 3,
        }
        with pytest.raises(
            BackendError, match="holds 1 samples of problem 'b'; the spec asks for 2"
        ):
            ensure_samples(store, [SampleRequest(backend, problems[1:], Sampling(n=2))])


def test_errors_name_the_line_and_the_field(tmp_path: Path) -> None:
    write(tmp_path / "bad.jsonl", [{"idx": 1, "prompt": "p", "code": "x"}])
    backend = replay("bad.jsonl", base_dir=tmp_path, id="idx")
    with (
        SampleStore.in_dir(tmp_path / "c") as store,
        pytest.raises(BackendError, match=r"bad.jsonl:1: record has no field 'completion'"),
    ):
        ensure_samples(store, [SampleRequest(backend, [Problem("1", "p")], Sampling(n=1))])
    with pytest.raises(BackendError, match="replay\\(\\) has no field 'answr'"):
        replay("bad.jsonl", base_dir=tmp_path, answr="x")
    with pytest.raises(BackendError, match="does not exist"):
        replay("absent.jsonl", base_dir=tmp_path)


def test_changing_the_file_is_a_new_pool(tmp_path: Path) -> None:
    file = write(tmp_path / "s.jsonl", [{"id": "a", "prompt": "p", "completion": "x"}])
    before = replay(str(file)).provenance()
    write(file, [{"id": "a", "prompt": "p", "completion": "y"}])
    assert replay(str(file)).provenance()["model_hash"] != before["model_hash"]


@pytest.mark.skipif(not QWEN.is_file(), reason=f"shared sample file {QWEN} is absent")
def test_qwen_math_samples_replay_with_a_field_mapping(tmp_path: Path) -> None:
    records = [json.loads(line) for line in QWEN.read_text().splitlines() if line.strip()]
    backend = replay(
        str(QWEN),
        id="idx",
        prompt="question",
        completion="code",
        answer="pred",
        correct="score",
        score="pred_score",
    )
    problems = [Problem(str(r["idx"]), r["question"], r["gt"]) for r in records]
    with SampleStore.in_dir(tmp_path / "c") as store:
        request = SampleRequest(backend, problems, Sampling(n=8))
        report = ensure_samples(store, [request])
        assert (report.generated, report.reused) == (800, 0)
        assert ensure_samples(store, [request]).generated == 0
        loaded = load_samples(store, request)
        extras = sample_extras(store, request)
    assert len(loaded) == 100
    first = records[0]
    assert [s.text for s in loaded[str(first["idx"])]] == first["code"]
    # pass@1 over all samples, from the file's own correctness flags
    correct = sum(bool(extras[(str(r["idx"]), i)]["correct"]) for r in records for i in range(8))
    assert correct == sum(sum(map(bool, r["score"])) for r in records)
    assert 0.85 < correct / 800 < 0.95  # the data README gives pass@1 = 0.910
    assert extras[(str(first["idx"]), 0)]["score"] == first["pred_score"][0][-1]
    assert extras[(str(first["idx"]), 0)]["answer"] == first["pred"][0]


def test_config_or_params_give_the_pool_flops(tmp_path: Path) -> None:
    from pytest_tts.errors import BackendError
    from pytest_tts.estimate.flops import flops_from_config, generation_flops

    (tmp_path / "s.jsonl").write_text('{"id": "a", "prompt": "Q", "completion": "x"}\n')
    assert replay("s.jsonl", base_dir=tmp_path).model_config() == {}  # FLOPs unknown
    by_params = replay("s.jsonl", base_dir=tmp_path, params=1.5e9).model_config()
    # 2 x parameters per token: the prompt once (shared prefill), then every generated token
    assert generation_flops(by_params, 10, 30, 3) == 2 * 1.5e9 * (10 + 30)
    vectorized = flops_from_config(by_params)
    assert float(vectorized(10.0, 30.0, 3)) == 2 * 1.5e9 * 40
    config = {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 128,
        "vocab_size": 100,
    }
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    assert replay("s.jsonl", base_dir=tmp_path, config="m").model_config() == config
    assert replay("s.jsonl", base_dir=tmp_path, config="m/config.json").model_config() == config
    for kwargs, message in [
        ({"config": "m", "params": 1e9}, "not both"),
        ({"params": -1}, "positive number"),
        ({"config": "nowhere.json"}, "does not exist"),
    ]:
        with pytest.raises(BackendError, match=message):
            replay("s.jsonl", base_dir=tmp_path, **kwargs)  # type: ignore[arg-type]
