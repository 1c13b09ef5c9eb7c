"""Reports of a run, all built from one results model (``pytest_tts.report.results``).

- ``render_summary(results, verbosity)``: the terminal summary (``summary``)
- ``render_failure(expectation, path, line, source_line)``: a failed expectation as domain
  text (``failure``)
- ``write_json``/``read_json``/``junit_properties``: JSON results and JUnit properties
  (``json_io``)
- ``merge_results(parts)``: one run from the parts pytest-xdist workers judged (``merge``)
- ``write_html(results, path)``: the self-contained HTML report (``html``; imports
  matplotlib when called, so it is not re-exported here)
- ``TTSLexer``: the Pygments lexer for ``.tts`` files (``lexer``)
- ``adapt``: results-model objects from estimator curves, fits, baselines and gate results
"""

from __future__ import annotations

from pytest_tts.report.failure import render_failure
from pytest_tts.report.json_io import junit_properties, read_json, write_json
from pytest_tts.report.merge import merge_results
from pytest_tts.report.results import (
    SCHEMA_VERSION,
    BaselineOverlay,
    BudgetLine,
    CurveResult,
    ExpectationResult,
    Fit,
    Machine,
    PoolSummary,
    RunResults,
    SpecResult,
)
from pytest_tts.report.summary import render_summary

__all__ = [
    "SCHEMA_VERSION",
    "BaselineOverlay",
    "BudgetLine",
    "CurveResult",
    "ExpectationResult",
    "Fit",
    "Machine",
    "PoolSummary",
    "RunResults",
    "SpecResult",
    "junit_properties",
    "merge_results",
    "read_json",
    "render_failure",
    "render_summary",
    "write_json",
]
