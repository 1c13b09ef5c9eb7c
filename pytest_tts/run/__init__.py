"""The engine of a run, free of pytest: plan → generate → verify → estimate → judge → results.

One module per stage, each taking explicit inputs and returning data:

========================  ==============================================================
``settings.py``           :class:`Settings` (values) and :class:`Callbacks` (output)
``instances.py``          backends, verifiers, strategies and FLOPs models; closing them
``plan.py``               which pools the selected expectations need; their problems
``fill.py``               generate what the pools lack into the sample store
``verify.py``             verdicts, then the per-problem arrays of each pool
``curves.py``             a measure's curve on its pool (selection or step-wise search)
``judge.py``              one expectation's gate, by kind (:data:`judge.JUDGES`)
``results.py``            judged records to the reports' ``RunResults``
``engine.py``             :class:`Engine`, the orchestrator that calls them in order
========================  ==============================================================

From a script (what ``pytest specs/`` does, without pytest)::

    from pytest_tts.run import Settings, run_specs

    if __name__ == "__main__":  # vLLM starts its engine in a spawned process
        results = run_specs(["specs/addition.tts"], Settings(cache_dir=Path(".tts-cache")))
        for spec in results.specs:
            for e in spec.expectations:
                print(e.outcome, e.id, e.headline)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tts.run.engine import Engine
from pytest_tts.run.instances import CountFlops
from pytest_tts.run.results import Judged, write_reports
from pytest_tts.run.settings import DEFAULT_CACHE_DIR, Callbacks, Settings

if TYPE_CHECKING:
    from pytest_tts.registry import Registry
    from pytest_tts.report.results import RunResults

__all__ = [
    "DEFAULT_CACHE_DIR",
    "Callbacks",
    "Engine",
    "Judged",
    "Settings",
    "run_specs",
    "spec_files",
    "write_reports",
]


def spec_files(paths: Iterable[str | Path]) -> list[Path]:
    """The ``.tts`` files among ``paths``, folders searched recursively, in sorted order."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        files += sorted(path.rglob("*.tts")) if path.is_dir() else [path]
    return files


def run_specs(
    paths: Iterable[str | Path],
    settings: Settings | None = None,
    *,
    registry: Registry | None = None,
    count_flops: CountFlops | None = None,
    callbacks: Callbacks | None = None,
) -> RunResults:
    """Run every expectation of the spec files (or folders) in ``paths``; return the results.

    Without a ``registry``, the built-ins and every installed package that registers
    through the ``pytest_tts`` entry point take part, with their FLOPs hooks. The reports
    ``settings`` names are written. A spec that does not check raises ``SpecError`` before
    anything runs (its ``rendered`` text is what ``pytest`` shows).
    """
    from pytest_tts.dsl import load_spec_file

    settings = settings if settings is not None else Settings()
    if registry is None:
        from pytest_tts.registry import build_registry, flops_hook, standalone_pluginmanager

        pluginmanager = standalone_pluginmanager()
        registry = build_registry(pluginmanager)
        count_flops = flops_hook(pluginmanager)
    selected = []
    for path in spec_files(paths):
        for spec in load_spec_file(path, registry).specs:
            selected += [(f"{path}::{spec.name}::{e.id}", spec, e) for e in spec.expectations]
    engine = Engine(settings, registry, callbacks=callbacks, count_flops=count_flops)
    try:
        engine.prepare([(spec, e) for _, spec, e in selected])
        for nodeid, spec, expectation in selected:
            engine.judge(spec, expectation, nodeid)
        results = engine.results()
    finally:
        engine.close()
    write_reports(results, settings)
    return results
