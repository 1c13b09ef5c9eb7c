"""End to end: ``.tts`` files collected by pytest through the installed plugin."""

from __future__ import annotations

import textwrap

import pytest

from pytest_tts.collect import ExpectationItem
from pytest_tts.errors import ExpectationFailed

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="module")
def _load_builtins_once() -> None:
    """Import the built-in plugins in this process before any in-process pytest run.

    pytester restores ``sys.modules`` after each in-process run; a plugin module imported
    inside one would be imported afresh by the next, and numpy warns (an error here) when
    it is imported twice. Loading them first keeps them in the snapshot.
    """
    from pytest_tts.registry import build_registry

    for entry in build_registry():
        if entry.kind != "backend":
            entry.load()


# Names a spec below needs that may not be registered by the built-ins yet; registered only
# when missing, so the real built-ins are used wherever they exist.
CONFTEST = """
import pytest


def jsonl(path, prompt="{question}", answer="answer", limit=None):
    raise NotImplementedError


@pytest.hookimpl(trylast=True)
def pytest_tts_register(registry):
    if ("source", "jsonl") not in registry:
        registry.add_source("jsonl", jsonl)
"""

SPEC = """\
model arith = vllm("models/tiny-arith", dtype = "float32")
dataset sums = jsonl("data/sums.jsonl", limit = 20)
verifier exact = exact_match(extract = last_number)
verifier units = last_digit()

spec "voting pays off" {
    model arith
    dataset sums
    sample n = 16, temperature = 1.0, max_tokens = 24
    oracle exact
    tags slow, arith_suite

    expect accuracy >= 0.55 at flops <= 4e9 using majority_vote
    expect coverage >= 0.9 at n = 16
    expect false_positive_rate(units) <= 0.15 with confidence 0.95
    for S in [majority_vote, best_of_n(verifier = units)] {
        expect accuracy >= 0.5 at n = 8 using S
    }
}

spec "single sample" {
    model arith
    dataset sums
    sample n = 4
    oracle exact
    expect accuracy >= 0.3
}
"""
IDS = [
    "voting pays off::accuracy>=0.55@flops<=4e9[majority_vote]",
    "voting pays off::coverage>=0.9@n=16",
    "voting pays off::false_positive_rate(units)<=0.15",
    "voting pays off::accuracy>=0.5@n=8[majority_vote][S=majority_vote]",
    "voting pays off::accuracy>=0.5@n=8[best_of_n(verifier=units)][S=best_of_n(verifier=units)]",
    "single sample::accuracy>=0.3",
]


def _glob(line: str) -> str:
    """An fnmatch pattern matching ``line`` literally where it has brackets."""
    return line.replace("[", "[[]")


@pytest.fixture
def specs(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".tts", addition=SPEC)
    return pytester


def test_collect_only_lists_one_item_per_expectation(specs: pytest.Pytester) -> None:
    result = specs.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines([f"addition.tts::{i}" for i in IDS] + ["6 tests collected*"])
    assert result.ret == pytest.ExitCode.OK


def test_collect_only_imports_neither_vllm_nor_torch(specs: pytest.Pytester) -> None:
    specs.makeconftest(
        CONFTEST
        + textwrap.dedent(
            """
            import sys


            def pytest_collection_finish(session):
                heavy = sorted(m for m in ("vllm", "torch") if m in sys.modules)
                print("heavy modules after collection:", heavy or "none")
            """
        )
    )
    result = specs.runpytest_subprocess("--collect-only", "-q", "-s")
    result.stdout.fnmatch_lines(["heavy modules after collection: none", "6 tests collected*"])


def test_tags_become_markers_and_select_with_m(specs: pytest.Pytester) -> None:
    result = specs.runpytest("--collect-only", "-q", "-m", "arith_suite", "--strict-markers")
    result.stdout.fnmatch_lines(["5/6 tests collected (1 deselected)*"])
    result = specs.runpytest("--collect-only", "-q", "-m", "not slow")
    result.stdout.fnmatch_lines(["addition.tts::single sample::accuracy>=0.3", "1/6 tests*"])


def test_k_selects_by_expectation_id(specs: pytest.Pytester) -> None:
    result = specs.runpytest("--collect-only", "-q", "-k", "best_of_n")
    result.stdout.fnmatch_lines([_glob("*[S=best_of_n(verifier=units)]"), "1/6 tests collected*"])
    result = specs.runpytest("--collect-only", "-q", "-k", "coverage or single")
    result.stdout.fnmatch_lines(["2/6 tests collected*"])


