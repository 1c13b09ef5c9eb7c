from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tts.errors import VerifierError
from pytest_tts.registry import build_registry
from pytest_tts.spec import PluginCall
from pytest_tts.tasks import arith
from pytest_tts.types import Problem
from pytest_tts.verifiers.base import Verifier
from pytest_tts.verifiers.exact import exact_match, last_digit, normalize_answer
from pytest_tts.verifiers.extractors import regex


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("1,000", "1000"),
        ("42.0", "42"),
        ("007", "7"),
        ("+3", "3"),
        ("-0", "0"),
        ("0.0", "0"),
        (".50", "0.5"),
        ("-12.500", "-12.5"),
        ("$12", "12"),
        ("$42$", "42"),
        (r"\(7\)", "7"),
        (" 5. ", "5"),
        ("03/4", "3/4"),
        ("2/4", "2/4"),
        ("foo   bar", "foo bar"),
        ("1e5", "1e5"),
        ("Paris", "Paris"),
    ],
)
def test_normalize_answer(raw: str, normalized: str) -> None:
    assert normalize_answer(raw) == normalized


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(0, 3), st.integers(0, 3))
def test_renderings_of_an_integer_normalize_alike(n: int, zeros: int, decimals: int) -> None:
    sign = "-" if n < 0 else ""
    plain = f"{sign}{'0' * zeros}{abs(n)}" + ("." + "0" * decimals if decimals else "")
    grouped = f"{n:,}"
    assert normalize_answer(plain) == normalize_answer(grouped) == str(n)


def problem(answer: str | None, pid: str = "p") -> Problem:
    return Problem(pid, "Q:", answer)


def test_exact_match_extracts_normalizes_and_compares() -> None:
    verifier = exact_match(extract="last_number")
    right, wrong, none, grouped = verifier.verify(
        [
            (problem("632"), "7+5=12|4+8+1=13|3+2+1=6|=632"),
            (problem("632"), "7+5=12|4+8+1=13|3+2+1=6|=633"),
            (problem("632"), "no idea"),
            (problem("1000"), "It costs 1,000.00 dollars."),
        ]
    )
    assert (right.accepted, right.score, right.answer, right.detail) == (True, 1.0, "632", "match")
    assert (wrong.accepted, wrong.score, wrong.answer) == (False, 0.0, "633")
    assert (none.accepted, none.answer, none.detail) == (False, None, "no answer extracted")
    assert (grouped.accepted, grouped.answer) == (True, "1000")


def test_exact_match_options() -> None:
    text = exact_match()
    assert text.verify([(problem("Paris"), "  Paris \n")])[0].accepted
    assert not text.verify([(problem("Paris"), "paris")])[0].accepted
    folded = exact_match(ignore_case=True)
    verdict = folded.verify([(problem("Paris"), "PARIS")])[0]
    assert (verdict.accepted, verdict.answer) == (True, "paris")
    gsm = exact_match(extract="gsm8k", reference_extract="gsm8k")
    reference = "Half of 4 is 2.\n#### 2,000"
    assert gsm.verify([(problem(reference), "so\n#### 2000")])[0].accepted
    with pytest.raises(VerifierError, match="found no answer in the reference"):
        gsm.verify([(problem("2000"), "#### 2000")])
    with pytest.raises(VerifierError, match="problem 'q' has none"):
        exact_match().verify([(problem(None, "q"), "1")])


def test_last_digit_is_imperfect_in_a_measurable_way() -> None:
    verifier = last_digit()
    rng = random.Random(0)
    false_pos = wrong = 0
    for _ in range(2000):
        p = arith.random_problem(rng)
        guess = int(p.answer) + rng.choice([-20, -10, -1, 1, 2, 10, 100, rng.randrange(1, 500)])
        completion = "|".join([*arith.reference_steps(p.question), f"={guess}"])
        (verdict,) = verifier.verify([(Problem(p.question, p.prompt, p.answer), completion)])
        assert verdict.answer == str(guess)
        wrong += 1
        false_pos += verdict.accepted
    # Offsets of 10, 20 and 100 keep the last digit: about 4/8 of the fixed offsets plus
    # a tenth of the random ones.
    assert 0.3 < false_pos / wrong < 0.7
    right = verifier.verify([(problem("632"), "|=632")])[0]
    assert (right.accepted, right.detail) == (True, "last digit matches")
    with pytest.raises(VerifierError, match="reference with a digit"):
        verifier.verify([(problem("none"), "=1")])


def test_identities_are_stable_and_change_with_arguments() -> None:
    a = exact_match(extract="last_number")
    b = exact_match(extract=PluginCall("extractor", "last_number", text="last_number"))
    assert a.identity() == b.identity()
    assert (
        a.identity()
        == "exact_match@1(extract=last_number, ignore_case=false, reference_extract=none)"
    )
    others = {
        exact_match().identity(),
        exact_match(extract="boxed").identity(),
        exact_match(extract="last_number", ignore_case=True).identity(),
        exact_match(extract=regex("=(\\d+)$")).identity(),
        exact_match(extract=regex("=(\\d+)")).identity(),
        last_digit().identity(),
    }
    assert len(others) == 6
    assert a.identity() not in others
    assert isinstance(a, Verifier)


def test_registered_factories_build_the_same_verifiers() -> None:
    registry = build_registry()
    for name in ("exact_match", "last_digit", "math_equivalence", "unit_tests", "weak_tests"):
        assert name in registry.names("verifier")
    for name in ("boxed", "full", "gsm8k", "last_number", "regex"):
        assert name in registry.names("extractor")
    factory = registry.get("verifier", "exact_match")
    extract = PluginCall("extractor", "regex", kwargs={"pattern": "=(\\d+)$"})
    verifier = factory(extract=extract)
    assert verifier.verify([(problem("12"), "5+7=12|=12")])[0].accepted
    assert registry.get("extractor", "boxed")()(r"\boxed{4}") == "4"
