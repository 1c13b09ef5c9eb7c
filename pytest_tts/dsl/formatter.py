"""The canonical layout of a ``.tts`` file.

One statement per line, four spaces of indentation per block, single spaces between tokens,
``name = value`` inside calls, ``", "`` between arguments, ``>=``/``<=`` for ``≥``/``≤``,
at most one blank line in a row, one newline at the end of the file. Comments stay where
they were: a comment on its own line stays on its own line before the statement that
followed it; a comment after code stays after that statement, two spaces from it.

Literals keep their source spelling (``4e9`` stays ``4e9``, ``4G`` stays ``4G``), so
formatting never changes a spec's meaning, and formatting twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tts.dsl import ast
from pytest_tts.dsl.literals import quote
from pytest_tts.dsl.parser import parse

INDENT = "    "


def format_source(text: str, path: str | Path = "<string>") -> str:
    """Parse and re-layout; raises SpecSyntaxError when the text does not parse."""
    return format_module(parse(text, path))


def format_file(path: str | Path, *, write: bool = True) -> bool:
    """Format one file in place; returns True when its text changed (or would change)."""
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    new = format_source(old, path)
    if new != old and write:
        path.write_text(new, encoding="utf-8")
    return new != old


# --- values and statements -----------------------------------------------------------------


def format_value(value: ast.Value, *, compact: bool = False) -> str:
    """Source form of a value. ``compact`` is the id form: no spaces, sorted keywords."""
    if isinstance(value, ast.Number):
        return value.text
    if isinstance(value, ast.String):
        return quote(value.value) if compact else value.text
    if isinstance(value, ast.Bool):
        return "true" if value.value else "false"
    if isinstance(value, ast.Ident):
        return value.name
    if isinstance(value, ast.ListValue):
        sep = "," if compact else ", "
        return "[" + sep.join(format_value(v, compact=compact) for v in value.items) + "]"
    return format_call(value, compact=compact)


def format_call(call: ast.Call, *, compact: bool = False) -> str:
    if compact and not call.args:
        return call.func.text
    return f"{call.func.text}({format_args(call.args, compact=compact)})"


def format_args(args: tuple[ast.Arg, ...], *, compact: bool = False) -> str:
    if compact:
        positional = [format_value(a.value, compact=True) for a in args if a.name is None]
        named = sorted(
            (a.name, format_value(a.value, compact=True)) for a in args if a.name is not None
        )
        return ",".join(positional + [f"{k}={v}" for k, v in named])
    return ", ".join(
        format_value(a.value) if a.name is None else f"{a.name} = {format_value(a.value)}"
        for a in args
    )


def format_measure(measure: ast.MeasureNode) -> str:
    out = measure.metric.text
    if measure.args is not None:
        out += f"({format_args(measure.args)})"
    if measure.model is not None:
        out += f" of {format_value(measure.model)}"
    if measure.strategy is not None:
        out += f" using {format_value(measure.strategy)}"
    return out


def format_budget(budget: ast.BudgetNode) -> str:
    return f"at {budget.unit.text} {budget.op} {format_value(budget.value)}"


def _confidence(number: ast.Number | None) -> str:
    return "" if number is None else f" with confidence {number.text}"


def format_expect(stmt: ast.ExpectStmt) -> str:
    """One ``expect`` statement on one line."""
    if isinstance(stmt, ast.ThresholdStmt):
        out = f"expect {format_measure(stmt.measure)} {stmt.op} {stmt.value.text}"
        if stmt.budget is not None:
            out += " " + format_budget(stmt.budget)
        if stmt.strategy is not None:
            out += f" using {format_value(stmt.strategy)}"
        if stmt.by is not None:
            out += f" by {stmt.by.text}"
        out += _confidence(stmt.confidence)
        return out + (f" per {stmt.per.text}" if stmt.per is not None else "")
    if isinstance(stmt, ast.ComparisonStmt):
        out = (
            f"expect {format_measure(stmt.left)} {stmt.op} {format_measure(stmt.right)}"
            f" at matched {stmt.unit.text}"
        )
        if stmt.range is not None:
            out += f" in [{stmt.range.low.text}, {stmt.range.high.text}]"
        return out + _confidence(stmt.confidence)
    if isinstance(stmt, ast.MonotoneStmt):
        out = f"expect {format_measure(stmt.measure)} is monotone in {stmt.unit.text}"
        if stmt.tolerance is not None:
            out += f" within {stmt.tolerance.text}"
        return out + _confidence(stmt.confidence)
    out = f"expect no regression of {format_measure(stmt.measure)}"
    if stmt.budget is not None:
        out += " " + format_budget(stmt.budget)
    out += f" against baseline within {stmt.tolerance.text}"
    return out + _confidence(stmt.confidence)


def format_loop(loop: ast.Loop) -> str:
    return f"for {loop.var.text} in {format_value(loop.values)}"


def format_simple(stmt: ast.Item | ast.SpecStmt) -> str:
    """A one-line statement (anything but a block)."""
    if isinstance(stmt, ast.Include):
        return f"include {stmt.path.text}"
    if isinstance(stmt, ast.Declaration):
        return f"{stmt.kind} {stmt.name.text} = {format_call(stmt.call)}"
    if isinstance(stmt, ast.UseModel):
        return f"model {format_value(stmt.name)}"
    if isinstance(stmt, ast.UseDataset):
        return f"dataset {format_value(stmt.name)}"
    if isinstance(stmt, ast.SampleStmt):
        return f"sample {format_args(stmt.args)}"
    if isinstance(stmt, ast.OracleStmt):
        return f"oracle {format_value(stmt.verifier)}"
    if isinstance(stmt, ast.TagsStmt):
        return "tags " + ", ".join(t.text for t in stmt.tags)
    if isinstance(stmt, ast.ThresholdStmt | ast.ComparisonStmt | ast.MonotoneStmt):
        return format_expect(stmt)
    if isinstance(stmt, ast.RegressionStmt):
        return format_expect(stmt)
    msg = f"not a one-line statement: {type(stmt).__name__}"
    raise TypeError(msg)


# --- whole files, with comments ------------------------------------------------------------


class _Layout:
    def __init__(self, module: ast.Module) -> None:
        self.comments = list(module.comments)
        source_lines = module.source.split("\n")
        self.blank = {i + 1 for i, line in enumerate(source_lines) if not line.strip()}
        self.out: list[str] = []
        self.last_line = 0  # last source line emitted, for blank-line preservation

    def _gap(self, line: int) -> None:
        """One blank line if the source had any between the last output and ``line``."""
        if (
            self.out
            and self.out[-1] != ""
            and not self.out[-1].endswith("{")
            and any(n in self.blank for n in range(self.last_line + 1, line))
        ):
            self.out.append("")

    def own_line_comments_before(self, line: int, depth: int) -> None:
        while self.comments and self.comments[0].span.line < line:
            comment = self.comments.pop(0)
            self._gap(comment.span.line)
            # A comment after a bare '{' (on a line of its own) also becomes an own-line one.
            self.out.append(INDENT * depth + comment.text)
            self.last_line = comment.span.line

    def emit(self, text: str, first: int, last: int, depth: int, *, opens: bool = False) -> None:
        """A statement covering source lines first..last; trailing comments follow it.

        Comments inside a statement that spans several lines move out of it: those on their
        own line go before it, the first trailing one after it on the same line, further
        trailing ones on lines of their own after it (inside the block if it ``opens`` one).
        """
        self.own_line_comments_before(first, depth)
        self._gap(first)
        line = INDENT * depth + text
        trailing = []
        while self.comments and self.comments[0].span.line <= last:
            comment = self.comments.pop(0)
            if comment.own_line:
                self.out.append(INDENT * depth + comment.text)
            else:
                trailing.append(comment.text)
        if trailing:
            line += "  " + trailing[0]
        self.out.append(line)
        after = INDENT * (depth + 1 if opens else depth)
        self.out.extend(after + text for text in trailing[1:])
        self.last_line = last

    def block(
        self,
        header: str,
        header_last: int,
        node: ast.SpecBlock | ast.ForStmt,
        body: tuple[ast.SpecStmt, ...],
        depth: int,
    ) -> None:
        self.emit(header + " {", node.span.line, header_last, depth, opens=True)
        for stmt in body:
            self.statement(stmt, depth + 1)
        self.own_line_comments_before(node.span.end_line, depth + 1)
        self.emit("}", node.span.end_line, node.span.end_line, depth)

    def statement(self, stmt: ast.Item | ast.SpecStmt, depth: int) -> None:
        if isinstance(stmt, ast.SpecBlock):
            header = f"spec {stmt.name.text}"
            last = stmt.name.span.end_line
            if stmt.loop is not None:
                header += " " + format_loop(stmt.loop)
                last = stmt.loop.span.end_line
            self.block(header, last, stmt, stmt.body, depth)
        elif isinstance(stmt, ast.ForStmt):
            self.block(format_loop(stmt.loop), stmt.loop.span.end_line, stmt, stmt.body, depth)
        else:
            self.emit(format_simple(stmt), stmt.span.line, stmt.span.end_line, depth)


def format_module(module: ast.Module) -> str:
    """The canonical text of a parsed module (comments and blank-line breaks kept)."""
    layout = _Layout(module)
    for item in module.items:
        layout.statement(item, 0)
    layout.own_line_comments_before(10**9, 0)
    while layout.out and layout.out[-1] == "":
        layout.out.pop()
    return "\n".join(layout.out) + "\n" if layout.out else ""
