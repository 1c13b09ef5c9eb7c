"""``gym_score``: the oracle for reasoning-gym problems, by the package's own scorer.

reasoning-gym scores an answer between 0 and 1 (partial credit for some tasks); a sample
counts as correct only at a score of 1.0. The answer is extracted from the completion first
(default: the text after the last ``Answer:``, else the last non-empty line).
"""

from __future__ import annotations

import re
from typing import Any

from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers.base import PerSampleVerifier
from pytest_tts.verifiers.exact import normalize_answer
from pytest_tts.verifiers.extractors import Extractor, resolve_extractor

_ANSWER = re.compile(r"answer\s*(?:is)?\s*[:=]?\s*(.+)", re.IGNORECASE)


def final_line(text: str) -> str | None:
    """The text after the last ``Answer:`` (or ``answer is``), else the last non-empty line."""
    matches = _ANSWER.findall(text)
    if matches:
        return str(matches[-1]).strip().rstrip(".") or None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


class GymScore(PerSampleVerifier):
    """Accepts when reasoning-gym's scorer gives the extracted answer 1.0."""

    name = "gym_score"
    version = 1

    def __init__(self, extract: Extractor | None) -> None:
        super().__init__(extract="final_line" if extract is None else extract)
        self.extract = extract

    def verify_one(self, problem: Problem, completion: str) -> Verdict:
        from pytest_tts.sources.reasoning_gym import score

        raw = final_line(completion) if self.extract is None else self.extract(completion)
        if raw is None:
            return Verdict(False, 0.0, None, detail="no answer extracted")
        value = score(problem, raw)
        detail = "score 1.0" if value == 1.0 else f"score {value:g}"
        return Verdict(value == 1.0, value, normalize_answer(raw), detail=detail)


def gym_score(extract: Any = None) -> GymScore:
    """reasoning-gym's own score of the extracted answer; correct only at 1.0.

    ``extract``: an extractor (``last_number``, ``regex(pattern = …)``, …); default: the text
    after the last ``Answer:``, else the last non-empty line of the completion.
    """
    return GymScore(None if extract is None else resolve_extractor(extract))
