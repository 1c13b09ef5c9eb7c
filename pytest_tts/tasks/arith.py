"""Step-by-step addition: the task the bundled tiny model is trained on.

A question is two non-negative integers joined by ``+`` (``347+285``). The model sees the
prompt ``PROMPT_TEMPLATE.format(question=...)`` (``"Q:347+285\\nA:"``; the tokenizer adds BOS)
and writes one step per digit column, right to left, then the result::

    7+5=12|4+8+1=13|3+2+1=6|=632

Step ``i`` adds digit ``i`` of each operand (counting from the right; a missing digit of the
shorter operand is written ``0``) and, when the previous column carried, ``+1``; its right-hand
side is the column sum. Steps are separated by ``STEP_DELIMITER``; the last segment is ``=``
followed by the answer. Because every step is written out, a rule-based process verifier
(`check_steps`) can say which steps are right, and step-wise search has steps to search over.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

PROMPT_TEMPLATE = "Q:{question}\nA:"
STEP_DELIMITER = "|"
ANSWER_PREFIX = "="
# Characters of every prompt and completion of the task; the tiny model's vocabulary.
ALPHABET = "0123456789+=|QA:\n"

_QUESTION = re.compile(r"^\s*(\d+)\s*\+\s*(\d+)\s*$")
_ANSWER = re.compile(r"^=(\d+)$")


@dataclass(frozen=True)
class ArithProblem:
    """One addition problem: ``a + b``."""

    a: int
    b: int

    @property
    def question(self) -> str:
        return f"{self.a}+{self.b}"

    @property
    def answer(self) -> str:
        return str(self.a + self.b)

    @property
    def prompt(self) -> str:
        return format_prompt(self.question)

    @property
    def solution(self) -> str:
        """The reference completion: every step, then the answer."""
        return STEP_DELIMITER.join([*reference_steps(self.question), ANSWER_PREFIX + self.answer])


def format_prompt(question: str) -> str:
    """The exact text the engine sees for ``question`` (BOS is the tokenizer's job)."""
    return PROMPT_TEMPLATE.format(question=question)


def parse_question(question: str) -> tuple[int, int]:
    """The two operands of ``"a+b"``; raises ValueError for anything else."""
    match = _QUESTION.match(question)
    if match is None:
        msg = f"expected a question of the form 'a+b' with non-negative integers, got {question!r}"
        raise ValueError(msg)
    return int(match.group(1)), int(match.group(2))


def reference_steps(question: str) -> list[str]:
    """The correct steps for ``question``, right-most column first, without the answer."""
    a, b = parse_question(question)
    da, db = str(a)[::-1], str(b)[::-1]
    steps: list[str] = []
    carry = 0
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        total = x + y + carry
        lhs = f"{x}+{y}" + (f"+{carry}" if carry else "")
        steps.append(f"{lhs}={total}")
        carry = total // 10
    return steps


def split_steps(completion: str) -> list[str]:
    """The segments of a completion: its steps and, if written, the final ``=answer``.

    Surrounding whitespace is ignored; an empty completion has no segments.
    """
    text = completion.strip()
    if not text:
        return []
    return [segment.strip() for segment in text.split(STEP_DELIMITER)]


def extract_answer(completion: str) -> str | None:
    """The answer a completion states in its last segment (``=632`` → ``"632"``), else None."""
    segments = split_steps(completion)
    if not segments:
        return None
    match = _ANSWER.match(segments[-1])
    if match is None:
        return None
    return str(int(match.group(1)))


def check_steps(question: str, completion: str) -> list[bool]:
    """One verdict per segment of ``completion``: is it the correct step at its position?

    Segment ``i`` is correct when it equals the ``i``-th step of the reference solution (right
    digits, right carry, right sum); the segment after the last column is correct when it is
    ``=`` and the right answer. Segments beyond that are wrong. A step is judged against the
    reference, not against the completion's own earlier steps, so one slip does not condemn
    every later step. A partial completion (step-wise search) gets verdicts for what it has.
    """
    reference = [*reference_steps(question), ANSWER_PREFIX + str(sum(parse_question(question)))]
    segments = split_steps(completion)
    return [i < len(reference) and segment == reference[i] for i, segment in enumerate(segments)]


def is_correct(question: str, completion: str) -> bool:
    """True when the completion's stated answer is the right sum (steps not required)."""
    return extract_answer(completion) == str(sum(parse_question(question)))


def random_problem(rng: random.Random, digits: tuple[int, ...] = (2, 3)) -> ArithProblem:
    """A problem whose operands each have a number of digits drawn from ``digits``."""

    def operand() -> int:
        n = rng.choice(digits)
        return rng.randrange(10 ** (n - 1), 10**n)

    return ArithProblem(operand(), operand())


def generate_problems(
    count: int,
    seed: int,
    digits: tuple[int, ...] = (2, 3),
    exclude: Iterable[str] = (),
) -> list[ArithProblem]:
    """``count`` distinct problems from ``seed``, none of whose questions is in ``exclude``."""
    rng = random.Random(seed)
    seen = set(exclude)
    problems: list[ArithProblem] = []
    while len(problems) < count:
        problem = random_problem(rng, digits)
        if problem.question not in seen:
            seen.add(problem.question)
            problems.append(problem)
    return problems


def stream_problems(
    seed: int, digits: tuple[int, ...] = (2, 3), exclude: Iterable[str] = ()
) -> Iterator[ArithProblem]:
    """An endless stream of problems (repeats allowed) that avoids ``exclude``; for training."""
    rng = random.Random(seed)
    excluded = frozenset(exclude)
    while True:
        problem = random_problem(rng, digits)
        if problem.question not in excluded:
            yield problem
