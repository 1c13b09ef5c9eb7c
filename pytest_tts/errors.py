"""Every exception pytest-tts raises on purpose.

::

    TTSError
    ├── SpecError                  a user's spec file is wrong (carries a Span and a code)
    │   ├── SpecSyntaxError        the first syntax error of a file
    │   └── SpecCheckError         all semantic errors of a file, sorted (``diagnostics``)
    ├── UnknownNameError           a registry lookup failed (lists known names, "did you mean")
    ├── StoreError                 the sample store cannot be opened or is inconsistent
    │   └── MissingSamplesError    ``--tts-offline`` and a pool lacks samples
    ├── BackendError               generation failed
    │   ├── EngineError            the engine returned something other than what was asked
    │   └── ServerUnavailableError an OpenAI-compatible server cannot be reached
    ├── DatasetError               a dataset source cannot be read or mapped
    ├── VerifierError              a verifier failed (not: rejected a sample)
    ├── EstimationError            a curve cannot be estimated from the pool given
    ├── BaselineError              a stored baseline is missing, unreadable or mismatched
    │   ├── MissingBaselineError
    │   └── ProvenanceMismatchError
    ├── ReportError                a results file is unreadable or of an unknown schema version
    └── ExpectationFailed          an expectation was checked and does not hold (not a bug)

User mistakes (spec files, options, missing baselines) render as text without a Python
traceback; anything else escaping is a bug in pytest-tts or in a plugin.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_tts.span import Span


class TTSError(Exception):
    """Base class of every deliberate pytest-tts error."""


class SpecError(TTSError):
    """A problem with a spec file at a known position."""

    def __init__(
        self, message: str, *, span: Span | None = None, code: str = "spec", rendered: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.code = code
        #: the compiler-style text (``path:line:col: error[code]: ...`` and the source line)
        self.rendered = rendered or message


class SpecSyntaxError(SpecError):
    """The first syntax error of a file; parsing stops there."""


class SpecCheckError(SpecError):
    """All semantic errors of a file.

    ``diagnostics`` holds every problem found (objects with ``span``, ``code``, ``message``);
    ``str()`` is the first one's message and ``rendered`` the compiler-style text for all.
    """

    def __init__(self, diagnostics: list[Any], rendered: str = "") -> None:
        first = diagnostics[0]
        super().__init__(first.message, span=first.span, code=first.code)
        self.diagnostics = diagnostics
        self.rendered = rendered


class UnknownNameError(TTSError):
    """A name is not registered; the message lists the known names and close matches."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        self.suggestions = difflib.get_close_matches(name, self.known, n=3)
        msg = f"unknown {kind} {name!r}"
        if self.suggestions:
            msg += f"; did you mean {self.suggestions[0]!r}?"
        msg += f" (known {kind}s: {', '.join(self.known) or 'none'})"
        super().__init__(msg)


class StoreError(TTSError):
    """The sample store cannot be opened, or its contents are inconsistent."""


class MissingSamplesError(StoreError):
    """Offline mode and a pool lacks samples; says which pool and how many are missing."""


class BackendError(TTSError):
    """Generation failed."""


class EngineError(BackendError):
    """The engine returned something other than what was asked (count, ids, seeds)."""


class ServerUnavailableError(BackendError):
    """An OpenAI-compatible server cannot be reached or keeps failing after retries."""


class DatasetError(TTSError):
    """A dataset source cannot be read, or its fields do not map to prompts and answers."""


class VerifierError(TTSError):
    """A verifier could not reach a verdict (as opposed to rejecting a sample)."""


class EstimationError(TTSError):
    """A curve cannot be estimated from the pool given (e.g. a budget beyond the pool)."""


class BaselineError(TTSError):
    """A stored baseline is missing, unreadable or does not match the current run."""


class MissingBaselineError(BaselineError):
    """No baseline file exists yet; the message says how to create one."""


class ProvenanceMismatchError(BaselineError):
    """The baseline was made under different provenance; names the differing fields."""

    def __init__(self, message: str, differences: dict[str, tuple[object, object]]) -> None:
        super().__init__(message)
        self.differences = differences


class ReportError(TTSError):
    """A results file cannot be read back (not JSON, or a schema version this one cannot read)."""


class ExpectationFailed(TTSError):
    """An expectation's verdict is 'fail'. ``rendered`` is the report pytest shows.

    Raised from an item's ``runtest``; ``repr_failure`` prints ``rendered`` as is, with no
    traceback, because the failure is a finding about the model, not a bug.
    """

    def __init__(self, rendered: str) -> None:
        super().__init__(rendered)
        self.rendered = rendered
