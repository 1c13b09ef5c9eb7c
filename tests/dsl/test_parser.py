"""Parsing: the syntax tree, spans, literals, comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tts.dsl import ast, parse, parse_file
from pytest_tts.dsl.literals import LiteralError, parse_number, parse_string, quote
from pytest_tts.errors import SpecSyntaxError

from .conftest import EXAMPLES

SPEC = """\
model arith = vllm("models/tiny-arith", dtype = "float32")
spec "s" {
    model arith
    expect accuracy ≥ 0.55 at flops ≤ 4G using majority_vote
}
"""


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.tts")), ids=lambda p: p.name)
def test_example_corpus_parses(path: Path) -> None:
    module = parse_file(path)
    assert module.path == str(path)
    assert module.items


def test_declaration_and_spec_tree() -> None:
    module = parse(SPEC, "x.tts")
    decl, spec = module.items
    assert isinstance(decl, ast.Declaration)
    assert (decl.kind, decl.name.text, decl.call.func.text) == ("model", "arith", "vllm")
    assert decl.call.args[0] == ast.Arg(
        None, ast.String("models/tiny-arith", '"models/tiny-arith"')
    )
    assert decl.call.args[1].name == "dtype"
    assert isinstance(spec, ast.SpecBlock)
    threshold = spec.body[1]
    assert isinstance(threshold, ast.ThresholdStmt)
    assert threshold.op == ">="  # '≥' is normalized
    assert threshold.budget is not None
    assert threshold.budget.op == "<="
    assert threshold.budget.value == ast.Number(4_000_000_000, "4G")
    assert threshold.strategy == ast.Ident("majority_vote")


def test_spans_are_one_based_and_cover_the_node() -> None:
    module = parse(SPEC, "x.tts")
    spec = module.items[1]
    assert isinstance(spec, ast.SpecBlock)
    threshold = spec.body[1]
    assert isinstance(threshold, ast.ThresholdStmt)
    span = threshold.span
    assert (span.path, span.line, span.column) == ("x.tts", 4, 5)
    assert SPEC[span.start : span.end].startswith("expect accuracy")
    assert SPEC[span.start : span.end].endswith("majority_vote")
    assert span.pytest_line == 3
    strategy = threshold.strategy
    assert strategy is not None
    assert SPEC[strategy.span.start : strategy.span.end] == "majority_vote"


def test_spans_do_not_take_part_in_equality() -> None:
    assert parse(SPEC) == parse("\n\n" + SPEC.replace("    ", "  "))
    assert parse(SPEC) != parse(SPEC.replace("0.55", "0.56"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("64", 64),
        ("4e9", 4_000_000_000),
        ("4G", 4_000_000_000),
        ("2.5T", 2.5e12),
        ("10k", 10_000),
        ("3M", 3_000_000),
        ("1P", 10**15),
        ("1e-3", 0.001),
        ("0.5", 0.5),
        (".5", 0.5),
        ("-2", -2),
        ("1.0", 1.0),
    ],
)
def test_number_literals(text: str, value: float) -> None:
    result = parse_number(text)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("text", ["4X", "4g", "1e", "1.2.3", "1e3k", "1_000", "4kk"])
def test_bad_number_literals(text: str) -> None:
    with pytest.raises(LiteralError, match="invalid number"):
        parse_number(text)


def test_string_escapes_round_trip() -> None:
    assert parse_string(r'"a\"b\\c\nd\te\u00e9"') == 'a"b\\c\nd\te\u00e9'
    for value in ["plain", 'quo"te', "back\\slash", "new\nline", "Q:{question}\nA:", "\x01"]:
        assert parse_string(quote(value)) == value


def test_comments_are_collected_with_their_placement() -> None:
    module = parse('# top\nmodel m = vllm("x")  # after\n')
    assert [(c.text, c.own_line) for c in module.comments] == [("# top", True), ("# after", False)]
    assert module.comments[1].span.line == 2


def test_glued_keywords_do_not_lex_as_keywords() -> None:
    # The contextual lexer would read 'samplen = 3' as 'sample n = 3'.
    with pytest.raises(SpecSyntaxError, match="found identifier 'samplen'"):
        parse('spec "s" { samplen = 3 }')


def test_keywords_may_name_arguments() -> None:
    module = parse("verifier v = judge(model = m, dataset = d, verifier = w, confidence = 0.9)")
    decl = module.items[0]
    assert isinstance(decl, ast.Declaration)
    assert [a.name for a in decl.call.args] == ["model", "dataset", "verifier", "confidence"]


def test_trailing_commas_and_nested_values() -> None:
    module = parse('model m = vllm("x", stop = ["a", "b",], flags = [true, false, 1e3],)')
    decl = module.items[0]
    assert isinstance(decl, ast.Declaration)
    _, stop, flags = decl.call.args
    assert stop.value == ast.ListValue((ast.String("a", '"a"'), ast.String("b", '"b"')))
    assert flags.value == ast.ListValue((ast.Bool(True), ast.Bool(False), ast.Number(1000, "1e3")))


def test_empty_file_and_comment_only_file_parse() -> None:
    assert parse("").items == ()
    assert parse("# nothing here\n").items == ()


def test_syntax_error_carries_span_and_rendered_text() -> None:
    with pytest.raises(SpecSyntaxError) as excinfo:
        parse('model m = vllm("x"\ndataset d = jsonl("y")\n', "bad.tts")
    error = excinfo.value
    assert error.code == "syntax"
    assert error.span is not None
    assert (error.span.line, error.span.column) == (1, 19)  # just after the last good token
    assert error.rendered.splitlines() == [
        "bad.tts:1:19: error[syntax]: expected ')' or ',', found 'dataset'",
        '   1 | model m = vllm("x"',
        "     |                   ^",
    ]


def test_grammar_loads_from_the_package() -> None:
    from pytest_tts.dsl.parser import grammar_text

    assert "start:" in grammar_text()


def test_a_file_that_is_not_utf8_is_a_positioned_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tts"
    path.write_bytes('model m = vllm("x")\nspec "caf\u00e9" {}\n'.encode("latin-1"))
    with pytest.raises(SpecSyntaxError) as excinfo:
        parse_file(path)
    assert excinfo.value.code == "encoding"
    assert excinfo.value.rendered.startswith(f"{path}:2:10: error[encoding]: the file is not UTF-8")
