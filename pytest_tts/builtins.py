"""pytest-tts's own plugins, registered through the same hook that users implement.

Targets are lazy ``"module:attribute"`` paths: registering costs no imports. The hooks are
marked with pluggy's marker for the ``pytest`` project (what ``@hookimpl`` is), so
this module works in pytest and in the standalone plugin manager alike, without pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

hookimpl = pluggy.HookimplMarker("pytest")

if TYPE_CHECKING:
    from pytest_tts.registry import Registry


@hookimpl
def pytest_tts_register(registry: Registry) -> None:
    # Each package section below is owned by the module it points at; keep them sorted.
    # backends (pytest_tts.backends)
    b = "pytest_tts.backends"
    registry.add_backend("openai", f"{b}.openai:openai", "an OpenAI-compatible server")
    registry.add_backend("replay", f"{b}.replay:replay", "samples generated elsewhere (JSONL)")
    registry.add_backend("vllm", f"{b}.vllm:vllm", "vLLM offline engine (GPU or CPU build)")
    # dataset sources (pytest_tts.sources)
    d = "pytest_tts.sources"
    registry.add_source("csv", f"{d}.files:csv", "a local CSV file, prompt template")
    registry.add_source("hf_dataset", f"{d}.hf:hf_dataset", "a Hugging Face dataset (local or Hub)")
    registry.add_source("human_eval", f"{d}.human_eval:human_eval", "HumanEval's 164 problems")
    registry.add_source("jsonl", f"{d}.files:jsonl", "a local JSON Lines file, prompt template")
    registry.add_source("reasoning_gym", f"{d}.reasoning_gym:reasoning_gym", "seeded generators")
    # strategies (pytest_tts.strategies)
    s = "pytest_tts.strategies"
    registry.add_strategy("best_of_n", f"{s}.order:best_of_n", "highest verifier score of k")
    registry.add_strategy("filtered_vote", f"{s}.vote:filtered_vote", "vote among accepted")
    registry.add_strategy("first_finish", f"{s}.order:first_finish", "shortest of k samples")
    registry.add_strategy("frontier", f"{s}.frontier:frontier", "best strategy per budget")
    registry.add_strategy("majority_vote", f"{s}.vote:majority_vote", "plurality answer of k")
    registry.add_strategy("pass_at_k", f"{s}.coverage:pass_at_k", "any of k correct")
    registry.add_strategy("pass_hat_k", f"{s}.coverage:pass_hat_k", "all of k correct (pass^k)")
    registry.add_strategy("self_certainty", f"{s}.order:self_certainty", "most confident of k")
    registry.add_strategy("single", f"{s}.coverage:single", "one sample")
    registry.add_strategy("weighted_vote", f"{s}.vote:weighted_vote", "score-weighted vote")
    registry.add_strategy("worst_of_n", f"{s}.order:worst_of_n", "lowest verifier score of k")
    # step-wise search strategies (pytest_tts.search)
    registry.add_strategy("beam_search", "pytest_tts.search.beam:beam_search", "beam search, PRM")
    registry.add_strategy(
        "lookahead_search", "pytest_tts.search.beam:lookahead_search", "beam search, rollouts"
    )
    registry.add_strategy(
        "budget_forcing", "pytest_tts.search.forcing:budget_forcing", "thinking cut at budgets"
    )
    registry.add_strategy(
        "particle_filter", "pytest_tts.search.particles:particle_filter", "PRM-weighted particles"
    )
    # verifiers (pytest_tts.verifiers)
    v = "pytest_tts.verifiers"
    registry.add_verifier("exact_match", f"{v}.exact:exact_match", "answer equals reference")
    registry.add_verifier("gym_score", f"{v}.gym:gym_score", "reasoning-gym's scorer, 1.0 only")
    registry.add_verifier("judge", f"{v}.judge:judge", "an LLM judge through the backend")
    registry.add_verifier("last_digit", f"{v}.exact:last_digit", "last digit matches (imperfect)")
    registry.add_verifier("math_equivalence", f"{v}.math_equiv:math_equivalence", "math-verify")
    registry.add_verifier("recorded", f"{v}.recorded:recorded", "a replayed sample's own label")
    registry.add_verifier("reward_model", f"{v}.reward:reward_model", "outcome reward model (vLLM)")
    registry.add_verifier(
        "process_reward_model",
        f"{v}.process_reward:process_reward_model",
        "process reward model, step scores (vLLM)",
    )
    registry.add_verifier("step_check", f"{v}.steps:step_check", "arithmetic steps (process)")
    registry.add_verifier("unit_tests", f"{v}.code:unit_tests", "HumanEval tests, sandboxed")
    registry.add_verifier("weak_tests", f"{v}.code:weak_tests", "a subset of the tests (imperfect)")
    for name in ("boxed", "full", "gsm8k", "last_number", "regex"):
        registry.add_extractor(name, f"{v}.extractors:{name}")
    pass


@hookimpl(trylast=True)
def pytest_tts_count_flops(
    model_config: dict[str, Any], prompt_tokens: int, completion_tokens: int, n_samples: int
) -> float | None:
    """Kaplan et al. (2020) from the model's config.json (pytest_tts.estimate.flops)."""
    from pytest_tts.estimate.flops import generation_flops

    return generation_flops(model_config, prompt_tokens, completion_tokens, n_samples)
