"""The FLOPs model against torch's own counter on real Llama forward passes."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_tts.errors import EstimationError
from pytest_tts.estimate.flops import (
    forward_flops,
    generation_flops,
    model_shape,
    non_embedding_params,
)

TINY: dict[str, Any] = {
    "model_type": "llama",
    "hidden_size": 128,
    "num_hidden_layers": 3,
    "num_attention_heads": 2,
    "intermediate_size": 352,
    "vocab_size": 20,
    "max_position_embeddings": 64,
    "tie_word_embeddings": False,
}
SMOLLM2_135M: dict[str, Any] = {
    "model_type": "llama",
    "hidden_size": 576,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "intermediate_size": 1536,
    "vocab_size": 49152,
    "tie_word_embeddings": True,
    "max_position_embeddings": 8192,
    "rope_theta": 100000,
}


def torch_flops(config: dict[str, Any], seq_len: int, meta: bool) -> int:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from torch.utils.flop_counter import FlopCounterMode

    # Eager attention: on CPU the fused SDPA kernel is invisible to FlopCounterMode.
    hf_config = transformers.LlamaConfig(**config, attn_implementation="eager")
    device = torch.device("meta") if meta else torch.device("cpu")
    torch.manual_seed(0)
    with device:
        model = transformers.LlamaForCausalLM(hf_config).eval()
        ids = torch.randint(0, config["vocab_size"], (2, seq_len))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(ids)
    return int(counter.get_total_flops())


@pytest.mark.parametrize(
    ("config", "meta"),
    # SmolLM2-135M runs on the meta device: FLOPs depend on shapes only, and random init of
    # 135M weights would cost seconds of shared CPU for nothing.
    [
        pytest.param(TINY, False, id="tiny-random-weights"),
        pytest.param(SMOLLM2_135M, True, id="smollm2-135m"),
    ],
)
@pytest.mark.parametrize("seq_len", [8, 48])
def test_forward_flops_match_torch_flop_counter(
    config: dict[str, Any], meta: bool, seq_len: int
) -> None:
    counted = torch_flops(config, seq_len, meta)
    ours = forward_flops(config, seq_len, batch=2)
    assert ours == pytest.approx(counted, rel=0.03)


def test_parameter_counts_of_smollm2() -> None:
    shape = model_shape(SMOLLM2_135M)
    # 30 layers x (attention 576*576*2 + 576*192*2, MLP 3*576*1536) = 106,168,320
    assert shape.non_embedding_params == 106_168_320
    assert shape.embedding_params == 49152 * 576  # tied: one matrix
    # The published total, 134.5M, is these plus norms (61 x 576).
    assert shape.non_embedding_params + shape.embedding_params + 61 * 576 == 134_515_008


def test_mixture_of_experts_counts_only_active_experts() -> None:
    mixtral_like = {
        "model_type": "mixtral",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 128,
        "vocab_size": 100,
        "num_local_experts": 8,
        "num_experts_per_tok": 2,
    }
    expert = 3 * 64 * 128
    attention = 2 * 64 * 64 + 2 * 64 * 32
    router = 64 * 8
    assert non_embedding_params(mixtral_like) == 2 * (attention + 8 * expert + router)
    assert non_embedding_params(mixtral_like, active=True) == 2 * (attention + 2 * expert + router)


def test_generation_shares_prefill_and_grows_the_context() -> None:
    shape = model_shape(TINY)
    head = 2 * 128 * 20
    dense = 2 * shape.active_non_embedding_params
    attn = 4 * 3 * 128
    prompt, length, n = 10, 5, 4
    prefill = prompt * dense + attn * prompt * (prompt + 1) / 2 + head
    decode = length * (dense + head) + attn * sum(prompt + j for j in range(1, length + 1))
    shared = generation_flops(TINY, prompt, n * length, n)
    assert shared == pytest.approx(prefill + n * decode, rel=1e-12)
    separate = generation_flops(TINY, prompt, n * length, n, share_prefill=False)
    assert separate - shared == pytest.approx((n - 1) * prefill, rel=1e-12)


def test_bad_configs_and_counts_are_reported() -> None:
    with pytest.raises(EstimationError, match="no hidden_size / n_embd / d_model"):
        model_shape({"num_hidden_layers": 2})
    with pytest.raises(EstimationError, match="n_samples must be at least 1, got 0"):
        generation_flops(TINY, 3, 4, 0)


def test_verifier_scoring_is_one_pass_over_each_completion() -> None:
    from pytest_tts.estimate.flops import scoring_flops

    # Unshared, one sample: exactly a causal forward pass over prompt + completion, no logits.
    shape = model_shape(TINY)
    seq = 12 + 30
    expected = seq * 2 * shape.active_non_embedding_params + 4 * 3 * 128 * seq * (seq + 1) / 2
    assert scoring_flops(TINY, 12, 30, 1, share_prefill=False) == pytest.approx(expected)
    shared = scoring_flops(TINY, 12, 120, 4)
    assert shared < scoring_flops(TINY, 12, 120, 4, share_prefill=False)


def test_process_reward_scoring_matches_torch_flop_counter() -> None:
    """A Qwen2 decoder and Qwen2.5-Math-PRM's step head at every position (the bundled
    tiny-prm's shape) against FlopCounterMode: our scoring pass plus step_head_flops."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from torch.utils.flop_counter import FlopCounterMode

    from pytest_tts.estimate.flops import scoring_flops, step_head_flops

    config = {
        **TINY,
        "model_type": "qwen2",
        "num_labels": 2,
        "vocab_size": 21,
        "num_key_value_heads": 2,
    }
    hf = transformers.Qwen2Config(**config, attn_implementation="eager")
    torch.manual_seed(0)
    decoder = transformers.Qwen2Model(hf).eval()
    d = config["hidden_size"]
    head = torch.nn.Sequential(torch.nn.Linear(d, d), torch.nn.ReLU(), torch.nn.Linear(d, 2))
    seq = 40
    ids = torch.randint(0, config["vocab_size"], (1, seq))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        head(decoder(input_ids=ids).last_hidden_state)
    counted = counter.get_total_flops()
    # scoring_flops counts causal attention (seq (seq + 1) / 2 keys); the dense kernel the
    # counter sees computes all seq^2 scores: add the other half
    causal_gap = 4.0 * config["num_hidden_layers"] * d * (seq * seq - seq * (seq + 1) / 2)
    ours = scoring_flops(config, seq, 0, 1) + step_head_flops(config, seq) + causal_gap
    assert ours == pytest.approx(counted, rel=0.03)
    assert step_head_flops(config, seq) == 2 * seq * (d * d + 2 * d)
    assert step_head_flops({"num_parameters": 1e6}, seq) == 0.0
