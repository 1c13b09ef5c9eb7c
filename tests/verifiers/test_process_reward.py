"""``process_reward_model``: the bundled PRM scored through vLLM's step pooling.

Plumbing (splitting, tagging, aggregation, errors) runs without an engine; the engine test
checks vLLM's step scores against transformers on the same weights, partial paths against
the full path, the FLOPs each verdict carries, and that the PRM finds wrong steps.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_tts.errors import VerifierError
from pytest_tts.tasks.arith import ArithProblem, check_steps, format_prompt
from pytest_tts.types import Problem
from pytest_tts.verifiers.extractors import resolve_extractor
from pytest_tts.verifiers.process_reward import (
    ProcessRewardModel,
    aggregate,
    check_delimiter,
    process_reward_model,
    split_steps,
    step_flops,
    step_verdict,
    tagged_text,
)

ROOT = Path(__file__).resolve().parents[2]
PRM = ROOT / "models" / "tiny-prm"
sys.path.insert(0, str(ROOT / "scripts"))

from train_tiny_model import noisy_trace  # noqa: E402


def _problem(question: str) -> Problem:
    a, b = question.split("+")
    return Problem(id=question, prompt=format_prompt(question), answer=str(int(a) + int(b)))


def test_steps_are_split_at_the_delimiter_and_tagged_after_each() -> None:
    assert split_steps("7+5=12|4+8+1=13|=132", "|") == ["7+5=12", "4+8+1=13", "=132"]
    assert split_steps("7+5=12|", "|") == ["7+5=12"]  # a search's partial path
    assert split_steps("  ", "|") == []
    assert split_steps("a\n\nb\n\n", "\n\n") == ["a", "b"]
    assert tagged_text("Q:", ["7+5=12", "=12"], "|") == "Q:7+5=12|=12|"
    assert tagged_text("P ", ["a", "b"], "<extra_0>") == "P a<extra_0>b<extra_0>"


def test_aggregates() -> None:
    scores = [0.9, 0.5, 0.8]
    assert aggregate(scores, "min") == 0.5
    assert aggregate(scores, "product") == pytest.approx(0.36)
    assert aggregate(scores, "mean") == pytest.approx(2.2 / 3)
    assert aggregate(scores, "last") == 0.8
    assert aggregate([], "min") == 0.0


def test_verdicts_take_the_last_tags_and_the_label_class() -> None:
    extract = resolve_extractor("last_number")
    rows = [[0.1, 0.9], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]]  # the first tag is the prompt's
    v = step_verdict(
        rows,
        ["a", "b", "=12"],
        "a|b|=12",
        5.0,
        how="min",
        threshold=0.5,
        label=1,
        extract=extract,
        who="prm",
    )
    assert v.step_scores == (0.7, 0.4, 0.8)
    assert (v.score, v.accepted, v.answer, v.flops) == (0.4, False, "12", 5.0)
    assert "weakest step 2" in v.detail
    with pytest.raises(VerifierError, match=r"returned 1 step score\(s\) for 3 steps"):
        step_verdict(
            rows[:1], ["a", "b", "c"], "", 0.0, how="min", threshold=0.5, label=1,
            extract=extract, who="prm",
        )  # fmt: skip
    with pytest.raises(VerifierError, match="has 2 classes; label = 3"):
        step_verdict(
            rows, ["a"], "a", 0.0, how="min", threshold=0.5, label=3, extract=extract, who="prm"
        )
    empty = step_verdict(
        [], [], "", 0.0, how="min", threshold=0.5, label=1, extract=extract, who="prm"
    )
    assert (empty.accepted, empty.score, empty.step_scores) == (False, 0.0, ())


def test_a_delimiter_found_in_no_completion_is_an_error() -> None:
    check_delimiter(["a|b", "c", "d", "e"], "|")
    check_delimiter(["a", "b"], "|")  # too few to tell
    with pytest.raises(VerifierError, match=r"delimiter '\\n\\n' occurs in none of the 4"):
        check_delimiter(["a|b", "c|d", "e", "f"], "\n\n")


def test_bad_folders_tags_and_settings_are_clear(tmp_path: Path) -> None:
    with pytest.raises(VerifierError, match=r"folder .*nope does not exist"):
        process_reward_model("nope", base_dir=tmp_path)
    with pytest.raises(VerifierError, match=r"has no process reward head \(architectures: Llama"):
        process_reward_model(str(ROOT / "models" / "tiny-orm"))
    with pytest.raises(VerifierError, match="has no process reward head"):
        process_reward_model(str(ROOT / "models" / "tiny-arith"))
    with pytest.raises(VerifierError, match=r"step tag '<extra_0>' is not one token"):
        process_reward_model(str(PRM))  # Qwen's default tag: not in the character vocabulary
    with pytest.raises(VerifierError, match="aggregate must be one of"):
        process_reward_model(str(PRM), step_tag="|", aggregate="max")
    with pytest.raises(VerifierError, match="threshold must be in"):
        process_reward_model(str(PRM), step_tag="|", threshold=2)


def test_identity_follows_the_weights_and_the_settings() -> None:
    a = process_reward_model(str(PRM), step_tag="|", delimiter="|")
    b = process_reward_model(str(PRM), step_tag="|", delimiter="|", aggregate="last")
    assert a.identity() != b.identity()
    assert a.tag_id == 16
    assert "model_hash=" in a.identity()


def test_the_committed_prm_is_a_small_step_classifier() -> None:
    config = json.loads((PRM / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForProcessRewardModel"]
    assert config.get("num_labels", 2) == 2  # the default, which transformers does not write
    summary = json.loads((PRM / "training_summary.json").read_text())
    held = summary["held_out"]
    # useful but imperfect, as trained: better than chance, far from the oracle
    assert 0.7 < held["step_accuracy"] < 0.99
    assert 0.3 < held["first_error_f1"] < 0.95
    assert held["best_of_n_min_accuracy"] > held["single_sample_accuracy"]


@pytest.fixture(scope="module")
def prm() -> Any:
    verifier = process_reward_model(str(PRM), step_tag="|", delimiter="|")
    yield verifier
    verifier.close()


def traces(count: int, seed: int = 0) -> list[tuple[Problem, str]]:
    """Right solutions and ones with planted slips, for held-out test questions."""
    rows = [
        json.loads(line) for line in (ROOT / "data" / "arith-test.jsonl").read_text().splitlines()
    ]
    rng = random.Random(seed)
    out: list[tuple[Problem, str]] = []
    for row in rows[:count]:
        a, b = map(int, row["question"].split("+"))
        problem = ArithProblem(a, b)
        out.append((_problem(problem.question), problem.solution))
        slipped = noisy_trace(problem, rng, slip=0.4, forget=0.5, believe=0.0)
        out.append((_problem(problem.question), slipped))
    return out


def _transformers_step_scores(texts: list[str]) -> list[list[float]]:
    import torch
    from safetensors.torch import load_file
    from train_tiny_prm import TinyPRM
    from transformers import AutoTokenizer, Qwen2Config

    tokenizer = AutoTokenizer.from_pretrained(PRM)
    model = TinyPRM(Qwen2Config.from_pretrained(PRM))
    weights = load_file(str(PRM / "model.safetensors"))
    model.model.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("model.")})
    model.score.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("score.")})
    model.train(False)
    out = []
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([tokenizer(text)["input_ids"]])
            probs = torch.softmax(model(ids, torch.ones_like(ids)), dim=-1)[0, :, 1]
            out.append([float(p) for p, t in zip(probs, ids[0], strict=True) if int(t) == 16])
    return out


@pytest.mark.engine
def test_vllm_step_scores_match_transformers_and_find_wrong_steps(prm: ProcessRewardModel) -> None:
    data = traces(40)
    verdicts = prm.verify(data)
    assert len(verdicts) == len(data)
    expected = _transformers_step_scores(
        [tagged_text(p.prompt, split_steps(c, "|"), "|") for p, c in data[:10]]
    )
    for verdict, want in zip(verdicts[:10], expected, strict=True):
        np.testing.assert_allclose(verdict.step_scores, want, atol=2e-4)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(PRM)
    config = json.loads((PRM / "config.json").read_text())
    right_steps, wrong_steps = [], []
    for (problem, completion), verdict in zip(data, verdicts, strict=True):
        assert verdict.step_scores is not None
        assert verdict.score == min(verdict.step_scores)
        assert verdict.answer == completion.rsplit("=", 1)[1]
        text = tagged_text(problem.prompt, split_steps(completion, "|"), "|")
        tokens = len(tokenizer(text)["input_ids"])
        assert verdict.flops == pytest.approx(step_flops(config, tokens))
        for score, ok in zip(verdict.step_scores, check_steps(problem.id, completion), strict=True):
            (right_steps if ok else wrong_steps).append(score)
    right, wrong = np.array(right_steps), np.array(wrong_steps)
    assert len(wrong) > 10
    # AUC of the step scores, right vs wrong steps (brute force over all pairs)
    auc = (right[:, None] > wrong[None, :]).mean() + 0.5 * (right[:, None] == wrong[None, :]).mean()
    assert auc > 0.7, f"step AUC {auc:.3f}"


@pytest.mark.engine
def test_a_partial_path_scores_as_the_same_steps_of_the_full_one(
    prm: ProcessRewardModel,
) -> None:
    problem, full = traces(1)[0]
    steps = split_steps(full, "|")
    prefixes = ["|".join(steps[:i]) + "|" for i in range(1, len(steps) + 1)]
    verdicts = prm.verify([(problem, text) for text in [*prefixes, full]])
    whole = verdicts[-1].step_scores
    assert whole is not None
    for i, verdict in enumerate(verdicts[:-1], start=1):
        # the model is causal: a prefix's tags see what the full path's first i tags see
        np.testing.assert_allclose(verdict.step_scores, whole[:i], atol=1e-5)
