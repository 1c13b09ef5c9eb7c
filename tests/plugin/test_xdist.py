"""Under pytest-xdist the controller reports the whole run, gathered from its workers.

The specs replay a samples file (the ``replay`` backend), so the run needs no engine but goes
through the real session: store, verifiers, estimators, gates. Runs are subprocesses, as a
user's ``pytest -n 2`` is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import write_replayed_sums

pytest_plugins = ["pytester"]

pytest.importorskip("xdist")

N_PROBLEMS = 12
N_SAMPLES = 8

COMMON = """\
model replayed = replay("samples.jsonl")
dataset sums = jsonl("sums.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)
verifier units = last_digit()
"""

FIRST = """\
include "common.tts"

spec "replayed voting" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 0
    oracle exact

    expect coverage >= 0.9 at n = 8
    expect accuracy >= 0.5 at n = 8 using majority_vote
    expect accuracy using majority_vote is monotone in n
    expect false_positive_rate(units) <= 0.3
    expect accuracy >= 0.99 at n = 1
}
"""

SECOND = """\
include "common.tts"

spec "replayed single sample" {
    model replayed
    dataset sums
    sample n = 4, temperature = 1.0, max_tokens = 8, seed = 0
    oracle exact

    expect accuracy >= 0.2 at n = 1
    expect coverage >= 0.5 at n = 4
    expect accuracy using best_of_n(verifier = units) >= accuracy using majority_vote at matched n
}
"""
EXPECTATIONS = 8  # five in FIRST (one fails: accuracy at n = 1 is about 0.6), three in SECOND


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    # sample j of problem i is right unless (i + j) % 5 is 0 or 1: about 0.6 per sample
    write_replayed_sums(
        pytester.path,
        problems=N_PROBLEMS,
        samples=N_SAMPLES,
        right=lambda i, j: (i + j) % 5 > 1,
    )
    pytester.makefile(".tts", common=COMMON, first=FIRST, second=SECOND)
    return pytester


def _run(project: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict, str]:
    result = project.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--tts-cache-dir={project.path / 'cache'}",
        "--tts-json=out/results.json",
        "--tts-report=out/report.html",
        *args,
    )
    data = json.loads((project.path / "out" / "results.json").read_text(encoding="utf-8"))
    html = (project.path / "out" / "report.html").read_text(encoding="utf-8")
    return result, data, html


def _nodeids(data: dict) -> list[str]:
    return [e["nodeid"] for spec in data["specs"] for e in spec["expectations"]]


@pytest.mark.parametrize("dist", ["load", "each"])
def test_two_workers_write_one_report_with_every_expectation_once(
    project: pytest.Pytester, dist: str
) -> None:
    serial, serial_data, _ = _run(project)
    serial.assert_outcomes(passed=EXPECTATIONS - 1, failed=1)

    result, data, html = _run(project, "-n", "2", "--dist", dist)
    if dist == "each":  # every worker runs every item: pytest counts each run
        result.assert_outcomes(passed=2 * (EXPECTATIONS - 1), failed=2)
    else:
        result.assert_outcomes(passed=EXPECTATIONS - 1, failed=1)

    ids = _nodeids(data)
    assert len(ids) == EXPECTATIONS
    assert sorted(ids) == sorted(_nodeids(serial_data))
    assert [s["name"] for s in data["specs"]] == ["replayed voting", "replayed single sample"]
    outcomes = {e["nodeid"]: e["outcome"] for s in data["specs"] for e in s["expectations"]}
    assert outcomes == {
        e["nodeid"]: e["outcome"] for s in serial_data["specs"] for e in s["expectations"]
    }
    # each pool is counted once: its samples, not once per worker that loaded it
    pools = {s["name"]: s["pools"] for s in data["specs"]}
    assert pools["replayed voting"]["problems"] == N_PROBLEMS
    assert (
        pools["replayed voting"]["samples_generated"] + pools["replayed voting"]["samples_reused"]
        == N_PROBLEMS * N_SAMPLES
    )
    # the warm serial run filled the store: nothing is generated again
    assert pools["replayed voting"]["samples_generated"] == 0
    # one summary, for the whole run, printed by the controller
    out = result.stdout.str()
    assert out.count("pytest-tts summary") == 1
    result.stdout.fnmatch_lines(
        [f"pytest-tts: 2 specs, {EXPECTATIONS} expectations (7 passed, 1 failed); *"]
    )
    assert out.count("pytest-tts: wrote") == 2
    assert "replayed single sample" in html
    assert "replayed voting" in html


def test_a_cold_run_on_two_workers_counts_each_sample_once(project: pytest.Pytester) -> None:
    result, data, _ = _run(project, "-n", "2")
    result.assert_outcomes(passed=EXPECTATIONS - 1, failed=1)
    assert len(_nodeids(data)) == EXPECTATIONS
    pools = {s["name"]: s["pools"] for s in data["specs"]}
    # both workers may have found the pool empty; its samples were still generated once
    assert pools["replayed voting"]["samples_generated"] == N_PROBLEMS * N_SAMPLES
    assert pools["replayed voting"]["samples_reused"] == 0
    # only the controller wrote: no worker's temporary or second file is left beside them
    assert sorted(p.name for p in Path(project.path / "out").iterdir()) == [
        "report.html",
        "results.json",
    ]