def test_items_carry_spec_and_expectation(specs: pytest.Pytester) -> None:
    items, _ = specs.inline_genitems()
    assert len(items) == 6
    item = items[0]
    assert isinstance(item, ExpectationItem)
    assert item.spec.name == "voting pays off"
    assert item.expectation.id == "accuracy>=0.55@flops<=4e9[majority_vote]"
    path, line, description = item.reportinfo()
    assert path.name == "addition.tts"
    assert line == 12  # 0-based: the expect statement is on line 13
    assert "expect accuracy >= 0.55" in description
    assert item.get_closest_marker("slow") is not None
    assert item.get_closest_marker("tts") is not None
    assert items[-1].get_closest_marker("slow") is None


def test_broken_spec_fails_collection_without_traceback(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".tts", broken=SPEC.replace("using majority_vote", "using majority_vot"))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting broken.tts*",
            _glob("broken.tts:13:51: error[unknown-strategy]: unknown strategy 'majority_vot'"),
            "  13 |     expect accuracy >= 0.55 at flops <= 4e9 using majority_vot",
            "     |                                                   ^^^^^^^^^^^^",
            "  known strategies: *majority_vote*",
            "  help: did you mean 'majority_vote'?",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_file_with_only_declarations_collects_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".tts", common=SPEC[: SPEC.index("spec ")])
    pytester.makefile(
        ".tts",
        uses=(
            'include "common.tts"\nspec "s" {\n    model arith\n    dataset sums\n'
            "    sample n = 2\n    oracle exact\n    expect coverage >= 0.5\n}\n"
        ),
    )
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["uses.tts::s::coverage>=0.5", "1 test collected*"])
    assert result.ret == pytest.ExitCode.OK


def test_custom_verifier_registered_in_conftest(pytester: pytest.Pytester) -> None:
    conftest = CONFTEST.replace(
        '    if ("source", "jsonl") not in registry:',
        '    registry.add_verifier("parity", parity)\n    if ("source", "jsonl") not in registry:',
    )
    conftest += textwrap.dedent(
        '''

        def parity(modulus=2):
            """Accepts an answer whose parity matches the reference."""
        '''
    )
    assert 'registry.add_verifier("parity", parity)' in conftest
    pytester.makeconftest(conftest)
    pytester.makefile(
        ".tts",
        custom=SPEC.replace(
            "verifier units = last_digit()", "verifier units = parity(modulus = 2)"
        ),
    )
    items, _ = pytester.inline_genitems()
    bound = [i for i in items if isinstance(i, ExpectationItem) and "false_positive" in i.name]
    assert len(bound) == 1
    verifier = bound[0].spec.verifiers["units"].verifier
    assert (verifier.name, verifier.kwargs) == ("parity", {"modulus": 2})

    # the checker binds arguments to the registered signature
    pytester.makefile(
        ".tts",
        custom=SPEC.replace("verifier units = last_digit()", "verifier units = parity(modulo = 2)"),
    )
    result = pytester.runpytest("--collect-only")
    result.stdout.fnmatch_lines(
        [
            _glob("custom.tts:4:25: error[unknown-argument]: parity() has no argument 'modulo'"),
            "*did you mean 'modulus'?",
        ]
    )


def _fake_run(self: ExpectationItem) -> None:
    """Stands in for the session runner: these tests are about pytest's plumbing only."""
    if self.expectation.id.startswith("accuracy>=0.5@n=8"):
        msg = f"{self.expectation.text}\n  observed 0.41 [0.33, 0.49] < 0.5"
        raise ExpectationFailed(msg)


def test_failures_render_without_traceback_and_x_lf_work(
    specs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ExpectationItem, "runtest", _fake_run)
    result = specs.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*expect accuracy >= 0.5 at n = 8 using majority_vote",
            "  observed 0.41 [0.33, 0.49] < 0.5",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "_fake_run" not in result.stdout.str()

    result = specs.runpytest("-x")
    result.assert_outcomes(passed=3, failed=1)

    result = specs.runpytest("--lf", "-q")
    result.assert_outcomes(failed=2, deselected=4)
