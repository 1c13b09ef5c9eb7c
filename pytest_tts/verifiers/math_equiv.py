"""``math_equivalence``: is the completion's final answer mathematically the reference?

Both sides go through the ``math-verify`` package (Hugging Face): ``parse`` extracts the
answer (``\\boxed{}`` first, then any LaTeX or plain expression) into SymPy, ``verify``
decides equivalence (``\\frac{1}{2}`` = ``0.5``, ``x+1`` = ``1+x``, sets, intervals,
matrices). The reference is parsed as LaTeX math (wrapped in ``$…$`` when it carries no
delimiters of its own).

``Verdict.answer`` is the string form of the first parsed expression (SymPy's ``str``), so
majority vote groups answers that parse to the same expression; None when nothing parsed.

math-verify bounds parsing and comparison with ``signal.alarm``, which only works in the
main thread; elsewhere the timeouts are disabled rather than failing.
"""

from __future__ import annotations

import threading
from typing import Any

from pytest_tts.errors import VerifierError
from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers.base import PerSampleVerifier, binary


def _math_verify() -> Any:
    try:
        import math_verify
    except ImportError:
        msg = (
            "math_equivalence needs the math-verify package: "
            "pip install 'pytest-tts[math]' (or 'math-verify[antlr4_13_2]')"
        )
        raise VerifierError(msg) from None
    return math_verify


class MathEquivalence(PerSampleVerifier):
    """Accepts when math-verify finds the completion's answer equivalent to the reference."""

    name = "math_equivalence"
    version = 1

    def __init__(self, timeout: int, float_rounding: int) -> None:
        super().__init__(timeout=timeout, float_rounding=float_rounding)
        self.timeout = timeout
        self.float_rounding = float_rounding
        self._mv = _math_verify()
        self._gold_cache: dict[str, Any] = {}

    def _timeout(self) -> int | None:
        return self.timeout if threading.current_thread() is threading.main_thread() else None

    def _gold(self, reference: str) -> Any:
        if reference not in self._gold_cache:
            text = reference.strip()
            if "$" not in text and "\\boxed" not in text and "\\(" not in text:
                text = f"${text}$"
            gold = self._mv.parse(text, parsing_timeout=self._timeout())
            if not gold:
                gold = self._mv.parse(reference, parsing_timeout=self._timeout())
            self._gold_cache[reference] = gold
        return self._gold_cache[reference]

    def verify_one(self, problem: Problem, completion: str) -> Verdict:
        if problem.answer is None:
            msg = f"math_equivalence needs a reference answer, but problem {problem.id!r} has none"
            raise VerifierError(msg)
        gold = self._gold(problem.answer)
        if not gold:
            msg = (
                "math-verify could not parse the reference of problem "
                f"{problem.id!r}: {problem.answer!r}"
            )
            raise VerifierError(msg)
        parsed = self._mv.parse(completion, parsing_timeout=self._timeout())
        if not parsed:
            return binary(False, None, "no answer extracted")
        answer = str(parsed[0])
        ok = bool(
            self._mv.verify(
                gold,
                parsed,
                float_rounding=self.float_rounding,
                timeout_seconds=self._timeout(),
            )
        )
        return binary(ok, answer, "equivalent" if ok else "not equivalent")


def math_equivalence(timeout: int = 5, float_rounding: int = 6) -> MathEquivalence:
    """Answer equivalence through math-verify (``timeout`` seconds per parse and per check)."""
    if timeout < 1:
        msg = f"timeout must be a positive number of seconds, got {timeout!r}"
        raise VerifierError(msg)
    return MathEquivalence(int(timeout), int(float_rounding))
