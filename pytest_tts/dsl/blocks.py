"""Spec blocks: one ``spec "name" [for …] { … }`` block to checked specs.

Part of the semantic pass (:mod:`pytest_tts.dsl.checker`): a block's ``for`` loop and the
``for`` statements inside it are expanded; its single statements (``model``, ``dataset``,
``sample``, ``oracle``) are checked, the ``sample`` line against :data:`SAMPLING`; each
``expect`` statement goes to :class:`~pytest_tts.dsl.expectations.ExpectationChecker`.
Everything reports through the checker.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_tts import spec as S
from pytest_tts.dsl import ast
from pytest_tts.dsl.diagnostics import did_you_mean
from pytest_tts.dsl.expectations import ExpectationChecker
from pytest_tts.dsl.formatter import format_value
from pytest_tts.span import Span

if TYPE_CHECKING:
    from pytest_tts.dsl.checker import SpecChecker


@dataclass
class SpecState:
    """What the spec being checked has read so far: the verifiers its expectations name."""

    verifiers: dict[str, S.VerifierRef] = field(default_factory=dict)


# Sampling parameters: name -> (type, description of the valid range, predicate).
SAMPLING: dict[str, tuple[str, str, Any]] = {
    "n": ("int", "a positive integer", lambda v: v >= 1),
    "temperature": ("float", "a number >= 0", lambda v: v >= 0),
    "top_p": ("float", "a number in (0, 1]", lambda v: 0 < v <= 1),
    "top_k": ("int", "an integer >= -1 (-1 or 0 turn it off)", lambda v: v >= -1),
    "min_p": ("float", "a number in [0, 1]", lambda v: 0 <= v <= 1),
    "max_tokens": ("int", "a positive integer", lambda v: v >= 1),
    "seed": ("int", "an integer >= 0", lambda v: v >= 0),
    "presence_penalty": ("float", "a number in [-2, 2]", lambda v: -2 <= v <= 2),
    "frequency_penalty": ("float", "a number in [-2, 2]", lambda v: -2 <= v <= 2),
    "repetition_penalty": ("float", "a number > 0", lambda v: v > 0),
    "logprobs": ("int", "an integer >= 0", lambda v: v >= 0),
    "stop": ("str", "a string or a list of strings", None),
}
_SAMPLING_FIELDS = ("n", "temperature", "top_p", "max_tokens", "seed")


def spec_block(checker: SpecChecker, block: ast.SpecBlock, path: str) -> Iterator[S.SpecDef]:
    name = block.name.value
    if not name.strip() or "::" in name or "\n" in name:
        checker.error(
            block.name.span,
            "bad-spec-name",
            f"a spec name must be non-empty text without '::' or line breaks, got {name!r}",
            help="the name is part of the pytest node id ('file.tts::NAME::expectation')",
        )
    if block.loop is None:
        spec = _spec(checker, block, block.body, block.name.value, path, frozenset())
        if spec is not None:
            yield spec
        return
    loop = block.loop
    if not loop.values.items:
        checker.error(loop.values.span, "empty-loop", f"'for {loop.var.text} in []' has no values")
    for value in loop.values.items:
        text = format_value(value, compact=True)
        body = _substitute(block.body, loop.var.text, value)
        name = f"{block.name.value}[{loop.var.text}={text}]"
        spec = _spec(checker, block, body, name, path, frozenset([loop.var.text]))
        if spec is not None:
            yield spec


def _spec(
    checker: SpecChecker,
    block: ast.SpecBlock,
    body: tuple[ast.SpecStmt, ...],
    name: str,
    path: str,
    bound: frozenset[str],
) -> S.SpecDef | None:
    checker.spec_state = SpecState()
    single: dict[type, ast.SpecStmt] = {}
    tags: list[str] = []
    expects: list[tuple[ast.ExpectStmt, dict[str, str]]] = []
    for stmt in body:
        if isinstance(stmt, ast.UseModel | ast.UseDataset | ast.SampleStmt | ast.OracleStmt):
            first = single.get(type(stmt))
            if first is not None:
                word = _STMT_WORDS[type(stmt)]
                checker.error(
                    stmt.span,
                    "duplicate-statement",
                    f"a spec has one {word!r} line; the first is at line {first.span.line}",
                )
            else:
                single[type(stmt)] = stmt
        elif isinstance(stmt, ast.TagsStmt):
            tags.extend(t.text for t in stmt.tags if t.text not in tags)
        else:
            expects.extend(_expand(stmt, {}, checker, bound))

    model = _use(checker, single.get(ast.UseModel), block, "model")
    dataset = _use(checker, single.get(ast.UseDataset), block, "dataset")
    checks = ExpectationChecker(checker)
    sampling = check_sampling(checker, single.get(ast.SampleStmt), block)
    oracle_stmt = single.get(ast.OracleStmt)
    oracle = None
    if isinstance(oracle_stmt, ast.OracleStmt):
        oracle = checker.verifier(oracle_stmt.verifier)
    elif expects:
        stmt = expects[0][0]
        checker.error(
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
            checker.error(
                stmt.span,
                "duplicate-expectation",
                f"expectation {expectation.id!r} repeats the one at line {first.span.line}",
            )
            continue
        ids[expectation.id] = stmt
        expectations.append(expectation)

    if model is None or dataset is None or sampling is None:
        return None
    verifiers = dict(checker.spec_state.verifiers)
    if oracle is not None:
        verifiers.setdefault(oracle.name, oracle)
    source = checker.sources.get(block.span.path, "")
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


def _use(checker: SpecChecker, stmt: ast.SpecStmt | None, block: ast.SpecBlock, kind: str) -> Any:
    if stmt is None:
        checker.error(
            block.name.span,
            f"missing-{kind}",
            f"spec {block.name.value!r} has no {kind!r} line",
            help=f"add '{kind} NAME' naming a declared {kind}",
        )
        return None
    assert isinstance(stmt, ast.UseModel | ast.UseDataset)
    return checker.named(stmt.name, kind)


def check_sampling(
    checker: SpecChecker, stmt: ast.SpecStmt | None, block: ast.SpecBlock
) -> S.Sampling | None:
    if not isinstance(stmt, ast.SampleStmt):
        checker.error(
            block.name.span,
            "missing-sample",
            f"spec {block.name.value!r} has no 'sample' line",
            help="add e.g. 'sample n = 16, temperature = 1.0'",
        )
        return None
    values: dict[str, Any] = {}
    ok = True
    for arg in stmt.args:
        name = arg.name or ""
        if name in values:
            checker.error(
                arg.span, "duplicate-argument", f"sampling parameter {name!r} given twice"
            )
            continue
        if name not in SAMPLING:
            checker.error(
                arg.span,
                "unknown-sampling-parameter",
                f"unknown sampling parameter {name!r}",
                notes=(f"known sampling parameters: {', '.join(sorted(SAMPLING))}",),
                help=did_you_mean(name, SAMPLING),
            )
            ok = False
            continue
        type_, wanted, valid = SAMPLING[name]
        value = arg.value
        if type_ == "str":
            items = value.items if isinstance(value, ast.ListValue) else (value,)
            if not all(isinstance(v, ast.String) for v in items):
                checker.error(value.span, "out-of-range", f"{name} must be {wanted}")
                ok = False
                continue
            values[name] = tuple(v.value for v in items)  # type: ignore[union-attr]
            continue
        if not isinstance(value, ast.Number) or (
            type_ == "int" and not isinstance(value.value, int)
        ):
            shown = format_value(value)
            checker.error(value.span, "out-of-range", f"{name} must be {wanted}, got {shown}")
            ok = False
            continue
        if not valid(value.value):
            checker.error(value.span, "out-of-range", f"{name} must be {wanted}, got {value.text}")
            ok = False
            continue
        values[name] = value.value
    if "n" not in values:
        if ok or not any(a.name == "n" for a in stmt.args):
            checker.error(
                stmt.span,
                "missing-sample",
                "the 'sample' line needs n (samples per problem)",
                help="add e.g. 'n = 16'",
            )
        return None
    return S.Sampling(
        n=values["n"],
        temperature=float(values.get("temperature", 1.0)),
        top_p=float(values.get("top_p", 1.0)),
        max_tokens=values.get("max_tokens", 256),
        seed=values.get("seed", 0),
        extra={k: v for k, v in values.items() if k not in _SAMPLING_FIELDS},
    )


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
