"""Source text to syntax tree: :func:`parse` and the tree builder.

Parsing stops at the first syntax error, which is raised as
:class:`~pytest_tts.errors.SpecSyntaxError` with ``rendered`` holding the compiler-style
message (expected tokens in words, a caret under the offending token, or just after the
previous token when a statement was left unfinished; see
:mod:`pytest_tts.dsl.syntax_errors`). The Lark parser itself is in
:mod:`pytest_tts.dsl.grammar`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from pytest_tts.dsl import ast
from pytest_tts.dsl.grammar import comment_sink, grammar_text, lark_parser, meta_span, token_span
from pytest_tts.dsl.literals import LiteralError, parse_number, parse_string
from pytest_tts.dsl.syntax_errors import LiteralAt, encoding_error, literal_error, syntax_error
from pytest_tts.span import Span

_OPS = {"≥": ">=", "≤": "<="}


def parse(text: str, path: str | Path = "<string>") -> ast.Module:
    """Parse spec source text; raises SpecSyntaxError (with ``rendered``) on the first error."""
    path = str(path)
    parser = lark_parser()
    comments: list[Token] = []
    comment_sink.tokens = comments
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, path) from None
    finally:
        comment_sink.tokens = None
    try:
        items = _Builder(path).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, LiteralAt):
            raise literal_error(exc.orig_exc, text, path) from None
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
        raise encoding_error(data, exc, str(path)) from None
    return parse(text, path)


def _comment(token: Token, text: str, path: str) -> ast.Comment:
    start = token.start_pos or 0
    line_start = text.rfind("\n", 0, start) + 1
    own_line = text[line_start:start].strip() == ""
    return ast.Comment(str(token).rstrip(), own_line, span=token_span(path, token))


# --- the tree builder ----------------------------------------------------------------------


@v_args(meta=True)
class _Builder(Transformer[Token, tuple[ast.Item, ...]]):
    """Lark parse tree to :mod:`pytest_tts.dsl.ast` nodes."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _span(self, meta: Any) -> Span:
        return meta_span(self.path, meta)

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
            raise LiteralAt(exc, token) from None
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
        measure, op, value, budget, strategy, by, confidence, per = children
        return ast.ThresholdStmt(
            measure,
            self._op(op),
            self._number(value),
            budget,
            strategy,
            confidence,
            span=self._span(meta),
            by=by,
            per=per,
        )

    def by_fit(self, meta: Any, children: list[Any]) -> ast.Name:
        return self._name(children[0])

    def per(self, meta: Any, children: list[Any]) -> ast.Name:
        return self._name(children[0])

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
            raise LiteralAt(exc, token) from None
        return ast.String(value, str(token), span=self._tok(token))

    def true(self, meta: Any, children: list[Any]) -> ast.Bool:
        return ast.Bool(True, span=self._span(meta))

    def false(self, meta: Any, children: list[Any]) -> ast.Bool:
        return ast.Bool(False, span=self._span(meta))

    def ident(self, meta: Any, children: list[Any]) -> ast.Ident:
        return self._ident(children[0])

    def list(self, meta: Any, children: list[Any]) -> ast.ListValue:
        return ast.ListValue(tuple(c for c in children if c is not None), span=self._span(meta))


__all__ = ["grammar_text", "lark_parser", "parse", "parse_file", "token_span"]
