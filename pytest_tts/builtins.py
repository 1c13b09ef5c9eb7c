"""pytest-tts's own plugins, registered through the same hook that users implement.

Targets are lazy ``"module:attribute"`` paths: registering costs no imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_tts.registry import Registry


@pytest.hookimpl
def pytest_tts_register(registry: Registry) -> None:
    # Each package section below is owned by the module it points at; keep them sorted.
    # verifiers (pytest_tts.verifiers)
    v = "pytest_tts.verifiers"
    registry.add_verifier("exact_match", f"{v}.exact:exact_match", "answer equals reference")
    registry.add_verifier("last_digit", f"{v}.exact:last_digit", "last digit matches (imperfect)")
    registry.add_verifier("math_equivalence", f"{v}.math_equiv:math_equivalence", "math-verify")
    registry.add_verifier("unit_tests", f"{v}.code:unit_tests", "HumanEval tests, sandboxed")
    registry.add_verifier("weak_tests", f"{v}.code:weak_tests", "a subset of the tests (imperfect)")
    for name in ("boxed", "full", "gsm8k", "last_number", "regex"):
        registry.add_extractor(name, f"{v}.extractors:{name}")
    pass
