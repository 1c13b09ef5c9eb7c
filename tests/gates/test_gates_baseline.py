"""Baseline files: layout, stable atomic writes, missing baselines, provenance checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytest_tts.errors import BaselineError, MissingBaselineError, ProvenanceMismatchError
from pytest_tts.gates.baseline import (
    BaselineEntry,
    BaselineFile,
    Provenance,
    baseline_path,
    check_provenance,
    load_entry,
    mismatch_notes,
    read_baseline,
    slugify,
    update_entry,
    write_baseline,
)

PROV = Provenance(
    model_hash="sha256:aa",
    engine="vllm",
    engine_version="0.32.0+cpu",
    dataset_hash="sha256:bb",
    sampling={"n": 8, "temperature": 1.0, "seed": 0},
    estimator_version="1",
    date="2026-11-22T10:00:00Z",
)


def entry(values: np.ndarray | None = None) -> BaselineEntry:
    v = np.array([[0.25, 0.5], [1.0, 1.0], [0.0, 0.125]]) if values is None else values
    return BaselineEntry.from_arrays(
        v,
        ["q10", "q2", "q1"],
        [1, 2],
        costs={"n": [1, 2], "tokens": [12.5, 25.0]},
        strategy="majority_vote",
        provenance=PROV,
    )


def test_path_sits_next_to_the_spec() -> None:
    path = baseline_path("specs/addition.tts", "Voting pays off on two-digit addition!")
    assert path == Path("specs/__baselines__/addition/voting-pays-off-on-two-digit-addition.json")
    assert slugify("Ünïcode  spec / v2") == "unicode-spec-v2"
    assert slugify("!!!") == "spec"


def test_round_trip_and_stable_formatting(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    stored = BaselineFile(spec="s", entries={"expect-3": entry()})
    write_baseline(path, stored)
    first = path.read_bytes()
    again = read_baseline(path)
    assert again == stored
    write_baseline(path, again)
    assert path.read_bytes() == first
    text = first.decode()
    assert '"q1": [0.0, 0.125]' in text  # one line per problem
    assert text.index('"q1"') < text.index('"q10"') < text.index('"q2"')  # sorted keys
    assert json.loads(text)["format"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]  # no temporary file left
    np.testing.assert_allclose(
        again.entries["expect-3"].matrix(), [[0.0, 0.125], [0.25, 0.5], [1.0, 1.0]]
    )


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    nodeid = "specs/addition.tts::voting::expect-7"
    with pytest.raises(MissingBaselineError) as info:
        load_entry(tmp_path / "none.json", "expect-7", nodeid=nodeid)
    assert f"run `pytest --tts-update-baselines {nodeid}`" in str(info.value)
    assert "none.json does not exist" in str(info.value)


def test_missing_entry_lists_the_stored_ones(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    update_entry(path, "s", "expect-1", entry())
    with pytest.raises(
        MissingBaselineError,
        match=r"it holds: expect-1\); run `pytest --tts-update-baselines expect-2`",
    ):
        load_entry(path, "expect-2")


def test_update_keeps_other_entries(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "b.json"
    update_entry(path, "s", "a", entry())
    update_entry(path, "s", "b", entry(np.zeros((3, 2))))
    update_entry(path, "s", "a", entry(np.ones((3, 2))))
    stored = read_baseline(path)
    assert sorted(stored.entries) == ["a", "b"]
    assert stored.entries["a"].matrix().sum() == 6


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    code = (
        "import sys, numpy as np\n"
        "from pytest_tts.gates.baseline import BaselineEntry, update_entry\n"
        "w = sys.argv[2]\n"
        "for i in range(8):\n"
        "    e = BaselineEntry.from_arrays(np.zeros((2, 1)), ['a', 'b'], [1])\n"
        "    update_entry(sys.argv[1], 's', f'{w}-{i}', e)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), str(w)]) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert len(read_baseline(path).entries) == 32


def test_unreadable_files_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{not json")
    with pytest.raises(BaselineError, match="unreadable baseline"):
        read_baseline(path)
    path.write_text(json.dumps({"format": 99, "spec": "s", "expectations": {}}))
    with pytest.raises(BaselineError, match="format 99 is not supported"):
        read_baseline(path)


def test_entries_validate_their_shapes() -> None:
    with pytest.raises(ValueError, match="problem 'a' has 1 values for 2 budget points"):
        BaselineEntry(ks=(1, 2), values={"a": (0.5,)})
    with pytest.raises(ValueError, match="non-finite"):
        BaselineEntry(ks=(1,), values={"a": (float("nan"),)})


def test_date_never_counts_as_a_mismatch() -> None:
    later = Provenance(**{**PROV.to_json(), "date": "2027-01-01"})
    assert check_provenance(PROV, later) == {}


def test_mismatch_names_each_field_with_both_values() -> None:
    current = Provenance(
        **{
            **PROV.to_json(),
            "engine_version": "0.33.0",
            "sampling": {"n": 8, "temperature": 0.7, "seed": 0},
        }
    )
    with pytest.raises(ProvenanceMismatchError) as info:
        check_provenance(PROV, current, where="specs/a.tts::s::expect-1")
    err = info.value
    assert err.differences == {
        "engine_version": ("0.32.0+cpu", "0.33.0"),
        "sampling.temperature": (1.0, 0.7),
    }
    text = str(err)
    assert "engine_version: baseline '0.32.0+cpu', current '0.33.0'" in text
    assert "sampling.temperature: baseline 1.0, current 0.7" in text
    assert "--tts-allow-provenance-mismatch" in text


def test_allowed_mismatch_returns_differences_for_the_report() -> None:
    current = Provenance(**{**PROV.to_json(), "model_hash": "sha256:cc"})
    diffs = check_provenance(PROV, current, allow_mismatch=True)
    assert mismatch_notes(diffs) == [
        "provenance mismatch allowed: model_hash baseline 'sha256:aa', current 'sha256:cc'"
    ]


def test_unknown_provenance_keys_are_kept_and_compared() -> None:
    stored = Provenance.from_json({**PROV.to_json(), "verifier_version": "2"})
    assert stored.extra == {"verifier_version": "2"}
    assert "extra.verifier_version" in check_provenance(stored, PROV, allow_mismatch=True)
