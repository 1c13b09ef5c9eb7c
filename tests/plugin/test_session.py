"""End to end: ``pytest`` on a spec file, with real generation on the bundled model.

Each run is a subprocess (``runpytest_subprocess``) so that every run loads, uses and shuts
down its own engine exactly as a user's ``pytest specs/`` does. Runs share a cache folder, so
only the first run on each model generates; the others replay the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "tiny-arith"
DATA = ROOT / "data" / "arith-test.jsonl"

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(
        not (MODEL / "model.safetensors").exists(), reason="the bundled model is not trained"
    ),
]

HEADER = """
model arith = vllm("{model}", dtype = "float32", max_model_len = 64)
dataset sums = jsonl("{data}", prompt = "Q:{{question}}\\nA:", answer = "answer", limit = 60)
verifier exact = exact_match(extract = last_number)
verifier units = last_digit()
"""

SPEC = """
spec "lifecycle" {{
    model arith
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 40, seed = 0
    oracle exact

    expect coverage >= 0.9 at n = 8
    expect accuracy >= 0.99 at n = 4 using majority_vote
    expect accuracy using majority_vote is monotone in n within 0.02
    expect false_positive_rate(units) <= 0.95 with confidence 0.95
    expect accuracy using majority_vote >= accuracy using best_of_n(verifier = units)
        at matched tokens in [100, 300]
    expect no regression of accuracy using majority_vote against baseline within 0.02
}}
"""

REGRESSION_ID = "no-regression:accuracy[majority_vote]-within-0.02"


def write_spec(pytester: pytest.Pytester, model: Path) -> Path:
    text = HEADER.format(model=model, data=DATA) + SPEC.format()
    return pytester.makefile(".tts", lifecycle=text)


@pytest.fixture(scope="module")
def degraded_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model with Gaussian noise on every weight: a worse model, same shape."""
    from safetensors.numpy import load_file, save_file

    folder = tmp_path_factory.mktemp("degraded")
    for f in MODEL.iterdir():
        if f.is_file() and f.name != "model.safetensors":
            (folder / f.name).write_bytes(f.read_bytes())
    rng = np.random.default_rng(0)
    tensors = load_file(str(MODEL / "model.safetensors"))
    noisy = {
        name: (t + rng.normal(0.0, 0.35 * float(t.std() or 1.0), t.shape)).astype(t.dtype)
        for name, t in tensors.items()
    }
    save_file(noisy, str(folder / "model.safetensors"))
    return folder


def run(pytester: pytest.Pytester, cache: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--tts-cache-dir={cache}", "-W", "ignore", *args
    )


def test_offline_with_an_empty_cache_names_the_pool_and_what_is_missing(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    write_spec(pytester, MODEL)
    result = run(pytester, tmp_path / "cache", "--tts-offline", "-k", "coverage")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*--tts-offline*lifecycle*lacks 480 of 480 samples*60 prompts*"])


def test_a_whole_run_then_the_baseline_lifecycle(
    pytester: pytest.Pytester, tmp_path: Path, degraded_model: Path
) -> None:
    cache = tmp_path / "cache"
    spec = write_spec(pytester, MODEL)
    report = tmp_path / "results.json"

    # 1. cold: generation, six items; the regression has no baseline yet
    first = run(pytester, cache, f"--tts-json={report}", "-rA")
    first.assert_outcomes(passed=4, failed=2)
    first.stdout.fnmatch_lines(
        [
            "*accuracy >= 0.99 at n = 4 using majority_vote*",
            # (no brackets in the pattern: fnmatch reads [..] as a character class)
            "*no baseline for *no-regression:accuracy*within-0.02*--tts-update-baselines*",
            "*pytest-tts summary*",
        ]
    )
    results = json.loads(report.read_text())
    (summary,) = results["specs"]
    assert summary["pools"]["samples_generated"] == 60 * 8
    assert summary["pools"]["flops"] > 0
    outcomes = {e["id"]: e["outcome"] for e in summary["expectations"]}
    assert outcomes["coverage>=0.9@n=8"] == "passed"
    assert outcomes["accuracy>=0.99@n=4[majority_vote]"] == "failed"

    # 2. record the baseline: nothing is generated again
    second = run(pytester, cache, "--tts-update-baselines", "-k", "regression")
    second.assert_outcomes(passed=1)
    baseline = pytester.path / "__baselines__" / "lifecycle" / "lifecycle.json"
    stored = json.loads(baseline.read_text())
    entry = stored["expectations"][REGRESSION_ID]
    assert len(entry["values"]) == 60
    assert entry["provenance"]["sampling"]["n"] == 8
    assert entry["provenance"]["dataset_hash"]

    # 3. the same model against its own baseline passes
    run(pytester, cache, "-k", "regression").assert_outcomes(passed=1)

    # 4. a degraded model fails with the per-budget table and names what changed
    write_spec(pytester, degraded_model)
    fourth = run(pytester, cache, "-k", "regression")
    fourth.assert_outcomes(failed=1)
    fourth.stdout.fnmatch_lines(
        [
            "*no regression of accuracy using majority_vote*",
            "*model_hash changed since the baseline*",
        ]
    )
    assert "adjusted" in fourth.stdout.str()

    # 5. accepting the change: update, then the degraded model passes against itself
    run(pytester, cache, "--tts-update-baselines", "-k", "regression").assert_outcomes(passed=1)
    run(pytester, cache, "-k", "regression").assert_outcomes(passed=1)
    assert spec.exists()


SMALL_SPEC = """
spec "lifecycle" {{
    model arith
    dataset sums
    sample n = 2, temperature = {temperature}, max_tokens = 40, seed = 3
    oracle exact

    expect no regression of accuracy using majority_vote against baseline within 0.02
}}
"""


def test_changed_sampling_against_a_baseline_is_an_error_naming_the_field(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    header = HEADER.format(model=MODEL, data=DATA).replace("limit = 60", "limit = 10")
    pytester.makefile(".tts", lifecycle=header + SMALL_SPEC.format(temperature="1.0"))
    run(pytester, cache, "--tts-update-baselines").assert_outcomes(passed=1)
    pytester.makefile(".tts", lifecycle=header + SMALL_SPEC.format(temperature="0.7"))
    result = run(pytester, cache)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*sampling.temperature: baseline 1.0, current 0.7*"])
