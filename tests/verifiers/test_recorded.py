"""``recorded()``: a replayed sample's own label, score and answer as its verdict."""

from __future__ import annotations

import pytest

from pytest_tts.errors import VerifierError
from pytest_tts.types import Problem, Sample
from pytest_tts.verifiers.cache import verify_cached
from pytest_tts.verifiers.recorded import recorded

P = Problem("p7", "Q", "4")


def sample(index: int = 0, **extra: object) -> Sample:
    return Sample("p7", index, "text", 3, 5, extra=extra or None)


def test_reads_label_score_answer_and_steps() -> None:
    (v,) = recorded().verify(
        [(P, sample(correct=True, score=0.25, answer="4", step_scores=[0.5, 0.25], row=9))]
    )
    assert (v.accepted, v.score, v.answer, v.step_scores) == (True, 0.25, "4", (0.5, 0.25))
    (w,) = recorded().verify([(P, sample(correct=False))])
    assert (w.accepted, w.score, w.answer) == (False, 0.0, None)  # score from the label


def test_threshold_accepts_by_score_when_there_is_no_label() -> None:
    low, high = recorded(threshold=0.5).verify([(P, sample(score=0.4)), (P, sample(1, score=0.5))])
    assert (low.accepted, high.accepted) == (False, True)
    assert recorded(threshold=0.5).identity() != recorded().identity()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"score": 0.3, "row": 12},
            r"problem 'p7', sample 0 \(row 12 .*\) has no recorded field 'correct'",
        ),
        ({"correct": "yes"}, "'correct' is 'yes', not true or false"),
        ({"correct": True, "score": "high"}, "'score' is 'high', not a number"),
        ({}, "recorded fields: none"),
    ],
)
def test_missing_or_wrong_fields_name_problem_sample_and_field(
    extra: dict[str, object], message: str
) -> None:
    with pytest.raises(VerifierError, match=message):
        recorded().verify([(P, sample(**extra))])


def test_text_from_this_run_is_refused() -> None:
    with pytest.raises(VerifierError, match="replayed sample"):
        recorded().verify([(P, "some text")])
    with pytest.raises(VerifierError, match="threshold must be a number"):
        recorded(threshold="high")  # type: ignore[arg-type]


class _Store:
    def __init__(self) -> None:
        self.put: dict[str, dict[tuple[str, int], object]] = {}

    def get_verdicts(self, pool: int, verifier: str, keys: object) -> dict[tuple[str, int], object]:
        return {}

    def put_verdicts(
        self, pool: int, verifier: str, verdicts: dict[tuple[str, int], object]
    ) -> None:
        self.put.setdefault(verifier, {}).update(verdicts)


def test_the_cache_hands_it_whole_samples() -> None:
    store = _Store()
    items = [(P, sample(0, correct=True, answer="4")), (P, sample(1, correct=False, answer="5"))]
    verdicts = verify_cached(recorded(), store, 1, items)  # type: ignore[arg-type]
    assert [v.answer for v in verdicts] == ["4", "5"]
    (stored,) = store.put.values()
    assert len(stored) == 2
