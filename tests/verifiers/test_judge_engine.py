"""The bundled judge (``models/tiny-judge``) judging real completions through a real engine.

One judge engine serves the module. Rows come from the bundled policy itself
(``scripts/arith_verifier_data.py``'s ``policy_rows``, a seed the judge never trained on) and
from hand-written right and wrong solutions. The bounds sit well inside what the model card
measured on held-out rows, so that another torch build's sampling of the policy rows cannot
flip them; the judge's own verdicts come from committed weights through vLLM.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_tts.estimate.flops import generation_flops
from pytest_tts.tasks.arith import ArithProblem, format_prompt, generate_problems, parse_question
from pytest_tts.types import Problem
from pytest_tts.verifiers.judge import Judge

ROOT = Path(__file__).resolve().parents[2]
JUDGE = ROOT / "models" / "tiny-judge"
# The model card's held-out rows: true-positive rate 0.946 (670/708), false-positive rate
# 0.506 (249/492). The floors leave room for ~160 rows' sampling noise (about 3 standard
# errors) and for another torch build sampling other policy rows.
TPR_FLOOR = 0.85
FPR_CEILING = 0.70

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(
        not (JUDGE / "model.safetensors").exists(), reason="the bundled judge is not trained"
    ),
]


def dropped_carries(problem: ArithProblem) -> str:
    """A worked solution that forgets every carry: the policy's commonest mistake."""
    da, db = str(problem.a)[::-1], str(problem.b)[::-1]
    steps, digits = [], []
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        steps.append(f"{x}+{y}={x + y}")
        digits.append(str((x + y) % 10))
    return "|".join([*steps, "=" + str(int("".join(reversed(digits))))])


def as_problem(question: str) -> Problem:
    answer = str(sum(parse_question(question)))
    return Problem(question, format_prompt(question), answer, {"question": question})


@pytest.fixture(scope="module")
def judge() -> Iterator[Judge]:
    from pytest_tts.verifiers.judge import judge as make_judge

    verifier = make_judge(model="models/tiny-judge", base_dir=ROOT)
    yield verifier
    verifier.close()


@pytest.fixture(scope="module")
def policy_items() -> list[tuple[Problem, str, bool]]:
    """Completions the bundled policy samples for questions the judge did not train on."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        policy_rows = importlib.import_module("arith_verifier_data").policy_rows
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    summary = json.loads((JUDGE / "training_summary.json").read_text())
    rows = policy_rows(80, 2, seed=summary["data_seed"] + 1000)
    return [(as_problem(r.question), r.completion, r.correct) for r in rows]


def test_the_judge_accepts_most_right_and_rejects_most_wrong_policy_answers(
    judge: Judge, policy_items: list[tuple[Problem, str, bool]]
) -> None:
    items = [(problem, completion) for problem, completion, _ in policy_items]
    verdicts = judge.verify(items)
    right = [v.accepted for v, (_, _, ok) in zip(verdicts, policy_items, strict=True) if ok]
    wrong = [v.accepted for v, (_, _, ok) in zip(verdicts, policy_items, strict=True) if not ok]
    assert len(right) >= 40, f"only {len(right)} right answers among the rows"
    assert len(wrong) >= 30, f"only {len(wrong)} wrong answers among the rows"
    true_positive_rate = sum(right) / len(right)
    false_positive_rate = sum(wrong) / len(wrong)
    assert true_positive_rate >= TPR_FLOOR, f"accepted {sum(right)} of {len(right)} right answers"
    assert false_positive_rate <= FPR_CEILING, f"accepted {sum(wrong)} of {len(wrong)} wrong ones"
    assert {v.detail for v in verdicts} <= {"judge: yes", "judge: no"}
    # the same items in another order and batch get the same verdicts (greedy, one vote)
    again = judge.verify(items[::-1])[::-1]
    assert [v.accepted for v in again] == [v.accepted for v in verdicts]


def test_hand_written_solutions_and_what_a_verdict_costs(judge: Judge) -> None:
    problems = [
        p
        for p in generate_problems(60, seed=4242, digits=(2, 3))
        if dropped_carries(p) != p.solution
    ][:30]
    items = [(as_problem(p.question), p.solution) for p in problems]
    items += [(as_problem(p.question), dropped_carries(p)) for p in problems]
    verdicts = judge.verify(items)
    accepted_right = sum(v.accepted for v in verdicts[: len(problems)])
    accepted_wrong = sum(v.accepted for v in verdicts[len(problems) :])
    assert accepted_right >= 0.7 * len(problems), f"{accepted_right}/{len(problems)} right"
    assert accepted_wrong <= 0.3 * len(problems), f"{accepted_wrong}/{len(problems)} wrong"
    config = json.loads((JUDGE / "config.json").read_text())
    for (problem, completion), verdict in zip(items, verdicts, strict=True):
        assert verdict.answer == completion.rpartition("=")[2]
        # character tokenizer: one token per character plus BOS; "Y"/"N" then EOS
        prompt_tokens = len(f"{problem.prompt}{completion}\nJ:") + 1
        assert verdict.flops == pytest.approx(generation_flops(config, prompt_tokens, 2, 1))


def test_sampled_votes_are_seeded_and_score_right_answers_higher(judge: Judge) -> None:
    from pytest_tts.verifiers.judge import judge as make_judge

    # same folder and engine arguments: the module's engine serves this judge too (the
    # fixture's close() shuts it down)
    voter = make_judge(model="models/tiny-judge", base_dir=ROOT, samples=5, temperature=1.0)
    assert voter.identity() != judge.identity()
    problems = generate_problems(12, seed=99, digits=(3,))
    items = [(as_problem(p.question), p.solution) for p in problems]
    items += [(as_problem(p.question), dropped_carries(p)) for p in problems]
    first = voter.verify(items)
    assert [v.score for v in voter.verify(items)] == [v.score for v in first]
    assert all(v.score in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) for v in first)
    assert all(v.detail.startswith(f"judge: {round(v.score * 5)}/5 yes") for v in first)
    right = sum(v.score for v in first[: len(problems)]) / len(problems)
    wrong = sum(v.score for v in first[len(problems) :]) / len(problems)
    assert right > wrong + 0.2, f"mean yes share: right {right:.2f}, wrong {wrong:.2f}"
    # five votes share one prefill: more than one greedy verdict costs, less than five
    (greedy,) = judge.verify(items[:1])
    assert greedy.flops < first[0].flops < 5 * greedy.flops
