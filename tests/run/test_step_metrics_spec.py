"""Step-level expectations through a spec: a replayed process verifier against step_check.

The samples are real addition traces (right, or with planted slips); the replayed file gives
each a list of step scores, as a PRM run elsewhere would export them, so ``recorded()`` is the
process verifier under test and ``step_check`` the step oracle. The spec's numbers must equal
the gate's on the same grids, computed here by hand.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from pytest_tts.run import Settings, run_specs
from pytest_tts.tasks.arith import ArithProblem, check_steps, format_prompt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from train_tiny_model import noisy_trace  # noqa: E402

SPEC = """\
model replayed = replay("samples.jsonl")
dataset sums = jsonl("sums.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)
verifier prm = recorded(threshold = 0.5)
verifier steps = step_check()
verifier units = last_digit()

spec "a replayed PRM" {
    model replayed
    dataset sums
    sample n = 6, temperature = 1.0, max_tokens = 40, seed = 0
    oracle exact

    expect first_error_f1(prm, steps) >= 0.5 with confidence 0.9
    expect right_trace_accuracy(prm, steps) >= 0.99
    expect step_calibration_error(prm, steps) <= 0.05
    expect first_error_f1(prm, units) >= 0.1
}
"""


def _write(folder: Path, problems: int = 30, samples: int = 6) -> tuple[list, list]:
    """Traces and a PRM that finds the first wrong step 3 times in 4 (else one step late)."""
    rng = random.Random(0)
    rows, records, prm_grid, oracle_grid = [], [], [], []
    for i in range(problems):
        a, b = 17 + 7 * i, 58 + 13 * i
        problem = ArithProblem(a, b)
        rows.append({"id": f"p{i}", "question": problem.question, "answer": str(a + b)})
        prm_row, oracle_row = [], []
        for j in range(samples):
            slip = 0.0 if j % 2 == 0 else 0.4
            trace = noisy_trace(problem, rng, slip=slip, forget=slip, believe=0.0)
            labels = check_steps(problem.question, trace)
            first = next((k for k, ok in enumerate(labels) if not ok), None)
            late = first is not None and rng.random() < 0.25 and first + 1 < len(labels)
            scores = [0.95 if ok else 0.05 for ok in labels]
            if late:
                assert first is not None
                scores[first] = 0.95  # missed: flags the next step first
                scores[first + 1] = 0.05
            records.append(
                {
                    "id": f"p{i}",
                    "prompt": format_prompt(problem.question),
                    "completion": trace,
                    "index": j,
                    "score": scores,
                    "completion_tokens": len(trace),
                    "prompt_tokens": 8,
                }
            )
            prm_row.append(tuple(scores))
            oracle_row.append(tuple(1.0 if ok else 0.0 for ok in labels))
        prm_grid.append(prm_row)
        oracle_grid.append(oracle_row)
    (folder / "sums.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (folder / "samples.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    (folder / "steps.tts").write_text(SPEC)
    return prm_grid, oracle_grid


def test_step_expectations_through_a_spec_equal_the_gate(tmp_path: Path) -> None:
    from pytest_tts.gates.step_metrics import check_step_metric

    prm, oracle = _write(tmp_path)
    results = run_specs([tmp_path], Settings(rootdir=tmp_path, json=tmp_path / "r.json"))
    (spec,) = results.specs
    outcomes = {e.text: e.outcome for e in spec.expectations}
    f1, right, ece, against_units = spec.expectations
    assert (f1.outcome, right.outcome, ece.outcome) == ("passed", "passed", "passed")
    direct = check_step_metric(
        prm, oracle, metric="first_error_f1", op=">=", value=0.5, confidence=0.9
    )
    assert f1.properties["values"]["first_error_f1"] == pytest.approx(direct.estimate)
    assert f1.properties["bound"] == pytest.approx(direct.bound)
    # the PRM finds the first wrong step about 3 times in 4 and leaves right traces alone
    assert 0.6 < direct.values["first_error_accuracy"] < 0.9
    assert direct.values["right_trace_accuracy"] == 1.0
    # last_digit gives no step scores: it cannot be a step oracle, and says why
    assert against_units.outcome == "error"
    assert "units gave no step scores" in against_units.detail
    assert "step oracle" in against_units.detail
    assert len(outcomes) == 4


def test_the_html_report_draws_the_reliability_diagram(tmp_path: Path) -> None:
    _write(tmp_path)
    report = tmp_path / "report.html"
    results = run_specs([tmp_path], Settings(rootdir=tmp_path, report=report))
    html = report.read_text(encoding="utf-8")
    assert html.count('class="tts-reliability"') == 3  # the three judged step items
    ece = results.specs[0].expectations[2]
    bins = ece.properties["reliability"]
    assert sum(n for _, _, n in bins) == ece.properties["counts"]["steps"]
