"""The semantic pass: a parsed module to the checked specs of :mod:`pytest_tts.spec`.

It resolves includes and names, binds plugin arguments to the registered factories'
signatures, range-checks numbers, expands ``for`` loops, and collects *every* problem it
finds before raising one :class:`~pytest_tts.errors.SpecCheckError` (diagnostics sorted by
position). See ``grammar/README.md`` for the list of checks and their codes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tts import spec as S
from pytest_tts.dsl import ast
from pytest_tts.dsl.checks import ExpectationChecker
from pytest_tts.dsl.diagnostics import Diagnostic, did_you_mean, render_all, unknown_name
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


@dataclass
class _SpecState:
    verifiers: dict[str, S.VerifierRef] = field(default_factory=dict)


class SpecChecker:
    """One run of the semantic pass over one file and its includes.

    Holds the declared names and the diagnostics found so far; ``named``, ``strategy``,
    ``verifier`` and ``value`` resolve names for :class:`~pytest_tts.dsl.checks.ExpectationChecker`.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.diagnostics: dict[tuple[Any, ...], Diagnostic] = {}
        self.sources: dict[str, str] = {}
        self.declared: dict[str, _Declared] = {}
        self.includes: list[str] = []
        self.spec_state = _SpecState()

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
                for spec in self._spec_block(item, path):
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
        name = call.func.text
        if (kind, name) not in self.registry:
            known = self.registry.names(kind)
            word = _KIND_WORDS[kind]
            self.add(unknown_name(call.func.span, word, name, known, code=f"unknown-{kind}"))
            self.values(call.args)  # still report problems inside the arguments
            return None
        args, kwargs = self.values(call.args)
        self._bind(call, kind)
        return S.PluginCall(
            kind, name, tuple(args), kwargs, format_value(call, compact=True), call.span
        )

    def _bare_plugin(self, ident: ast.Ident, kind: Kind) -> S.PluginCall:
        return S.PluginCall(kind, ident.name, (), {}, ident.name, ident.span)

    def values(self, args: tuple[ast.Arg, ...]) -> tuple[list[Any], dict[str, Any]]:
        positional: list[Any] = []
        named: dict[str, Any] = {}
        for arg in args:
            value = self.value(arg.value)
            if arg.name is None:
                positional.append(value)
            elif arg.name in named:
                self.error(arg.span, "duplicate-argument", f"argument {arg.name!r} given twice")
            else:
                named[arg.name] = value
        return positional, named

    def value(self, value: ast.Value) -> Any:
        """A Python value for an argument; bare names resolve as documented in the README."""
        if isinstance(value, ast.Number | ast.String | ast.Bool):
            return value.value
        if isinstance(value, ast.ListValue):
            return tuple(self.value(v) for v in value.items)
        if isinstance(value, ast.Call):
            for kind in _CALLABLE_KINDS:
                if (kind, value.func.text) in self.registry:
                    call = self.plugin_call(value, kind)
                    if kind == "verifier" and call is not None:
                        return self._note_verifier(S.VerifierRef(call.text, call, value.span))
                    return call
            known = sorted({n for k in _CALLABLE_KINDS for n in self.registry.names(k)})
            self.add(unknown_name(value.func.span, "function", value.func.text, known))
            self.values(value.args)
            return None
        name = value.name
        declared = self.declared.get(name)
        if declared is not None:
            if isinstance(declared.ref, S.VerifierRef):
                return self._note_verifier(declared.ref)
            return declared.ref
        for kind in ("extractor", "strategy"):
            if (kind, name) in self.registry:
                return self._bare_plugin(value, kind)
        if ("verifier", name) in self.registry:
            call = self._bare_plugin(value, "verifier")
            return self._note_verifier(S.VerifierRef(name, call, value.span))
        known = [
            *self.declared,
            *(n for k in ("extractor", "strategy", "verifier") for n in self.registry.names(k)),
        ]
        self.add(unknown_name(value.span, "name", name, known))
        return None

    def _note_verifier(self, ref: S.VerifierRef) -> S.VerifierRef:
        self.spec_state.verifiers.setdefault(ref.name, ref)
        return ref

    def _bind(self, call: ast.Call, kind: Kind) -> None:
        """Report arguments the registered factory cannot accept."""
        entry = self.registry.entry(kind, call.func.text)
        try:
            signature = entry.signature()
        except Exception as exc:  # a plugin that fails to import is the plugin's bug
            self.error(
                call.func.span,
                "plugin-error",
                f"cannot load {_KIND_WORDS[kind]} {call.func.text!r} to check its arguments: "
                f"{type(exc).__name__}: {exc}",
            )
            return
        if signature is None:
            return
        params = list(signature.parameters.values())
        var_pos = any(p.kind is p.VAR_POSITIONAL for p in params)
        var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keyword = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        accepted = ", ".join(keyword) or "none"
        filled: set[str] = set()
        n_pos = 0
        for arg in call.args:
            if arg.name is None:
                if n_pos < len(positional):
                    filled.add(positional[n_pos].name)
                elif not var_pos:
                    self.error(
                        arg.span,
                        "too-many-arguments",
                        f"{call.func.text}() takes {len(positional)} positional argument"
                        f"{'' if len(positional) == 1 else 's'}, got {n_pos + 1} or more",
                        notes=(f"keyword arguments it accepts: {accepted}",),
                    )
                n_pos += 1
            elif arg.name in filled:
                self.error(
                    arg.span,
                    "duplicate-argument",
                    f"argument {arg.name!r} of {call.func.text}() is already given by position",
                )
            elif arg.name not in keyword and not var_kw:
                self.error(
                    arg.span,
                    "unknown-argument",
                    f"{call.func.text}() has no argument {arg.name!r}",
                    notes=(f"arguments it accepts: {accepted}",),
                    help=did_you_mean(arg.name, keyword),
                )

    # -- specs ------------------------------------------------------------------------------

    def _spec_block(self, block: ast.SpecBlock, path: str) -> Iterator[S.SpecDef]:
        name = block.name.value
        if not name.strip() or "::" in name or "\n" in name:
            self.error(
                block.name.span,
                "bad-spec-name",
                f"a spec name must be non-empty text without '::' or line breaks, got {name!r}",
                help="the name is part of the pytest node id ('file.tts::NAME::expectation')",
            )
        if block.loop is None:
            spec = self._spec(block, block.body, block.name.value, path, frozenset())
            if spec is not None:
                yield spec
            return
        loop = block.loop
        if not loop.values.items:
            self.error(loop.values.span, "empty-loop", f"'for {loop.var.text} in []' has no values")
        for value in loop.values.items:
            text = format_value(value, compact=True)
            body = _substitute(block.body, loop.var.text, value)
            name = f"{block.name.value}[{loop.var.text}={text}]"
            spec = self._spec(block, body, name, path, frozenset([loop.var.text]))
            if spec is not None:
                yield spec

    def _spec(
        self,
        block: ast.SpecBlock,
        body: tuple[ast.SpecStmt, ...],
        name: str,
        path: str,
        bound: frozenset[str],
    ) -> S.SpecDef | None:
        self.spec_state = _SpecState()
        single: dict[type, ast.SpecStmt] = {}
        tags: list[str] = []
        expects: list[tuple[ast.ExpectStmt, dict[str, str]]] = []
        for stmt in body:
            if isinstance(stmt, ast.UseModel | ast.UseDataset | ast.SampleStmt | ast.OracleStmt):
                first = single.get(type(stmt))
                if first is not None:
                    word = _STMT_WORDS[type(stmt)]
                    self.error(
                        stmt.span,
                        "duplicate-statement",
                        f"a spec has one {word!r} line; the first is at line {first.span.line}",
                    )
                else:
                    single[type(stmt)] = stmt
            elif isinstance(stmt, ast.TagsStmt):
                tags.extend(t.text for t in stmt.tags if t.text not in tags)
            else:
                expects.extend(_expand(stmt, {}, self, bound))

        model = self._use(single.get(ast.UseModel), block, "model")
        dataset = self._use(single.get(ast.UseDataset), block, "dataset")
        checks = ExpectationChecker(self)
        sampling = checks.sampling(single.get(ast.SampleStmt), block)
        oracle_stmt = single.get(ast.OracleStmt)
        oracle = None
        if isinstance(oracle_stmt, ast.OracleStmt):
            oracle = self.verifier(oracle_stmt.verifier)
        elif expects:
            stmt = expects[0][0]
            self.error(
                _metric_span(stmt),
                "missing-oracle",
                f"spec {block.name.value!r} has no oracle, but {_metric_name(stmt)!r} needs one "
                "to tell right answers from wrong",
                notes=(f"every expectation needs the oracle ({len(expects)} here)",),
                help="add a line 'oracle NAME' naming a declared verifier",
            )

        expectations: list[S.Expectation] = []
        ids: dict[str, ast.ExpectStmt] = {}
        for stmt, params in expects:
            expectation = checks.expectation(stmt, params, model, sampling)
            if expectation is None:
                continue
            first = ids.get(expectation.id)
            if first is not None:
                self.error(
                    stmt.span,
                    "duplicate-expectation",
                    f"expectation {expectation.id!r} repeats the one at line {first.span.line}",
                )
                continue
            ids[expectation.id] = stmt
            expectations.append(expectation)

        if model is None or dataset is None or sampling is None:
            return None
        verifiers = dict(self.spec_state.verifiers)
        if oracle is not None:
            verifiers.setdefault(oracle.name, oracle)
        source = self.sources.get(block.span.path, "")
        return S.SpecDef(
            name=name,
            path=path,
            model=model,
            dataset=dataset,
            sampling=sampling,
            oracle=oracle,
            verifiers=verifiers,
            expectations=tuple(expectations),
            tags=tuple(tags),
            span=block.span,
            source=source[block.span.start : block.span.end],
        )

    def _use(self, stmt: ast.SpecStmt | None, block: ast.SpecBlock, kind: str) -> Any:
        if stmt is None:
            self.error(
                block.name.span,
                f"missing-{kind}",
                f"spec {block.name.value!r} has no {kind!r} line",
                help=f"add '{kind} NAME' naming a declared {kind}",
            )
            return None
        assert isinstance(stmt, ast.UseModel | ast.UseDataset)
        return self.named(stmt.name, kind)

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
                return self._note_verifier(declared.ref)
            if declared is not None and declared.decl.kind == "verifier":
                return None  # its declaration is already reported
            if declared is None and ("verifier", value.name) in self.registry:
                call = self._bare_plugin(value, "verifier")
                return self._note_verifier(S.VerifierRef(value.name, call, value.span))
        elif isinstance(value, ast.Call) and ("verifier", value.func.text) in self.registry:
            inline = self.plugin_call(value, "verifier")
            if inline is None:
                return None
            return self._note_verifier(S.VerifierRef(inline.text, inline, value.span))
        name = value.name if isinstance(value, ast.Ident) else format_value(value)
        node_span = value.func.span if isinstance(value, ast.Call) else value.span
        known = [*self.declared_names("verifier"), *self.registry.names("verifier")]
        self.add(unknown_name(node_span, "verifier", name, known))
        return None

    def strategy(self, value: ast.Value) -> S.PluginCall | None:
        if isinstance(value, ast.Ident):
            if ("strategy", value.name) in self.registry:
                return self._bare_plugin(value, "strategy")
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


