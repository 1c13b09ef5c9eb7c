"""A Pygments lexer for ``.tts`` spec files.

Registered as the ``tts`` Pygments lexer through the ``pygments.lexers`` entry point, so
``pygmentize -l tts specs/addition.tts`` and documentation tools highlight specs too.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

KEYWORDS = (
    "model",
    "dataset",
    "verifier",
    "spec",
    "sample",
    "oracle",
    "expect",
    "using",
    "at",
    "matched",
    "with",
    "confidence",
    "is",
    "monotone",
    "in",
    "no",
    "regression",
    "of",
    "against",
    "baseline",
    "within",
    "for",
    "include",
    "tags",
    "limit",
)
# The metrics and budget units read as built-in names rather than identifiers.
BUILTINS = (
    "accuracy",
    "coverage",
    "false_positive_rate",
    "false_negative_rate",
    "n",
    "tokens",
    "flops",
)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


class TTSLexer(RegexLexer):
    """Spec files of pytest-tts: declarations, spec blocks and ``expect`` statements."""

    name = "TTS spec"
    aliases: ClassVar[list[str]] = ["tts", "pytest-tts"]
    filenames: ClassVar[list[str]] = ["*.tts"]
    mimetypes: ClassVar[list[str]] = ["text/x-tts"]

    tokens: ClassVar[dict[str, list]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*?$", Comment.Single),
            # one token per string; an unterminated one ends at the line's end
            (r'"(?:\\.|[^"\\\n])*"?', String.Double),
            # a declaration names what it declares: `model arith = …`, `verifier units = …`
            (
                rf"\b(model|dataset|verifier)(\s+)({_IDENT})(\s*)(=)",
                bygroups(Keyword.Declaration, Whitespace, Name.Variable, Whitespace, Operator),
            ),
            (words(KEYWORDS, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(("true", "false"), prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (words(BUILTINS, prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (rf"({_IDENT})(\s*)(\()", bygroups(Name.Function, Whitespace, Punctuation)),
            # 4e9, 2.5T, 0.55, 64, 1_000, 4G: exponents and SI suffixes
            (
                r"(\d[\d_]*\.\d*|\.\d+|\d[\d_]*)([eE][+-]?\d+)?[kKMGTP]?\b",
                Number,
            ),
            (r">=|<=|==|!=|[≥≤<>=+\-*/]", Operator),
            (r"[{}()\[\],;:.]", Punctuation),
            (_IDENT, Name),
            (r".", Text),
        ],
    }
