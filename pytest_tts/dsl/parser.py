"""Source text to syntax tree: the Lark parser, the tree builder and syntax diagnostics.

Parsing stops at the first syntax error, which is raised as
:class:`~pytest_tts.errors.SpecSyntaxError` with ``rendered`` holding the compiler-style
message (expected tokens in words, a caret under the offending token, or just after the
previous token when a statement was left unfinished).
"""

from __future__ import annotations

import functools
import importlib.resources
import threading
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from pytest_tts.dsl import ast
from pytest_tts.dsl.diagnostics import Diagnostic, did_you_mean, render
from pytest_tts.dsl.literals import LiteralError, parse_number, parse_string
from pytest_tts.errors import SpecSyntaxError
from pytest_tts.span import Span

GRAMMAR_RESOURCE = "tts.lark"

# Terminals named in words in messages; keywords and punctuation are quoted as written.
_TERMINAL_WORDS = {
    "NAME": "identifier",
    "NUMBER": "number",
    "STRING": "string",
    "CMP": "comparison operator ('>=', '<=', '>', '<')",
    "$END": "end of file",
}
# Tokens that may start a statement (or end a block): when the parser expects one of these,
# the previous statement is complete and the error is the unexpected token itself.
_STATEMENT_BOUNDARY = {
    "INCLUDE",
    "MODEL",
    "DATASET",
    "VERIFIER",
    "SPEC",
    "SAMPLE",
    "ORACLE",
    "TAGS",
    "EXPECT",
    "FOR",
    "RBRACE",
    "$END",
}
_OPS = {"≥": ">=", "≤": "<="}

_comment_sink = threading.local()


def grammar_text() -> str:
    """The grammar, read from the installed package (works from a wheel or a checkout)."""
    return (importlib.resources.files("pytest_tts.dsl") / GRAMMAR_RESOURCE).read_text("utf-8")


def _collect_comment(token: Token) -> Token:
    sink = getattr(_comment_sink, "tokens", None)
    if sink is not None:
        sink.append(token)
    return token


@functools.cache
def lark_parser() -> Lark:
    """The LALR parser (built once per process)."""
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _collect_comment},
    )


def parse(text: str, path: str | Path = "<string>") -> ast.Module:
    """Parse spec source text; raises SpecSyntaxError (with ``rendered``) on the first error."""
    path = str(path)
    parser = lark_parser()
    comments: list[Token] = []
    _comment_sink.tokens = comments
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, path) from None
    finally:
        _comment_sink.tokens = None
    try:
        items = _Builder(path).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, _LiteralAt):
            raise _literal_error(exc.orig_exc, text, path) from None
        raise exc.orig_exc from None
    return ast.Module(
        path=path,
        items=items,
        source=text,
        comments=tuple(_comment(tok, text, path) for tok in comments),
    )


