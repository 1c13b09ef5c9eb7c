"""``exact_match`` and ``last_digit``: compare an extracted answer with the reference.

Answers are compared after :func:`normalize_answer`:

1. surrounding whitespace is stripped, and so are wrapping ``$…$``/``\\(…\\)`` math
   delimiters and one trailing full stop;
2. a number (optional sign, optional leading ``$``, digits with or without thousands
   commas, optional decimal part) becomes its canonical decimal form: ``"1,000"`` →
   ``"1000"``, ``"42.0"`` → ``"42"``, ``"007"`` → ``"7"``, ``"+3"`` → ``"3"``, ``"-0"`` →
   ``"0"``, ``".50"`` → ``"0.5"``, ``"$12"`` → ``"12"``;
3. a fraction of two numbers has each part canonicalized (``"03/4"`` → ``"3/4"``) but is not
   reduced (``2/4`` stays ``2/4``: use ``math_equivalence`` for value equality);
4. anything else has runs of whitespace collapsed to one space and is compared as text
   (case-sensitively unless ``ignore_case = true``).

The normalized answer is what ``Verdict.answer`` holds, so majority vote groups ``1,000`` and
``1000.0`` together.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pytest_tts.errors import VerifierError
from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers.base import PerSampleVerifier, binary
from pytest_tts.verifiers.extractors import Extractor, resolve_extractor

_NUMBER = re.compile(r"^([+-]?)\$?\s*(\d{1,3}(?:,\d{3})+|\d*)(\.\d*)?$")
_FRACTION = re.compile(r"^([^/\s]+)\s*/\s*([^/\s]+)$")
_WRAPPERS = (("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def normalize_number(text: str) -> str | None:
    """The canonical decimal form of ``text`` if it is a plain number, else None."""
    match = _NUMBER.match(text.strip())
    if match is None:
        return None
    sign, whole, frac = match.group(1), match.group(2).replace(",", ""), match.group(3) or ""
    if not whole and len(frac) <= 1:
        return None  # "", "+", "." are not numbers
    try:
        value = Decimal(f"{sign}{whole or '0'}{frac if len(frac) > 1 else ''}")
    except InvalidOperation:
        return None
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def normalize_answer(text: str) -> str:
    """The form answers are compared in (see the module docstring)."""
    s = text.strip()
    changed = True
    while changed:
        changed = False
        for left, right in _WRAPPERS:
            if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
                s = s[len(left) : len(s) - len(right)].strip()
                changed = True
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    number = normalize_number(s)
    if number is not None:
        return number
    fraction = _FRACTION.match(s)
    if fraction is not None:
        top, bottom = normalize_number(fraction.group(1)), normalize_number(fraction.group(2))
        if top is not None and bottom is not None:
            return f"{top}/{bottom}"
    return " ".join(s.split())


def _reference(problem: Problem, extract: Extractor | None, verifier: str) -> str:
    if problem.answer is None:
        msg = f"{verifier} needs a reference answer, but problem {problem.id!r} has none"
        raise VerifierError(msg)
    raw = problem.answer
    if extract is not None:
        extracted = extract(raw)
        if extracted is None:
            msg = (
                f"{verifier}: reference_extract={extract.identity()} found no answer in the "
                f"reference of problem {problem.id!r}: {raw[:80]!r}"
            )
            raise VerifierError(msg)
        raw = extracted
    return normalize_answer(raw)


class ExactMatch(PerSampleVerifier):
    """Accepts when the extracted, normalized answer equals the normalized reference."""

    name = "exact_match"
    version = 1

    def __init__(
        self, extract: Extractor, reference_extract: Extractor | None, ignore_case: bool
    ) -> None:
        super().__init__(
            extract=extract, reference_extract=reference_extract, ignore_case=ignore_case
        )
        self.extract = extract
        self.reference_extract = reference_extract
        self.ignore_case = ignore_case

    def _answer(self, completion: str) -> str | None:
        raw = self.extract(completion)
        if raw is None:
            return None
        answer = normalize_answer(raw)
        return answer.casefold() if self.ignore_case else answer

    def verify_one(self, problem: Problem, completion: str) -> Verdict:
        reference = _reference(problem, self.reference_extract, self.name)
        if self.ignore_case:
            reference = reference.casefold()
        answer = self._answer(completion)
        if answer is None:
            return binary(False, None, "no answer extracted")
        if answer == reference:
            return binary(True, answer, "match")
        return binary(False, answer, "mismatch")


class LastDigit(ExactMatch):
    """Accepts when the last digit of the answer equals the reference's: imperfect on purpose.

    A cheap checker with a measurable false-positive rate: about one wrong answer in ten
    shares the reference's last digit.
    """

    name = "last_digit"
    version = 1

    def verify_one(self, problem: Problem, completion: str) -> Verdict:
        reference = _reference(problem, self.reference_extract, self.name)
        digits = [ch for ch in reference if ch.isdigit()]
        if not digits:
            msg = (
                f"last_digit needs a reference with a digit; "
                f"problem {problem.id!r} has {reference!r}"
            )
            raise VerifierError(msg)
        answer = self._answer(completion)
        answer_digits = [ch for ch in answer or "" if ch.isdigit()]
        if answer is None or not answer_digits:
            return binary(False, answer, "no answer extracted")
        if answer_digits[-1] == digits[-1]:
            return binary(True, answer, "last digit matches")
        return binary(False, answer, "last digit differs")


def exact_match(
    extract: Any = None, reference_extract: Any = None, ignore_case: bool = False
) -> ExactMatch:
    """Exact match of the extracted answer after number/whitespace normalization.

    ``extract``: an extractor (``last_number``, ``boxed``, ``gsm8k``, ``regex(pattern = …)``;
    default ``full``, the whole completion). ``reference_extract``: an extractor applied to the
    reference too (e.g. ``gsm8k`` when references are full GSM8K solutions); default none.
    """
    return ExactMatch(
        resolve_extractor(extract),
        None if reference_extract is None else resolve_extractor(reference_extract),
        bool(ignore_case),
    )


def last_digit(extract: Any = "last_number", reference_extract: Any = None) -> LastDigit:
    """Accepts when the last digit of the extracted answer matches the reference's."""
    return LastDigit(
        resolve_extractor(extract),
        None if reference_extract is None else resolve_extractor(reference_extract),
        False,
    )
