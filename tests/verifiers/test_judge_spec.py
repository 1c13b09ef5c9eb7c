"""``verifier j = judge(model = "../models/tiny-judge")`` in a spec, run by ``pytest``.

The samples are replayed from a file (one right and one wrong worked solution per problem),
so the only engine is the judge's, started and shut down by the session like any verifier
that holds one. The run is a subprocess, as a user's ``pytest specs/`` is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_tts.tasks.arith import generate_problems

from .test_judge_engine import dropped_carries

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
JUDGE = ROOT / "models" / "tiny-judge"

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(
        not (JUDGE / "model.safetensors").exists(), reason="the bundled judge is not trained"
    ),
]

SPEC = r"""
model policy = replay("samples.jsonl")
dataset sums = jsonl("sums.jsonl", prompt = "Q:{question}\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)
verifier j = judge(model = "../models/tiny-judge")

spec "judged" {
    model policy
    dataset sums
    sample n = 2, temperature = 1.0, max_tokens = 40, seed = 0
    oracle exact

    expect false_positive_rate(j) <= 0.6 with confidence 0.95
    expect false_positive_rate(j) <= 0.01 with confidence 0.95
    expect accuracy >= 0.75 at n = 2 using best_of_n(verifier = j)
}
"""


def test_a_judge_in_a_spec_gates_its_false_positive_rate(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    problems = [
        p
        for p in generate_problems(80, seed=777, digits=(2, 3))
        if dropped_carries(p) != p.solution
    ][:40]
    specs = pytester.mkdir("specs")
    (pytester.path / "models").mkdir()
    (pytester.path / "models" / "tiny-judge").symlink_to(JUDGE, target_is_directory=True)
    with (specs / "sums.jsonl").open("w") as f:
        for p in problems:
            f.write(json.dumps({"id": p.question, "question": p.question, "answer": p.answer}))
            f.write("\n")
    with (specs / "samples.jsonl").open("w") as f:
        for p in problems:
            record = {
                "id": p.question,
                "prompt": p.prompt,
                "completion": [p.solution, dropped_carries(p)],
            }
            f.write(json.dumps(record) + "\n")
    (specs / "judge.tts").write_text(SPEC)
    report = tmp_path / "results.json"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--tts-cache-dir={tmp_path / 'cache'}",
        f"--tts-json={report}",
        "-W",
        "ignore",
        "specs/judge.tts",
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*false_positive_rate(j)*0.01*"])
    (spec,) = json.loads(report.read_text())["specs"]
    bound = next(e for e in spec["expectations"] if e["id"] == "false_positive_rate(j)<=0.6")
    rates = bound["properties"]["rates"]
    # every one of the 40 wrong and 40 right solutions got a verdict from the judge
    assert rates["false_positive_rate"]["trials"] == 40
    assert rates["false_negative_rate"]["trials"] == 40
    assert rates["false_positive_rate"]["rate"] < 0.5
    assert rates["false_negative_rate"]["rate"] < 0.2
