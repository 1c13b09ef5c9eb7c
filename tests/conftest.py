"""Fixtures shared across test areas: a small model folder and one real vLLM engine.

``store`` is a fresh sample store in a temporary folder (``tmp_path / "cache"``).
``tiny_model_dir`` is the bundled ``models/tiny-arith`` when it has been trained, else a
random-weight Llama (hidden 64, 2 layers, head_dim 32, character-level tokenizer) built once
per session under a temporary folder. ``vllm_backend`` shares one engine across the session
(each engine start costs tens of seconds on a small CPU) and shuts it down at the end.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_tts.store import SampleStore

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = ROOT / "models" / "tiny-arith"
ENGINE_ARGS: dict[str, Any] = {"dtype": "float32", "max_model_len": 64}


def build_random_llama(folder: Path) -> Path:
    """Save a random-weight Llama with a character-level tokenizer that adds BOS."""
    import torch
    from tokenizers import Tokenizer, decoders, models, processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<s>", "</s>", "<unk>", "<pad>"]
    chars = sorted(set(string.printable) - set("\x0b\x0c\r"))
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.decoder = decoders.Fuse()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", vocab["<s>"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=3,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    # generation_config.json would carry transformers' defaults into vLLM's sampling defaults
    (folder / "generation_config.json").unlink(missing_ok=True)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (BUNDLED_MODEL / "config.json").is_file():
        return BUNDLED_MODEL
    return build_random_llama(tmp_path_factory.mktemp("model") / "tiny-llama")


@pytest.fixture(scope="session")
def vllm_backend(tiny_model_dir: Path) -> Iterator[Any]:
    """One real vLLM engine for the whole session, shut down explicitly at the end."""
    from pytest_tts.backends.vllm import vllm

    backend = vllm(str(tiny_model_dir), **ENGINE_ARGS)
    yield backend
    backend.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    """A fresh sample store under ``tmp_path / "cache"``, closed after the test."""
    with SampleStore.in_dir(tmp_path / "cache") as opened:
        yield opened
