"""Verifiers built from a checked spec, exactly as the session builds them."""

from __future__ import annotations

from pathlib import Path

from pytest_tts.dsl import load_spec_file
from pytest_tts.registry import build_registry
from pytest_tts.spec import PluginCall
from pytest_tts.types import Problem

SPEC = r"""
model arith = vllm("models/tiny-arith", dtype = "float32")
dataset sums = jsonl("data/arith-test.jsonl", prompt = "Q:{question}\nA:", answer = "answer")

verifier exact = exact_match(extract = last_number)
verifier tail = exact_match(extract = regex(pattern = "=(\\d+)$"))
verifier units = last_digit()
verifier code = weak_tests(fraction = 0.5, seed = 3, timeout = 5.0)

spec "addition" {
    model arith
    dataset sums
    sample n = 4
    oracle exact
    expect coverage >= 0.5 at n = 4
    expect false_positive_rate(units) <= 0.2
    expect false_positive_rate(tail) <= 0.2
    expect false_positive_rate(code) <= 0.2
}
"""


def test_spec_arguments_build_working_verifiers(tmp_path: Path) -> None:
    registry = build_registry()
    # Generation plugins are not under test here: stand-ins only where none is registered.
    if ("backend", "vllm") not in registry:
        registry.add_backend("vllm", lambda *args, **kwargs: None)
    if ("source", "jsonl") not in registry:
        registry.add_source("jsonl", lambda *args, **kwargs: None)
    path = tmp_path / "addition.tts"
    path.write_text(SPEC)
    (spec,) = load_spec_file(path, registry).specs
    refs = {"exact": spec.oracle, **spec.verifiers}
    built = {}
    for name, ref in refs.items():
        assert ref is not None
        call = ref.verifier
        built[name] = registry.get("verifier", call.name)(*call.args, **call.kwargs)
    tail_call = refs["tail"].verifier.kwargs["extract"]  # type: ignore[union-attr]
    assert isinstance(tail_call, PluginCall)
    assert (tail_call.kind, tail_call.name) == ("extractor", "regex")

    problem = Problem("1", "Q:347+285\nA:", "632")
    completion = "7+5=12|4+8+1=13|3+2+1=6|=632"
    for name in ("exact", "tail", "units"):
        (verdict,) = built[name].verify([(problem, completion)])
        assert (verdict.accepted, verdict.answer) == (True, "632"), name
    (verdict,) = built["tail"].verify([(problem, completion + "|")])
    assert (verdict.accepted, verdict.answer) == (False, None)
    assert built["exact"].identity() == (
        "exact_match@1(extract=last_number, ignore_case=false, reference_extract=none)"
    )
    assert built["code"].identity() == (
        "weak_tests@1(fraction=0.5, max_processes=32, memory_mb=1024, output_kb=1024, "
        "seed=3, timeout=5)"
    )
