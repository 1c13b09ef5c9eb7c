"""A model that cannot be used fails every item that needs it, each with the same reason."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

SPEC = """\
model broken = vllm("broken-model", dtype = "float32")
dataset sums = jsonl("sums.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)

spec "on a broken model" {
    model broken
    dataset sums
    sample n = 4, temperature = 1.0, max_tokens = 8, seed = 0
    oracle exact

    expect accuracy >= 0.5 at n = 1
    expect accuracy >= 0.5 at n = 4 using majority_vote
}
"""


def test_a_model_folder_without_config_fails_each_item_with_the_reason(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "broken-model").mkdir()
    rows = [{"question": f"{i}+1", "answer": str(i + 1)} for i in range(3)]
    pytester.makefile(".jsonl", sums="\n".join(json.dumps(r) for r in rows))
    pytester.makefile(".tts", spec=SPEC)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--tts-cache-dir={pytester.path / 'cache'}"
    )
    result.assert_outcomes(failed=2)
    assert result.stdout.str().count("broken-model has no config.json") >= 2
    result.stdout.no_fnmatch_line("*was not prepared*")
    result.stdout.fnmatch_lines(["*2 expectations (2 error)*"])
