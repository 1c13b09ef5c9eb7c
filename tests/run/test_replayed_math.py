"""Samples generated elsewhere, gated through a spec: the shared Qwen MATH file and files of
its shape made here.

The spec replays the file with its own labels as the oracle (``recorded()``) and puts
``math_equivalence`` under test; every curve the spec computes must equal brute-force
enumeration over the k-subsets of the file's samples. Bad files are clear errors that name
file, row and field and write nothing to the store.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_tts.report.results import RunResults
from pytest_tts.run import Settings, run_specs
from pytest_tts.store import SampleStore
from tests.fakes import write_replayed_math

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "qwen_math_cot_100.jsonl"

SPEC = """\
model qwen = replay("{path}", id = "idx", prompt = "question", completion = "code",
                    answer = "pred", correct = "score", score = "pred_score", params = 1.5e9)
dataset math = jsonl("{path}", prompt = "{{question}}", answer = "gt", id = "idx")
verifier labels = recorded()
verifier mv = math_equivalence()

spec "replayed math" {{
    model qwen
    dataset math
    sample n = {n}, temperature = 0.7, max_tokens = 1024, seed = 0
    oracle labels

    expect coverage >= 0.5 at n = {n}
    expect accuracy >= 0.5 at n = {n} using majority_vote
    expect accuracy >= 0.5 at n = {n} using best_of_n(verifier = labels)
    expect accuracy >= 0.0 at n = {n} using pass_hat_k
    expect false_positive_rate(mv) <= 0.3 with confidence 0.95
}}

spec "math_equivalence as the oracle" {{
    model qwen
    dataset math
    sample n = {n}, temperature = 0.7, max_tokens = 1024, seed = 0
    oracle mv

    expect accuracy >= 0.5 at n = 1
}}
"""

Pick = Callable[[dict[str, Any], Sequence[int]], float]


def _tie_mean(keys: Sequence[Any], labels: Sequence[bool], best: Any) -> float:
    return float(np.mean([bool(lab) for key, lab in zip(keys, labels, strict=True) if key == best]))


def _majority(record: dict[str, Any], s: Sequence[int]) -> float:
    preds = [record["pred"][j] for j in s]
    labels = [record["score"][j] for j in s]
    counts = Counter(preds)
    top = max(counts.values())
    winners = [a for a, c in counts.items() if c == top]
    return float(np.mean([_tie_mean(preds, labels, a) for a in winners]))


def _best_by_reward(record: dict[str, Any], s: Sequence[int]) -> float:
    rewards = [record["pred_score"][j][-1] for j in s]
    return _tie_mean(rewards, [record["score"][j] for j in s], max(rewards))


PICKS: dict[str, Pick] = {
    "pass_at_k": lambda r, s: float(any(r["score"][j] for j in s)),
    "pass_hat_k": lambda r, s: float(all(r["score"][j] for j in s)),
    "majority_vote": _majority,
    "best_of_n(verifier = labels)": _best_by_reward,
}


def brute_force(records: list[dict[str, Any]], pick: Pick, n: int) -> list[float]:
    """Mean over problems of the mean over every k-subset of the first n samples, k = 1..n."""
    return [
        float(
            np.mean(
                [
                    np.mean([pick(r, s) for s in itertools.combinations(range(n), k)])
                    for r in records
                ]
            )
        )
        for k in range(1, n + 1)
    ]


def _run(folder: Path, data: Path, n: int) -> RunResults:
    (folder / "math.tts").write_text(SPEC.format(path=data.as_posix(), n=n))
    return run_specs([folder / "math.tts"], Settings(rootdir=folder))


def _curves(results: RunResults) -> dict[str, Any]:
    spec = next(s for s in results.specs if s.name == "replayed math")
    return {c.strategy: c for c in spec.curves}


def _check_against_brute_force(results: RunResults, records: list[dict[str, Any]], n: int) -> None:
    curves = _curves(results)
    for strategy, pick in PICKS.items():
        curve = curves[strategy]
        assert list(curve.ks) == list(range(1, n + 1))
        np.testing.assert_allclose(curve.mean, brute_force(records, pick, n), atol=1e-9)


def test_a_file_of_its_shape_gates_with_its_own_labels(tmp_path: Path) -> None:
    data = write_replayed_math(tmp_path, problems=25, samples=6, seed=3)
    records = [json.loads(line) for line in data.read_text().splitlines()]
    results = _run(tmp_path, data, 6)
    _check_against_brute_force(results, records, 6)
    spec = next(s for s in results.specs if s.name == "replayed math")
    assert spec.pools.flops is not None
    assert spec.pools.flops > 0  # params = 1.5e9
    # the labels agree with the references here, so math_equivalence accepts no wrong answer
    fpr = next(e for e in spec.expectations if e.kind == "verifier_bound")
    assert fpr.outcome == "passed"
    assert fpr.table[0]["errors / trials"].startswith("0 /")


def test_the_shared_qwen_file_through_a_spec_equals_brute_force(tmp_path: Path) -> None:
    if not SHARED.is_file():
        pytest.skip(f"shared data not present at {SHARED} (a user's checkout has none)")
    records = [json.loads(line) for line in SHARED.read_text().splitlines() if line.strip()]
    results = _run(tmp_path, SHARED.resolve(), 8)
    _check_against_brute_force(results, records, 8)
    curves = _curves(results)
    labels_at_1 = curves["pass_at_k"].mean[0]
    assert labels_at_1 == pytest.approx(0.91)  # 728 of 800 labelled right (its README: 0.910)
    spec = next(s for s in results.specs if s.name == "math_equivalence as the oracle")
    (curve,) = spec.curves
    assert abs(curve.mean[0] - labels_at_1) <= 0.02
    assert all(e.outcome == "passed" for s in results.specs for e in s.expectations)


def _store_samples(folder: Path) -> int:
    cache = folder / ".tts-cache"
    if not cache.exists():
        return 0
    with SampleStore.in_dir(cache) as store:
        return store.sample_count()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r.pop("score"),
            r"math.jsonl:4: record has no field 'score' for the sample's correct",
        ),
        (
            lambda r: r["score"].__setitem__(2, "yes"),
            r"math.jsonl:4: field 'score'\[2\] is 'yes', not true or false",
        ),
        (
            lambda r: r["score"].pop(),
            r"math.jsonl:4: 4 completions but field 'score' is not a list of 4",
        ),
        (
            lambda r: r["pred_score"].__setitem__(0, "high"),
            r"math.jsonl:4: field 'pred_score'\[0\] is 'high', not a number",
        ),
    ],
    ids=["label missing", "label not a boolean", "fewer labels than completions", "bad score"],
)
def test_a_bad_replay_file_names_file_row_and_field_and_stores_nothing(
    tmp_path: Path, edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = write_replayed_math(tmp_path, problems=6, samples=4)
    records = [json.loads(line) for line in data.read_text().splitlines()]
    edit(records[3])
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    results = _run(tmp_path, data, 4)
    details = {e.detail for s in results.specs for e in s.expectations}
    assert all(e.outcome == "error" for s in results.specs for e in s.expectations)
    (detail,) = details
    assert pytest.importorskip("re").search(message, detail), detail
    assert "Traceback" not in detail
    assert _store_samples(tmp_path) == 0


def test_an_unparseable_reference_fails_only_its_problem_unless_tolerated(tmp_path: Path) -> None:
    data = write_replayed_math(tmp_path, problems=8, samples=4)
    records = [json.loads(line) for line in data.read_text().splitlines()]
    records[5]["gt"] = "\\hline"
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    spec = tmp_path / "math.tts"
    spec.write_text(
        SPEC.format(path=data.as_posix(), n=4).split('spec "replayed math"')[0]
        + """
