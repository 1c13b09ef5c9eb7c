"""``--tts-adaptive`` end to end on the bundled model: ``pytest`` on a spec, real generation.

One gate far above its threshold and one far below it, 200 problems, from an empty store:
the adaptive run must generate less than half of the fixed pool and reach the fixed verdicts;
the fixed run after it, on the same store, generates exactly the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "tiny-arith"
DATA = ROOT / "data" / "arith-test.jsonl"
PROBLEMS, SAMPLES = 200, 8

pytest_plugins = ["pytester"]

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(
        not (MODEL / "model.safetensors").exists(), reason="the bundled model is not trained"
    ),
]

# The bundled model answers one sample right about 0.58 of the time (its model card).
SPEC = f"""
model arith = vllm("{MODEL}", dtype = "float32", max_model_len = 64)
dataset sums = jsonl("{DATA}", prompt = "Q:{{question}}\\nA:", answer = "answer",
    limit = {PROBLEMS})
verifier exact = exact_match(extract = last_number)

spec "far from both thresholds" {{
    model arith
    dataset sums
    sample n = {SAMPLES}, temperature = 1.0, max_tokens = 40, seed = 0
    oracle exact

    expect accuracy >= 0.3 at n = 1 with confidence 0.95
    expect accuracy >= 0.9 at n = 1 with confidence 0.95
}}
"""

VERDICTS = {"accuracy>=0.3@n=1": "passed", "accuracy>=0.9@n=1": "failed"}


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--tts-cache-dir={pytester.path / 'cache'}",
        "--tts-json=out.json",
        "-W",
        "ignore",
        *args,
    )
    return result, json.loads((pytester.path / "out.json").read_text())


def _verdicts(data: dict) -> dict[str, str]:
    return {e["id"]: e["outcome"] for s in data["specs"] for e in s["expectations"]}


def _generated(data: dict) -> int:
    return sum(s["pools"]["samples_generated"] for s in data["specs"])


def test_far_gates_are_decided_on_less_than_half_the_pool(pytester: pytest.Pytester) -> None:
    pytester.makefile(".tts", adaptive=SPEC)

    adaptive, data = _run(pytester, "--tts-adaptive")
    adaptive.assert_outcomes(passed=1, failed=1)
    assert _verdicts(data) == VERDICTS
    generated = _generated(data)
    assert 0 < generated < PROBLEMS * SAMPLES / 2
    (counts,) = data["adaptive"].values()
    assert counts["samples_fixed"] == PROBLEMS * SAMPLES
    assert counts["samples_used"] == generated
    assert counts["problems_used"] < PROBLEMS
    adaptive.stdout.fnmatch_lines(["*decided after * of 200 problems, anytime-valid at 0.95*"])

    fixed, data = _run(pytester)
    fixed.assert_outcomes(passed=1, failed=1)
    assert _verdicts(data) == VERDICTS
    assert _generated(data) == PROBLEMS * SAMPLES - generated
