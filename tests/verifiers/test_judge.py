"""The ``judge`` verifier's plumbing, with a scripted backend in place of the engine.

A real engine judging real completions is in ``test_judge_engine.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_tts.backends.base import Completion, GenerationRequest
from pytest_tts.errors import VerifierError
from pytest_tts.estimate.flops import generation_flops
from pytest_tts.types import Problem
from pytest_tts.verifiers.extractors import resolve_extractor
from pytest_tts.verifiers.judge import Judge
from tests import fakes

CONFIG = {
    "model_type": "llama",
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "vocab_size": 24,
    "max_position_embeddings": 96,
    "tie_word_embeddings": True,
}
PROBLEM = Problem("sums-0", "Q:347+285\nA:", "632", {"question": "347+285"})
RIGHT = "7+5=12|4+8+1=13|3+2+1=6|=632"
WRONG = "7+5=12|4+8=12|3+2+1=6|=622"


def ScriptedBackend(script: Any, model_hash: str = "abc123") -> fakes.ScriptedBackend:
    """Answers each prompt with the verdict texts ``script(prompt, index)`` returns (each
    decoded with its end-of-sequence token)."""

    def verdict(request: GenerationRequest, index: int) -> Completion:
        text = script(request.prompt, index)
        return Completion(text, len(request.prompt) + 1, len(text) + 1)

    return fakes.ScriptedBackend(
        verdict,
        provenance={"engine": "scripted", "model_hash": model_hash},
        model_config=CONFIG,
        out_of_order=True,
    )


def by_answer(prompt: str, index: int) -> str:
    """Says yes to completions that end in the right sum, no otherwise."""
    return "Y" if "=632\nJ:" in prompt else "N"


def make(backend: ScriptedBackend, **kwargs: Any) -> Judge:
    kwargs.setdefault("extract", resolve_extractor("last_number"))
    return Judge(backend, **kwargs)


def test_one_vote_accepts_on_yes_and_batches_every_item_into_one_call() -> None:
    backend = ScriptedBackend(by_answer)
    judge = make(backend)
    items = [(PROBLEM, RIGHT), (PROBLEM, WRONG), (PROBLEM, RIGHT)]
    verdicts = judge.verify(items)
    assert [(v.accepted, v.score, v.answer) for v in verdicts] == [
        (True, 1.0, "632"),
        (False, 0.0, "622"),
        (True, 1.0, "632"),
    ]
    assert [v.detail for v in verdicts] == ["judge: yes", "judge: no", "judge: yes"]
    assert len(backend.calls) == 1
    (requests,) = backend.calls
    assert [r.prompt for r in requests] == [
        f"Q:347+285\nA:{RIGHT}\nJ:",
        f"Q:347+285\nA:{WRONG}\nJ:",
        f"Q:347+285\nA:{RIGHT}\nJ:",
    ]
    assert all(r.n == 1 and r.sampling.temperature == 0.0 for r in requests)
    assert [r.tag for r in requests] == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "vote"),
    [("Y", True), (" Yes", True), ("N", False), ("N\n", False), ("", None), ("7", None)],
)
def test_parse_reads_the_leading_verdict(text: str, vote: bool | None) -> None:
    assert make(ScriptedBackend(by_answer)).parse(text) is vote


def test_the_longer_verdict_string_wins_when_one_prefixes_the_other() -> None:
    judge = make(ScriptedBackend(by_answer), yes="no doubt", no="no")
    assert judge.parse("no doubt") is True
    assert judge.parse("no way") is False


def test_an_unparseable_verdict_is_a_rejection_that_shows_the_text() -> None:
    judge = make(ScriptedBackend(lambda prompt, i: "=632"))
    (verdict,) = judge.verify([(PROBLEM, RIGHT)])
    assert (verdict.accepted, verdict.score, verdict.answer) == (False, 0.0, "632")
    assert verdict.detail == "unparseable verdict: '=632'"


def test_votes_score_the_yes_fraction_and_accept_on_a_strict_majority() -> None:
    pattern = {0: "Y", 1: "N", 2: "Y", 3: "?"}
    judge = make(ScriptedBackend(lambda prompt, i: pattern[i % 4]), samples=4, temperature=1.0)
    (verdict,) = judge.verify([(PROBLEM, RIGHT)])
    assert verdict.score == 0.5
    assert not verdict.accepted  # two of four is no majority
    assert verdict.detail.startswith("judge: 2/4 yes, 1 unparseable verdict(s), e.g. '?'")
    judge = make(ScriptedBackend(lambda prompt, i: "NYY"[i]), samples=3, temperature=1.0)
    (verdict,) = judge.verify([(PROBLEM, WRONG)])
    assert (verdict.accepted, verdict.score) == (True, 2 / 3)


def test_flops_are_the_judge_prefill_once_plus_every_decoded_token() -> None:
    judge = make(ScriptedBackend(lambda prompt, i: "Y" * (i + 1)), samples=3, temperature=1.0)
    verdicts = judge.verify([(PROBLEM, RIGHT), (PROBLEM, "=1")])
    for verdict, completion in zip(verdicts, (RIGHT, "=1"), strict=True):
        prompt_tokens = len(f"Q:347+285\nA:{completion}\nJ:") + 1
        expected = generation_flops(CONFIG, prompt_tokens, 2 + 3 + 4, 3)
        assert verdict.flops == pytest.approx(expected)
    assert verdicts[0].flops > verdicts[1].flops > 0


def test_template_fields_come_from_the_problem_the_completion_and_the_meta() -> None:
    backend = ScriptedBackend(by_answer)
    template = "{question}|{reference}|{answer}|{completion}|{prompt}"
    make(backend, template=template).verify([(PROBLEM, WRONG)])
    assert backend.calls[0][0].prompt == f"347+285|632|622|{WRONG}|Q:347+285\nA:"
    with pytest.raises(VerifierError, match=r"\{steps\}.*known fields: answer, completion"):
        make(backend, template="{steps}").verify([(PROBLEM, RIGHT)])
    with pytest.raises(VerifierError, match="plain names"):
        make(backend, template="{completion.upper}")


def test_a_prompt_longer_than_the_judge_reads_is_rejected_without_an_engine_call() -> None:
    backend = ScriptedBackend(by_answer)
    judge = make(backend, count_tokens=lambda prompt: len(prompt) + 1)
    long = "1+1=2|" * 20 + "=632"
    verdicts = judge.verify([(PROBLEM, long), (PROBLEM, RIGHT)])
    assert not verdicts[0].accepted
    assert verdicts[0].detail == (
        "judge prompt too long: 140 tokens, the judge model reads at most 95 before its verdict"
    )
    assert verdicts[0].flops == 0.0
    assert verdicts[1].accepted
    assert [r.tag for r in backend.calls[0]] == [1]


def test_identity_holds_the_weights_hash_and_every_argument() -> None:
    base = make(ScriptedBackend(by_answer)).identity()
    assert base.startswith("judge@1(")
    assert 'model="abc123"' in base
    variants = [
        make(ScriptedBackend(by_answer, model_hash="def456")),
        make(ScriptedBackend(by_answer), template="{completion}\nJ:"),
        make(ScriptedBackend(by_answer), yes="yes"),
        make(ScriptedBackend(by_answer), no="no"),
        make(ScriptedBackend(by_answer), samples=3),
        make(ScriptedBackend(by_answer), temperature=0.7),
        make(ScriptedBackend(by_answer), max_tokens=8),
        make(ScriptedBackend(by_answer), seed=5),
        make(ScriptedBackend(by_answer), extract=resolve_extractor("full")),
        make(ScriptedBackend(by_answer), engine_args={"dtype": "bfloat16"}),
    ]
    identities = [v.identity() for v in variants]
    assert base not in identities
    assert len(set(identities)) == len(identities)
    # the same arguments spelled differently are the same judge
    assert make(ScriptedBackend(by_answer), temperature=0).identity() == base


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 0}, "samples must be a positive integer, got 0"),
        ({"max_tokens": 0}, "max_tokens must be a positive integer"),
        ({"temperature": -1.0}, "temperature must be a number >= 0"),
        ({"yes": "Y", "no": "Y"}, "two different non-empty strings"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(VerifierError, match=message):
        make(ScriptedBackend(by_answer), **kwargs)


def test_close_releases_the_backend() -> None:
    backend = ScriptedBackend(by_answer)
    make(backend).close()
    assert backend.closed == 1


def test_the_registered_factory_resolves_the_model_against_the_spec_folder(tmp_path: Any) -> None:
    from pytest_tts.registry import build_registry

    folder = tmp_path / "models" / "judge"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    factory = build_registry().get("verifier", "judge")
    judge = factory(model="models/judge", base_dir=tmp_path, samples=2)
    assert judge.backend.model == folder
    assert judge.backend.engine_args["dtype"] == "float32"
    assert "samples=2" in judge.identity()
    with pytest.raises(Exception, match="does not exist"):
        factory(model="models/missing", base_dir=tmp_path)
