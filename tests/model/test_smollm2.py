"""SmolLM2-135M-Instruct as converted by scripts/get_smollm2.py (skipped until it has run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "smollm2-135m-instruct"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (MODEL / "model.safetensors").is_file(),
        reason="run scripts/get_smollm2.py to convert SmolLM2-135M-Instruct first",
    ),
]


def test_converted_folder_is_plain_float32_llama_with_a_chat_template() -> None:
    config = json.loads((MODEL / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config
    assert config["num_hidden_layers"] == 30

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt.endswith("<|im_start|>assistant\n")
    assert tokenizer("hi")["input_ids"][0] != tokenizer.bos_token_id  # the template writes it


def test_answers_a_question_through_its_chat_template() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    batch = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(out[0, batch["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer
