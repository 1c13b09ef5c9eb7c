"""The malformed corpus: every broken spec gives a positioned error and no traceback.

Each ``malformed/NAME.tts`` has a golden ``malformed/NAME.err`` with the exact rendered
text. To regenerate the goldens after a deliberate change in wording, run::

    TTS_REGEN_GOLDEN=1 pytest tests/dsl/test_malformed.py

and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pytest_tts.dsl import load_spec_file
from pytest_tts.errors import SpecCheckError, SpecError, SpecSyntaxError
from pytest_tts.registry import Registry

from .conftest import MALFORMED

CASES = sorted(MALFORMED.glob("*.tts"))
REGEN = os.environ.get("TTS_REGEN_GOLDEN") == "1"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


def _render(case: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> SpecError:
    monkeypatch.chdir(MALFORMED.parent)
    with pytest.raises(SpecError) as excinfo:
        load_spec_file(Path("malformed") / case.name, registry)
    return excinfo.value


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_malformed_spec_matches_golden(
    case: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = _render(case, registry, monkeypatch)
    rendered = error.rendered
    golden = case.with_suffix(".err")
    if REGEN:
        golden.write_text(rendered + "\n", encoding="utf-8")
    assert rendered + "\n" == golden.read_text(encoding="utf-8")
    first = rendered.splitlines()[0]
    assert re.match(r"malformed/[\w/]+\.tts:\d+:\d+: error\[[a-z-]+\]: \S", first), first
    assert "Traceback" not in rendered
    assert re.search(r"^\s+\| +\^+$", rendered, re.MULTILINE), "no caret line"
    assert isinstance(error, SpecSyntaxError | SpecCheckError)


def test_semantic_errors_are_all_reported_and_sorted(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = _render(MALFORMED / "many_errors.tts", registry, monkeypatch)
    assert isinstance(error, SpecCheckError)
    codes = [d.code for d in error.diagnostics]
    assert sorted(codes) == sorted(
        [
            "out-of-range",  # temperature = -1
            "unknown-verifier",  # oracle exakt
            "budget-beyond-pool",  # n = 99 > 16
            "unknown-strategy",  # majority_vot
            "out-of-range",  # coverage >= 2
            "out-of-range",  # confidence 1.5
        ]
    )
    positions = [(d.span.line, d.span.column) for d in error.diagnostics]
    assert positions == sorted(positions)
    assert error.rendered.endswith(f"{len(codes)} errors")


def test_syntax_errors_stop_at_the_first(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "two.tts"
    path.write_text('model a = vllm("x"\nmodel b = vllm(\n', encoding="utf-8")
    with pytest.raises(SpecSyntaxError) as excinfo:
        load_spec_file(path, registry)
    assert excinfo.value.rendered.count("error[") == 1
    assert excinfo.value.span is not None
    assert (excinfo.value.span.line, excinfo.value.span.column) == (1, 19)
