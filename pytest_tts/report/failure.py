"""Expectation failures as domain text: what was expected, where, what was found, what next.

The text goes into ``ExpectationFailed.rendered`` and pytest prints it as is (no traceback):
a failed expectation is a finding about the model, not a bug in the test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

from pytest_tts.report.fmt import rows_for_table
from pytest_tts.report.results import ExpectationResult

# A failure table up to this many rows is printed whole; a longer one (a comparison over
# the full grid has 64) keeps the rows that matter and this many neighbours on each side.
MAX_ROWS = 16
NEIGHBOURS = 2
# verdict cells that mark a row as failing, as the gates write them
FAILING_VERDICTS = frozenset({"fails", "DROP", "REGRESSED"})
NOT_COMPARED = "not compared"
# columns whose non-empty cell marks the row the finding is about (threshold, verifier bound)
MARKER_COLUMNS = ("selected", "tested")

_TITLE = {
    "failed": "expectation failed",
    "error": "expectation could not be judged",
    "skipped": "expectation skipped",
    "passed": "expectation passed",
}

# What to do next when an expectation of this kind fails; ExpectationResult.hint overrides.
_HINTS = {
    "no_regression": (
        "if this change is intended, run with --tts-update-baselines to accept the new curve; "
        "otherwise compare the model, engine and sampling provenance with the baseline's"
    ),
    "threshold": (
        "the curve does not reach the threshold within the budget: if the model is right and "
        "the spec too strict, change the threshold or the budget at {where}"
    ),
    "comparison": (
        "the strategies do not compare as stated at matched compute; the HTML report "
        "(--tts-report PATH.html) plots both curves on the same axis"
    ),
    "monotone": (
        "the curve drops as the budget grows; a tolerance (`within 0.01`) allows sampling "
        "noise, a larger pool narrows the intervals"
    ),
    "verifier_bound": (
        "the verifier accepts more wrong answers than allowed; its false positives cap what "
        "resampling with it can reach"
    ),
}
_DEFAULT_HINT = "the HTML report (--tts-report PATH.html) shows the full curves"


def hint_for(result: ExpectationResult, where: str) -> str:
    """What to do next: the result's own hint, else the default for its kind."""
    if result.hint:
        return result.hint
    if result.outcome == "error":
        return "this is a problem running the expectation, not a finding about the model"
    return _HINTS.get(result.kind, _DEFAULT_HINT).format(where=where)


def render_failure(result: ExpectationResult, path: str, line: int, source_line: str) -> str:
    """The text pytest shows for a failed (or errored) expectation.

    ``path``/``line`` locate the ``expect`` statement (1-based line); ``source_line`` is that
    line of the spec file, shown as a compiler would.
    """
    where = f"{path}:{line}"
    text = result.text.strip() or source_line.strip()
    text = text.removeprefix("expect ").strip()
    out = [f"{_TITLE[result.outcome]}: {text}", f"  at {where}"]
    if source_line.strip():
        gutter = str(line)
        out.append(f"  {gutter} | {source_line.rstrip().expandtabs(4)}")
    if result.headline:
        out += ["", result.headline]
    if result.detail:
        out += ["", result.detail.rstrip()]
    if result.table:
        out += ["", *("  " + row for row in render_table(result.table))]
    if result.method:
        out += ["", f"method: {result.method}"]
    out += ["", f"next: {hint_for(result, where)}"]
    return "\n".join(out)


def key_rows(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indices of the rows a reader of a failure needs: failing verdicts, the row a marker
    column points at, and both sides of a change of ``within budget``. When none qualifies,
    the first and the last row."""
    keys: set[int] = set()
    for i, row in enumerate(rows):
        if row.get("verdict") in FAILING_VERDICTS:
            keys.add(i)
        if any(row.get(column) for column in MARKER_COLUMNS):
            keys.add(i)
        if i and row.get("within budget") != rows[i - 1].get("within budget"):
            keys.update((i - 1, i))
    return sorted(keys) if keys else [0, len(rows) - 1]


def elide(
    rows: Sequence[Mapping[str, Any]], *, limit: int = MAX_ROWS, neighbours: int = NEIGHBOURS
) -> list[Mapping[str, Any] | str]:
    """``rows`` with long runs of uninteresting rows replaced by a line saying what was left
    out (``… 40 passing rows not shown …``). Tables of at most ``limit`` rows come back
    whole; so does a gap of a single row, which its line would not shorten. When the key
    rows and their neighbours would pass ``limit``, fewer neighbours are shown (down to
    none: every key row is always shown)."""
    if len(rows) <= limit:
        return list(rows)
    keys = key_rows(rows)
    for width in range(neighbours, -1, -1):
        keep = [False] * len(rows)
        for i in keys:
            for j in range(max(i - width, 0), min(i + width + 1, len(rows))):
                keep[j] = True
        if sum(keep) <= limit:
            break
    out: list[Mapping[str, Any] | str] = []
    i = 0
    while i < len(rows):
        if keep[i]:
            out.append(rows[i])
            i += 1
            continue
        j = i
        while j < len(rows) and not keep[j]:
            j += 1
        if j - i == 1:
            out.append(rows[i])
        else:
            out.append(_gap_line(rows[i:j]))
        i = j
    return out


def _gap_line(rows: Sequence[Mapping[str, Any]]) -> str:
    verdicts = [row.get("verdict") for row in rows]
    n = len(rows)
    plural = "s" * (n != 1)
    if verdicts and all(v is not None and v not in FAILING_VERDICTS for v in verdicts):
        compared = sum(v != NOT_COMPARED for v in verdicts)
        if compared == n:
            return f"… {n} passing row{plural} not shown …"
        if compared == 0:
            return f"… {n} row{plural} not compared, not shown …"
        return f"… {n} rows not shown ({compared} passing, {n - compared} not compared) …"
    return f"… {n} row{plural} not shown …"


def render_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The lines of a failure's table: long tables elided (``elide``), with a last line
    that says where the whole table is."""
    shown = elide(rows)
    kept = [row for row in shown if not isinstance(row, str)]
    headers, cells, aligns = rows_for_table(kept)
    lines = tabulate(
        cells, headers=headers, tablefmt="simple", disable_numparse=True, colalign=aligns
    ).splitlines()
    # tabulate's "simple" table: a header line, a rule, then one line per row
    out, body = lines[:2], iter(lines[2:])
    for row in shown:
        out.append(f"  {row}" if isinstance(row, str) else next(body))
    if len(kept) < len(rows):
        out.append(
            f"({len(kept)} of {len(rows)} rows shown; the HTML report (--tts-report) and the "
            "JSON results (--tts-json) hold them all)"
        )
    return out
