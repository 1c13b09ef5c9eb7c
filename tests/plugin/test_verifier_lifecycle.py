"""Verifier instances live for the session: built once per call, given the spec's folder,
closed at the end. Model-based verifiers (reward models, judges) hold engines, so this is
what keeps a run to one engine per verifier.

The spec replays a samples file, so the run needs no engine but goes through the real
session: store, verifier, estimators, gates.
"""

from __future__ import annotations

import json

import pytest

from tests.fakes import write_replayed_sums

pytest_plugins = ["pytester"]

CONFTEST = """\
import json
from pathlib import Path

import pytest

from pytest_tts.types import Verdict

LOG = Path(__file__).parent / "lifecycle.log"


class Counting:
    def __init__(self, base_dir):
        self.base_dir = base_dir
        self.log("built", str(base_dir))

    def log(self, *event):
        with LOG.open("a") as f:
            f.write(json.dumps(event) + "\\n")

    def identity(self):
        return "counting@1()"

    def verify(self, items):
        self.log("verify", len(items))
        return [Verdict(c.strip() == "=" + p.answer, 1.0, c.strip()[1:], flops=10.0)
                for p, c in items]

    def close(self):
        self.log("closed")


def counting(*, base_dir=None):
    return Counting(base_dir)


@pytest.hookimpl
def pytest_tts_register(registry):
    registry.add_verifier("counting", counting)
"""

SPEC = """\
model replayed = replay("../samples.jsonl")
dataset sums = jsonl("../sums.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
verifier counted = counting()

spec "counted" {
    model replayed
    dataset sums
    sample n = 4, temperature = 1.0, max_tokens = 8, seed = 0
    oracle counted

    expect accuracy >= 0.5 at n = 1
    expect accuracy >= 0.5 at n = 4 using best_of_n(verifier = counted)
    expect false_positive_rate(counted) <= 0.5
}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_replayed_sums(pytester.path, problems=6, samples=4, right=lambda i, j: j != 3, step=2)
    pytester.makeconftest(CONFTEST)
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "counted.tts").write_text(SPEC)
    return pytester


def _events(project: pytest.Pytester) -> list[list[object]]:
    log = project.path / "lifecycle.log"
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_one_instance_per_call_given_the_spec_folder_and_closed(project: pytest.Pytester) -> None:
    cache = f"--tts-cache-dir={project.path / 'cache'}"
    result = project.runpytest_subprocess("-p", "no:cacheprovider", cache, "specs")
    result.assert_outcomes(passed=3)
    events = _events(project)
    # the spec's folder, as the spec's path is given (relative to the working directory)
    assert events[0][0] == "built"
    assert (project.path / str(events[0][1])).resolve() == (project.path / "specs").resolve()
    assert [e[0] for e in events].count("built") == 1
    assert events[-1] == ["closed"]
    assert ["verify", 24] in events  # one batch for the whole pool

    # a warm run reads every verdict from the store: built (for its identity), never asked
    (project.path / "lifecycle.log").unlink()
    result = project.runpytest_subprocess("-p", "no:cacheprovider", cache, "specs")
    result.assert_outcomes(passed=3)
    assert [e[0] for e in _events(project)] == ["built", "closed"]
