"""Fixtures for the spec-language tests: a registry with known, stable names.

The checker is tested against this registry, not the built-ins, so that these tests do not
move when built-in plugins are added or change their signatures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_tts.registry import Registry

# The malformed corpus is data for test_malformed.py, not specs for pytest to collect.
collect_ignore = ["malformed"]

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "grammar" / "examples"
MALFORMED = HERE / "malformed"


def vllm(
    path: str, dtype: str = "auto", max_model_len: int | None = None, reasoning: str | None = None
) -> None: ...
def openai(base_url: str, model: str = "", api_key: str = "") -> None: ...
def jsonl(
    path: str, prompt: str = "{question}", answer: str = "answer", limit: int | None = None
) -> None: ...
def human_eval(limit: int | None = None) -> None: ...
def exact_match(extract: Any = None) -> None: ...
def last_digit() -> None: ...
def unit_tests(timeout: float = 10.0) -> None: ...
def weak_tests(fraction: float = 0.5, timeout: float = 10.0) -> None: ...
def step_check(threshold: float = 0.5) -> None: ...
def last_number() -> None: ...
def boxed() -> None: ...
def plain() -> None: ...
def best_of_n(verifier: Any = None) -> None: ...
def weighted_vote(verifier: Any = None) -> None: ...
def beam_search(prm: Any = None, width: int = 4) -> None: ...
def frontier(*strategies: Any) -> None: ...
def budget_forcing(
    strategy: Any = None, k: int = 1, budgets: Any = (4, 8), end: str | None = None
) -> None: ...


def make_registry() -> Registry:
    registry = Registry()
    registry.add_backend("vllm", vllm)
    registry.add_backend("openai", openai)
    registry.add_source("jsonl", jsonl)
    registry.add_source("human_eval", human_eval)
    registry.add_verifier("exact_match", exact_match)
    registry.add_verifier("last_digit", last_digit)
    registry.add_verifier("unit_tests", unit_tests)
    registry.add_verifier("weak_tests", weak_tests)
    registry.add_verifier("steps", step_check)
    registry.add_extractor("last_number", last_number)
    registry.add_extractor("boxed", boxed)
    for name in ("single", "pass_at_k", "majority_vote"):
        registry.add_strategy(name, plain)
    registry.add_strategy("best_of_n", best_of_n)
    registry.add_strategy("weighted_vote", weighted_vote)
    registry.add_strategy("beam_search", beam_search)
    registry.add_strategy("frontier", frontier)
    registry.add_strategy("budget_forcing", budget_forcing)
    return registry


@pytest.fixture
def registry() -> Registry:
    return make_registry()
