"""Number and string literals of the spec language.

Numbers take an exponent (``4e9``, ``1e-3``) or one SI suffix (``k`` 10³, ``M`` 10⁶,
``G`` 10⁹, ``T`` 10¹², ``P`` 10¹⁵; case-sensitive). A literal without a decimal point whose
value is whole is an ``int`` (``64``, ``4e9``, ``10k``); anything else is a ``float``.
Strings are double-quoted with the escapes ``\\\\ \\" \\n \\t \\r \\uXXXX``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

SI_SUFFIXES: dict[str, int] = {"k": 3, "M": 6, "G": 9, "T": 12, "P": 15}

_NUMBER = re.compile(
    r"(?P<mantissa>[+-]?(?:\d+(?:\.\d+)?|\.\d+))(?:(?P<exp>[eE][+-]?\d+)|(?P<si>[kMGTP]))?"
)
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


class LiteralError(ValueError):
    """A malformed literal; ``offset`` is where in the literal's text the problem starts."""

    def __init__(self, message: str, offset: int = 0, length: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.length = length


def parse_number(text: str) -> int | float:
    """The value of a number literal; raises LiteralError saying what was expected."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        msg = (
            f"invalid number {text!r}: expected digits with an optional exponent (4e9) "
            "or one SI suffix (k, M, G, T, P)"
        )
        suffix = re.fullmatch(r"[+-]?[\d.]+([A-Za-z]+)", text)
        if suffix and suffix.group(1).upper() in {"K", "M", "G", "T", "P"}:
            msg += "; SI suffixes are case-sensitive"
        raise LiteralError(msg)
    mantissa, exp, si = match.group("mantissa", "exp", "si")
    if exp is None and si is None and "." not in mantissa:
        return int(mantissa)
    try:
        value = Decimal(mantissa + (exp or ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid forms
        raise LiteralError(f"invalid number {text!r}") from exc
    if si is not None:
        value = value.scaleb(SI_SUFFIXES[si])
    if "." not in mantissa and value == value.to_integral_value():
        return int(value)
    return float(value)


def parse_string(text: str) -> str:
    """The value of a string literal (with its quotes); raises LiteralError on a bad escape."""
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES and nxt:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            msg = (
                f"invalid escape '\\{nxt}' in string: expected one of "
                '\\\\, \\", \\n, \\t, \\r or \\uXXXX'
            )
            raise LiteralError(msg, offset=i + 1, length=2)
    return "".join(out)


def quote(value: str) -> str:
    """A string literal whose :func:`parse_string` is ``value``."""
    out = ['"']
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