def parse_file(path: str | Path) -> ast.Module:
    """Read and parse one ``.tts`` file (UTF-8)."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(data, exc, str(path)) from None
    return parse(text, path)


def _encoding_error(data: bytes, exc: UnicodeDecodeError, path: str) -> SpecSyntaxError:
    before = data[: exc.start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", "replace")) + 1
    text = data.decode("utf-8", "replace")
    offset = len(before.decode("utf-8", "replace"))
    span = Span(path, line, column, line, column + 1, offset, offset + 1)
    message = f"the file is not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded"
    diagnostic = Diagnostic(span, "encoding", message, help="save the file as UTF-8")
    return SpecSyntaxError(message, span=span, code="encoding", rendered=render(diagnostic, text))


# --- spans -------------------------------------------------------------------------------


def token_span(path: str, token: Token) -> Span:
    return Span(
        path,
        token.line or 1,
        token.column or 1,
        token.end_line or token.line or 1,
        token.end_column or (token.column or 1) + len(token),
        token.start_pos or 0,
        token.end_pos if token.end_pos is not None else (token.start_pos or 0) + len(token),
    )


def _meta_span(path: str, meta: Any) -> Span:
    return Span(
        path,
        meta.line,
        meta.column,
        meta.end_line,
        meta.end_column,
        meta.start_pos,
        meta.end_pos,
    )


def _comment(token: Token, text: str, path: str) -> ast.Comment:
    start = token.start_pos or 0
    line_start = text.rfind("\n", 0, start) + 1
    own_line = text[line_start:start].strip() == ""
    return ast.Comment(str(token).rstrip(), own_line, span=token_span(path, token))


# --- the tree builder ----------------------------------------------------------------------


class _LiteralAt(Exception):
    def __init__(self, error: LiteralError, token: Token) -> None:
        super().__init__(str(error))
        self.error = error
        self.token = token


@v_args(meta=True)
class _Builder(Transformer[Token, tuple[ast.Item, ...]]):
    """Lark parse tree to :mod:`pytest_tts.dsl.ast` nodes."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _span(self, meta: Any) -> Span:
        return _meta_span(self.path, meta)

    def _tok(self, token: Token) -> Span:
        return token_span(self.path, token)

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(str(token), span=self._tok(token))

    def _ident(self, token: Token) -> ast.Ident:
        return ast.Ident(str(token), span=self._tok(token))

    def _number(self, token: Token) -> ast.Number:
        try:
            value = parse_number(str(token))
        except LiteralError as exc:
            raise _LiteralAt(exc, token) from None
        return ast.Number(value, str(token), span=self._tok(token))

    def _op(self, token: Token) -> ast.Op:
        op: Any = _OPS.get(str(token), str(token))
        return op

    # top level
    def start(self, meta: Any, children: list[Any]) -> tuple[ast.Item, ...]:
        return tuple(children)

    def include(self, meta: Any, children: list[Any]) -> ast.Include:
        return ast.Include(self.string(meta, children), span=self._span(meta))

    def _declaration(self, kind: Any, meta: Any, children: list[Any]) -> ast.Declaration:
        name, call = children
        return ast.Declaration(kind, self._name(name), call, span=self._span(meta))

    def model_decl(self, meta: Any, children: list[Any]) -> ast.Declaration:
        return self._declaration("model", meta, children)

    def dataset_decl(self, meta: Any, children: list[Any]) -> ast.Declaration:
        return self._declaration("dataset", meta, children)

    def verifier_decl(self, meta: Any, children: list[Any]) -> ast.Declaration:
        return self._declaration("verifier", meta, children)

    def spec(self, meta: Any, children: list[Any]) -> ast.SpecBlock:
        name_token, loop, *body = children
        name = self.string(meta, [name_token])
        return ast.SpecBlock(name, loop, tuple(body), span=self._span(meta))

    def loop(self, meta: Any, children: list[Any]) -> ast.Loop:
        var, values = children
        return ast.Loop(self._name(var), values, span=self._span(meta))

    # spec statements
    def use_model(self, meta: Any, children: list[Any]) -> ast.UseModel:
        return ast.UseModel(self._ident(children[0]), span=self._span(meta))

    def use_dataset(self, meta: Any, children: list[Any]) -> ast.UseDataset:
        return ast.UseDataset(self._ident(children[0]), span=self._span(meta))

    def sample(self, meta: Any, children: list[Any]) -> ast.SampleStmt:
        return ast.SampleStmt(tuple(children), span=self._span(meta))

    def oracle(self, meta: Any, children: list[Any]) -> ast.OracleStmt:
        return ast.OracleStmt(children[0], span=self._span(meta))

    def tags(self, meta: Any, children: list[Any]) -> ast.TagsStmt:
        return ast.TagsStmt(tuple(self._name(t) for t in children), span=self._span(meta))

    def for_block(self, meta: Any, children: list[Any]) -> ast.ForStmt:
        loop, *body = children
        return ast.ForStmt(loop, tuple(body), span=self._span(meta))

    # expectations
    def threshold(self, meta: Any, children: list[Any]) -> ast.ThresholdStmt:
        measure, op, value, budget, strategy, confidence = children
        return ast.ThresholdStmt(
            measure,
            self._op(op),
            self._number(value),
            budget,
            strategy,
            confidence,
            span=self._span(meta),
        )

    def comparison(self, meta: Any, children: list[Any]) -> ast.ComparisonStmt:
        left, op, right, unit, range_, confidence = children
        return ast.ComparisonStmt(
            left, self._op(op), right, self._name(unit), range_, confidence, span=self._span(meta)
        )

    def monotone(self, meta: Any, children: list[Any]) -> ast.MonotoneStmt:
        measure, unit, tolerance, confidence = children
        return ast.MonotoneStmt(
            measure, self._name(unit), tolerance, confidence, span=self._span(meta)
        )

    def regression(self, meta: Any, children: list[Any]) -> ast.RegressionStmt:
        measure, budget, tolerance, confidence = children
        return ast.RegressionStmt(measure, budget, tolerance, confidence, span=self._span(meta))

    def measure(self, meta: Any, children: list[Any]) -> ast.MeasureNode:
        metric, args, model, strategy = children
        return ast.MeasureNode(self._name(metric), args, model, strategy, span=self._span(meta))

    def metric_args(self, meta: Any, children: list[Any]) -> tuple[ast.Arg, ...]:
        return children[0] if children[0] is not None else ()

    def of(self, meta: Any, children: list[Any]) -> ast.Ident:
        return self._ident(children[0])

    def using(self, meta: Any, children: list[Any]) -> ast.Value:
        return children[0]

    def budget(self, meta: Any, children: list[Any]) -> ast.BudgetNode:
        unit, op, value = children
        amount = self._number(value) if value.type == "NUMBER" else self._ident(value)
        return ast.BudgetNode(self._name(unit), op, amount, span=self._span(meta))

    def budget_op(self, meta: Any, children: list[Any]) -> ast.Op:
        return self._op(children[0])

    def range(self, meta: Any, children: list[Any]) -> ast.RangeNode:
        low, high = children
        return ast.RangeNode(self._number(low), self._number(high), span=self._span(meta))

    def within(self, meta: Any, children: list[Any]) -> ast.Number:
        return self._number(children[0])

    def confidence(self, meta: Any, children: list[Any]) -> ast.Number:
        return self._number(children[0])

    # values
    def call(self, meta: Any, children: list[Any]) -> ast.Call:
        func, args = children
        return ast.Call(self._name(func), args or (), span=self._span(meta))

    def args(self, meta: Any, children: list[Any]) -> tuple[ast.Arg, ...]:
        return tuple(c for c in children if c is not None)

    def posarg(self, meta: Any, children: list[Any]) -> ast.Arg:
        return ast.Arg(None, children[0], span=self._span(meta))

    def kwarg(self, meta: Any, children: list[Any]) -> ast.Arg:
        name, value = children
        return ast.Arg(name, value, span=self._span(meta))

    def argname(self, meta: Any, children: list[Any]) -> str:
        return str(children[0])

    def number(self, meta: Any, children: list[Any]) -> ast.Number:
        return self._number(children[0])

    def string(self, meta: Any, children: list[Any]) -> ast.String:
        token = children[0]
        try:
            value = parse_string(str(token))
        except LiteralError as exc:
            raise _LiteralAt(exc, token) from None
        return ast.String(value, str(token), span=self._tok(token))

    def true(self, meta: Any, children: list[Any]) -> ast.Bool:
        return ast.Bool(True, span=self._span(meta))

    def false(self, meta: Any, children: list[Any]) -> ast.Bool:
        return ast.Bool(False, span=self._span(meta))

    def ident(self, meta: Any, children: list[Any]) -> ast.Ident:
        return self._ident(children[0])

    def list(self, meta: Any, children: list[Any]) -> ast.ListValue:
        return ast.ListValue(tuple(c for c in children if c is not None), span=self._span(meta))


