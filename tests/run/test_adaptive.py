"""``--tts-adaptive`` end to end on replayed samples: the real store, fill path, verifiers,
estimators and the anytime-valid gate; only the samples are made up (seeded)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pytest_tts.report.results import RunResults
from pytest_tts.run import Settings, run_specs
from pytest_tts.run.adaptive import round_sizes
from tests.fakes import write_replayed_sums

pytest_plugins = ["pytester"]

PROBLEMS = 200
SAMPLES = 8

SPEC = """\
model replayed = replay("samples.jsonl")
dataset sums = jsonl("sums.jsonl", prompt = "Q:{{question}}\\nA:", answer = "answer"{limit})
verifier exact = exact_match(extract = last_number)

spec "far from both thresholds" {{
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 0
    oracle exact

    expect accuracy >= 0.5 at n = 1 with confidence 0.95
    expect accuracy >= 0.95 at n = 8 using pass_hat_k with confidence 0.95
}}
{extra}"""

COMPARISON = """
spec "strategies compared" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 2
    oracle exact

    expect accuracy using majority_vote > accuracy using pass_hat_k at matched n in [4, 8]
        with confidence 0.95
    expect accuracy using pass_hat_k >= accuracy using majority_vote at matched n in [2, 8]
        with confidence 0.95
}
"""

RATES = """
verifier units = last_digit()

