"""Search strategies from a spec, through the session, with a scripted backend.

The backend is registered by the test project's conftest (the hook users implement). It
writes the reference solution, with each step right or wrong by the sample's index: full
samples for the spec's pool, one step at a time when the search asks with a stop string.
The real engine runs the same path in test_beam_engine.py and specs/search.tts. Runs are
subprocesses, as a user's ``pytest`` is (and so that each imports numpy once).
"""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import re

import pytest

from pytest_tts.backends.base import Completion, GenerationResult
from pytest_tts.tasks.arith import parse_question, reference_steps

PREFIX = re.compile(r"^Q:(\\d+\\+\\d+)\\nA:(.*)$", re.DOTALL)


class Scripted:
    label = "scripted"

    def __init__(self, base_dir=None):
        pass

    def provenance(self):
        return {"engine": "scripted"}

    def model_config(self):
        return {}

    def generate(self, requests):
        for r in requests:
            question, done = PREFIX.match(r.prompt).groups()
            segments = [*reference_steps(question), f"={sum(parse_question(question))}"]
            one_step = "stop" in r.sampling.extra
            out = []
            for j in range(r.n):
                wrong = (r.first_index + j) % 2 == 0  # every even draw has a slip
                texts = []
                for position in range(done.count("|"), len(segments)):
                    segment = segments[position]
                    if wrong:
                        segment = segment[:-1] + str((int(segment[-1]) + 1) % 10)
                    last = position == len(segments) - 1
                    texts.append(segment + ("" if last else "|"))
                    if one_step:
                        break
                text = "".join(texts)
                out.append(Completion(text, len(r.prompt) + 1, len(text)))
            yield GenerationResult(r, tuple(out))

    def close(self):
        pass


@pytest.hookimpl
def pytest_tts_register(registry):
    registry.add_backend("scripted", Scripted)
"""

SPEC = """
model m = scripted()
dataset d = jsonl("sums.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
verifier exact = exact_match(extract = last_number)
verifier steps = step_check()

spec "search" {
    model m
    dataset d
    sample n = 4, temperature = 1.0, max_tokens = 40, seed = 0
    oracle exact

    expect accuracy <= 0.01 at n = 1 using beam_search(prm = steps, width = 2, expansions = 1)
    expect accuracy >= 0.99 at n = 2 using beam_search(prm = steps, width = 2, expansions = 2)
    expect accuracy >= 0.99 at n = 4 using particle_filter(prm = steps, particles = 4)
    # a rollout draws its prefix's first continuation, always wrong here: no candidate wins
    expect accuracy <= 0.01 at n = 2
        using lookahead_search(prm = steps, width = 1, expansions = 2, lookahead = 1)
    expect accuracy using beam_search(prm = steps, width = 2, expansions = 2)
        >= accuracy using best_of_n(verifier = steps) at matched n
}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    rows = [
        {"id": f"p{i}", "question": q, "answer": str(eval(q))}
        for i, q in enumerate(["347+285", "12+9", "905+95", "50+50"])
    ]
    pytester.makefile(".jsonl", sums="\n".join(json.dumps(r) for r in rows))
    pytester.makefile(".tts", search=SPEC)
    return pytester


def test_search_strategies_run_from_a_spec_and_replay_offline(project: pytest.Pytester) -> None:
    cache = project.path / "cache"
    first = project.runpytest_subprocess("-p", "no:cacheprovider", f"--tts-cache-dir={cache}")
    first.assert_outcomes(passed=5)
    # every step continuation is in the store: an offline run needs no backend call
    second = project.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--tts-cache-dir={cache}", "--tts-offline"
    )
    second.assert_outcomes(passed=5)


def test_offline_search_without_its_continuations_fails_clearly(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--tts-cache-dir={project.path / 'empty'}", "--tts-offline"
    )
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(["*--tts-offline*"])


def test_the_summary_counts_search_continuations_and_verdicts(project: pytest.Pytester) -> None:
    import re

    cache = project.path / "cache"
    line = re.compile(
        r"pytest-tts search: step continuations ([\d,]+) generated, ([\d,]+) reused in "
        r"([\d,]+) rounds; verdicts ([\d,]+) computed, ([\d,]+) cached"
    )

    def counts(result: pytest.RunResult) -> list[int]:
        found = [m for m in map(line.search, result.outlines) if m is not None]
        assert len(found) == 1, result.outlines
        return [int(g.replace(",", "")) for g in found[0].groups()]

    first = project.runpytest_subprocess("-p", "no:cacheprovider", f"--tts-cache-dir={cache}")
    first.assert_outcomes(passed=5)
    generated, reused, rounds, computed, _ = counts(first)
    assert generated > 0
    assert rounds > 0
    assert computed > 0
    # the pool line still counts full samples only: 4 problems x n = 4
    first.stdout.fnmatch_lines(["*samples 16 generated, 0 reused*"])
    second = project.runpytest_subprocess("-p", "no:cacheprovider", f"--tts-cache-dir={cache}")
    second.assert_outcomes(passed=5)
    # warm: every continuation and every verdict comes from the store
    warm = counts(second)
    assert warm[:4] == [0, generated + reused, rounds, 0]
    assert warm[4] >= computed
    # under pytest-xdist the controller prints the line once, from the workers' results
    pytest.importorskip("xdist")
    third = project.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--tts-cache-dir={cache}", "-n", "2"
    )
    third.assert_outcomes(passed=5)
    # nothing generated; every continuation read at least once (a search whose items land on
    # both workers runs on each, so its reads add up)
    over_workers = counts(third)
    assert over_workers[0] == 0
    assert over_workers[1] >= generated + reused
