"""Budget forcing from a spec, through the session, with a scripted backend.

The backend (registered by the test project's conftest) writes traces ``s0s|s1s|=answer``,
one token per character, and forced answers that are right when the cut reasoning holds two
whole steps. The real engine runs the same path in test_forcing_engine.py and
specs/thinking.tts. Runs are subprocesses, as a user's ``pytest`` is.
"""

from __future__ import annotations

import json
import re

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import re

import pytest

from pytest_tts.backends.base import Completion, GenerationResult

QUESTION = re.compile(r"^Q:(\\d+)\\+(\\d+)\\nA:(.*)$", re.DOTALL)


class Thinking:
    label = "thinking"

    def __init__(self, base_dir=None, reasoning=None):
        self.reasoning = reasoning

    def provenance(self):
        return {"engine": "thinking"}

    def model_config(self):
        return {}

    def detokenize(self, ids):
        return "".join(chr(i) for i in ids)

    def count_tokens(self, text):
        return len(text)

    def generate(self, requests):
        for r in requests:
            a, b, done = QUESTION.match(r.prompt).groups()
            right = int(a) + int(b)
            out = []
            for j in range(r.n):
                index = r.first_index + j
                if not done:
                    steps = 2 + index % 3
                    answer = right if index % 4 else right + 1
                    text = "|".join(f"s{i}s" for i in range(steps)) + f"|={answer}"
                else:
                    text = str(right if done.count("|") >= 3 else right + 5)
                ids = tuple(ord(c) for c in text)
                out.append(Completion(text, len(r.prompt) + 1, len(text), token_ids=ids))
            yield GenerationResult(r, tuple(out))

    def close(self):
        pass


@pytest.hookimpl
def pytest_tts_register(registry):
    registry.add_backend("thinking", Thinking)
"""

SPEC = """
model m = thinking(reasoning = "|=")
dataset d = jsonl("sums.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)

spec "thinking" {
    model m
    dataset d
    sample n = 4, temperature = 1.0, max_tokens = 40, seed = 0
    oracle exact

    expect accuracy <= 0.01 at thinking <= 4 using budget_forcing(budgets = [4, 8, 16])
    expect accuracy >= 0.7 at thinking <= 16 using budget_forcing(budgets = [4, 8, 16])
    expect accuracy using budget_forcing(majority_vote, k = 3, budgets = [4, 8, 16])
        is monotone in thinking
    # thinking longer or sampling more: the frontier of both curves in tokens per problem
    expect accuracy >= 0.7 at tokens <= 40
        using frontier(budget_forcing(budgets = [4, 8, 16]), majority_vote)
}
"""

LINE = re.compile(r"forced answers ([\d,]+) generated, ([\d,]+) reused")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    rows = [
        {"id": f"p{i}", "question": q, "answer": str(eval(q))}
        for i, q in enumerate(["347+285", "12+9", "905+95", "50+50"])
    ]
    pytester.makefile(".jsonl", sums="\n".join(json.dumps(r) for r in rows))
    pytester.makefile(".tts", thinking=SPEC)
    return pytester


def forced(result: pytest.RunResult) -> tuple[int, int]:
    found = [m for m in map(LINE.search, result.outlines) if m is not None]
    assert len(found) == 1, result.outlines
    generated, reused = (int(g.replace(",", "")) for g in found[0].groups())
    return generated, reused


def test_thinking_expectations_run_cold_warm_and_offline(project: pytest.Pytester) -> None:
    cache = project.path / "cache"
    first = project.runpytest_subprocess("-p", "no:cacheprovider", f"--tts-cache-dir={cache}")
    first.assert_outcomes(passed=4)
    generated, _ = forced(first)
    assert generated > 0
    # warm: every forced answer comes from the store
    second = project.runpytest_subprocess("-p", "no:cacheprovider", f"--tts-cache-dir={cache}")
    second.assert_outcomes(passed=4)
    assert forced(second)[0] == 0
    offline = project.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--tts-cache-dir={cache}", "--tts-offline"
    )
    offline.assert_outcomes(passed=4)
    assert forced(offline)[0] == 0


def test_a_failing_thinking_item_shows_budgets_and_the_forced_share(
    project: pytest.Pytester,
) -> None:
    project.makefile(
        ".tts",
        thinking=SPEC.replace("accuracy >= 0.7 at thinking", "accuracy >= 0.99 at thinking"),
    )
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--tts-cache-dir={project.path / 'cache'}"
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*cost (thinking)*forced share*tokens*"])
