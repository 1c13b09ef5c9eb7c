"""Answer extractors: the final answer a completion states, as a string (or None).

Each is registered as an ``extractor`` plugin and named in specs as
``exact_match(extract = last_number)`` or ``exact_match(extract = regex(pattern = "…"))``.
A factory returns an :class:`Extractor`: a callable ``text -> str | None`` with an
``identity()`` that verifiers fold into their own. Extractors return the answer as written
(``"1,000"``); normalizing it is the verifier's job (see ``exact.normalize_answer``).

Built-ins:

- ``full``: the whole completion, stripped (None when empty).
- ``last_number``: the last number in the text: an optional sign, digits with optional
  thousands commas (``1,000``), an optional decimal part, an optional ``/denominator``.
  A ``-`` right after a digit, letter or closing bracket is an operator, not a sign
  (``10-3`` ends in ``3``). In the arithmetic task's format ``7+5=12|4+8+1=13|=632`` the last
  number is the answer after the last ``=``.
- ``boxed``: the content of the last ``\\boxed{…}`` (nested braces allowed) or ``\\fbox{…}``;
  also ``\\boxed 5``.
- ``gsm8k``: what follows the last ``####`` on its line (GSM8K's answer marker).
- ``regex(pattern, group)``: the last match of ``pattern``; ``group`` defaults to 1 when the
  pattern has a group, else the whole match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_tts.errors import UnknownNameError, VerifierError
from pytest_tts.spec import PluginCall

ExtractFn = Callable[[str], str | None]


@dataclass(frozen=True)
class Extractor:
    """A named answer extractor; calling it extracts from one completion."""

    name: str
    fn: ExtractFn = field(repr=False, compare=False)
    args: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, text: str) -> str | None:
        return self.fn(text)

    def identity(self) -> str:
        if not self.args:
            return self.name
        from pytest_tts.verifiers.base import canonical_value

        inner = ", ".join(f"{k}={canonical_value(self.args[k])}" for k in sorted(self.args))
        return f"{self.name}({inner})"


# An optional sign (only where a '-' cannot be an operator), then thousands-grouped or plain
# digits, an optional decimal part, an optional denominator.
_NUMBER = re.compile(
    r"(?:(?<![\w)\]}.])-)?"
    r"(?<![A-Za-z_.])"
    r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:/\d+)?"
    r"|(?:(?<![\w)\]}.])-)?(?<![\w.])\.\d+"
)
_GSM8K = re.compile(r"####[ \t]*([^\n]*)")
_BOXED = re.compile(r"\\(?:boxed|fbox)\b")


def _last_number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    return found[-1] if found else None


def _full(text: str) -> str | None:
    stripped = text.strip()
    return stripped or None


def _boxed(text: str) -> str | None:
    for match in reversed(list(_BOXED.finditer(text))):
        rest = text[match.end() :]
        body = rest.lstrip()
        if body.startswith("{"):
            depth = 0
            for i, ch in enumerate(body):
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        content = body[1:i].strip()
                        return content or None
            continue  # unbalanced: try an earlier one
        if rest[:1].isspace():
            token = re.match(r"[^\s$]+", body)
            if token:
                return token.group(0)
    return None


def _gsm8k(text: str) -> str | None:
    found = _GSM8K.findall(text)
    if not found:
        return None
    answer: str = found[-1].strip()
    return answer or None


def full() -> Extractor:
    """The whole completion, stripped."""
    return Extractor("full", _full)


def last_number() -> Extractor:
    """The last number in the completion."""
    return Extractor("last_number", _last_number)


def boxed() -> Extractor:
    """The content of the last ``\\boxed{…}``."""
    return Extractor("boxed", _boxed)


def gsm8k() -> Extractor:
    """What follows the last ``####``."""
    return Extractor("gsm8k", _gsm8k)


def regex(pattern: str, group: int | None = None) -> Extractor:
    """The last match of ``pattern`` (``group`` 1 by default when the pattern has one)."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        msg = f"regex pattern must be a valid regular expression, got {pattern!r}: {exc}"
        raise VerifierError(msg) from None
    chosen = group if group is not None else (1 if compiled.groups else 0)
    if not 0 <= chosen <= compiled.groups:
        msg = f"regex group must be between 0 and {compiled.groups} for {pattern!r}, got {group}"
        raise VerifierError(msg)

    def extract(text: str) -> str | None:
        matches = list(compiled.finditer(text))
        if not matches:
            return None
        value = matches[-1].group(chosen)
        return None if value is None else value.strip() or None

    return Extractor("regex", extract, {"pattern": pattern, "group": chosen})


BUILTIN_EXTRACTORS: dict[str, Callable[..., Extractor]] = {
    "boxed": boxed,
    "full": full,
    "gsm8k": gsm8k,
    "last_number": last_number,
    "regex": regex,
}


def resolve_extractor(spec: Any, registry: Any | None = None) -> Extractor:
    """An :class:`Extractor` from whatever a spec or a caller hands a verifier factory.

    Accepts None (``full``), an Extractor, a name (``"last_number"``), a
    :class:`~pytest_tts.spec.PluginCall` of kind ``extractor`` (``regex(pattern = "…")``), or
    a plain callable ``text -> str | None`` (named by its qualified name). Names are looked up
    in ``registry`` when one is given (so ``conftest.py`` extractors work), else among the
    built-ins.
    """
    if spec is None:
        return full()
    if isinstance(spec, Extractor):
        return spec
    if isinstance(spec, str):
        return _call(spec, (), {}, registry)
    if isinstance(spec, PluginCall):
        if spec.kind != "extractor":
            msg = f"extract must name an extractor, got a {spec.kind} ({spec.text or spec.name})"
            raise VerifierError(msg)
        return _call(spec.name, tuple(spec.args), dict(spec.kwargs), registry)
    if callable(spec):
        name = getattr(spec, "__qualname__", None) or type(spec).__name__
        module = getattr(spec, "__module__", "")
        return Extractor(f"{module}.{name}" if module else name, spec)
    msg = f"extract must be an extractor name, call or callable, got {type(spec).__name__}"
    raise VerifierError(msg)


def _call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], registry: Any) -> Extractor:
    if registry is not None:
        factory = registry.get("extractor", name)
    elif name in BUILTIN_EXTRACTORS:
        factory = BUILTIN_EXTRACTORS[name]
    else:
        raise UnknownNameError("extractor", name, BUILTIN_EXTRACTORS)
    result = factory(*args, **kwargs)
    if isinstance(result, Extractor):
        return result
    if callable(result):
        return Extractor(name, result, kwargs)
    msg = f"extractor factory {name!r} must return a callable, got {type(result).__name__}"
    raise VerifierError(msg)
