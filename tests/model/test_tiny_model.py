"""The committed tiny model: its tokenizer; vLLM and transformers agree on greedy answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_tts.tasks.arith import ALPHABET, check_steps, extract_answer, format_prompt

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "tiny-arith"
PROBLEMS = [
    json.loads(line) for line in (ROOT / "data" / "arith-test.jsonl").read_text().splitlines()
][:12]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(MODEL)


def test_weights_are_small_float32_llama() -> None:
    config = json.loads((MODEL / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["hidden_size"] // config["num_attention_heads"] in (32, 64)
    assert (MODEL / "model.safetensors").stat().st_size < 20 * 2**20


def test_tokenizer_adds_bos_and_round_trips(tokenizer: Any) -> None:
    prompt = format_prompt("347+285")
    ids = tokenizer(prompt)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert ids.count(tokenizer.bos_token_id) == 1
    assert len(ids) == len(prompt) + 1  # one token per character
    assert tokenizer.decode(ids, skip_special_tokens=True) == prompt
    completion = "7+5=12|4+8+1=13|3+2+1=6|=632"
    body = tokenizer(completion, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(body) == completion
    assert tokenizer.convert_ids_to_tokens(body)[:4] == ["7", "+", "5", "="]
    assert set(tokenizer.get_vocab()) >= set(ALPHABET)


def _transformers_greedy(prompts: list[str], tokenizer: Any) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    texts = []
    with torch.no_grad():
        for prompt in prompts:  # one at a time: no padding, so nothing can shift the logits
            batch = tokenizer(prompt, return_tensors="pt")
            out = model.generate(**batch, max_new_tokens=40, do_sample=False)
            width = batch["input_ids"].shape[1]
            texts.append(tokenizer.decode(out[0, width:], skip_special_tokens=True))
    return texts


@pytest.mark.engine
def test_vllm_and_transformers_agree_on_greedy_answers(vllm_backend: Any, tokenizer: Any) -> None:
    from vllm import SamplingParams

    if Path(vllm_backend.model).resolve() != MODEL.resolve():
        pytest.skip("the session engine does not serve the committed tiny model")
    prompts = [format_prompt(p["question"]) for p in PROBLEMS]
    outputs = vllm_backend.engine().generate(
        prompts, SamplingParams(temperature=0.0, max_tokens=40), use_tqdm=False
    )
    from_vllm = [o.outputs[0].text for o in outputs]
    from_transformers = _transformers_greedy(prompts, tokenizer)
    answers_vllm = [extract_answer(t) for t in from_vllm]
    assert answers_vllm == [extract_answer(t) for t in from_transformers]
    # the model writes its steps: every completion parses into steps and states an answer
    assert None not in answers_vllm
    for problem, text in zip(PROBLEMS, from_vllm, strict=True):
        assert len(check_steps(problem["question"], text)) >= 2, text
    correct = sum(a == p["answer"] for a, p in zip(answers_vllm, PROBLEMS, strict=True))
    assert correct >= len(PROBLEMS) // 2, from_vllm
