"""The fill path's plumbing with a fake backend (the real engine is in test_engine.py)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from pytest_tts.backends.base import Completion, prompt_seed
from pytest_tts.errors import EngineError, MissingSamplesError
from pytest_tts.generate import (
    SampleRequest,
    ensure_samples,
    load_samples,
    missing_samples,
    pool_id,
)
from pytest_tts.progress import Progress
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem, Verdict
from tests.fakes import ScriptedBackend


def FakeBackend(version: str = "1", fail_after: int | None = None) -> ScriptedBackend:
    """Sample i of a prompt is the text of its seed: reproducible like a seeded engine."""
    return ScriptedBackend(
        lambda r, i: Completion(f"s{r.seed + i}", 2, 3, "length", (1, 2, 3)),
        label="fake",
        provenance={"engine": "fake", "engine_version": version},
        fail_after=fail_after,
    )


PROBLEMS = [Problem(f"id{i}", f"Q:{i}+{i}\nA:", str(2 * i)) for i in range(5)]


def pool(backend: FakeBackend, n: int, **kw: Any) -> SampleRequest:
    return SampleRequest(backend, PROBLEMS, Sampling(n=n, **kw), label="arith × sums")


def test_topup_generates_exactly_the_difference(store: SampleStore) -> None:
    backend = FakeBackend()
    first = ensure_samples(store, [pool(backend, 16)])
    assert (first.generated, first.reused) == (80, 0)
    second = ensure_samples(store, [pool(backend, 64)])
    assert (second.generated, second.reused) == (240, 80)
    assert {(r.first_index, r.n) for r in backend.calls[1]} == {(16, 48)}
    third = ensure_samples(store, [pool(backend, 8)])
    assert (third.generated, third.reused, len(backend.calls)) == (0, 40, 2)
    loaded = load_samples(store, pool(backend, 8))
    seed = prompt_seed(0, PROBLEMS[1].prompt)
    assert [s.text for s in loaded["id1"]] == [f"s{seed + i}" for i in range(8)]


def test_all_pools_of_one_backend_go_in_one_call(store: SampleStore) -> None:
    backend = FakeBackend()
    report = ensure_samples(
        store, [pool(backend, 4), pool(backend, 2, temperature=0.5), pool(backend, 8)]
    )
    assert len(backend.calls) == 1
    # equal provenance merges (n 4 and 8 -> 8); a new temperature is a new pool
    assert report.generated == 5 * 8 + 5 * 2
    assert len(store.pools()) == 2


def test_provenance_change_starts_a_new_pool(store: SampleStore) -> None:
    ensure_samples(store, [pool(FakeBackend("1"), 4)])
    report = ensure_samples(store, [pool(FakeBackend("2"), 4)])
    assert report.generated == 20
    assert len(store.pools()) == 2


def test_offline_names_the_pool_and_the_shortfall(store: SampleStore) -> None:
    backend = FakeBackend()
    ensure_samples(
        store, [SampleRequest(backend, PROBLEMS[:2], Sampling(n=4), label="arith × sums")]
    )
    with pytest.raises(MissingSamplesError) as info:
        ensure_samples(store, [pool(backend, 8)], offline=True)
    text = str(info.value)
    assert "pool arith × sums" in text
    assert "lacks 32 of 40 samples, over 5 prompts" in text
    assert "--tts-offline" in text
    assert backend.calls == [backend.calls[0]]
    with pytest.raises(MissingSamplesError, match="lacks 32 of 40"):
        load_samples(store, pool(backend, 8))
    assert missing_samples(store, [pool(backend, 4)])[0].missing == 12


def test_offline_with_everything_cached_reads(store: SampleStore) -> None:
    backend = FakeBackend()
    ensure_samples(store, [pool(backend, 4)])
    report = ensure_samples(store, [pool(backend, 4)], offline=True)
    assert (report.generated, report.reused, report.engines) == (0, 20, [])


def test_results_before_a_failure_are_kept(store: SampleStore) -> None:
    with pytest.raises(EngineError):
        ensure_samples(store, [pool(FakeBackend(fail_after=3), 4)])
    assert store.sample_count() == 12
    backend = FakeBackend()
    report = ensure_samples(store, [pool(backend, 4)])
    assert (report.generated, report.reused) == (8, 12)


def test_verdicts_are_cached_per_pool(store: SampleStore) -> None:
    backend = FakeBackend()
    request = pool(backend, 2)
    ensure_samples(store, [request])
    pid = pool_id(store, request)
    store.put_verdicts(pid, "exact@1", {(PROBLEMS[0].prompt, 1): Verdict(False, 0.0, "3")})
    other = pool_id(store, pool(backend, 2, temperature=0.1))
    assert store.get_verdicts(other, "exact@1", [(PROBLEMS[0].prompt, 1)]) == {}
    assert (
        store.get_verdicts(pid, "exact@1", [(PROBLEMS[0].prompt, 1)])[
            (PROBLEMS[0].prompt, 1)
        ].answer
        == "3"
    )


def test_progress_prints_lines_without_a_tty(store: SampleStore) -> None:
    out = io.StringIO()
    ensure_samples(store, [pool(FakeBackend(), 4)], progress=Progress(out, interval=0.0))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("pytest-tts: generating with fake: 0/20 samples (0%)")
    assert lines[-1].startswith("pytest-tts: generating with fake: 20/20 samples (100%)")
    assert "tok/s" in lines[-1]
    assert "done in" in lines[-1]
    assert "\r" not in out.getvalue()


def test_progress_redraws_one_line_on_a_tty() -> None:
    out = io.StringIO()
    progress = Progress(out, tty=True)
    progress.start("fake", 10)
    progress.advance(5, 50)
    progress.finish()
    text = out.getvalue()
    assert text.count("\n") == 1
    assert text.count("\r\x1b[K") >= 2
    assert "10/10" not in text
    assert "5/10 samples (50%)" in text


def test_shortfalls_are_per_request_even_when_pools_are_shared(store: SampleStore) -> None:
    backend = FakeBackend()
    ensure_samples(store, [pool(backend, 4)])
    small = SampleRequest(backend, PROBLEMS, Sampling(n=4), label="small")
    large = SampleRequest(backend, PROBLEMS[:2], Sampling(n=6), label="large")
    (shortfall,) = missing_samples(store, [small, large])
    assert (shortfall.label, shortfall.needed, shortfall.missing, shortfall.prompts) == (
        "large",
        12,
        4,
        2,
    )


def test_prompt_seeds_are_distinct_and_leave_room_for_indices() -> None:
    seeds = {prompt_seed(0, p.prompt) for p in PROBLEMS} | {prompt_seed(1, PROBLEMS[0].prompt)}
    assert len(seeds) == len(PROBLEMS) + 1
    assert all(0 <= s < 2**30 for s in seeds)
    assert prompt_seed(0, PROBLEMS[0].prompt) == prompt_seed(0, PROBLEMS[0].prompt)


def test_looking_for_samples_creates_no_pool(store: SampleStore) -> None:
    backend = FakeBackend()
    ensure_samples(store, [pool(backend, 2)])
    (shortfall,) = missing_samples(store, [pool(backend, 2, temperature=0.3)])
    assert shortfall.missing == 10
    assert len(store.pools()) == 1
