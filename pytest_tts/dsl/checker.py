"""The semantic pass: a parsed module to the checked specs of :mod:`pytest_tts.spec`.

It resolves includes and names, binds plugin arguments to the registered factories'
signatures, range-checks numbers, expands ``for`` loops, and collects *every* problem it
finds before raising one :class:`~pytest_tts.errors.SpecCheckError` (diagnostics sorted by
position). See ``grammar/README.md`` for the list of checks and their codes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tts import spec as S
from pytest_tts.dsl import ast
from pytest_tts.dsl.blocks import SpecState, spec_block
from pytest_tts.dsl.calls import CallChecker, bare_plugin
from pytest_tts.dsl.diagnostics import Diagnostic, render_all, unknown_name
from pytest_tts.dsl.formatter import format_value
from pytest_tts.dsl.parser import parse_file
from pytest_tts.errors import SpecCheckError
from pytest_tts.registry import Kind, Registry
from pytest_tts.span import Span


def check(module: ast.Module, registry: Registry, path: str | Path | None = None) -> S.CheckedFile:
    """Validate ``module`` and build its :class:`~pytest_tts.spec.CheckedFile`.

    ``path`` overrides ``module.path`` for resolving includes (relative to the including
    file). Raises SpecCheckError carrying every diagnostic, sorted, with ``rendered`` text.
    """
    checker = SpecChecker(registry)
    return checker.run(module, str(path) if path is not None else module.path)


def load_spec_file(path: str | Path, registry: Registry) -> S.CheckedFile:
    """Parse and check one ``.tts`` file: the call pytest collection and the CLI make."""
    return check(parse_file(path), registry, path)


@dataclass
class _Declared:
    decl: ast.Declaration
    ref: S.ModelRef | S.DatasetRef | S.VerifierRef | None


class SpecChecker:
    """One run of the semantic pass over one file and its includes.

    Holds the declared names and the diagnostics found so far, resolves includes and
    declarations, and names (``named``, ``strategy``, ``verifier``, ``value``) for the
    other parts of the pass: plugin calls (:mod:`pytest_tts.dsl.calls`), spec blocks
    (:mod:`pytest_tts.dsl.blocks`) and expectations (:mod:`pytest_tts.dsl.expectations`).
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.diagnostics: dict[tuple[Any, ...], Diagnostic] = {}
        self.sources: dict[str, str] = {}
        self.declared: dict[str, _Declared] = {}
        self.includes: list[str] = []
        self.spec_state = SpecState()
        self.calls = CallChecker(self)

    # -- reporting ------------------------------------------------------------------------

    def error(
        self,
        span: Span,
        code: str,
        message: str,
        *,
        notes: tuple[str, ...] = (),
        help: str | None = None,
    ) -> None:
        diagnostic = Diagnostic(span, code, message, notes, help)
        # Loop expansion checks the same source more than once: report each problem once.
        self.diagnostics.setdefault((span.path, span.start, span.end, code, message), diagnostic)

    def add(self, diagnostic: Diagnostic) -> None:
        span = diagnostic.span
        key = (span.path, span.start, span.end, diagnostic.code, diagnostic.message)
        self.diagnostics.setdefault(key, diagnostic)

    # -- driver ---------------------------------------------------------------------------

    def run(self, module: ast.Module, path: str) -> S.CheckedFile:
        self.sources[module.path] = module.source
        self._declarations(module, path, stack=[os.path.normpath(path)], seen=set())
        for entry in list(self.declared.values()):
            entry.ref = self._resolve_declaration(entry.decl)
        specs: list[S.SpecDef] = []
        names: dict[str, ast.SpecBlock] = {}
        for item in module.items:
            if isinstance(item, ast.SpecBlock):
                for spec in spec_block(self, item, path):
                    first = names.get(spec.name)
                    if first is not None:
                        self.error(
                            item.name.span,
                            "duplicate-spec",
                            f"duplicate spec name {spec.name!r} (first at line {first.span.line})",
                        )
                        continue
                    names[spec.name] = item
                    specs.append(spec)
        if self.diagnostics:
            diagnostics = sorted(self.diagnostics.values(), key=lambda d: d.sort_key)
            raise SpecCheckError(diagnostics, render_all(diagnostics, self._source))
        return S.CheckedFile(path=path, specs=tuple(specs), includes=tuple(self.includes))

    def _source(self, path: str) -> str:
        if path not in self.sources:
            try:
                self.sources[path] = Path(path).read_text(encoding="utf-8")
            except OSError:
                self.sources[path] = ""
        return self.sources[path]

    # -- includes and declarations ---------------------------------------------------------

    def _declarations(
        self, module: ast.Module, path: str, stack: list[str], seen: set[str]
    ) -> None:
        for item in module.items:
            if isinstance(item, ast.Include):
                self._include(item, path, stack, seen)
            elif isinstance(item, ast.Declaration):
                name = item.name.text
                first = self.declared.get(name)
                if first is not None and first.decl.span != item.span:
                    where = first.decl.span
                    self.error(
                        item.name.span,
                        "duplicate-name",
                        f"{name!r} is already declared (as a {first.decl.kind} at "
                        f"{where.path}:{where.line}:{where.column})",
                    )
                elif first is None:
                    self.declared[name] = _Declared(item, None)

    def _include(self, item: ast.Include, path: str, stack: list[str], seen: set[str]) -> None:
        target = os.path.normpath(os.path.join(os.path.dirname(path), item.path.value))
        if target in stack:
            cycle = [*stack[stack.index(target) :], target]
            self.error(
                item.path.span,
                "include-cycle",
                "include cycle: " + " -> ".join(cycle),
            )
            return
        if target in seen:
            return
        seen.add(target)
        if not os.path.isfile(target):
            self.error(
                item.path.span,
                "include-not-found",
                f"included file {item.path.value!r} not found (looked for {target})",
            )
            return
        self.includes.append(target)
        try:
            included = parse_file(target)  # a syntax error there stops here, like any other
        except OSError as exc:
            self.error(
                item.path.span,
                "include-not-found",
                f"cannot read included file {item.path.value!r}: {exc.strerror or exc}",
            )
            return
        self.sources[included.path] = included.source
        self._declarations(included, target, [*stack, target], seen)

    def _resolve_declaration(
        self, decl: ast.Declaration
    ) -> S.ModelRef | S.DatasetRef | S.VerifierRef | None:
        kind: Kind = {"model": "backend", "dataset": "source", "verifier": "verifier"}[decl.kind]  # type: ignore[assignment]
        call = self.plugin_call(decl.call, kind)
        if call is None:
            return None
        name = decl.name.text
        if decl.kind == "model":
            return S.ModelRef(name, call, span=decl.span)
        if decl.kind == "dataset":
            return S.DatasetRef(name, call, span=decl.span)
        return S.VerifierRef(name, call, span=decl.span)

    def declared_names(self, kind: str) -> list[str]:
        return sorted(n for n, d in self.declared.items() if d.decl.kind == kind)

    # -- values and plugin calls ------------------------------------------------------------

    def plugin_call(self, call: ast.Call, kind: Kind) -> S.PluginCall | None:
        """The checked call of a registered plugin (None, reported, when it is not one)."""
        return self.calls.plugin_call(call, kind)

    def values(self, args: tuple[ast.Arg, ...]) -> tuple[list[Any], dict[str, Any]]:
        return self.calls.values(args)

    def value(self, value: ast.Value) -> Any:
        """A Python value for an argument; bare names resolve as documented in the README."""
        return self.calls.value(value)

    def note_verifier(self, ref: S.VerifierRef) -> S.VerifierRef:
        """Record a verifier the current spec reads."""
        self.spec_state.verifiers.setdefault(ref.name, ref)
        return ref

    # -- names ------------------------------------------------------------------------------

    def named(self, value: ast.Value, kind: str) -> Any:
        """The declared model or dataset that ``value`` names."""
        if isinstance(value, ast.Ident):
            declared = self.declared.get(value.name)
            if declared is not None and declared.decl.kind == kind:
                return declared.ref
            if declared is not None:
                names = ", ".join(self.declared_names(kind)) or "none"
                self.error(
                    value.span,
                    f"unknown-{kind}",
                    f"{value.name!r} is a {declared.decl.kind}, not a {kind}",
                    notes=(f"declared {kind}s: {names}",),
                )
                return None
            self.add(unknown_name(value.span, kind, value.name, self.declared_names(kind)))
            return None
        self.error(
            value.span,
            f"unknown-{kind}",
            f"expected the name of a declared {kind}, found {format_value(value)}",
        )
        return None

    def verifier(self, value: ast.Value) -> S.VerifierRef | None:
        if isinstance(value, ast.Ident):
            declared = self.declared.get(value.name)
            if declared is not None and isinstance(declared.ref, S.VerifierRef):
                return self.note_verifier(declared.ref)
            if declared is not None and declared.decl.kind == "verifier":
                return None  # its declaration is already reported
            if declared is None and ("verifier", value.name) in self.registry:
                call = bare_plugin(value, "verifier")
                return self.note_verifier(S.VerifierRef(value.name, call, value.span))
        elif isinstance(value, ast.Call) and ("verifier", value.func.text) in self.registry:
            inline = self.plugin_call(value, "verifier")
            if inline is None:
                return None
            return self.note_verifier(S.VerifierRef(inline.text, inline, value.span))
        name = value.name if isinstance(value, ast.Ident) else format_value(value)
        node_span = value.func.span if isinstance(value, ast.Call) else value.span
        known = [*self.declared_names("verifier"), *self.registry.names("verifier")]
        self.add(unknown_name(node_span, "verifier", name, known))
        return None

    def strategy(self, value: ast.Value) -> S.PluginCall | None:
        if isinstance(value, ast.Ident):
            if ("strategy", value.name) in self.registry:
                return bare_plugin(value, "strategy")
            declared = self.declared.get(value.name)
            if declared is not None:
                self.error(
                    value.span,
                    "unknown-strategy",
                    f"expected a strategy, found {declared.decl.kind} {value.name!r}",
                    notes=(f"known strategies: {', '.join(self.registry.names('strategy'))}",),
                )
                return None
            self.add(
                unknown_name(value.span, "strategy", value.name, self.registry.names("strategy"))
            )
            return None
        if isinstance(value, ast.Call):
            return self.plugin_call(value, "strategy")
        self.error(
            value.span,
            "unknown-strategy",
            f"expected a strategy, found {format_value(value)}",
        )
        return None
