"""FLOPs of generation, from a model's ``config.json`` (Kaplan et al. 2020, extended).

What counts: matrix multiplications only, at 2 FLOPs per multiply-add (the convention of
``torch.utils.flop_counter.FlopCounterMode``); norms, activations, rotary embeddings and
softmax are left out (a few percent at most). Per token, a forward pass costs

- 2 x the active non-embedding parameters (attention projections with grouped-query
  key/value heads, the MLP, for mixture-of-experts the router and only the experts a token
  is routed to, plus shared experts);
- 2 x d_model x vocab for the unembedding (the logits), whether or not the embeddings are
  tied: tying saves parameters, not compute; the input embedding is a lookup, free;
- 4 x n_layer x n_ctx x d_attn for attention (QKᵀ and the weighted sum of values, over the
  n_ctx keys the token attends to; d_attn = query heads x head_dim). Averaged over a causal
  sequence of n_ctx tokens this is Kaplan et al.'s 2 x n_layer x n_ctx x d_attn.

Generation (:func:`generation_flops`) runs the prompt once (prefill, logits of its last
position only) when the samples share it, then one forward pass per generated token at a
context that grows by one each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.types import PARAMS_KEY

NON_GATED = frozenset({"gpt2", "gpt_neox", "gptj", "opt", "bloom", "falcon", "phi", "gpt_bigcode"})
"""Model types whose MLP has two matrices (up, down) instead of three (gate, up, down)."""

_ALIASES = {
    "d_model": ("hidden_size", "n_embd", "d_model"),
    "n_layer": ("num_hidden_layers", "n_layer", "num_layers"),
    "n_heads": ("num_attention_heads", "n_head", "num_heads"),
    "vocab": ("vocab_size",),
}


def _get(config: Mapping[str, Any], key: str) -> int:
    for name in _ALIASES[key]:
        value = config.get(name)
        if value is not None:
            return int(value)
    msg = f"model config has no {' / '.join(_ALIASES[key])}; keys present: {', '.join(config)}"
    raise EstimationError(msg)


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder-only transformer that its compute depends on."""

    d_model: int
    n_layer: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    vocab: int
    tied_embeddings: bool
    gated: bool
    n_experts: int = 0
    experts_per_token: int = 0
    d_ff_shared: int = 0

    @property
    def d_attn(self) -> int:
        return self.n_heads * self.head_dim

    @property
    def attention_params(self) -> int:
        """Per layer: Q and output projections, K and V with the key/value heads only."""
        kv = self.n_kv_heads * self.head_dim
        return 2 * self.d_model * self.d_attn + 2 * self.d_model * kv

    def _mlp(self, d_ff: int) -> int:
        return (3 if self.gated else 2) * self.d_model * d_ff

    @property
    def mlp_params(self) -> int:
        """Per layer, all experts."""
        if self.n_experts:
            shared = self._mlp(self.d_ff_shared) + (self.d_model if self.d_ff_shared else 0)
            return self.n_experts * self._mlp(self.d_ff) + self.d_model * self.n_experts + shared
        return self._mlp(self.d_ff)

    @property
    def active_mlp_params(self) -> int:
        """Per layer, what one token uses: the router, its experts and shared experts."""
        if self.n_experts:
            shared = self._mlp(self.d_ff_shared) + (self.d_model if self.d_ff_shared else 0)
            routed = self.experts_per_token * self._mlp(self.d_ff)
            return routed + self.d_model * self.n_experts + shared
        return self._mlp(self.d_ff)

    @property
    def non_embedding_params(self) -> int:
        """Kaplan et al.'s N: every weight matrix but the (un)embeddings; norms ignored."""
        return self.n_layer * (self.attention_params + self.mlp_params)

    @property
    def active_non_embedding_params(self) -> int:
        return self.n_layer * (self.attention_params + self.active_mlp_params)

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.d_model * (1 if self.tied_embeddings else 2)

    def token_flops(self, n_ctx: float, logits: bool = True) -> float:
        """Forward FLOPs of one token attending to ``n_ctx`` keys (itself included)."""
        dense = 2.0 * self.active_non_embedding_params
        head = 2.0 * self.d_model * self.vocab if logits else 0.0
        return dense + head + 4.0 * self.n_layer * n_ctx * self.d_attn


