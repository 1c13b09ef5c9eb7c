"""Compiler-style messages for spec files.

::

    specs/addition.tts:9:44: error[unknown-strategy]: unknown strategy 'majority_vot'
       9 |     expect accuracy >= 0.55 at n = 8 using majority_vot
         |                                            ^^^^^^^^^^^^
      known strategies: best_of_n, majority_vote, pass_at_k, weighted_vote
      help: did you mean 'majority_vote'?

Lines and columns are 1-based; the caret underline has the width of the span (at least one
character, cut at the end of the first line).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from pytest_tts.span import Span


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place. ``notes`` are extra lines; ``help`` a suggested fix."""

    span: Span
    code: str
    message: str
    notes: tuple[str, ...] = ()
    help: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.path, self.span.start, self.span.end, self.message)


def unknown_name(
    span: Span, kind: str, name: str, known: Iterable[str], *, code: str | None = None
) -> Diagnostic:
    """``unknown strategy 'x'`` with the known names and the closest ones."""
    names = sorted(set(known))
    plural = "verifiers (declared or registered)" if kind == "verifier" else _plural(kind)
    notes = (f"known {plural}: {', '.join(names) if names else 'none'}",)
    return Diagnostic(
        span,
        code or f"unknown-{kind.replace(' ', '-')}",
        f"unknown {kind} {name!r}",
        notes,
        did_you_mean(name, names),
    )


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(candidates), n=1)
    return f"did you mean {matches[0]!r}?" if matches else None


def _plural(kind: str) -> str:
    if kind.endswith("y"):
        return kind[:-1] + "ies"
    if kind.endswith("s"):
        return kind + "es"
    return kind + "s"


def render(diagnostic: Diagnostic, source: str) -> str:
    """The diagnostic as text, with the source line it points at."""
    span = diagnostic.span
    head = f"{span.path}:{span.line}:{span.column}: error[{diagnostic.code}]: {diagnostic.message}"
    lines = source.split("\n")  # lark counts only "\\n" as a line break
    out = [head]
    if 1 <= span.line <= len(lines) or (span.line == len(lines) + 1 and span.column == 1):
        text = lines[span.line - 1] if span.line <= len(lines) else ""
        prefix = text[: span.column - 1].expandtabs(4)
        shown = text.expandtabs(4).rstrip()
        if span.end_line == span.line:
            width = max(1, span.end_column - span.column)
        else:
            width = max(1, len(text) - (span.column - 1))
        gutter = max(4, len(str(span.line)))
        out.append(f"{span.line:>{gutter}} | {shown}".rstrip())
        out.append(f"{'':>{gutter}} | {' ' * len(prefix)}{'^' * width}")
    out.extend(f"  {note}" for note in diagnostic.notes)
    if diagnostic.help:
        out.append(f"  help: {diagnostic.help}")
    return "\n".join(out)


def render_all(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, str] | Callable[[str], str]
) -> str:
    """All diagnostics, sorted by position, separated by blank lines, plus a count."""
    ordered = sorted(diagnostics, key=lambda d: d.sort_key)
    get = sources.get if isinstance(sources, Mapping) else sources
    blocks = [render(d, get(d.span.path) or "") for d in ordered]
    if len(ordered) > 1:
        blocks.append(f"{len(ordered)} errors")
    return "\n\n".join(blocks)