# --- syntax diagnostics --------------------------------------------------------------------


@functools.cache
def _terminal_words() -> dict[str, str]:
    words = dict(_TERMINAL_WORDS)
    for terminal in lark_parser().terminals:
        if terminal.name not in words and terminal.pattern.type == "str":
            words[terminal.name] = f"'{terminal.pattern.value}'"
    return words


def describe_terminal(name: str) -> str:
    return _terminal_words().get(name, name)


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "NAME":
        return f"identifier '{token}'"
    if token.type == "NUMBER":
        return f"number {token}"
    if token.type == "STRING":
        return f"string {token}"
    return f"'{token}'"


def _expected_words(expected: set[str]) -> str:
    words = sorted(
        {describe_terminal(name) for name in expected},
        key=lambda w: (w == "end of file", not w.startswith("'"), w),
    )
    if len(words) == 1:
        return words[0]
    if len(words) == 2:
        return f"{words[0]} or {words[1]}"
    return "one of " + ", ".join(words)


def _previous_token(text: str, pos: int) -> Token | None:
    previous = None
    try:
        for token in lark_parser().lex(text):
            if (token.start_pos or 0) >= pos:
                break
            previous = token
    except UnexpectedInput:
        pass
    return previous


def _after(path: str, token: Token) -> Span:
    end = token_span(path, token)
    return Span(
        path, end.end_line, end.end_column, end.end_line, end.end_column + 1, end.end, end.end + 1
    )


