"""``reward_model``: the bundled ORM scored through vLLM's pooling runner.

The engine test checks the scores against transformers on the same weights, the FLOPs each
verdict carries, and that the reward separates right from wrong answers of the task.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_tts.errors import VerifierError
from pytest_tts.estimate.flops import scoring_flops
from pytest_tts.tasks.arith import ArithProblem, format_prompt
from pytest_tts.types import Problem
from pytest_tts.verifiers.reward import RewardModel, reward_model

ROOT = Path(__file__).resolve().parents[2]
ORM = ROOT / "models" / "tiny-orm"
sys.path.insert(0, str(ROOT / "scripts"))

from train_tiny_model import noisy_trace  # noqa: E402


def _problem(question: str) -> Problem:
    a, b = question.split("+")
    return Problem(id=question, prompt=format_prompt(question), answer=str(int(a) + int(b)))


def pairs(count: int, seed: int = 0) -> list[tuple[Problem, str, bool]]:
    """Right solutions and wrong ones (dropped carries), for held-out test questions."""
    rows = [
        json.loads(line) for line in (ROOT / "data" / "arith-test.jsonl").read_text().splitlines()
    ]
    rng = random.Random(seed)
    out: list[tuple[Problem, str, bool]] = []
    for row in rows:
        a, b = map(int, row["question"].split("+"))
        problem = ArithProblem(a, b)
        wrong = noisy_trace(problem, rng, slip=0.0, forget=1.0, believe=0.0)
        if wrong == problem.solution:
            continue  # no carry to drop
        out.append((_problem(problem.question), problem.solution, True))
        out.append((_problem(problem.question), wrong, False))
        if len(out) >= 2 * count:
            break
    return out


def test_missing_folder_and_bad_threshold_are_clear(tmp_path: Path) -> None:
    with pytest.raises(VerifierError, match=r"reward model folder .*nope does not exist"):
        reward_model("nope", base_dir=tmp_path)
    with pytest.raises(VerifierError, match=r"has no config\.json"):
        reward_model(".", base_dir=tmp_path)
    with pytest.raises(VerifierError, match=r"threshold must be a probability in \[0, 1\], got 2"):
        reward_model(str(ORM), threshold=2)


def test_identity_follows_the_weights_not_the_path(tmp_path: Path) -> None:
    here = reward_model("../models/tiny-orm", base_dir=ROOT / "specs")
    copy = tmp_path / "orm"
    shutil.copytree(ORM, copy)
    there = reward_model(str(copy))
    assert here.identity() == there.identity()
    assert here.identity().startswith("reward_model@1(")
    assert reward_model(str(ORM), threshold=0.7).identity() != here.identity()
    assert reward_model(str(ORM), extract="full").identity() != here.identity()
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    assert reward_model(str(copy)).identity() != here.identity()


def test_the_committed_orm_is_a_small_sequence_classifier() -> None:
    config = json.loads((ORM / "config.json").read_text())
    assert config["architectures"] == ["LlamaForSequenceClassification"]
    assert config.get("num_labels", len(config.get("id2label", {0: 0}))) == 1
    assert (ORM / "model.safetensors").stat().st_size < 5 * 2**20
    summary = json.loads((ORM / "training_summary.json").read_text())
    held = summary["held_out"]
    # useful but imperfect, as trained: better than chance, far from perfect
    assert 0.6 < held["auc"] < 0.99
    assert 0.0 < held["false_positive_rate"] < 0.8


@pytest.fixture(scope="module")
def orm() -> Any:
    verifier = reward_model(str(ORM))
    yield verifier
    verifier.close()


def _transformers_scores(texts: list[str]) -> list[float]:
    import torch
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(ORM)
    model = LlamaForSequenceClassification.from_pretrained(ORM, dtype=torch.float32).eval()
    with torch.no_grad():
        return [
            float(torch.sigmoid(model(**tokenizer(t, return_tensors="pt")).logits[0, 0]))
            for t in texts
        ]


@pytest.mark.engine
def test_vllm_scores_match_transformers_and_separate_right_from_wrong(orm: RewardModel) -> None:
    data = pairs(60)
    verdicts = orm.verify([(p, c) for p, c, _ in data])
    assert len(verdicts) == len(data)
    scores = np.array([v.score for v in verdicts])
    expected = _transformers_scores([p.prompt + c for p, c, _ in data[:12]])
    np.testing.assert_allclose(scores[:12], expected, atol=2e-4)
    config = json.loads((ORM / "config.json").read_text())
    for (problem, completion, _), verdict in zip(data, verdicts, strict=True):
        tokens = len(problem.prompt + completion) + 1  # one token per character, and BOS
        assert verdict.flops == pytest.approx(scoring_flops(config, tokens, 0, 1))
        assert verdict.accepted == (verdict.score >= 0.5)
        assert verdict.answer == completion.rsplit("=", 1)[1]
    right = scores[[ok for _, _, ok in data]]
    wrong = scores[[not ok for _, _, ok in data]]
    # AUC of the reward on right vs dropped-carry answers (brute force over all pairs)
    auc = (right[:, None] > wrong[None, :]).mean() + 0.5 * (right[:, None] == wrong[None, :]).mean()
    assert auc > 0.6, f"AUC {auc:.3f}: right {right.mean():.3f}, wrong {wrong.mean():.3f}"
