"""The syntax tree of a ``.tts`` file: frozen dataclasses that mirror the source.

Every node carries a :class:`~pytest_tts.span.Span`. Spans do not take part in equality
(``field(compare=False)``), so two trees parsed from differently formatted sources compare
equal when they say the same thing: the formatter's round-trip property rests on that.

Nothing here is validated: names are not resolved and numbers are not range-checked. That is
the checker's job (``pytest_tts.dsl.checker``), which turns a :class:`Module` into the
checked specs of ``pytest_tts.spec``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pytest_tts.span import Span

#: The span of a node built in code rather than parsed (tests, generators).
NOWHERE = Span("<nowhere>", 0, 0, 0, 0, 0, 0)


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A number literal. ``text`` is the source form (``4e9``, ``4G``) kept for ids."""

    value: int | float
    text: str
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class String:
    """A string literal; ``value`` has escapes decoded, ``text`` is the source form."""

    value: str
    text: str
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Ident:
    """A bare identifier: a loop variable, a declared name or a registered plugin name."""

    name: str
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Name:
    """A name that is never a value: a metric, a unit, a function, a loop variable, a tag.

    Kept apart from :class:`Ident` so that loop substitution cannot touch it.
    """

    text: str
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class ListValue:
    items: tuple[Value, ...]
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Arg:
    """One call argument; ``name`` is None for a positional argument."""

    name: str | None
    value: Value
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Call:
    """``name(arg, key = value, ...)``."""

    func: Name
    args: tuple[Arg, ...]
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


Value = Number | String | Bool | Ident | ListValue | Call


# --- top-level items -----------------------------------------------------------------------


@dataclass(frozen=True)
class Include:
    path: String
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Declaration:
    """``model NAME = backend(...)``, ``dataset NAME = source(...)``, ``verifier NAME = f(...)``."""

    kind: Literal["model", "dataset", "verifier"]
    name: Name
    call: Call
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Loop:
    """``for VAR in [v1, v2, ...]``."""

    var: Name
    values: ListValue
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


# --- spec statements -----------------------------------------------------------------------


@dataclass(frozen=True)
class UseModel:
    name: Value
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class UseDataset:
    name: Value
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class SampleStmt:
    args: tuple[Arg, ...]
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class OracleStmt:
    verifier: Value
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class TagsStmt:
    tags: tuple[Name, ...]
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


Op = Literal[">=", ">", "<=", "<", "="]


@dataclass(frozen=True)
class MeasureNode:
    """``metric[(args)] [of MODEL] [using STRATEGY]``; ``args`` is None without parentheses."""

    metric: Name
    args: tuple[Arg, ...] | None
    model: Value | None
    strategy: Value | None
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class BudgetNode:
    """``at UNIT OP NUMBER``; the amount may be a loop variable (``at n = K``)."""

    unit: Name
    op: Op
    value: Number | Ident
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class RangeNode:
    low: Number
    high: Number
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class ThresholdStmt:
    """``expect MEASURE OP NUMBER [at BUDGET] [using S] [by fit] [with confidence C]
    [per difficulty]``."""

    measure: MeasureNode
    op: Op
    value: Number
    budget: BudgetNode | None
    strategy: Value | None
    confidence: Number | None
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)
    # ``by fit`` and ``per difficulty``: the word after ``by`` / ``per`` as written
    by: Name | None = field(default=None, kw_only=True)
    per: Name | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ComparisonStmt:
    """``expect MEASURE OP MEASURE at matched UNIT [in [lo, hi]] [with confidence C]``."""

    left: MeasureNode
    op: Op
    right: MeasureNode
    unit: Name
    range: RangeNode | None
    confidence: Number | None
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class MonotoneStmt:
    """``expect MEASURE is monotone in UNIT [within T] [with confidence C]``."""

    measure: MeasureNode
    unit: Name
    tolerance: Number | None
    confidence: Number | None
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class RegressionStmt:
    """``expect no regression of MEASURE [at BUDGET] against baseline within T [...]``."""

    measure: MeasureNode
    budget: BudgetNode | None
    tolerance: Number
    confidence: Number | None
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


ExpectStmt = ThresholdStmt | ComparisonStmt | MonotoneStmt | RegressionStmt


@dataclass(frozen=True)
class ForStmt:
    """``for VAR in [...] { expect ... }`` inside a spec: one expectation per value."""

    loop: Loop
    body: tuple[ExpectStmt | ForStmt, ...]
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


SpecStmt = UseModel | UseDataset | SampleStmt | OracleStmt | TagsStmt | ExpectStmt | ForStmt


@dataclass(frozen=True)
class SpecBlock:
    """``spec "name" [for VAR in [...]] { ... }``."""

    name: String
    loop: Loop | None
    body: tuple[SpecStmt, ...]
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


Item = Include | Declaration | SpecBlock


@dataclass(frozen=True)
class Comment:
    """A ``#`` comment; ``own_line`` when only whitespace precedes it on its line."""

    text: str
    own_line: bool
    span: Span = field(default=NOWHERE, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Module:
    """One parsed file. ``source`` and ``comments`` do not take part in equality."""

    path: str
    items: tuple[Item, ...]
    source: str = field(default="", compare=False, repr=False)
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)


# --- generic rewriting ---------------------------------------------------------------------

N = TypeVar("N")


def rewrite(node: N, fn: Callable[[Any], Any | None]) -> N:
    """Rebuild ``node`` bottom-up, replacing every sub-node for which ``fn`` returns non-None.

    Used to substitute loop variables: ``fn`` maps an :class:`Ident` to the loop's value.
    """
    replaced = fn(node)
    if replaced is not None:
        return replaced
    if isinstance(node, tuple):
        return tuple(rewrite(item, fn) for item in node)  # type: ignore[return-value]
    if dataclasses.is_dataclass(node) and not isinstance(node, type | Span):
        changes = {}
        for f in dataclasses.fields(node):
            if f.name in ("span", "source", "comments", "path"):
                continue
            old = getattr(node, f.name)
            new = rewrite(old, fn)
            if new is not old:
                changes[f.name] = new
        if changes:
            return dataclasses.replace(node, **changes)
    return node
