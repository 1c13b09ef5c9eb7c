"""Plugin calls in a spec: names looked up in the registry, arguments bound to each
factory's signature, argument values turned into Python values.

Part of the semantic pass (:mod:`pytest_tts.dsl.checker`): :class:`CallChecker` reports
through the checker and resolves bare names against its declarations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_tts import spec as S
from pytest_tts.dsl import ast
from pytest_tts.dsl.diagnostics import did_you_mean, unknown_name
from pytest_tts.dsl.formatter import format_value
from pytest_tts.registry import Kind

if TYPE_CHECKING:
    from pytest_tts.dsl.checker import SpecChecker


class CallChecker:
    """Checks ``name(args…)`` calls of registered plugins for one :class:`SpecChecker`."""

    def __init__(self, checker: SpecChecker) -> None:
        self.checker = checker
        self.registry = checker.registry

    def plugin_call(self, call: ast.Call, kind: Kind) -> S.PluginCall | None:
        name = call.func.text
        if (kind, name) not in self.registry:
            known = self.registry.names(kind)
            word = _KIND_WORDS[kind]
            self.checker.add(
                unknown_name(call.func.span, word, name, known, code=f"unknown-{kind}")
            )
            self.values(call.args)  # still report problems inside the arguments
            return None
        args, kwargs = self.values(call.args)
        self.bind(call, kind)
        return S.PluginCall(
            kind, name, tuple(args), kwargs, format_value(call, compact=True), call.span
        )

    def values(self, args: tuple[ast.Arg, ...]) -> tuple[list[Any], dict[str, Any]]:
        positional: list[Any] = []
        named: dict[str, Any] = {}
        for arg in args:
            value = self.value(arg.value)
            if arg.name is None:
                positional.append(value)
            elif arg.name in named:
                self.checker.error(
                    arg.span, "duplicate-argument", f"argument {arg.name!r} given twice"
                )
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
                        return self.checker.note_verifier(
                            S.VerifierRef(call.text, call, value.span)
                        )
                    return call
            known = sorted({n for k in _CALLABLE_KINDS for n in self.registry.names(k)})
            self.checker.add(unknown_name(value.func.span, "function", value.func.text, known))
            self.values(value.args)
            return None
        name = value.name
        declared = self.checker.declared.get(name)
        if declared is not None:
            if isinstance(declared.ref, S.VerifierRef):
                return self.checker.note_verifier(declared.ref)
            return declared.ref
        for kind in ("extractor", "strategy"):
            if (kind, name) in self.registry:
                return bare_plugin(value, kind)
        if ("verifier", name) in self.registry:
            call = bare_plugin(value, "verifier")
            return self.checker.note_verifier(S.VerifierRef(name, call, value.span))
        known = [
            *self.checker.declared,
            *(n for k in ("extractor", "strategy", "verifier") for n in self.registry.names(k)),
        ]
        self.checker.add(unknown_name(value.span, "name", name, known))
        return None

    def bind(self, call: ast.Call, kind: Kind) -> None:
        """Report arguments the registered factory cannot accept."""
        entry = self.registry.entry(kind, call.func.text)
        try:
            signature = entry.signature()
        except Exception as exc:  # a plugin that fails to import is the plugin's bug
            self.checker.error(
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
                    self.checker.error(
                        arg.span,
                        "too-many-arguments",
                        f"{call.func.text}() takes {len(positional)} positional argument"
                        f"{'' if len(positional) == 1 else 's'}, got {n_pos + 1} or more",
                        notes=(f"keyword arguments it accepts: {accepted}",),
                    )
                n_pos += 1
            elif arg.name in filled:
                self.checker.error(
                    arg.span,
                    "duplicate-argument",
                    f"argument {arg.name!r} of {call.func.text}() is already given by position",
                )
            elif arg.name not in keyword and not var_kw:
                self.checker.error(
                    arg.span,
                    "unknown-argument",
                    f"{call.func.text}() has no argument {arg.name!r}",
                    notes=(f"arguments it accepts: {accepted}",),
                    help=did_you_mean(arg.name, keyword),
                )


def bare_plugin(ident: ast.Ident, kind: Kind) -> S.PluginCall:
    """A plugin named without arguments (``majority_vote``) as a call."""
    return S.PluginCall(kind, ident.name, (), {}, ident.name, ident.span)


_KIND_WORDS: dict[str, str] = {
    "strategy": "strategy",
    "verifier": "verifier",
    "backend": "backend",
    "source": "dataset source",
    "extractor": "extractor",
}
_CALLABLE_KINDS: tuple[Kind, ...] = ("strategy", "verifier", "extractor", "source", "backend")