spec "a verifier under test" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 3
    oracle exact

    expect false_positive_rate(units) <= 0.5 with confidence 0.95
    expect false_negative_rate(units) <= 0.1 with confidence 0.95
}
"""

REGRESSION = """
spec "with a regression" {
    model replayed
    dataset sums
    sample n = 4, temperature = 1.0, max_tokens = 8, seed = 1
    oracle exact

    expect accuracy >= 0.5 at n = 1 with confidence 0.95
    expect no regression of accuracy against baseline within 0.05
}
"""


def _project(
    folder: Path, *, limit: int | None = None, extra: str = "", right: float = 0.8
) -> Path:
    """Each sample is right with probability ``right`` (0.8: all 8 right about 0.17)."""
    rng = random.Random(5)
    table = {(i, j): rng.random() < right for i in range(PROBLEMS) for j in range(SAMPLES)}
    write_replayed_sums(folder, problems=PROBLEMS, samples=SAMPLES, right=lambda i, j: table[i, j])
    spec = folder / "adaptive.tts"
    spec.write_text(SPEC.format(limit="" if limit is None else f", limit = {limit}", extra=extra))
    return spec


def _outcomes(results: RunResults) -> dict[str, str]:
    return {e.id: e.outcome for s in results.specs for e in s.expectations}


def test_decides_far_gates_early_with_the_fixed_verdicts(tmp_path: Path) -> None:
    adaptive_dir, fixed_dir = tmp_path / "adaptive", tmp_path / "fixed"
    adaptive_dir.mkdir()
    fixed_dir.mkdir()
    spec = _project(adaptive_dir)
    _project(fixed_dir)

    report = adaptive_dir / "report.html"
    adaptive = run_specs([spec], Settings(rootdir=adaptive_dir, adaptive=True, report=report))
    # the report draws each decided item's confidence sequence against problems seen
    assert report.read_text().count('class="tts-trajectory"') == 2
    fixed = run_specs([fixed_dir / "adaptive.tts"], Settings(rootdir=fixed_dir))
    assert (
        _outcomes(adaptive)
        == _outcomes(fixed)
        == {
            "accuracy>=0.5@n=1": "passed",
            "accuracy>=0.95@n=8[pass_hat_k]": "failed",
        }
    )
    (pool,) = adaptive.specs
    assert pool.pools.samples_generated < PROBLEMS * SAMPLES / 2
    (counts,) = adaptive.adaptive.values()
    assert counts["samples_fixed"] == PROBLEMS * SAMPLES
    assert counts["samples_used"] == pool.pools.samples_generated
    for e in pool.expectations:
        assert "anytime-valid at 0.95" in e.headline
        assert f"of {PROBLEMS} problems" in e.headline

    # a later fixed run tops up only what is missing, and gives the fixed run's numbers
    topped = run_specs([spec], Settings(rootdir=adaptive_dir))
    (again,) = topped.specs
    assert again.pools.samples_generated == PROBLEMS * SAMPLES - pool.pools.samples_generated
    assert [list(c.mean) for c in again.curves] == [list(c.mean) for c in fixed.specs[0].curves]


def test_offline_adaptive_decides_from_what_the_store_holds(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    first = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    again = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True, offline=True))
    assert _outcomes(again) == _outcomes(first)
    assert again.specs[0].pools.samples_generated == 0
    assert again.adaptive == first.adaptive


def test_a_dataset_smaller_than_the_first_round_is_judged_whole(tmp_path: Path) -> None:
    spec = _project(tmp_path, limit=20)
    assert round_sizes(20) == [20]
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    (counts,) = results.adaptive.values()
    assert counts["samples_used"] == counts["samples_fixed"] == 20 * SAMPLES
    for e in results.specs[0].expectations:  # the fixed gate, on the whole (small) pool
        assert "anytime-valid" not in e.headline


def test_regressions_and_baseline_updates_read_the_whole_pool(tmp_path: Path) -> None:
    spec = _project(tmp_path, extra=REGRESSION)
    settings = Settings(rootdir=tmp_path, adaptive=True, update_baselines=True)
    results = run_specs([spec], settings)
    counts = results.adaptive
    regression_pool = next(v for k, v in counts.items() if "with a regression" in k)
    assert regression_pool["samples_used"] == regression_pool["samples_fixed"] == PROBLEMS * 4
    baseline = next(tmp_path.glob("__baselines__/**/*.json"))
    stored = json.loads(baseline.read_text())
    assert len(json.dumps(stored)) > 0
    other = next(v for k, v in counts.items() if "far from both" in k)
    assert other["samples_used"] < other["samples_fixed"]
    # the output says which pool was read whole and why
    (why,) = (v for k, v in results.adaptive_whole.items() if "with a regression" in k)
    assert why.startswith("no-regression:")
    assert "recording a baseline" in why


def test_two_workers_decide_each_item_once(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    _project(pytester.path)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--tts-adaptive",
        "-n",
        "2",
        "--tts-json=out.json",
        "adaptive.tts",
    )
    result.assert_outcomes(passed=1, failed=1)
    data = json.loads((pytester.path / "out.json").read_text())
    ids = [e["nodeid"] for s in data["specs"] for e in s["expectations"]]
    assert len(ids) == len(set(ids)) == 2
    (counts,) = data["adaptive"].values()
    assert counts["samples_used"] < counts["samples_fixed"]
    result.stdout.fnmatch_lines(["pytest-tts adaptive: 1 of 1 pool stopped early; *"])


def test_comparisons_at_matched_n_are_decided_early(tmp_path: Path) -> None:
    spec = _project(tmp_path, extra=COMPARISON)
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    compared = next(s for s in results.specs if s.name == "strategies compared")
    outcomes = [e.outcome for e in compared.expectations]
    assert outcomes == ["passed", "failed"]  # voting beats all-of-k, not the other way
    for e in compared.expectations:
        assert "at matched n: decided after" in e.headline
    counts = next(v for k, v in results.adaptive.items() if "strategies compared" in k)
    assert counts["samples_used"] < counts["samples_fixed"]
    fixed = run_specs([spec], Settings(rootdir=tmp_path))
    again = next(s for s in fixed.specs if s.name == "strategies compared")
    assert [e.outcome for e in again.expectations] == outcomes


def test_a_comparison_with_a_one_sample_strategy_keeps_its_pool_whole(tmp_path: Path) -> None:
    extra = COMPARISON.replace("using pass_hat_k at matched n in [4, 8]", "at matched n")
    spec = _project(tmp_path, extra=extra)
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    compared = next(s for s in results.specs if s.name == "strategies compared")
    first = compared.expectations[0]
    assert "anytime-valid" not in first.headline  # the fixed gate, on all 200 problems
    counts = next(v for k, v in results.adaptive.items() if "strategies compared" in k)
    assert counts["samples_used"] == counts["samples_fixed"]


def test_verifier_rate_bounds_are_decided_early(tmp_path: Path) -> None:
    spec = _project(tmp_path, extra=RATES)
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    rated = next(s for s in results.specs if s.name == "a verifier under test")
    # the made-up wrong answers are the sum plus one: last_digit rejects every one (FPR 0)
    # and accepts every right one (FNR 0)
    assert [e.outcome for e in rated.expectations] == ["passed", "passed"]
    for e in rated.expectations:
        assert "anytime-valid at 0.95" in e.headline
    counts = next(v for k, v in results.adaptive.items() if "verifier under test" in k)
    assert counts["samples_used"] < counts["samples_fixed"]


def test_a_regression_against_the_stored_baseline_fails_early(tmp_path: Path) -> None:
    spec = _project(tmp_path, extra=REGRESSION)
    run_specs([spec], Settings(rootdir=tmp_path, update_baselines=True))
    # the model under test now gets only two in five right
    rng = random.Random(9)
    table = {(i, j): rng.random() < 0.4 for i in range(PROBLEMS) for j in range(SAMPLES)}
    write_replayed_sums(
        tmp_path, problems=PROBLEMS, samples=SAMPLES, right=lambda i, j: table[i, j]
    )
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    regressed = next(s for s in results.specs if s.name == "with a regression")
    _threshold, regression = regressed.expectations
    assert regression.outcome == "failed"
    assert "no regression of accuracy" in regression.headline
    assert "anytime-valid at 0.95: fails" in regression.headline
    counts = next(v for k, v in results.adaptive.items() if "with a regression" in k)
    assert counts["samples_used"] < counts["samples_fixed"]


def test_monotonicity_with_confidence_is_adaptive_without_it_whole(tmp_path: Path) -> None:
    extra = """
