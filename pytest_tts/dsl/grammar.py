"""The spec grammar as a Lark parser, and source spans of its tokens.

The grammar (``tts.lark``) is read from the installed package; the parser is LALR with the
basic lexer (the contextual lexer accepts glued keywords such as ``samplen=3``) and is built
once per process. Comments are collected through a lexer callback into a per-thread sink
that :func:`pytest_tts.dsl.parser.parse` sets.
"""

from __future__ import annotations

import functools
import importlib.resources
import threading
from typing import Any

from lark import Lark, Token

from pytest_tts.span import Span

GRAMMAR_RESOURCE = "tts.lark"

comment_sink = threading.local()


def grammar_text() -> str:
    """The grammar, read from the installed package (works from a wheel or a checkout)."""
    return (importlib.resources.files("pytest_tts.dsl") / GRAMMAR_RESOURCE).read_text("utf-8")


def _collect_comment(token: Token) -> Token:
    sink = getattr(comment_sink, "tokens", None)
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


def meta_span(path: str, meta: Any) -> Span:
    return Span(
        path,
        meta.line,
        meta.column,
        meta.end_line,
        meta.end_column,
        meta.start_pos,
        meta.end_pos,
    )
