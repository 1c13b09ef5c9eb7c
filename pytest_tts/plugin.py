"""The pytest glue: options, ``.tts`` collection, and the session's run-time state.

This is the only module that knows pytest's plugin API beyond hook markers. The spec
language (``pytest_tts.dsl``), the store, the estimators and the gates are plain Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_tts import hookspecs
from pytest_tts.registry import Registry

registry_key = pytest.StashKey[Registry]()
# the session's pytest_tts.session.Runtime, created by the first expectation that runs
runtime_key = pytest.StashKey[Any]()
# on the xdist controller: the RunResults each finished worker sent (pytest_testnodedown)
worker_results_key = pytest.StashKey[list[Any]]()
# the workeroutput entry that carries a worker's results as JSON text
WORKER_OUTPUT = "pytest_tts_results"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tts", "test-time-scaling specs (pytest-tts)")
    group.addoption(
        "--tts-offline",
        action="store_true",
        default=None,
        help="never generate: a sample missing from the cache fails its expectation "
        "(replay a cache that another job filled). ini: tts_offline",
    )
    group.addoption(
        "--tts-cache-dir",
        metavar="DIR",
        default=None,
        help="where the sample store lives (default: .tts-cache/ at the rootdir; not inside "
        ".pytest_cache, which --cache-clear wipes). ini: tts_cache_dir",
    )
    group.addoption(
        "--tts-update-baselines",
        action="store_true",
        default=False,
        help="write (or overwrite) the stored baselines of the selected regression "
        "expectations from this run's curves",
    )
    group.addoption(
        "--tts-allow-provenance-mismatch",
        action="store_true",
        default=False,
        help="compare against a baseline made under different provenance (model, engine, "
        "dataset, sampling) instead of failing; the report flags every such comparison",
    )
    group.addoption(
        "--tts-report",
        metavar="PATH",
        default=None,
        help="write a self-contained HTML report with the scaling curves. ini: tts_report",
    )
    group.addoption(
        "--tts-json",
        metavar="PATH",
        default=None,
        help="write the results (curves, verdicts, provenance) as JSON. ini: tts_json",
    )
    parser.addini("tts_offline", type="bool", default=False, help="same as --tts-offline")
    parser.addini("tts_cache_dir", default="", help="same as --tts-cache-dir")
    parser.addini("tts_report", default="", help="same as --tts-report")
    parser.addini("tts_json", default="", help="same as --tts-json")


def pytest_configure(config: pytest.Config) -> None:
    from pytest_tts import builtins

    config.addinivalue_line("markers", "tts: an expectation collected from a .tts spec file")
    if not config.pluginmanager.is_registered(builtins):
        config.pluginmanager.register(builtins, "tts-builtins")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from pytest_tts.collect import collect_file

    return collect_file(file_path, parent)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker hands what it judged to the controller, which reports the whole run.
    output = getattr(session.config, "workeroutput", None)
    runtime = session.config.stash.get(runtime_key, None)
    if output is None or runtime is None or not runtime.judged:
        return
    from pytest_tts.report.json_io import dumps

    output[WORKER_OUTPUT] = dumps(runtime.results())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: keep the results a finished worker sent."""
    text = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if not text:
        return
    from pytest_tts.report.json_io import loads

    config: pytest.Config = node.config
    parts = config.stash.setdefault(worker_results_key, [])
    parts.append(loads(text, source=f"results of xdist worker {getattr(node, 'gateway', node)}"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller prints and writes for the whole run
    parts = config.stash.get(worker_results_key, None)
    if parts:
        from pytest_tts.report.merge import merge_results

        report_run(config, terminalreporter, merge_results(parts))
        return
    runtime = config.stash.get(runtime_key, None)
    if runtime is not None:
        runtime.terminal_summary(terminalreporter)


def report_run(config: pytest.Config, reporter: pytest.TerminalReporter, results: Any) -> None:
    """Print the pytest-tts summary of ``results`` (a ``RunResults``) and write the HTML
    and JSON reports the options ask for."""
    import importlib

    from pytest_tts.report.summary import SearchCounts, render_summary, search_line

    reporter.write_sep("=", "pytest-tts summary")
    reporter.write_line(render_summary(results, config.option.verbose))
    if results.search and config.option.verbose > -2:
        reporter.write_line(search_line(SearchCounts(**results.search)))
    for option, ini, writer in (
        ("--tts-report", "tts_report", "pytest_tts.report.html:write_html"),
        ("--tts-json", "tts_json", "pytest_tts.report.json_io:write_json"),
    ):
        target = config.getoption(option) or config.getini(ini)
        if not target:
            continue
        module_name, _, attr = writer.partition(":")
        path = Path(target)
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        path.parent.mkdir(parents=True, exist_ok=True)
        written = getattr(importlib.import_module(module_name), attr)(results, path)
        reporter.write_line(f"pytest-tts: wrote {written}")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Engines are shut down explicitly: left to interpreter exit, vLLM logs errors into
    # closed streams.
    runtime = config.stash.get(runtime_key, None)
    if runtime is not None:
        runtime.close()


def cache_dir(config: pytest.Config) -> Path:
    """The sample store's folder: option, then ini, then ``.tts-cache`` at the rootdir."""
    value = config.getoption("--tts-cache-dir") or config.getini("tts_cache_dir")
    if value:
        path = Path(value)
        return path if path.is_absolute() else Path(config.invocation_params.dir) / path
    return Path(config.rootpath) / ".tts-cache"


def offline(config: pytest.Config) -> bool:
    value = config.getoption("--tts-offline")
    return bool(config.getini("tts_offline")) if value is None else bool(value)


def get_registry(config: pytest.Config) -> Registry:
    """The session's registry, filled on first use by every ``pytest_tts_register``."""
    registry = config.stash.get(registry_key, None)
    if registry is None:
        from pytest_tts.registry import build_registry

        registry = build_registry(config.pluginmanager)
        config.stash[registry_key] = registry
    return registry
