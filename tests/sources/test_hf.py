"""``hf_dataset``: Hugging Face datasets written here (no network), read like JSONL rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tts.errors import DatasetError
from pytest_tts.sources.files import jsonl
from pytest_tts.sources.hf import hf_dataset

datasets = pytest.importorskip("datasets", reason="the datasets package is not installed")

ROWS = [
    {"uid": f"q{i}", "problem": f"{i} + 1", "answer": str(i + 1), "level": f"Level {1 + i % 3}"}
    for i in range(7)
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    table = datasets.Dataset.from_list(ROWS)
    table.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"test": table, "train": table.select(range(2))}).save_to_disk(
        str(tmp_path / "splits")
    )
    table.to_parquet(str(tmp_path / "rows.parquet"))
    table.to_json(str(tmp_path / "rows.jsonl"))
    (tmp_path / "files").mkdir()
    table.to_parquet(str(tmp_path / "files" / "test-00000-of-00001.parquet"))
    return tmp_path


OPTIONS = {"prompt": "Q: {problem}", "answer": "answer", "id": "uid", "difficulty": "level"}


@pytest.mark.parametrize("path", ["saved", "splits", "rows.parquet", "files"])
def test_every_local_form_reads_the_same_problems(folder: Path, path: str) -> None:
    problems = hf_dataset(path, base_dir=folder, **OPTIONS).load()  # type: ignore[arg-type]
    assert [p.id for p in problems] == [r["uid"] for r in ROWS]
    assert problems[3].prompt == "Q: 3 + 1"
    assert problems[3].answer == "4"
    assert problems[3].difficulty == "Level 1"
    # the same rows through jsonl() hash the same: the hash covers the data read
    same = jsonl(str(folder / "rows.jsonl"), **OPTIONS)  # type: ignore[arg-type]
    assert hf_dataset(path, base_dir=folder, **OPTIONS).content_hash() == same.content_hash()  # type: ignore[arg-type]


def test_split_limit_and_a_change_of_data_change_the_hash(folder: Path) -> None:
    train = hf_dataset("splits", split="train", base_dir=folder, **OPTIONS)  # type: ignore[arg-type]
    assert [p.id for p in train.load()] == ["q0", "q1"]
    test = hf_dataset("splits", base_dir=folder, limit=2, **OPTIONS)  # type: ignore[arg-type]
    assert [p.id for p in test.load()] == ["q0", "q1"]
    edited = [dict(r) for r in ROWS]
    edited[1]["answer"] = "99"
    datasets.Dataset.from_list(edited).save_to_disk(str(folder / "edited"))
    before = hf_dataset("saved", base_dir=folder, **OPTIONS).content_hash()  # type: ignore[arg-type]
    after = hf_dataset("edited", base_dir=folder, **OPTIONS).content_hash()  # type: ignore[arg-type]
    assert before != after


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("missing.parquet", {}, r"no dataset at .*missing\.parquet: not a file, not a folder"),
        ("./nowhere", {}, "no dataset at .*nowhere"),
        ("splits", {"split": "validation"}, "has no split 'validation' .it has: test, train."),
        ("rows.txt", {}, "cannot read rows.txt"),
        ("saved", {"difficulty": "grade"}, r"\(row 1\): the difficulty field 'grade' is missing"),
        ("saved", {"answer": "solution"}, r"\(row 1\): the answer field 'solution' is missing"),
    ],
)
def test_bad_input_is_one_clear_error(
    folder: Path, path: str, kwargs: dict[str, str], message: str
) -> None:
    (folder / "rows.txt").write_text("not data")
    options = {**OPTIONS, **kwargs}
    with pytest.raises(DatasetError, match=message) as info:
        hf_dataset(path, base_dir=folder, **options).load()  # type: ignore[arg-type]
    assert "Traceback" not in str(info.value)


def test_a_hub_name_without_network_is_a_clear_error(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    # offline as a user without network sets it (the variables are read at import, so the
    # imported flags are set too): no request leaves the machine
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DatasetError, match=r"hf_dataset\('someone/nothing-here'.*could not load"):
        hf_dataset("someone/nothing-here", base_dir=folder).load()
