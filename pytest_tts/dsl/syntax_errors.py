"""Syntax diagnostics: what the parser reports when a spec does not parse.

Expected tokens are named in words, the caret sits under the offending token, or just after
the previous token when a statement was left unfinished; bad number and string literals and
files that are not UTF-8 get their own codes. Each becomes a
:class:`~pytest_tts.errors.SpecSyntaxError` with ``rendered`` holding the message.
"""

from __future__ import annotations

import functools

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from pytest_tts.dsl.diagnostics import Diagnostic, did_you_mean, render
from pytest_tts.dsl.grammar import lark_parser, token_span
from pytest_tts.dsl.literals import LiteralError
from pytest_tts.errors import SpecSyntaxError
from pytest_tts.span import Span

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


class LiteralAt(Exception):
    def __init__(self, error: LiteralError, token: Token) -> None:
        super().__init__(str(error))
        self.error = error
        self.token = token


def encoding_error(data: bytes, exc: UnicodeDecodeError, path: str) -> SpecSyntaxError:
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


def syntax_error(exc: UnexpectedInput, text: str, path: str) -> SpecSyntaxError:
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


def literal_error(exc: LiteralAt, text: str, path: str) -> SpecSyntaxError:
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
