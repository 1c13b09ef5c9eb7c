"""``step_check``: a rule-based process verifier for the bundled arithmetic task.

Every segment of a completion (the steps ``7+5=12``, ``4+8+1=13``, … and the final
``=632``) is judged against the reference solution with
:func:`pytest_tts.tasks.arith.check_steps`, giving ``Verdict.step_scores`` of 1.0 (right)
or 0.0 (wrong) per segment. Then:

- ``score`` is the *fraction* of segments that are right (0.0 for an empty completion).
  A fraction rather than a product ranks a sample with one slip above one with three, so
  best-of-N over ``score`` still prefers the nearly right; search strategies that need
  "every step so far is right" aggregate ``step_scores`` themselves (minimum/product).
- ``accepted`` is True only for a complete solution: every step right *and* a final
  ``=answer`` segment that is the right sum. Since steps are judged against the reference,
  the answer is then also the one the steps imply.
- ``answer`` is the stated answer (normalized like ``exact_match``), so voting groups by it.

Partial completions (a prefix of steps, as step-wise search produces them, with or without
the trailing ``|``) get a verdict too: ``step_scores`` for the segments present, not
accepted (``detail`` says "partial").

The question ``a+b`` is ``problem.meta["question"]`` when the dataset kept it; otherwise it
is recovered from the prompt text: the ``Q:a+b`` of the task's template, or else the last
``a+b`` in the prompt. When the problem has a reference answer that is not the sum, the
verifier refuses (VerifierError): the data and the task disagree. Rule-based: it costs no
model FLOPs.
"""

from __future__ import annotations

import re

from pytest_tts.errors import VerifierError
from pytest_tts.tasks.arith import STEP_DELIMITER, check_steps, extract_answer, parse_question
from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers.base import PerSampleVerifier

_TEMPLATE_QUESTION = re.compile(r"Q:\s*(\d+\s*\+\s*\d+)\s*\n")
_ANY_QUESTION = re.compile(r"\d+\s*\+\s*\d+")


def question_of(problem: Problem) -> str:
    """The ``a+b`` question of ``problem``: from ``meta["question"]``, else from its prompt."""
    meta_question = problem.meta.get("question") if problem.meta else None
    if isinstance(meta_question, str) and meta_question.strip():
        question = meta_question.strip()
    else:
        match = _TEMPLATE_QUESTION.search(problem.prompt)
        if match is not None:
            question = match.group(1)
        else:
            found = _ANY_QUESTION.findall(problem.prompt)
            if not found:
                msg = (
                    f"step_check needs an addition question 'a+b' in problem {problem.id!r}: "
                    f"none in meta['question'] or in the prompt {problem.prompt[:60]!r}"
                )
                raise VerifierError(msg)
            question = found[-1]
    try:
        a, b = parse_question(question)
    except ValueError as exc:
        raise VerifierError(f"problem {problem.id!r}: {exc}") from None
    if problem.answer is not None and problem.answer.strip() != str(a + b):
        msg = (
            f"problem {problem.id!r}: the reference answer {problem.answer!r} is not "
            f"{a}+{b} = {a + b}; step_check judges steps against the sum"
        )
        raise VerifierError(msg)
    return f"{a}+{b}"


class StepCheck(PerSampleVerifier):
    """Judge each step of an addition completion against the reference steps."""

    name = "step_check"
    version = 1

    def verify_one(self, problem: Problem, completion: str) -> Verdict:
        question = question_of(problem)
        body = completion.rstrip()
        # a search prefix ends with the delimiter: it has no (empty) segment after it
        body = body.removesuffix(STEP_DELIMITER)
        steps = check_steps(question, body)
        scores = tuple(1.0 if ok else 0.0 for ok in steps)
        score = sum(scores) / len(scores) if scores else 0.0
        answer = extract_answer(completion)
        if not steps:
            return Verdict(False, 0.0, None, scores, "empty completion")
        if answer is None:
            right = sum(steps)
            partial = body != completion.rstrip() or all(steps)
            detail = "partial" if partial else "no final answer"
            return Verdict(
                False, score, None, scores, f"{detail}: {right}/{len(steps)} steps right"
            )
        accepted = all(steps)
        if accepted:
            detail = f"all {len(steps)} segments right"
        else:
            wrong = [i + 1 for i, ok in enumerate(steps) if not ok]
            detail = f"wrong segment(s) {', '.join(map(str, wrong))} of {len(steps)}"
        return Verdict(accepted, score, answer, scores, detail)


def step_check() -> StepCheck:
    """The process verifier of the arithmetic task: one 1.0/0.0 score per step."""
    return StepCheck()