def _syntax_error(exc: UnexpectedInput, text: str, path: str) -> SpecSyntaxError:
    help_ = None
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        # LALR merges lookaheads of different contexts into ``exc.expected``; ask the
        # parser which tokens really advance it from here.
        try:
            expected = set(exc.interactive_parser.accepts()) or set(exc.expected)
        except Exception:  # pragma: no cover - accepts() replays the parser; be defensive
            expected = set(exc.expected)
        at_end = token.type == "$END"
        pos = len(text) if at_end else (token.start_pos or 0)
        previous = _previous_token(text, pos)
        message = f"expected {_expected_words(expected)}, found {_describe_token(token)}"
        unfinished = not (expected & _STATEMENT_BOUNDARY)
        if previous is not None and (
            at_end or (unfinished and (token.line or 0) > (previous.end_line or 0))
        ):
            span = _after(path, previous)
        elif at_end:
            span = Span(path, 1, 1, 1, 2, 0, 1)
        else:
            span = token_span(path, token)
        if token.type == "NAME":
            keywords = [describe_terminal(n).strip("'") for n in expected if n.isupper()]
            keywords = [k for k in keywords if k.isidentifier()]
            help_ = did_you_mean(str(token), keywords)
        elif expected == {"NAME"} and str(token).isidentifier():
            help_ = f"'{token}' is a keyword and cannot be used as a name"
        elif token.type == "EQUAL" and "CMP" in expected:
            help_ = "a threshold compares with '>=', '<=', '>' or '<'"
    elif isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos]
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        if char == '"':
            message = "unterminated string: expected a closing '\"' before the end of the line"
            width = max(1, line_end - pos)
        else:
            message = f"unexpected character {char!r}"
            width = 1
            if char in "!=":
                help_ = "comparison operators are '>=', '<=', '>', '<', '≥' and '≤'"
        span = Span(path, exc.line, exc.column, exc.line, exc.column + width, pos, pos + width)
    else:  # pragma: no cover - LALR raises only the two above
        message = str(exc)
        span = Span(path, 1, 1, 1, 2, 0, 1)
    diagnostic = Diagnostic(span, "syntax", message, help=help_)
    return SpecSyntaxError(message, span=span, code="syntax", rendered=render(diagnostic, text))


def _literal_error(exc: _LiteralAt, text: str, path: str) -> SpecSyntaxError:
    base = token_span(path, exc.token)
    if exc.error.length is not None:
        start = base.start + exc.error.offset
        span = Span(
            path,
            base.line,
            base.column + exc.error.offset,
            base.line,
            base.column + exc.error.offset + exc.error.length,
            start,
            start + exc.error.length,
        )
    else:
        span = base
    code = "bad-number" if exc.token.type == "NUMBER" else "bad-string"
    diagnostic = Diagnostic(span, code, str(exc.error))
    return SpecSyntaxError(str(exc.error), span=span, code=code, rendered=render(diagnostic, text))
