"""The repository's slow tier (conftest.py): a slow spec whose model a script makes is skipped
until the script has run; every other missing model still fails loudly.

The test project gets this repository's own conftest.py, so the rule tested is the one the
repository runs with. No engine starts: every model folder here is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"

SPEC = """\
model m = vllm("{model}", dtype = "float32")
dataset d = jsonl("{data}", prompt = "Q:{{question}}\\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)

spec "{name}" {{
    model m
    dataset d
    sample n = 2, max_tokens = 8
    oracle exact
    {tags}
    expect coverage >= 0.5 at n = 2
    expect accuracy >= 0.1 at n = 1
}}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(ROOT_CONFTEST.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    slow: the slow tier\n")
    rows = [{"question": "1+2", "answer": "3"}, {"question": "4+4", "answer": "8"}]
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "sums.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    for file, model, name, tags in (
        ("specs/slow/smol.tts", "../../models/smollm2-135m-instruct", "scripted", "tags slow"),
        ("specs/slow/typo.tts", "../../models/smollm2-135m-instruc", "mistyped", "tags slow"),
        ("specs/plain.tts", "../models/smollm2-135m-instruct", "not slow", ""),
    ):
        path = pytester.path / file
        path.parent.mkdir(parents=True, exist_ok=True)
        data = pytester.path / "data" / "sums.jsonl"
        path.write_text(SPEC.format(model=model, data=data, name=name, tags=tags))
    return pytester


def _run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-rs", f"--tts-cache-dir={project.path / 'cache'}", *args
    )


def test_a_slow_spec_skips_until_its_model_is_made(project: pytest.Pytester) -> None:
    result = _run(project, "--run-slow", "specs/slow/smol.tts")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]2[]] specs/slow/smol.tts: model folder models/smollm2-135m-instruct does "
            "not exist yet: run `python scripts/get_smollm2.py` first"
        ]
    )


def test_without_run_slow_the_slow_tier_is_skipped_as_before(project: pytest.Pytester) -> None:
    result = _run(project, "specs/slow")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]2[]] specs/slow/smol.tts: slow tier: run with --run-slow",
            "SKIPPED [[]2[]] specs/slow/typo.tts: slow tier: run with --run-slow",
        ]
    )


def test_other_missing_models_still_fail(project: pytest.Pytester) -> None:
    result = _run(project, "--run-slow", "specs/plain.tts", "specs/slow/typo.tts")
    # a spec not marked slow, and a slow spec whose folder no script makes: both fail
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(["*model folder */models/smollm2-135m-instruct does not exist*"])
    result.stdout.fnmatch_lines(["*model folder */models/smollm2-135m-instruc does not exist*"])


def test_once_the_folder_exists_the_slow_spec_runs(project: pytest.Pytester) -> None:
    # an empty folder is not a model, but it exists: the items run (offline, so that no
    # engine starts) and fail on what the folder lacks, instead of skipping
    (project.path / "models" / "smollm2-135m-instruct").mkdir(parents=True)
    result = _run(project, "--run-slow", "--tts-offline", "specs/slow/smol.tts")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*smollm2-135m-instruct has no config.json"])
