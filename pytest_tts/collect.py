"""pytest nodes for ``.tts`` files: a file, one collector per spec, one item per expectation.

::

    specs/addition.tts                               SpecFile     (pytest.File)
    specs/addition.tts::voting pays off              SpecNode     (pytest.Collector)
    specs/addition.tts::voting pays off::accuracy>=0.55@flops<=4e9[majority_vote]
                                                     ExpectationItem (pytest.Item)

A spec that does not check fails collection with the rendered diagnostics and no Python
traceback; a file with no ``spec`` blocks (one that only declares, for ``include``)
collects nothing.

Running an item hands its expectation to the session's ``pytest_tts.run.Engine`` (built on
first use from the ``Settings`` and ``Callbacks`` that ``plugin.py`` stashed): the engine
prepares every selected expectation's pool at once, then judges this one; the item turns the
record into a pass, a domain-text failure, or an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_tts.errors import ExpectationFailed, SpecError, TTSError
from pytest_tts.registry import Registry
from pytest_tts.run import Callbacks, Engine, Judged, Settings
from pytest_tts.spec import Expectation, SpecDef

TAG_MARKER_HELP = "tag from a .tts spec's 'tags' line"

# the session's registry, filled on first use by every pytest_tts_register
registry_key = pytest.StashKey[Registry]()
# the run's settings and callbacks, set by plugin.py at configure time
settings_key = pytest.StashKey[Settings]()
callbacks_key = pytest.StashKey[Callbacks]()
# the session's engine, created by the first expectation that runs
engine_key = pytest.StashKey[Engine]()


def get_registry(config: pytest.Config) -> Registry:
    """The session's registry, filled on first use by every ``pytest_tts_register``."""
    registry = config.stash.get(registry_key, None)
    if registry is None:
        from pytest_tts.registry import build_registry

        registry = build_registry(config.pluginmanager)
        config.stash[registry_key] = registry
    return registry


def get_engine(config: pytest.Config) -> Engine:
    """The session's engine, built on first use."""
    engine = config.stash.get(engine_key, None)
    if engine is None:
        from pytest_tts.registry import flops_hook

        engine = Engine(
            config.stash[settings_key],
            get_registry(config),
            callbacks=config.stash.get(callbacks_key, None),
            count_flops=flops_hook(config.pluginmanager),
        )
        config.stash[engine_key] = engine
    return engine


class SpecFile(pytest.File):
    """One ``.tts`` file."""

    def collect(self) -> Iterator[SpecNode]:
        from pytest_tts.dsl import load_spec_file

        try:
            checked = load_spec_file(self._display_path(), get_registry(self.config))
        except SpecError as exc:
            raise self.CollectError(exc.rendered) from None
        self.checked = checked
        for spec in checked.specs:
            yield SpecNode.from_parent(
                self, name=spec.name, nodeid=_child_id(self, spec.name), spec=spec
            )

    def _display_path(self) -> Path:
        """The file relative to the working directory when below it, as pytest prints paths.

        Diagnostics and ``SpecDef.path`` show this path; includes resolve against it.
        """
        try:
            return self.path.relative_to(Path.cwd())
        except ValueError:
            return self.path


class SpecNode(pytest.Collector):
    """One ``spec`` block (one per model when it is parametrized over models)."""

    def __init__(self, *, spec: SpecDef, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        for tag in spec.tags:
            _register_marker(self.config, tag)
            self.add_marker(tag)

    def collect(self) -> Iterator[ExpectationItem]:
        for expectation in self.spec.expectations:
            yield ExpectationItem.from_parent(
                self,
                name=expectation.id,
                nodeid=_child_id(self, expectation.id),
                spec=self.spec,
                expectation=expectation,
            )

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.spec.span.pytest_line if self.spec.span is not None else 0
        return self.path, line, f"spec {self.spec.name!r}"


class ExpectationItem(pytest.Item):
    """One ``expect`` statement: it passes when the expectation holds on the model."""

    def __init__(self, *, spec: SpecDef, expectation: Expectation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.expectation = expectation
        self.add_marker("tts")

    def runtest(self) -> None:
        engine = get_engine(self.config)
        engine.prepare(
            (item.spec, item.expectation)
            for item in self.session.items
            if isinstance(item, ExpectationItem)
        )
        record = engine.judge(self.spec, self.expectation, self.nodeid)
        if record.error is not None:
            raise record.error
        from pytest_tts.report.json_io import junit_properties
        from pytest_tts.run.results import expectation_result

        result = expectation_result(record)
        self.user_properties.extend(junit_properties(result))
        if not record.passed:
            raise ExpectationFailed(self._failure_text(record, result))

    def _failure_text(self, record: Judged, result: Any) -> str:
        from pytest_tts.report.failure import render_failure
        from pytest_tts.run.settings import relative

        span = record.expectation.span
        try:
            source_line = Path(span.path).read_text(encoding="utf-8").splitlines()[span.line - 1]
        except (OSError, IndexError):
            source_line = record.expectation.text
        path = relative(Path(span.path), self.config.rootpath)
        return render_failure(result, path, span.line, source_line)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, TTSError):
            return getattr(excinfo.value, "rendered", None) or str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return (
            self.path,
            self.expectation.span.pytest_line,
            f"{self.spec.name}: {self.expectation.text}",
        )


def _child_id(parent: pytest.Collector, name: str) -> str:
    """The child's node id as a string, which pytest parses the way it parses stored ids.

    Expectation ids contain ``[...]``; pytest >= 9 reads a stored id (``--lf``, ``--deselect``)
    with the first ``[`` starting the parameters, while a child id built from the name would
    keep the bracket in the name, and the two would never compare equal.
    """
    return f"{parent.nodeid}::{name}"


def _register_marker(config: pytest.Config, tag: str) -> None:
    """Declare a spec's tag as a marker so that ``--strict-markers`` accepts it."""
    known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    if tag not in known:
        config.addinivalue_line("markers", f"{tag}: {TAG_MARKER_HELP}")


def collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    """The ``pytest_collect_file`` implementation: ``.tts`` files become SpecFiles."""
    if file_path.suffix == ".tts":
        return SpecFile.from_parent(parent, path=file_path)
    return None
