"""The formatter: one canonical layout, comments kept, meaning unchanged, idempotent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from pytest_tts.dsl import format_source, parse
from pytest_tts.dsl.literals import quote
from pytest_tts.dsl.parser import lark_parser

from .conftest import EXAMPLES

MESSY = """\
# leading comment


include   "common.tts"# glued comment
model arith=vllm( "m" ,dtype="float32" , )
spec "s" for M in [a,
   b] {  # header
  model M
      sample n=4,temperature=1.0
  expect accuracy ≥ 0.5 at n ≤ 4 using best_of_n( verifier=units )   # why
  # before the loop
  for S in [majority_vote,single] { expect coverage>=0.9
  }


  expect accuracy using majority_vote is monotone in n
}   # done
# trailing
"""

CANONICAL = """\
# leading comment

include "common.tts"  # glued comment
model arith = vllm("m", dtype = "float32")
spec "s" for M in [a, b] {  # header
    model M
    sample n = 4, temperature = 1.0
    expect accuracy >= 0.5 at n <= 4 using best_of_n(verifier = units)  # why
    # before the loop
    for S in [majority_vote, single] {
        expect coverage >= 0.9
    }

    expect accuracy using majority_vote is monotone in n
}  # done
# trailing
"""


def test_messy_source_gets_the_canonical_layout() -> None:
    assert format_source(MESSY) == CANONICAL
    assert parse(CANONICAL) == parse(MESSY)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.tts")), ids=lambda p: p.name)
def test_example_corpus_is_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_source(text, path) == text


def test_every_comment_survives() -> None:
    formatted = format_source(MESSY)
    for comment in parse(MESSY).comments:
        assert comment.text in formatted


def test_empty_source_formats_to_empty() -> None:
    assert format_source("") == ""
    assert format_source("\n\n# only\n\n") == "# only\n"


# --- properties over specs generated from the grammar ---------------------------------------

_KEYWORDS = {
    t.pattern.value
    for t in lark_parser().terminals
    if t.pattern.type == "str" and t.pattern.value.isidentifier()
}
_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s not in _KEYWORDS
)
_NUMBERS = st.one_of(
    st.integers(-(10**6), 10**9).map(str),
    st.floats(0, 1, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.tuples(st.integers(1, 99), st.sampled_from("kMGTP")).map(lambda t: f"{t[0]}{t[1]}"),
    st.tuples(st.integers(1, 9), st.integers(-9, 12)).map(lambda t: f"{t[0]}e{t[1]}"),
)
_STRINGS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).map(quote)


def _pad(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return strategy.map(lambda s: f" {s} ")


def _explicit() -> dict[str, st.SearchStrategy[str]]:
    explicit: dict[str, st.SearchStrategy[str]] = {
        "NAME": _pad(_NAMES),
        "NUMBER": _pad(_NUMBERS),
        "STRING": _pad(_STRINGS),
        "CMP": _pad(st.sampled_from([">=", "<=", ">", "<", "≥", "≤"])),
        "WS": st.sampled_from([" ", "\n", "\n\n", "\t"]),
        "COMMENT": st.sampled_from(["# note\n", "#\n", "  # x ≥ y\n"]),
    }
    for terminal in lark_parser().terminals:
        if terminal.name not in explicit and terminal.pattern.type == "str":
            explicit[terminal.name] = st.just(f" {terminal.pattern.value} ")
    return explicit


SPECS = from_lark(lark_parser(), start="start", explicit=_explicit())
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("TTS_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY_SETTINGS
@given(SPECS)
def test_generated_specs_parse(text: str) -> None:
    parse(text)


@PROPERTY_SETTINGS
@given(SPECS)
def test_format_then_parse_gives_the_same_tree(text: str) -> None:
    module = parse(text)
    assert parse(format_source(text)) == module


@PROPERTY_SETTINGS
@given(SPECS)
def test_formatting_is_idempotent(text: str) -> None:
    once = format_source(text)
    assert format_source(once) == once
    assert len(parse(once).comments) == len(parse(text).comments)
