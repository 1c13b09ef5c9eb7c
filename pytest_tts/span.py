"""Source positions shared by the spec language, its diagnostics and pytest reporting."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open region of a source file.

    ``line`` and ``column`` are 1-based like every compiler message; ``start``/``end`` are
    0-based character offsets into the file's text. ``pytest_line`` gives the 0-based line
    pytest's ``reportinfo`` wants, so the conversion lives in exactly one place.
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int

    @property
    def pytest_line(self) -> int:
        return self.line - 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"