_KIND_WORDS: dict[str, str] = {
    "strategy": "strategy",
    "verifier": "verifier",
    "backend": "backend",
    "source": "dataset source",
    "extractor": "extractor",
}
_CALLABLE_KINDS: tuple[Kind, ...] = ("strategy", "verifier", "extractor", "source", "backend")
_STMT_WORDS = {
    ast.UseModel: "model",
    ast.UseDataset: "dataset",
    ast.SampleStmt: "sample",
    ast.OracleStmt: "oracle",
}


def _substitute(node: Any, var: str, value: ast.Value) -> Any:
    return ast.rewrite(
        node, lambda n: value if isinstance(n, ast.Ident) and n.name == var else None
    )


def _expand(
    stmt: ast.ExpectStmt | ast.ForStmt,
    params: Mapping[str, str],
    checker: SpecChecker,
    bound: frozenset[str],
) -> Iterator[tuple[ast.ExpectStmt, dict[str, str]]]:
    """The expectations a statement stands for, with the loop values that made each one."""
    if not isinstance(stmt, ast.ForStmt):
        yield stmt, dict(params)
        return
    loop = stmt.loop
    var = loop.var.text
    if var in bound or var in params:
        checker.error(
            loop.var.span,
            "duplicate-loop-variable",
            f"loop variable {var!r} is already bound by an enclosing loop",
            help="give the inner loop's variable another name",
        )
        return
    if not loop.values.items:
        checker.error(loop.values.span, "empty-loop", f"'for {var} in []' has no values")
    for value in loop.values.items:
        inner = {**params, var: format_value(value, compact=True)}
        for sub in stmt.body:
            yield from _expand(_substitute(sub, var, value), inner, checker, bound)


def _metric_span(stmt: ast.ExpectStmt) -> Span:
    measure = stmt.left if isinstance(stmt, ast.ComparisonStmt) else stmt.measure
    return measure.metric.span


def _metric_name(stmt: ast.ExpectStmt) -> str:
    measure = stmt.left if isinstance(stmt, ast.ComparisonStmt) else stmt.measure
    return measure.metric.text
