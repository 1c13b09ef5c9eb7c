"""The checker: what a valid spec becomes (the contract), and what it rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tts import spec as S
from pytest_tts.dsl import check, load_spec_file, parse
from pytest_tts.errors import SpecCheckError
from pytest_tts.registry import Registry

from .conftest import EXAMPLES

HEADER = """\
model arith = vllm("models/tiny-arith", dtype = "float32")
model other = vllm("models/other")
dataset sums = jsonl("data/sums.jsonl", prompt = "{question}", limit = 200)
verifier exact = exact_match(extract = last_number)
verifier units = last_digit()
"""


def spec_text(*lines: str, sample: str = "n = 64, temperature = 1.0, max_tokens = 24") -> str:
    body = "\n".join(f"    {line}" for line in lines)
    return (
        HEADER
        + f'spec "s" {{\n    model arith\n    dataset sums\n    sample {sample}\n'
        + f"    oracle exact\n{body}\n}}\n"
    )


def checked(text: str, registry: Registry, path: str = "t.tts") -> S.CheckedFile:
    return check(parse(text, path), registry)


def expectations(text: str, registry: Registry) -> tuple[S.Expectation, ...]:
    (spec,) = checked(text, registry).specs
    return spec.expectations


def errors(text: str, registry: Registry) -> list[tuple[str, str]]:
    with pytest.raises(SpecCheckError) as excinfo:
        checked(text, registry)
    return [(d.code, d.message) for d in excinfo.value.diagnostics]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.tts")), ids=lambda p: p.name)
def test_example_corpus_checks(
    path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES)
    result = load_spec_file(path.name, registry)
    for spec in result.specs:
        ids = [e.id for e in spec.expectations]
        assert len(ids) == len(set(ids))


def test_spec_fields_are_filled(registry: Registry) -> None:
    (spec,) = checked(
        spec_text("tags slow, gpu", "expect coverage >= 0.9 at n = 64"), registry
    ).specs
    assert spec.name == "s"
    assert spec.path == "t.tts"
    assert spec.model.name == "arith"
    assert spec.model.backend == S.PluginCall(
        "backend",
        "vllm",
        ("models/tiny-arith",),
        {"dtype": "float32"},
        'vllm("models/tiny-arith",dtype="float32")',
        spec.model.backend.span,
    )
    assert spec.dataset.source.kwargs == {"prompt": "{question}", "limit": 200}
    assert spec.sampling == S.Sampling(n=64, temperature=1.0, max_tokens=24)
    assert spec.oracle is not None
    assert spec.oracle.name == "exact"
    assert spec.oracle.verifier.kwargs["extract"].name == "last_number"
    assert spec.oracle.verifier.kwargs["extract"].kind == "extractor"
    assert spec.tags == ("slow", "gpu")
    assert spec.span is not None
    assert spec.source.startswith('spec "s" {')
    assert spec.source.endswith("}")


def test_threshold_with_budget_and_strategy(registry: Registry) -> None:
    (e,) = expectations(
        spec_text("expect accuracy >= 0.55 at flops <= 4e9 using majority_vote"), registry
    )
    assert e.id == "accuracy>=0.55@flops<=4e9[majority_vote]"
    assert e.text == "expect accuracy >= 0.55 at flops <= 4e9 using majority_vote"
    check_ = e.check
    assert isinstance(check_, S.Threshold)
    assert (check_.op, check_.value, check_.confidence) == (">=", 0.55, None)
    assert check_.budget is not None
    assert (check_.budget.unit, check_.budget.op, check_.budget.value) == ("flops", "<=", 4e9)
    assert check_.measure.metric == "accuracy"
    assert check_.measure.strategy.name == "majority_vote"
    assert check_.measure.model.name == "arith"


def test_default_strategies(registry: Registry) -> None:
    coverage, accuracy = expectations(
        spec_text("expect coverage >= 0.9 at n = 64", "expect accuracy >= 0.4 at n = 1"), registry
    )
    assert isinstance(coverage.check, S.Threshold)
    assert coverage.check.measure.strategy.name == "pass_at_k"
    assert coverage.id == "coverage>=0.9@n=64"
    assert isinstance(accuracy.check, S.Threshold)
    assert accuracy.check.measure.strategy.name == "single"


def test_strategy_arguments_resolve_to_references(registry: Registry) -> None:
    (e,) = expectations(
        spec_text(
            "expect accuracy >= 0.5 at n = 8 using best_of_n(verifier = units) with confidence 0.9"
        ),
        registry,
    )
    assert isinstance(e.check, S.Threshold)
    strategy = e.check.measure.strategy
    assert strategy.text == "best_of_n(verifier=units)"
    units = strategy.kwargs["verifier"]
    assert isinstance(units, S.VerifierRef)
    assert units.verifier.name == "last_digit"
    assert e.check.confidence == 0.9
    (spec,) = checked(
        spec_text("expect accuracy >= 0.5 at n = 8 using best_of_n(verifier = units)"), registry
    ).specs
    assert set(spec.verifiers) == {"exact", "units"}


def test_comparison_monotone_bound_and_regression(registry: Registry) -> None:
    comparison, other, monotone, bound, regression = expectations(
        spec_text(
            "expect accuracy using majority_vote >= accuracy using single "
            "at matched tokens in [1e4, 1e6]",
            "expect accuracy of other using majority_vote <= accuracy using majority_vote "
            "at matched flops",
            "expect accuracy using majority_vote is monotone in n within 0.01",
            "expect false_positive_rate(units) <= 0.15",
            "expect no regression of accuracy using majority_vote at n <= 32 "
            "against baseline within 0.02",
        ),
        registry,
    )
    assert isinstance(comparison.check, S.Comparison)
    assert comparison.check.unit == "tokens"
    assert comparison.check.range == (1e4, 1e6)
    assert comparison.check.right.strategy.name == "single"
    assert comparison.id == "accuracy[majority_vote]>=accuracy[single]@matched-tokens-in-1e4..1e6"
    assert isinstance(other.check, S.Comparison)
    assert other.check.left.model.name == "other"
    assert other.check.right.model.name == "arith"
    assert isinstance(monotone.check, S.Monotone)
    assert (monotone.check.unit, monotone.check.tolerance) == ("n", 0.01)
    assert isinstance(bound.check, S.VerifierBound)
    assert bound.check.verifier.name == "units"
    assert (bound.check.metric, bound.check.value, bound.check.confidence) == (
        "false_positive_rate",
        0.15,
        0.95,
    )
    assert bound.id == "false_positive_rate(units)<=0.15"
    assert isinstance(regression.check, S.NoRegression)
    assert regression.check.tolerance == 0.02
    assert regression.check.confidence == 0.95
    assert regression.check.budget is not None
    assert regression.check.budget.value == 32


def test_for_loop_expands_into_distinct_expectations(registry: Registry) -> None:
    first, second = expectations(
        spec_text(
            "for S in [majority_vote, weighted_vote(verifier = units)] {",
            "    expect accuracy >= 0.5 at n = 8 using S",
            "}",
        ),
        registry,
    )
    assert first.params == {"S": "majority_vote"}
    assert second.params == {"S": "weighted_vote(verifier=units)"}
    assert first.id == "accuracy>=0.5@n=8[majority_vote][S=majority_vote]"
    assert second.id.endswith("[S=weighted_vote(verifier=units)]")
    assert second.text == "expect accuracy >= 0.5 at n = 8 using weighted_vote(verifier = units)"
    assert isinstance(second.check, S.Threshold)
    assert second.check.measure.strategy.name == "weighted_vote"


def test_nested_loops_take_every_combination(registry: Registry) -> None:
    result = expectations(
        spec_text(
            "for S in [majority_vote, single] {",
            "    for K in [4, 8] {",
            "        expect accuracy >= 0.5 at n = K using S",
            "    }",
            "}",
        ),
        registry,
    )
    assert [e.params for e in result] == [
        {"S": "majority_vote", "K": "4"},
        {"S": "majority_vote", "K": "8"},
        {"S": "single", "K": "4"},
        {"S": "single", "K": "8"},
    ]
    assert len({e.id for e in result}) == 4


def test_spec_loop_over_models_gives_one_spec_per_model(registry: Registry) -> None:
    text = HEADER + (
        'spec "per model" for M in [arith, other] {\n'
        "    model M\n    dataset sums\n    sample n = 4\n    oracle exact\n"
        "    expect coverage >= 0.5 at n = 4\n}\n"
    )
    specs = checked(text, registry).specs
    assert [s.name for s in specs] == ["per model[M=arith]", "per model[M=other]"]
    assert [s.model.name for s in specs] == ["arith", "other"]


def test_file_without_specs_checks_to_nothing(registry: Registry) -> None:
    assert checked(HEADER, registry).specs == ()


def test_includes_resolve_relative_to_the_including_file(
    registry: Registry, tmp_path: Path
) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "common.tts").write_text(HEADER, encoding="utf-8")
    main = tmp_path / "specs" / "main.tts"
    main.parent.mkdir()
    main.write_text('include "../lib/common.tts"\n' + spec_text()[len(HEADER) :], encoding="utf-8")
    result = load_spec_file(main, registry)
    assert result.includes == (str(tmp_path / "lib" / "common.tts"),)
    assert result.specs[0].model.name == "arith"


def test_diamond_include_is_not_a_duplicate(registry: Registry, tmp_path: Path) -> None:
    (tmp_path / "base.tts").write_text(HEADER, encoding="utf-8")
    (tmp_path / "a.tts").write_text('include "base.tts"\n', encoding="utf-8")
    (tmp_path / "b.tts").write_text('include "base.tts"\n', encoding="utf-8")
    main = tmp_path / "main.tts"
    main.write_text('include "a.tts"\ninclude "b.tts"\n' + spec_text()[len(HEADER) :])
    assert load_spec_file(main, registry).specs[0].dataset.name == "sums"


def test_bare_names_resolve_in_order(registry: Registry) -> None:
    # declared verifier, registered extractor, registered strategy, registered verifier
    registry.add_strategy("combo", lambda **kw: None)
    (e,) = expectations(
        spec_text(
            "expect accuracy >= 0.5 "
            "using combo(a = units, b = last_number, c = majority_vote, d = steps)"
        ),
        registry,
    )
    assert isinstance(e.check, S.Threshold)
    kwargs = e.check.measure.strategy.kwargs
    assert isinstance(kwargs["a"], S.VerifierRef)
    assert kwargs["a"].name == "units"
    assert kwargs["b"].kind == "extractor"
    assert kwargs["c"].kind == "strategy"
    assert isinstance(kwargs["d"], S.VerifierRef)
    assert kwargs["d"].verifier.name == "steps"


def test_checker_collects_every_error_sorted(registry: Registry) -> None:
    text = spec_text(
        "expect accuracy >= 0.5 at n = 128 using majority_vot",
        "expect acuracy >= 0.5",
        "expect coverage >= 1.5 with confidence 1",
        sample="n = 64, temperature = -1",
    )
    found = errors(text, registry)
    assert [code for code, _ in found] == [
        "out-of-range",
        "budget-beyond-pool",
        "unknown-strategy",
        "unknown-metric",
        "out-of-range",
        "out-of-range",
    ]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("expect accuracy >= 0.5 at n = 0", "bad-budget"),
        ("expect accuracy >= 0.5 at n = 8.0", "bad-budget"),
        ("expect accuracy >= 0.5 at n <= 65", "budget-beyond-pool"),
        ("expect accuracy >= 0.5 at tokens > 10", "bad-budget"),
        ("expect accuracy >= 0.5 at seconds <= 10", "unknown-unit"),
        ("expect accuracy >= -0.1", "out-of-range"),
        ("expect false_positive_rate(units) <= 1.2", "out-of-range"),
        ("expect false_positive_rate(nope) <= 0.2", "unknown-verifier"),
        ("expect false_positive_rate(units) <= 0.2 using majority_vote", "bad-metric-use"),
        ("expect accuracy of sums >= 0.2", "unknown-model"),
        ("expect accuracy using best_of_n(verifer = units) >= 0.2", "unknown-argument"),
        ("expect accuracy using best_of_n(units, units) >= 0.2", "too-many-arguments"),
        ("expect accuracy using best_of_n(units, verifier = units) >= 0.2", "duplicate-argument"),
        ("expect accuracy using frontier(nope()) >= 0.2", "unknown-function"),
        ("expect accuracy using majority_vote is monotone in n within 2", "out-of-range"),
        ("expect accuracy > accuracy using single at matched n in [0, 8]", "bad-budget"),
        ("expect accuracy > accuracy using majority_vote at matched n in [1, 2.5]", "bad-budget"),
        (
            "expect no regression of accuracy against baseline within 0.1 with confidence 1",
            "out-of-range",
        ),
    ],
)
def test_rejected_expectations(line: str, code: str, registry: Registry) -> None:
    assert code in [c for c, _ in errors(spec_text(line), registry)]


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        ("n = 4, top_p = 1.5", "out-of-range"),
        ("n = 4, max_tokens = 0", "out-of-range"),
        ("n = 4, seed = -1", "out-of-range"),
        ("n = 4, stop = [1]", "out-of-range"),
        ("n = 4, n = 5", "duplicate-argument"),
        ("temperature = 0.5", "missing-sample"),
        ("n = 4, beams = 2", "unknown-sampling-parameter"),
    ],
)
def test_rejected_sampling(sample: str, code: str, registry: Registry) -> None:
    assert code in [c for c, _ in errors(spec_text(sample=sample), registry)]


def test_sampling_extras_are_kept(registry: Registry) -> None:
    (spec,) = checked(spec_text(sample='n = 4, top_k = 20, stop = ["\\n"]'), registry).specs
    assert spec.sampling.extra == {"top_k": 20, "stop": ("\n",)}


def test_confidence_bounds_are_exclusive(registry: Registry) -> None:
    (e,) = expectations(spec_text("expect accuracy >= 0.5 with confidence 0.999"), registry)
    assert isinstance(e.check, S.Threshold)
    assert e.check.confidence == 0.999
    for bad in ("0", "1", "1.5"):
        assert errors(spec_text(f"expect accuracy >= 0.5 with confidence {bad}"), registry)


def test_a_plugin_that_cannot_load_is_reported(registry: Registry) -> None:
    registry.add_strategy("broken", "pytest_tts.no_such_module:broken")
    found = errors(spec_text("expect accuracy >= 0.5 using broken(x = 1)"), registry)
    assert found[0][0] == "plugin-error"
    assert "ModuleNotFoundError" in found[0][1]


def test_factories_with_var_keywords_accept_any_argument(registry: Registry) -> None:
    registry.add_strategy("anything", lambda *a, **kw: None)
    (e,) = expectations(spec_text("expect accuracy >= 0.5 using anything(1, 2, x = 3)"), registry)
    assert isinstance(e.check, S.Threshold)
    assert e.check.measure.strategy.args == (1, 2)
    assert e.check.measure.strategy.kwargs == {"x": 3}


def test_duplicate_names_across_kinds(registry: Registry) -> None:
    found = errors(HEADER + 'dataset exact = jsonl("x")\n', registry)
    assert found == [
        (
            "duplicate-name",
            "'exact' is already declared (as a verifier at t.tts:4:1)",
        )
    ]


def test_loop_errors_are_reported_once(registry: Registry) -> None:
    text = spec_text(
        "for S in [majority_vote, single] {",
        "    expect accuracy >= 0.5 at n = 999 using S",
        "}",
    )
    assert errors(text, registry) == [
        (
            "budget-beyond-pool",
            "budget n = 999 exceeds the pool: the spec samples n = 64 per problem",
        )
    ]


@pytest.mark.parametrize("name", ["", "   ", "a::b", "two\\nlines"])
def test_spec_names_must_fit_in_a_node_id(name: str, registry: Registry) -> None:
    text = spec_text("expect coverage >= 0.5").replace('spec "s"', f'spec "{name}"')
    assert [code for code, _ in errors(text, registry)] == ["bad-spec-name"]


def test_a_loop_variable_cannot_shadow_an_enclosing_one(registry: Registry) -> None:
    text = spec_text(
        "for S in [majority_vote] {",
        "    for S in [single] {",
        "        expect accuracy >= 0.5 using S",
        "    }",
        "}",
    )
    assert [code for code, _ in errors(text, registry)] == ["duplicate-loop-variable"]
