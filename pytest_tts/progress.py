"""Generation progress as the user sees it: samples done, tokens per second, time left.

:func:`pytest_tts.generate.ensure_samples` drives a :class:`Progress` while an engine fills
the store; where its lines go is the caller's choice (the pytest glue hands it the terminal
reporter's stream through ``pytest_tts.run.Callbacks.progress``).
"""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """Samples done / total, tokens/s and ETA.

    On a terminal one line is redrawn in place; otherwise (CI logs) a line is printed every
    ``interval`` seconds and when done.
    """

    def __init__(
        self, stream: IO[str] | None = None, *, tty: bool | None = None, interval: float = 10.0
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval if not self.tty else 0.2
        self.label = ""
        self.total = 0
        self.done = 0
        self.tokens = 0
        self._t0 = 0.0
        self._last = 0.0

    def note(self, text: str) -> None:
        self.stream.write(f"pytest-tts: {text}\n")
        self.stream.flush()

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.tokens = label, total, 0, 0
        self._t0 = self._last = time.monotonic()
        self._emit()

    def advance(self, samples: int, tokens: int) -> None:
        self.done += samples
        self.tokens += tokens
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit()

    def finish(self) -> None:
        self._emit(final=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        rate = self.tokens / elapsed
        pct = 100.0 * self.done / self.total if self.total else 100.0
        if self.done >= self.total:
            eta = f"done in {_clock(elapsed)}"
        elif self.done:
            eta = f"ETA {_clock(elapsed * (self.total - self.done) / self.done)}"
        else:
            eta = "ETA ?"
        return (
            f"pytest-tts: generating with {self.label}: {self.done:,}/{self.total:,} samples "
            f"({pct:.0f}%) · {rate:,.0f} tok/s · {eta}"
        )

    def _emit(self, *, final: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    s = round(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )
