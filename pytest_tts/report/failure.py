"""Expectation failures as domain text: what was expected, where, what was found, what next.

The text goes into ``ExpectationFailed.rendered`` and pytest prints it as is (no traceback):
a failed expectation is a finding about the model, not a bug in the test.
"""

from __future__ import annotations

from tabulate import tabulate

from pytest_tts.report.fmt import rows_for_table
from pytest_tts.report.results import ExpectationResult

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
        headers, cells, aligns = rows_for_table(result.table)
        table = tabulate(
            cells, headers=headers, tablefmt="simple", disable_numparse=True, colalign=aligns
        )
        out += ["", *("  " + row for row in table.splitlines())]
    if result.method:
        out += ["", f"method: {result.method}"]
    out += ["", f"next: {hint_for(result, where)}"]
    return "\n".join(out)
