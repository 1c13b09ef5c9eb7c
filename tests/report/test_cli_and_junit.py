"""``pytest-tts report`` and the JUnit properties."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from pytest_tts.cli import main
from pytest_tts.report.json_io import junit_properties, write_json
from pytest_tts.report.results import ExpectationResult, RunResults


def test_report_rebuilds_the_html_from_json(results: RunResults, tmp_path, capsys) -> None:
    source = write_json(results, tmp_path / "results.json")
    out = tmp_path / "site" / "report.html"
    assert main(["report", str(source), "-o", str(out), "--summary"]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="spec') == 2
    assert html.count('class="tts-plot"') == 6
    printed = capsys.readouterr().out
    assert "weighted voting on gsm8k" in printed  # the summary
    assert printed.rstrip().endswith(f"wrote {out} (2 specs)")


def test_report_defaults_to_html_beside_the_results(results: RunResults, tmp_path) -> None:
    source = write_json(results, tmp_path / "results.json")
    assert main(["report", str(source)]) == 0
    assert (tmp_path / "results.html").stat().st_size > 10_000


def test_report_of_a_missing_file_fails_with_a_message(tmp_path, capsys) -> None:
    assert main(["report", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pytest-tts report: error: results file ")
    assert "none.json' does not exist" in err


def test_report_is_listed_in_the_cli_help(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "report" in capsys.readouterr().out


def test_junit_properties_name_every_key_figure(results: RunResults) -> None:
    props = junit_properties(results.specs[0].expectations[0])
    assert props[:3] == [
        ("tts.outcome", "failed"),
        ("tts.kind", "threshold"),
        ("tts.expectation", "expect accuracy >= 0.55 at flops <= 300M using majority_vote"),
    ]
    as_dict = dict(props)
    assert as_dict["tts.budget.flops"] == 3e8
    assert as_dict["tts.target"] == 0.55
    assert as_dict["tts.value"] == 0.52
    assert as_dict["tts.ci_low"] == 0.48
    assert as_dict["tts.k"] == 8
    assert as_dict["tts.headline"].startswith("best point within 300M FLOPs")


def test_nested_properties_become_json_text() -> None:
    e = ExpectationResult(
        id="e",
        text="expect x",
        outcome="passed",
        properties={"points": [1, 2], "none": None, "nan": float("nan")},
    )
    props = dict(junit_properties(e))
    assert props["tts.points"] == "[1, 2]"
    assert props["tts.none"] == ""
    assert props["tts.nan"] == ""


def test_properties_reach_the_junit_xml(tmp_path) -> None:
    """Attached through ``item.user_properties``, the figures land in pytest's own XML."""
    (tmp_path / "test_props.py").write_text(
        textwrap.dedent(
            """
            from pytest_tts.report.json_io import junit_properties
            from pytest_tts.report.results import ExpectationResult

            def test_expectation(request):
                result = ExpectationResult(
                    id="e1", text="expect coverage >= 0.95 at n = 64", outcome="passed",
                    kind="threshold", budgets=[{"unit": "n", "value": 64}],
                    properties={"value": 0.97, "ci": [0.93, 1.0]},
                )
                request.node.user_properties.extend(junit_properties(result))
            """
        )
    )
    xml = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    props = {p.get("name"): p.get("value") for p in ET.parse(xml).getroot().iter("property")}
    assert props == {
        "tts.outcome": "passed",
        "tts.kind": "threshold",
        "tts.expectation": "expect coverage >= 0.95 at n = 64",
        "tts.budget.n": "64.0",
        "tts.value": "0.97",
        "tts.ci": "[0.93, 1.0]",
    }