def model_shape(config: Mapping[str, Any]) -> ModelShape:
    """Read a Hugging Face style ``config.json`` dict (Llama, Qwen, Mistral, Mixtral, GPT-2…)."""
    d_model = _get(config, "d_model")
    n_heads = _get(config, "n_heads")
    head_dim = config.get("head_dim") or d_model // n_heads
    n_experts = int(config.get("num_local_experts") or config.get("num_experts") or 0)
    expert_ff = config.get("moe_intermediate_size") if n_experts else None
    d_ff = expert_ff or config.get("intermediate_size") or config.get("n_inner") or 4 * d_model
    return ModelShape(
        d_model=d_model,
        n_layer=_get(config, "n_layer"),
        n_heads=n_heads,
        n_kv_heads=int(config.get("num_key_value_heads") or n_heads),
        head_dim=int(head_dim),
        d_ff=int(d_ff),
        vocab=_get(config, "vocab"),
        tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        gated=str(config.get("model_type", "llama")) not in NON_GATED,
        n_experts=n_experts,
        experts_per_token=int(config.get("num_experts_per_tok") or 0),
        d_ff_shared=int(config.get("shared_expert_intermediate_size") or 0),
    )


def non_embedding_params(config: Mapping[str, Any], active: bool = False) -> int:
    """Non-embedding parameters (``active``: only those one token uses in an MoE)."""
    shape = model_shape(config)
    return shape.active_non_embedding_params if active else shape.non_embedding_params


def forward_flops(
    config: Mapping[str, Any], seq_len: int, *, batch: int = 1, causal: bool = False
) -> float:
    """FLOPs of one forward pass over ``batch`` sequences of ``seq_len`` tokens, all logits.

    ``causal=False`` counts the full seq_len x seq_len score matrix, as dense attention
    kernels compute it (and as ``FlopCounterMode`` counts it); ``causal=True`` only the keys
    each query may see.
    """
    shape = model_shape(config)
    keys = seq_len * (seq_len + 1) / 2 if causal else float(seq_len) ** 2
    per_seq = seq_len * shape.token_flops(0.0) + 4.0 * shape.n_layer * shape.d_attn * keys
    return batch * per_seq


def params_only(config: Mapping[str, Any]) -> bool:
    """Whether ``config`` gives a parameter count and no architecture: then FLOPs are
    2 x parameters per token processed (Kaplan et al.'s C ≈ 2N; attention and the logits are
    not counted, so they are a lower bound for long contexts)."""
    return PARAMS_KEY in config and not any(name in config for name in _ALIASES["n_layer"])


def _params_generation(
    params: float, prompt_tokens: Any, completion_tokens: Any, n_samples: Any, share: bool
) -> Any:
    n = np.asarray(n_samples, dtype=np.float64)
    p = np.asarray(prompt_tokens, dtype=np.float64)
    c = np.asarray(completion_tokens, dtype=np.float64)
    if np.any(n < 1):
        msg = f"n_samples must be at least 1, got {np.min(n):g}"
        raise EstimationError(msg)
    total = 2.0 * params * (p * (1 if share else n) + c)
    return float(total) if total.ndim == 0 else total


def _params(config: Mapping[str, Any]) -> float:
    value = config[PARAMS_KEY]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        msg = f"{PARAMS_KEY} must be a positive number, got {value!r}"
        raise EstimationError(msg)
    return float(value)


def generation_flops(
    config: Mapping[str, Any],
    prompt_tokens: float,
    completion_tokens: float,
    n_samples: int,
    *,
    share_prefill: bool = True,
) -> float:
    """FLOPs of generating ``n_samples`` completions of one prompt.

    ``completion_tokens`` is the total over the samples, taken as evenly split between them.
    Prefill: the prompt's tokens with causal attention and the logits of its last position,
    once when ``share_prefill`` (prefix caching, vLLM's ``n``), else once per sample. Decode:
    each generated token is one forward pass attending to the prompt and every token before
    it. Fractional token counts (expected values) are accepted. A config with only
    ``num_parameters`` (:func:`params_only`) counts 2 x parameters per token.
    """
    if params_only(config):
        return float(
            _params_generation(
                _params(config), prompt_tokens, completion_tokens, n_samples, share_prefill
            )
        )
    return _generation(
        model_shape(config), prompt_tokens, completion_tokens, n_samples, share_prefill
    )


