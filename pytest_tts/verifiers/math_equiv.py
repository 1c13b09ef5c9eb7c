"""``math_equivalence``: is the completion's final answer mathematically the reference?

Both sides go through the ``math-verify`` package (Hugging Face): ``parse`` extracts the
answer (``\\boxed{}`` first, then any LaTeX or plain expression) into SymPy, ``verify``
decides equivalence (``\\frac{1}{2}`` = ``0.5``, ``x+1`` = ``1+x``, sets, intervals,
matrices). The reference is tried in the forms :func:`reference_forms` lists (as LaTeX
math in ``$…$``, boxed, bare; currency signs and GSM8K's ``####`` removed); a reference
that none of them parses marks that problem's verdicts as errors (``Verdict.error``): they
count as wrong and are listed, and the pool's other problems are judged as usual.

``Verdict.answer`` is the string form of the first parsed expression (SymPy's ``str``), so
majority vote groups answers that parse to the same expression; None when nothing parsed.

math-verify bounds parsing and comparison with ``signal.alarm``, which only works in the
main thread; elsewhere the timeouts are disabled rather than failing.
"""

from __future__ import annotations

import re
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
    version = 2

    def __init__(self, timeout: int, float_rounding: int, tolerate: int) -> None:
        super().__init__(timeout=timeout, float_rounding=float_rounding)
        self.timeout = timeout
        self.float_rounding = float_rounding
        # how many problems with unparseable references a spec accepts (not in the identity:
        # it changes no verdict)
        self.tolerated_errors = tolerate
        self._mv = _math_verify()
        self._gold_cache: dict[str, Any] = {}

    def _timeout(self) -> int | None:
        return self.timeout if threading.current_thread() is threading.main_thread() else None

    def _gold(self, reference: str) -> Any:
        if reference not in self._gold_cache:
            gold: Any = []
            for form in reference_forms(reference):
                parsed = self._mv.parse(form, parsing_timeout=self._timeout())
                # only the raw string back: math-verify found no expression in this form
                if any(not isinstance(x, str) for x in parsed):
                    gold = parsed
                    break
            self._gold_cache[reference] = gold
        return self._gold_cache[reference]

    def verify_one(self, problem: Problem, completion: str) -> Verdict:
        if problem.answer is None or not problem.answer.strip():
            return _unjudged("the problem has no reference answer")
        gold = self._gold(problem.answer)
        if not gold:
            return _unjudged(f"math-verify cannot parse the reference {problem.answer!r}")
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


def _unjudged(why: str) -> Verdict:
    return Verdict(accepted=False, score=0.0, answer=None, detail=why, error=True)


# "$" that opens or closes LaTeX math, as opposed to an escaped currency sign "\$"
_MATH_DOLLAR = re.compile(r"(?<!\\)\$")
_LEADING = re.compile(r"^(?:#+|answer\s*:|the answer is)\s*", re.IGNORECASE)
_NUMBER_WITH_WORDS = re.compile(r"^([-+]?[\d.,]*\d)\s+[A-Za-z][A-Za-z ]*\.?$")


def reference_forms(reference: str) -> list[str]:
    """The texts to try, in order, to parse a dataset's reference answer (the first form in
    which math-verify finds an expression wins).

    Real references come in many shapes: ``\\frac{1}{2}`` (MATH, no delimiters), ``$3$``,
    ``\\boxed{5}``, ``#### 18`` (GSM8K), ``\\$1.25`` (an escaped dollar), ``10{,}000``,
    ``5\\text{ cm}``, ``[2, 5)``, ``(3, -2)``, ``50\\%``, ``42 dollars``. The reference as
    written comes first when it carries math delimiters; then, cleaned (leading ``####`` or
    "answer:" removed, currency signs dropped, a number followed by plain words cut to the
    number), wrapped in ``$…$`` (so math-verify reads it as LaTeX, not prose), in
    ``\\boxed{}``, and bare.
    """
    text = _LEADING.sub("", reference.strip()).strip()
    forms = []
    if _MATH_DOLLAR.search(text) or "\\boxed" in text or "\\(" in text or "\\[" in text:
        forms.append(text)
    cleaned = text.replace("\\$", "").replace("\\!", "").strip()
    if _MATH_DOLLAR.search(cleaned):
        # "$1.25": a currency sign, not a math delimiter (a delimited form came first)
        cleaned = cleaned.replace("$", "").strip()
    words = _NUMBER_WITH_WORDS.match(cleaned)
    if words:
        cleaned = words.group(1)
    forms += [f"${cleaned}$", f"\\boxed{{{cleaned}}}", cleaned]
    return list(dict.fromkeys(f for f in forms if f.strip("$ ")))


def math_equivalence(
    timeout: int = 5, float_rounding: int = 6, tolerate: int = 0
) -> MathEquivalence:
    """Answer equivalence through math-verify (``timeout`` seconds per parse and per check).

    A problem whose reference cannot be parsed (or is empty) is not judged: its samples count
    as wrong, the items that read this verifier list it, and they fail when there are more
    such problems than ``tolerate``.
    """
    if timeout < 1:
        msg = f"timeout must be a positive number of seconds, got {timeout!r}"
        raise VerifierError(msg)
    if isinstance(tolerate, bool) or not isinstance(tolerate, int) or tolerate < 0:
        msg = f"tolerate must be a whole number of problems >= 0, got {tolerate!r}"
        raise VerifierError(msg)
    return MathEquivalence(int(timeout), int(float_rounding), tolerate)
