from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pytest_tts.store import SampleStore
from pytest_tts.types import Problem, Sample
from pytest_tts.verifiers.cache import verdict_key, verify_cached
from pytest_tts.verifiers.exact import exact_match
from tests.fakes import Counting


def sample(problem: Problem, index: int, text: str) -> Sample:
    return Sample(problem.id, index, text, prompt_tokens=3, completion_tokens=len(text))


def test_second_run_reads_verdicts_from_the_store(tmp_path: Path) -> None:
    a = Problem("a", "Q:12+30\nA:", "42")
    b = Problem("b", "Q:1+1\nA:", "2")
    items = [
        (a, sample(a, 0, "|=42")),
        (a, sample(a, 1, "|=41")),
        (b, sample(b, 0, "|=2")),
        (b, sample(b, 1, "")),
    ]
    with SampleStore.in_dir(tmp_path) as store:
        pool = store.pool({"model": "m", "seed": 0})
        verifier = Counting(exact_match(extract="last_number"))
        first = verify_cached(verifier, store, pool, items)
        assert [v.accepted for v in first] == [True, False, True, False]
        assert verifier.items == 4
        again = verify_cached(verifier, store, pool, items)
        assert again == first
        assert verifier.items == 4

        # New samples only: two more judged, the cached four reused.
        more = [*items, (a, sample(a, 2, "=42")), (b, sample(b, 2, "=3"))]
        assert [v.accepted for v in verify_cached(verifier, store, pool, more)][4:] == [True, False]
        assert verifier.items == 6

        # Another verifier, or an edited reference, has no verdicts yet.
        other = Counting(exact_match(extract="last_number", ignore_case=True))
        verify_cached(other, store, pool, items)
        assert other.items == 4
        edited = replace(a, answer="41")
        changed = verify_cached(verifier, store, pool, [(edited, items[1][1])])
        assert changed[0].accepted
        assert verifier.items == 7

    with SampleStore.in_dir(tmp_path) as store:  # and it survives reopening the file
        verifier = Counting(exact_match(extract="last_number"))
        assert verify_cached(verifier, store, store.pool({"model": "m", "seed": 0}), items) == first
        assert verifier.items == 0


def test_verdict_key_holds_identity_and_reference() -> None:
    p = Problem("p", "prompt", "1", {"test": "def check(c): pass"})
    key = verdict_key(exact_match(), p)
    assert key.startswith(exact_match().identity() + "#ref=")
    assert key == verdict_key(exact_match(), replace(p, id="q"))
    assert key != verdict_key(exact_match(), replace(p, answer="2"))
    assert key != verdict_key(exact_match(), replace(p, meta={"test": "other"}))