def _generation(
    shape: ModelShape, prompt_tokens: Any, completion_tokens: Any, n_samples: Any, share: bool
) -> Any:
    """:func:`generation_flops` on floats or numpy arrays (broadcast elementwise)."""
    n = np.asarray(n_samples, dtype=np.float64)
    p = np.asarray(prompt_tokens, dtype=np.float64)
    c = np.asarray(completion_tokens, dtype=np.float64)
    if np.any(n < 1):
        msg = f"n_samples must be at least 1, got {np.min(n):g}"
        raise EstimationError(msg)
    if np.any(p < 0) or np.any(c < 0):
        msg = f"token counts must be >= 0, got {np.min(p):g} and {np.min(c):g}"
        raise EstimationError(msg)
    length = c / n
    attn = 4.0 * shape.n_layer * shape.d_attn
    prefill = p * shape.token_flops(0.0, logits=False) + attn * p * (p + 1) / 2
    prefill = prefill + np.where(p > 0, 2.0 * shape.d_model * shape.vocab, 0.0)
    decode = length * shape.token_flops(0.0) + attn * (length * p + length * (length + 1) / 2)
    total = prefill * (1 if share else n) + n * decode
    return float(total) if total.ndim == 0 else total


def flops_from_config(config: Mapping[str, Any], *, share_prefill: bool = True) -> Any:
    """A vectorized ``flops_fn`` for :func:`pytest_tts.estimate.curves.compute_curve`.

    It takes arrays (prompt tokens, completion tokens, samples) and is marked
    ``vectorized``, so a curve's FLOPs cost one call instead of one per problem and budget.
    Use it when no ``pytest_tts_count_flops`` implementation overrides the built-in one.
    """
    if params_only(config):
        params = _params(config)

        def by_params(prompt_tokens: Any, completion_tokens: Any, n_samples: Any) -> Any:
            return _params_generation(
                params, prompt_tokens, completion_tokens, n_samples, share_prefill
            )

        by_params.vectorized = True  # type: ignore[attr-defined]
        return by_params
    shape = model_shape(config)

    def flops_fn(prompt_tokens: Any, completion_tokens: Any, n_samples: Any) -> Any:
        return _generation(shape, prompt_tokens, completion_tokens, n_samples, share_prefill)

    flops_fn.vectorized = True  # type: ignore[attr-defined]
    return flops_fn


def step_head_flops(config: Mapping[str, Any], tokens: float) -> float:
    """FLOPs of a process reward model's step head at ``tokens`` positions: Qwen2.5-Math-PRM's
    Linear(d, d), ReLU, Linear(d, labels), which vLLM applies at every position before step
    pooling keeps the tags (``num_labels`` from the config, default 2). 0 for a config that
    gives only a parameter count (its head is in the count)."""
    if params_only(config):
        return 0.0
    d = model_shape(config).d_model
    labels = int(config.get("num_labels") or len(config.get("id2label") or {}) or 2)
    return 2.0 * float(tokens) * (d * d + d * labels)


def scoring_flops(
    config: Mapping[str, Any],
    prompt_tokens: float,
    completion_tokens: float,
    n_samples: int,
    *,
    share_prefill: bool = True,
) -> float:
    """FLOPs of a model-based verifier (reward model, judge) scoring ``n_samples`` completions.

    One causal forward pass over prompt + completion per sample, without unembedding (a
    reward head is a single vector); with ``share_prefill`` the prompt's pass is counted once
    and each completion attends to it from the cache. ``config`` is the verifier's own
    ``config.json``; ``completion_tokens`` the total over the samples. A config that gives
    only a parameter count (:func:`params_only`) counts 2 x parameters per token.
    """
    if n_samples < 1:
        msg = f"n_samples must be at least 1, got {n_samples}"
        raise EstimationError(msg)
    if params_only(config):
        return float(
            _params_generation(
                _params(config), prompt_tokens, completion_tokens, n_samples, share_prefill
            )
        )
    shape = model_shape(config)
    p = float(prompt_tokens)
    length = float(completion_tokens) / n_samples
    dense = shape.token_flops(0.0, logits=False)
    attn = 4.0 * shape.n_layer * shape.d_attn
    prompt_pass = p * dense + attn * p * (p + 1) / 2
    completion_pass = length * dense + attn * (length * p + length * (length + 1) / 2)
    return prompt_pass * (1 if share_prefill else n_samples) + n_samples * completion_pass
