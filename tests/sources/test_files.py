"""The jsonl and csv sources: mapping, limit and shuffle, hashing, and their error messages."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tts.errors import DatasetError
from pytest_tts.registry import Registry
from pytest_tts.sources.files import csv, jsonl
from pytest_tts.tasks.arith import format_prompt

ROOT = Path(__file__).resolve().parents[2]
ARITH = "Q:{question}\nA:"


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_arith_test_set_maps_to_the_prompts_the_model_was_trained_on() -> None:
    source = jsonl("arith-test.jsonl", prompt=ARITH, base_dir=ROOT / "data")
    problems = source.load()
    rows = [
        json.loads(line) for line in (ROOT / "data" / "arith-test.jsonl").read_text().splitlines()
    ]
    assert len(problems) == 200
    assert [p.id for p in problems] == [r["id"] for r in rows]
    assert [p.prompt for p in problems] == [format_prompt(r["question"]) for r in rows]
    assert [p.answer for p in problems] == [r["answer"] for r in rows]
    assert problems[0].meta == {"question": rows[0]["question"], "answer": rows[0]["answer"]}


def test_shuffle_applies_before_limit_and_is_seeded(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": str(i), "question": i} for i in range(50)])
    ids = [p.id for p in jsonl(path, answer="").load()]
    assert [p.id for p in jsonl(path, answer="", limit=5).load()] == ids[:5]
    shuffled = [p.id for p in jsonl(path, answer="", shuffle=3).load()]
    assert sorted(shuffled) == sorted(ids)
    assert shuffled != ids
    assert [p.id for p in jsonl(path, answer="", shuffle=3, limit=5).load()] == shuffled[:5]
    assert [p.id for p in jsonl(path, answer="", shuffle=4, limit=5).load()] != shuffled[:5]


@given(st.integers(min_value=0, max_value=30), st.integers(0, 2**32), st.integers(0, 40))
def test_limit_and_shuffle_select_distinct_rows_of_the_file(
    rows: int, seed: int, limit: int
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        data = [{"id": f"r{i}", "question": i} for i in range(rows)]
        path = write_jsonl(Path(folder) / "d.jsonl", data)
        ids = [p.id for p in jsonl(path, answer="", shuffle=seed, limit=limit).load()]
    assert len(ids) == min(rows, limit)
    assert len(set(ids)) == len(ids)
    assert set(ids) <= {r["id"] for r in data}


def test_content_hash_tracks_what_the_engine_would_see(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "question": "1+1", "answer": "2"}])
    first = jsonl(path, prompt=ARITH).content_hash()
    assert first == jsonl(path, prompt=ARITH).content_hash()
    assert len(first) == 64
    assert first != jsonl(path, prompt="{question}=").content_hash()
    write_jsonl(path, [{"id": "a", "question": "1+1", "answer": "3"}])
    assert first != jsonl(path, prompt=ARITH).content_hash()


def test_field_mapping_and_generated_ids(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [{"q": "2+2", "a": 4, "src": "x"}])
    (problem,) = jsonl(path, prompt="{q}?", answer="a", meta=["src"]).load()
    assert problem.id == "qa-1"
    assert problem.prompt == "2+2?"
    assert problem.answer == "4"
    assert problem.meta == {"src": "x"}
    (no_answer,) = jsonl(path, prompt="{q}", answer="").load()
    assert no_answer.answer is None


def test_csv_reads_a_header_and_a_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text('key;question;answer\nk1;"3+4";7\nk2;5+5;10\n')
    problems = csv(path, prompt=ARITH, id="key", delimiter=";").load()
    assert [(p.id, p.prompt, p.answer) for p in problems] == [
        ("k1", "Q:3+4\nA:", "7"),
        ("k2", "Q:5+5\nA:", "10"),
    ]


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        ([{"id": "1", "question": "q"}], {}, "the answer field 'answer' is missing; the row has"),
        ([{"id": "1", "answer": "a"}], {}, "needs field 'question', but the row has 'id'"),
        ([{"id": "1", "q": 1, "answer": 2}, {"id": "1", "q": 1, "answer": 2}], {"prompt": "{q}"},
         "id '1' is not unique"),
        ([[1, 2]], {}, "expected a JSON object, found list"),
    ],
)  # fmt: skip
def test_rows_that_do_not_map_raise_dataset_errors(
    tmp_path: Path, rows: list[object], options: dict[str, str], message: str
) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DatasetError, match=message):
        jsonl(path, **options).load()  # type: ignore[arg-type]


def test_bad_files_and_options_raise_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"expected a file at .*missing.jsonl, found nothing"):
        jsonl("missing.jsonl", base_dir=tmp_path).load()
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n{oops\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: expected a JSON object per line"):
        jsonl(tmp_path / "bad.jsonl").load()
    with pytest.raises(DatasetError, match="not a valid format string"):
        jsonl(tmp_path / "bad.jsonl", prompt="{question")
    with pytest.raises(DatasetError, match="must name its fields"):
        jsonl(tmp_path / "bad.jsonl", prompt="Q:{}")
    with pytest.raises(DatasetError, match="limit must be a non-negative integer, got -1"):
        jsonl(tmp_path / "bad.jsonl", limit=-1)
    with pytest.raises(DatasetError, match="shuffle must be an integer seed, got 'yes'"):
        jsonl(tmp_path / "bad.jsonl", shuffle="yes")  # type: ignore[arg-type]
    (tmp_path / "ragged.csv").write_text("question,answer\n1+1,2,extra\n")
    with pytest.raises(DatasetError, match=r"ragged.csv:2: expected 2 columns"):
        csv(tmp_path / "ragged.csv").load()
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DatasetError, match="expected a header row"):
        csv(tmp_path / "empty.csv").load()


def test_sources_are_registered_lazily_with_the_documented_arguments() -> None:
    from pytest_tts import builtins

    registry = Registry()
    builtins.pytest_tts_register(registry)
    for name in ("jsonl", "csv", "human_eval", "reasoning_gym"):
        entry = registry.entry("source", name)
        assert isinstance(entry.target, str)
        signature = entry.signature()
        assert signature is not None
        expected = {"prompt", "limit", "shuffle", "chat", "tokenizer", "base_dir"}
        assert expected <= set(signature.parameters)
    jsonl_params = inspect.signature(jsonl).parameters
    assert {"path", "answer", "id", "meta"} <= set(jsonl_params)


def test_the_spec_checker_binds_csv_and_jsonl_arguments_by_name(tmp_path: Path) -> None:
    from pytest_tts import builtins
    from pytest_tts.dsl.checker import load_spec_file
    from pytest_tts.errors import SpecCheckError

    registry = Registry()
    builtins.pytest_tts_register(registry)
    spec = tmp_path / "s.tts"
    body = """
model m = replay("s.jsonl")
dataset a = csv("a.csv", delimiter = ";", prompt = "{q}", limit = 3)
dataset b = jsonl("b.jsonl", answer = "a", shuffle = 1)
verifier exact = exact_match()
spec "s" { model m
    dataset DATA
    sample n = 2
    oracle exact
    expect coverage >= 0.5 at n = 2 }
"""
    for name in ("a", "b"):
        spec.write_text(body.replace("DATA", name), encoding="utf-8")
        checked = load_spec_file(spec, registry)
        assert checked.specs[0].dataset.name == name
    spec.write_text(body.replace("delimiter", "delimitr").replace("DATA", "a"), encoding="utf-8")
    with pytest.raises(SpecCheckError) as info:
        load_spec_file(spec, registry)
    assert "delimitr" in info.value.rendered
    assert "did you mean 'delimiter'?" in info.value.rendered
    # jsonl has no delimiter: the checker says so instead of failing at load time
    spec.write_text(body.replace("shuffle = 1", 'delimiter = ";"').replace("DATA", "b"))
    with pytest.raises(SpecCheckError, match="delimiter"):
        load_spec_file(spec, registry)
