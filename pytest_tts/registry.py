"""The registry of named plugins: strategies, verifiers, backends and dataset sources.

Built-ins register here through ``pytest_tts_register`` exactly like a user's ``conftest.py``
or a third-party package does. An entry holds either the object itself or a lazy
``"module:attribute"`` path, so that registering the vLLM backend never imports vLLM.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_tts.errors import UnknownNameError

Kind = Literal["strategy", "verifier", "backend", "source", "extractor"]
KINDS: tuple[Kind, ...] = ("strategy", "verifier", "backend", "source", "extractor")


@dataclass
class Entry:
    """One registered name. ``target`` is the factory or a lazy ``"module:attr"`` path."""

    kind: Kind
    name: str
    target: Callable[..., Any] | str
    doc: str = ""
    _resolved: Callable[..., Any] | None = field(default=None, repr=False)

    def load(self) -> Callable[..., Any]:
        """The factory itself, importing its module on first use."""
        if self._resolved is None:
            if isinstance(self.target, str):
                module_name, _, attr = self.target.partition(":")
                obj: Any = importlib.import_module(module_name)
                for part in attr.split("."):
                    obj = getattr(obj, part)
                self._resolved = obj
            else:
                self._resolved = self.target
        assert self._resolved is not None
        return self._resolved

    def signature(self) -> inspect.Signature | None:
        """The factory's signature, or None when it cannot be inspected."""
        try:
            return inspect.signature(self.load())
        except (TypeError, ValueError):
            return None


class Registry:
    """Named factories by kind.

    Later registrations of the same (kind, name) replace earlier ones, so a ``conftest.py``
    can override a built-in; ``replaced`` records that for reports.
    """

    def __init__(self) -> None:
        self._entries: dict[Kind, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self.replaced: list[tuple[Kind, str]] = []

    def add(self, kind: Kind, name: str, target: Callable[..., Any] | str, doc: str = "") -> None:
        if kind not in self._entries:
            msg = f"kind must be one of {', '.join(KINDS)}, got {kind!r}"
            raise ValueError(msg)
        if not name.isidentifier():
            msg = f"a registered name must be an identifier, got {name!r}"
            raise ValueError(msg)
        if name in self._entries[kind]:
            self.replaced.append((kind, name))
        self._entries[kind][name] = Entry(kind, name, target, doc)

    def add_strategy(self, name: str, target: Callable[..., Any] | str, doc: str = "") -> None:
        self.add("strategy", name, target, doc)

    def add_verifier(self, name: str, target: Callable[..., Any] | str, doc: str = "") -> None:
        self.add("verifier", name, target, doc)

    def add_backend(self, name: str, target: Callable[..., Any] | str, doc: str = "") -> None:
        self.add("backend", name, target, doc)

    def add_source(self, name: str, target: Callable[..., Any] | str, doc: str = "") -> None:
        self.add("source", name, target, doc)

    def add_extractor(self, name: str, target: Callable[..., Any] | str, doc: str = "") -> None:
        self.add("extractor", name, target, doc)

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._entries[kind])

    def __contains__(self, key: tuple[Kind, str]) -> bool:
        kind, name = key
        return name in self._entries[kind]

    def entry(self, kind: Kind, name: str) -> Entry:
        try:
            return self._entries[kind][name]
        except KeyError:
            raise UnknownNameError(kind, name, self._entries[kind]) from None

    def get(self, kind: Kind, name: str) -> Callable[..., Any]:
        """The factory registered as ``name``; raises UnknownNameError with suggestions."""
        return self.entry(kind, name).load()

    def __iter__(self) -> Iterator[Entry]:
        for kind in KINDS:
            yield from self._entries[kind].values()


def build_registry(pluginmanager: Any | None = None) -> Registry:
    """A registry filled by every ``pytest_tts_register`` implementation.

    Inside pytest pass ``config.pluginmanager`` (conftest files and installed plugins take
    part). Outside pytest (the CLI) a private plugin manager holds the built-ins and any
    package that declares a ``pytest_tts`` entry point.
    """
    registry = Registry()
    if pluginmanager is None:
        pluginmanager = standalone_pluginmanager()
    pluginmanager.hook.pytest_tts_register(registry=registry)
    return registry


def standalone_pluginmanager() -> Any:
    import pluggy

    from pytest_tts import builtins, hookspecs

    pm = pluggy.PluginManager("pytest")
    pm.add_hookspecs(hookspecs)
    pm.register(builtins, name="tts-builtins")
    pm.load_setuptools_entrypoints("pytest_tts")
    return pm


def flops_hook(pluginmanager: Any) -> Callable[..., float | None] | None:
    """The ``pytest_tts_count_flops`` hook of ``pluginmanager``, or None when only the
    built-in FLOPs model implements it (the run then uses its vectorized form)."""
    from pytest_tts import builtins

    hook = pluginmanager.hook.pytest_tts_count_flops
    if all(impl.plugin is builtins for impl in hook.get_hookimpls()):
        return None
    return hook
