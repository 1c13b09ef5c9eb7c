"""The pytest glue: options, ``.tts`` collection, the run's settings, and reporting.

With ``collect.py``, the only modules that know pytest. Options and ini values become a
frozen ``pytest_tts.run.Settings``; the terminal reporter and the capture manager are
reached only through the two ``Callbacks`` handed to the engine (live output, progress).
Dependencies run one way: ``plugin`` → ``collect`` → ``run``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from pytest_tts import hookspecs
from pytest_tts.collect import callbacks_key, collect_file, engine_key, settings_key
from pytest_tts.run import Callbacks, Settings
from pytest_tts.run.settings import resolve_cache_dir

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
        "--tts-adaptive",
        action="store_true",
        default=None,
        help="fill pools in rounds over problems in a seeded random order and stop a pool "
        "once every item reading it is decided by an anytime-valid confidence sequence "
        "(items without a confidence level, and kinds without an adaptive gate, read the "
        "whole pool). ini: tts_adaptive",
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
    parser.addini("tts_adaptive", type="bool", default=False, help="same as --tts-adaptive")
    parser.addini("tts_cache_dir", default="", help="same as --tts-cache-dir")
    parser.addini("tts_report", default="", help="same as --tts-report")
    parser.addini("tts_json", default="", help="same as --tts-json")


def pytest_configure(config: pytest.Config) -> None:
    from pytest_tts import builtins

    config.addinivalue_line("markers", "tts: an expectation collected from a .tts spec file")
    if not config.pluginmanager.is_registered(builtins):
        config.pluginmanager.register(builtins, "tts-builtins")
    config.stash[settings_key] = settings_from(config)
    config.stash[callbacks_key] = callbacks_for(config)


def settings_from(config: pytest.Config) -> Settings:
    """The run's settings from options, then ini values; relative paths are taken from
    where pytest was invoked, and the store defaults to ``.tts-cache`` at the rootdir."""
    base = Path(config.invocation_params.dir)

    def path(option: str, ini: str) -> Path | None:
        value = config.getoption(option) or config.getini(ini)
        if not value:
            return None
        return Path(value) if Path(value).is_absolute() else base / value

    offline = config.getoption("--tts-offline")
    adaptive = config.getoption("--tts-adaptive")
    return Settings(
        rootdir=Path(config.rootpath),
        cache_dir=resolve_cache_dir(
            config.getoption("--tts-cache-dir") or config.getini("tts_cache_dir"),
            base=base,
            rootdir=Path(config.rootpath),
        ),
        offline=bool(config.getini("tts_offline")) if offline is None else bool(offline),
        adaptive=bool(config.getini("tts_adaptive")) if adaptive is None else bool(adaptive),
        update_baselines=bool(config.getoption("--tts-update-baselines")),
        allow_provenance_mismatch=bool(config.getoption("--tts-allow-provenance-mismatch")),
        report=path("--tts-report", "tts_report"),
        json=path("--tts-json", "tts_json"),
    )


def callbacks_for(config: pytest.Config) -> Callbacks:
    """Live output and progress through pytest's capture manager and terminal reporter.

    Generation runs inside the first item's ``runtest``, where pytest captures output:
    capture is suspended so that progress reaches the terminal (or the CI log) as it
    happens, on the terminal reporter's stream after a fresh line.
    """

    @contextlib.contextmanager
    def live_output() -> Iterator[None]:
        capman = config.pluginmanager.get_plugin("capturemanager")
        with (
            capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        ):
            yield

    def progress() -> IO[str] | None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return None
        reporter.write_line("")
        stream: IO[str] | None = getattr(getattr(reporter, "_tw", None), "_file", None)
        return stream

    return Callbacks(live_output=live_output, progress=progress)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    return collect_file(file_path, parent)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker hands what it judged to the controller, which reports the whole run.
    output = getattr(session.config, "workeroutput", None)
    engine = session.config.stash.get(engine_key, None)
    if output is None or engine is None or not engine.judged:
        return
    from pytest_tts.report.json_io import dumps

    output[WORKER_OUTPUT] = dumps(engine.results())


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
    engine = config.stash.get(engine_key, None)
    if engine is not None and engine.judged:
        report_run(config, terminalreporter, engine.results())


def report_run(config: pytest.Config, reporter: pytest.TerminalReporter, results: Any) -> None:
    """Print the pytest-tts summary of ``results`` (a ``RunResults``) and write the HTML
    and JSON reports the settings ask for."""
    from pytest_tts.report.summary import (
        SearchCounts,
        adaptive_line,
        render_summary,
        search_line,
    )
    from pytest_tts.run import write_reports

    reporter.write_sep("=", "pytest-tts summary")
    reporter.write_line(render_summary(results, config.option.verbose))
    if results.search and config.option.verbose > -2:
        reporter.write_line(search_line(SearchCounts(**results.search)))
    if results.adaptive and config.option.verbose > -2:
        reporter.write_line(adaptive_line(results.adaptive, results.adaptive_whole))
    for written in write_reports(results, config.stash[settings_key]):
        reporter.write_line(f"pytest-tts: wrote {written}")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Engines are shut down explicitly: left to interpreter exit, vLLM logs errors into
    # closed streams.
    engine = config.stash.get(engine_key, None)
    if engine is not None:
        engine.close()