spec "strict" {
    model qwen
    dataset math
    sample n = 4, temperature = 0.7, max_tokens = 1024, seed = 0
    oracle mv
    expect accuracy >= 0.1 at n = 1
}
verifier lenient = math_equivalence(tolerate = 1)
spec "lenient" {
    model qwen
    dataset math
    sample n = 4, temperature = 0.7, max_tokens = 1024, seed = 0
    oracle lenient
    expect accuracy >= 0.1 at n = 1
    expect false_positive_rate(labels) <= 0.95
}
"""
    )
    results = run_specs([spec], Settings(rootdir=tmp_path))
    strict = next(s for s in results.specs if s.name == "strict")
    (item,) = strict.expectations
    assert item.outcome == "error"
    assert "mv could not judge 1 of 8 problems" in item.detail
    assert "'\\\\hline'" in item.detail
    assert "5: " in item.detail
    lenient = next(s for s in results.specs if s.name == "lenient")
    accuracy, bound = lenient.expectations
    assert (accuracy.outcome, bound.outcome) == ("passed", "passed")
    assert (
        "lenient could not judge 1 of 8 problems (counted as wrong; 1 tolerated)" in accuracy.detail
    )
    # the unjudged problem's samples count as rejected by the oracle: those its labels call
    # right are false positives of the labels
    fp = sum(records[5]["score"])
    assert bound.table[0]["errors / trials"].startswith(f"{fp} /")
    # the other seven problems were judged as usual: the curve is the labels' on them
    (curve,) = lenient.curves
    right = [sum(r["score"]) for i, r in enumerate(records) if i != 5]
    assert curve.mean[0] == pytest.approx(sum(right) / (8 * 4))


@pytest.mark.parametrize("source", ["jsonl", "hf_dataset"])
def test_a_difficulty_field_absent_on_a_row_names_file_row_and_field(
    tmp_path: Path, source: str
) -> None:
    data = write_replayed_math(tmp_path, problems=6, samples=4)
    records = [json.loads(line) for line in data.read_text().splitlines()]
    del records[2]["level"]
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    spec = SPEC.format(path=data.as_posix(), n=4).replace(
        'id = "idx")', 'id = "idx", difficulty = "level")'
    )
    spec = spec.replace('jsonl("', f'{source}("', 1)
    (tmp_path / "math.tts").write_text(spec)
    results = run_specs([tmp_path / "math.tts"], Settings(rootdir=tmp_path))
    details = {e.detail for s in results.specs for e in s.expectations}
    (detail,) = details
    assert "math.jsonl" in detail
    assert "(row 3): the difficulty field 'level' is missing" in detail
    assert "Traceback" not in detail
    assert _store_samples(tmp_path) == 0


def test_hf_dataset_on_a_missing_path_fails_every_item_and_stores_nothing(tmp_path: Path) -> None:
    data = write_replayed_math(tmp_path, problems=4, samples=4)
    spec = SPEC.format(path=data.as_posix(), n=4).replace(
        f'jsonl("{data.as_posix()}"', 'hf_dataset("no/such/folder.parquet"', 1
    )
    (tmp_path / "math.tts").write_text(spec)
    results = run_specs([tmp_path / "math.tts"], Settings(rootdir=tmp_path))
    details = {e.detail for s in results.specs for e in s.expectations}
    (detail,) = details
    assert "no dataset at" in detail
    assert "folder.parquet" in detail
    assert _store_samples(tmp_path) == 0
