"""The engine from a script: load specs, build ``Settings``, run, read the results, no pytest.

The spec replays a samples file (the ``replay`` backend), so no engine starts, but the run
goes through every real stage: the SQLite store, verifiers, estimators, gates, the reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from pytest_tts.errors import SpecError
from pytest_tts.run import Callbacks, Engine, Settings, run_specs
from pytest_tts.run.judge import JUDGES
from pytest_tts.spec import (
    Check,
    Comparison,
    Monotone,
    NoRegression,
    StepMetric,
    Threshold,
    VerifierBound,
)
from tests.fakes import write_replayed_sums

N_PROBLEMS = 12
N_SAMPLES = 8

SPEC = """\
model replayed = replay("samples.jsonl")
dataset sums = jsonl("sums.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)
verifier units = last_digit()

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
OUTCOMES = ["passed", "passed", "passed", "passed", "failed"]  # accuracy at n = 1 is 0.625


def _write_project(folder: Path) -> Path:
    """Sample j of problem i is right unless (i + j) % 8 is 0, 1 or 2 (5 of 8 right)."""
    write_replayed_sums(
        folder, problems=N_PROBLEMS, samples=N_SAMPLES, right=lambda i, j: (i + j) % 8 > 2
    )
    spec = folder / "replayed.tts"
    spec.write_text(SPEC)
    return spec


def test_run_specs_judges_every_expectation_and_writes_the_reports(tmp_path: Path) -> None:
    spec = _write_project(tmp_path)
    settings = Settings(
        rootdir=tmp_path,
        json=tmp_path / "out" / "results.json",
        report=tmp_path / "out" / "report.html",
    )
    results = run_specs([tmp_path], settings)

    (spec_result,) = results.specs
    assert [e.outcome for e in spec_result.expectations] == OUTCOMES
    failed = spec_result.expectations[-1]
    assert "accuracy >= 0.99 at n = 1" in failed.headline
    assert spec_result.pools.samples_generated == N_PROBLEMS * N_SAMPLES
    assert spec_result.path == "replayed.tts"
    written = json.loads(settings.json.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    assert [e["outcome"] for e in written["specs"][0]["expectations"]] == OUTCOMES
    html = settings.report.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "replayed voting" in html
    assert "data:image/png;base64," in html  # the curves, plotted
    assert (tmp_path / ".tts-cache" / "samples.sqlite").is_file()

    # offline, from the store the first run filled: the same verdicts, nothing generated
    again = run_specs([spec], Settings(rootdir=tmp_path, offline=True))
    assert [e.outcome for e in again.specs[0].expectations] == OUTCOMES
    assert again.specs[0].pools.samples_generated == 0
    assert [c.mean for c in again.specs[0].curves] == [c.mean for c in spec_result.curves]


def test_engine_records_errors_instead_of_raising(tmp_path: Path) -> None:
    """Offline with an empty store: every item is an error naming the shortfall."""
    from pytest_tts.dsl import load_spec_file
    from pytest_tts.registry import build_registry

    spec_file = _write_project(tmp_path)
    registry = build_registry()
    (spec,) = load_spec_file(spec_file, registry).specs
    engine = Engine(Settings(rootdir=tmp_path, offline=True), registry)
    try:
        engine.prepare((spec, e) for e in spec.expectations)
        records = [engine.judge(spec, e) for e in spec.expectations]
    finally:
        engine.close()
    assert {r.outcome for r in records} == {"error"}
    assert all("--tts-offline" in r.message and "lacks 96 of 96" in r.message for r in records)
    assert [e.outcome for e in engine.results().specs[0].expectations] == ["error"] * 5


def test_generation_holds_the_live_output_callback(tmp_path: Path) -> None:
    _write_project(tmp_path)
    events: list[str] = []

    class Live:
        def __enter__(self) -> None:
            events.append("enter")

        def __exit__(self, *exc: object) -> None:
            events.append("exit")

    def progress() -> None:
        events.append("progress")

    run_specs([tmp_path], Settings(rootdir=tmp_path), callbacks=Callbacks(Live, progress))
    assert events == ["enter", "progress", "exit"]


def test_a_bad_spec_raises_before_anything_runs(tmp_path: Path) -> None:
    _write_project(tmp_path)
    (tmp_path / "replayed.tts").write_text(SPEC.replace("majority_vote", "majority_vot"))
    with pytest.raises(SpecError) as info:
        run_specs([tmp_path], Settings(rootdir=tmp_path))
    assert "did you mean 'majority_vote'?" in info.value.rendered
    assert not (tmp_path / ".tts-cache").exists()


def test_every_kind_of_check_has_a_judge() -> None:
    kinds = {Threshold, Comparison, Monotone, VerifierBound, StepMetric, NoRegression}
    assert set(JUDGES) == kinds == set(get_args(Check))


SCRIPT = """
import json, sys
from pathlib import Path
from pytest_tts.run import Settings, run_specs

results = run_specs([sys.argv[1]], Settings(rootdir=Path(sys.argv[1])))
print(json.dumps({
    "outcomes": [e.outcome for s in results.specs for e in s.expectations],
    "pytest_imported": "pytest" in sys.modules or "_pytest" in sys.modules,
}))
"""


def test_a_script_runs_specs_without_importing_pytest(tmp_path: Path) -> None:
    _write_project(tmp_path)
    script = tmp_path / "gate.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"outcomes": OUTCOMES, "pytest_imported": False}