spec "monotone" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 4
    oracle exact

    expect accuracy using pass_hat_k is monotone in n within 0.01 with confidence 0.95
}

spec "monotone, no confidence" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 5
    oracle exact

    expect accuracy using majority_vote is monotone in n within 0.01
}
"""
    spec = _project(tmp_path, extra=extra, right=0.6)
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    falling = next(s for s in results.specs if s.name == "monotone")
    (item,) = falling.expectations  # all-of-k falls with k: fails, and early
    assert item.outcome == "failed"
    assert "anytime-valid at 0.95: fails" in item.headline
    counts = {k.split(" × ")[0]: v for k, v in results.adaptive.items()}
    assert counts["monotone"]["samples_used"] < counts["monotone"]["samples_fixed"]
    whole = counts["monotone, no confidence"]
    assert whole["samples_used"] == whole["samples_fixed"]


def test_comparisons_at_matched_tokens_match_costs_on_the_first_round(tmp_path: Path) -> None:
    # a replayed sample costs 3 tokens, the prompt 6: k = 4..8 cost 18..30 tokens
    extra = COMPARISON.replace("at matched n in [4, 8]", "at matched tokens in [18, 30]")
    extra = extra.replace("at matched n in [2, 8]", "at matched tokens in [12, 30]")
    spec = _project(tmp_path, extra=extra)
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    compared = next(s for s in results.specs if s.name == "strategies compared")
    outcomes = [e.outcome for e in compared.expectations]
    assert outcomes == ["passed", "failed"]
    for e in compared.expectations:
        assert "at matched tokens: decided after 64 of 200 problems" in e.headline
        assert "matched at the mean costs of the first 32 problems" in e.method
    counts = next(v for k, v in results.adaptive.items() if "strategies compared" in k)
    assert counts["samples_used"] == 64 * SAMPLES < counts["samples_fixed"]
    fixed = run_specs([spec], Settings(rootdir=tmp_path))
    again = next(s for s in fixed.specs if s.name == "strategies compared")
    assert [e.outcome for e in again.expectations] == outcomes
    assert all("anytime-valid" not in e.headline for e in again.expectations)


TWO_MODELS = """
model stronger = replay("stronger/samples.jsonl")

spec "two models compared" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 4
    oracle exact

    expect accuracy of stronger using majority_vote > accuracy using majority_vote
        at matched n in [1, 2] with confidence 0.95
    expect accuracy using majority_vote >= accuracy of stronger using majority_vote
        at matched n in [1, 2] with confidence 0.95
}
"""


def test_comparisons_of_two_models_pair_their_pools_round_by_round(tmp_path: Path) -> None:
    spec = _project(tmp_path, extra=TWO_MODELS)
    (tmp_path / "stronger").mkdir()
    rng = random.Random(9)
    table = {(i, j): rng.random() < 0.97 for i in range(PROBLEMS) for j in range(SAMPLES)}
    write_replayed_sums(
        tmp_path / "stronger", problems=PROBLEMS, samples=SAMPLES, right=lambda i, j: table[i, j]
    )
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    compared = next(s for s in results.specs if s.name == "two models compared")
    outcomes = [e.outcome for e in compared.expectations]
    assert outcomes == ["passed", "failed"]
    for e in compared.expectations:
        assert "at matched n: decided after" in e.headline
    pools = {k: v for k, v in results.adaptive.items() if "two models compared" in k}
    assert len(pools) == 2  # both models' pools, stopped after the same round
    used = {v["problems_used"] for v in pools.values()}
    assert len(used) == 1
    assert used.pop() < PROBLEMS
    fixed = run_specs([spec], Settings(rootdir=tmp_path))
    again = next(s for s in fixed.specs if s.name == "two models compared")
    assert [e.outcome for e in again.expectations] == outcomes


def test_a_pool_read_whole_takes_its_paired_model_with_it(tmp_path: Path) -> None:
    extra = TWO_MODELS.replace(
        "    oracle exact\n", "    oracle exact\n\n    expect accuracy >= 0.1 at n = 1\n"
    )
    spec = _project(tmp_path, extra=extra)
    (tmp_path / "stronger").mkdir()
    write_replayed_sums(
        tmp_path / "stronger", problems=PROBLEMS, samples=SAMPLES, right=lambda i, j: j > 0
    )
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    pools = {k: v for k, v in results.adaptive.items() if "two models compared" in k}
    assert len(pools) == 2
    for counts in pools.values():  # the one without a confidence level holds both
        assert counts["samples_used"] == counts["samples_fixed"] == PROBLEMS * SAMPLES
    compared = next(s for s in results.specs if s.name == "two models compared")
    assert all("anytime-valid" not in e.headline for e in compared.expectations)


def test_a_comparison_the_fixed_gate_rejects_is_reported_not_raised(tmp_path: Path) -> None:
    # replayed samples have no FLOPs (no config or params): the adaptive gate cannot match
    # costs, and the fixed gate says why on the whole pool
    extra = COMPARISON.replace("at matched n in [4, 8]", "at matched flops")
    spec = _project(tmp_path, extra=extra)
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    compared = next(s for s in results.specs if s.name == "strategies compared")
    first, second = compared.expectations
    assert first.outcome == "error"
    assert "model's size is unknown" in first.detail
    assert second.outcome == "failed"
    counts = next(v for k, v in results.adaptive.items() if "strategies compared" in k)
    assert counts["samples_used"] == counts["samples_fixed"]


FEW_SAMPLES = """
spec "small budgets" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 6
    oracle exact

    expect accuracy >= 0.5 at n = 1 with confidence 0.95
    expect accuracy using majority_vote >= 0.95 at n = 2 with confidence 0.95
}
"""


def test_early_rounds_read_only_the_samples_their_budgets_need(tmp_path: Path) -> None:
    spec = _project(tmp_path, extra=FEW_SAMPLES)
    results = run_specs([spec], Settings(rootdir=tmp_path, adaptive=True))
    small = next(s for s in results.specs if s.name == "small budgets")
    assert [e.outcome for e in small.expectations] == ["passed", "failed"]
    counts = next(v for k, v in results.adaptive.items() if "small budgets" in k)
    assert counts["samples_per_problem"] == 4  # twice the largest k read, of n = 8
    assert counts["samples_used"] == counts["problems_used"] * 4
    assert counts["problems_used"] < PROBLEMS
    assert small.pools.samples_generated == counts["samples_used"]
    # a fixed run tops the store up to n = 8 on every problem and agrees
    fixed = run_specs([spec], Settings(rootdir=tmp_path))
    again = next(s for s in fixed.specs if s.name == "small budgets")
    assert [e.outcome for e in again.expectations] == ["passed", "failed"]
    assert again.pools.samples_generated == PROBLEMS * SAMPLES - counts["samples_used"]


UNTAGGED = """
spec "not opted in" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 4
    oracle exact

    expect accuracy >= 0.5 at n = 1 with confidence 0.95
}
"""


def _tagged(folder: Path, extra: str) -> Path:
    """The project with its first spec opted in (``tags adaptive``) and ``extra`` after it."""
    spec = _project(folder, extra=extra)
    text = spec.read_text().replace(
        'spec "far from both thresholds" {\n',
        'spec "far from both thresholds" {\n    tags adaptive\n',
    )
    spec.write_text(text)
    return spec


def test_a_spec_tagged_adaptive_opts_in_without_the_option(tmp_path: Path) -> None:
    spec = _tagged(tmp_path, UNTAGGED)
    results = run_specs([spec], Settings(rootdir=tmp_path))
    tagged, untagged = results.specs
    assert [e.outcome for e in tagged.expectations] == ["passed", "failed"]
    assert all("anytime-valid at 0.95" in e.headline for e in tagged.expectations)
    assert tagged.pools.samples_generated < PROBLEMS * SAMPLES / 2
    # the untagged spec's pool is filled whole and judged by the fixed gate, outside the counts
    (label,) = results.adaptive
    assert "far from both" in label
    assert untagged.pools.samples_generated == PROBLEMS * SAMPLES
    assert "anytime-valid" not in untagged.expectations[0].headline
    assert results.adaptive_whole == {}


NO_CONFIDENCE = """
spec "no error rate" {
    model replayed
    dataset sums
    sample n = 8, temperature = 1.0, max_tokens = 8, seed = 6
    oracle exact

    expect accuracy >= 0.5 at n = 1
}
"""


def test_the_summary_names_each_pool_read_whole_and_why(pytester: pytest.Pytester) -> None:
    _project(pytester.path, extra=NO_CONFIDENCE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--tts-adaptive")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-tts adaptive: 1 of 2 pools stopped early; *",
            "  read whole: no error rate*: accuracy>=0.5@n=1: no confidence level (no error "
            "rate to keep): it reads the whole pool",
        ]
    )


def test_tags_adaptive_is_a_marker_too(pytester: pytest.Pytester) -> None:
    _tagged(pytester.path, NO_CONFIDENCE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "adaptive")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["pytest-tts adaptive: 1 of 1 pool stopped early; *"])
