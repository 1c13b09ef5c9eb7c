"""The HTML report, read as a file: structure, embedded images, and no external references."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import pytest
from matplotlib.colors import to_hex
from PIL import Image

from pytest_tts.report.html import OUTCOME_COLOR, plot_figure, plot_units, render_html, write_html
from pytest_tts.report.results import (
    CurveResult,
    ExpectationResult,
    Machine,
    RunResults,
    SpecResult,
)


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.tags
            if t == tag and (cls is None or cls in a.get("class", "").split())
        ]


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def test_every_spec_has_a_section_with_its_plots(results: RunResults, tmp_path) -> None:
    path = write_html(results, tmp_path / "deep" / "report.html")
    html = path.read_text(encoding="utf-8")
    doc = parse(html)
    sections = doc.find("section", "spec")
    assert [s["data-spec"] for s in sections] == [s.name for s in results.specs]
    assert [s["id"] for s in sections] == ["spec-1", "spec-2"]
    imgs = doc.find("img", "tts-plot")
    expected_units = [u for spec in results.specs for u in plot_units(spec)]
    assert expected_units == ["n", "tokens", "flops", "n", "tokens", "flops"]
    assert [i["data-unit"] for i in imgs] == expected_units
    for img in imgs:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        picture = Image.open(io.BytesIO(base64.b64decode(img["src"][len(prefix) :])))
        picture.load()
        assert picture.format == "PNG"
        assert picture.width >= 400
        assert picture.height >= 250
        assert len(picture.getcolors(1 << 20) or []) > 50  # a drawing, not a blank image


def test_verdicts_are_coloured_and_failed_lines_highlighted(
    results: RunResults, report_html: str
) -> None:
    html = report_html
    doc = parse(html)
    rows = doc.find("tr", "expectation")
    outcomes = [r["class"].split()[1] for r in rows]
    assert outcomes == [e.outcome for s in results.specs for e in s.expectations]
    assert len(doc.find("span", "badge")) >= len(rows)
    # failed and errored expect lines are highlighted in the spec source (2 + 1)
    assert html.count('<span class="hll">') == 3
    assert '<span class="k">expect</span>' in html  # the .tts lexer ran
    # failed expectations show their curve points open, passed ones have none
    assert html.count("<details open>") == 2
    assert "[0.480, 0.560]" in html


def test_provenance_and_pools_are_listed(report_html: str) -> None:
    html = report_html
    for text in ("models/tiny-arith", "sha256:77be10aa", "vllm 0.32.0+cpu", "9,600", "2.7T"):
        assert text in html


EXTERNAL = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?!data:|#)[^"'\s>]""")


def test_the_page_references_nothing_outside_itself(report_html: str) -> None:
    html = report_html
    doc = parse(html)
    assert doc.find("link") == []
    assert doc.find("script") == []
    assert doc.find("iframe") == []
    for tag, attrs in doc.tags:
        for name in ("src", "href"):
            if name in attrs:
                value = attrs[name]
                assert value.startswith(("data:", "#")), (tag, name, value[:60])
    assert EXTERNAL.search(html) is None
    assert re.search(r"url\(\s*['\"]?(?!data:)", html) is None
    assert "@import" not in html
    assert re.search(r"https?://", html) is None


def test_the_static_check_would_catch_an_external_image(report_html: str) -> None:
    html = report_html.replace("</main>", '<img src="https://x.invalid/a.png"></main>')
    assert EXTERNAL.search(html) is not None


def test_plot_draws_bands_baseline_fit_frontier_and_budgets(results: RunResults) -> None:
    spec = results.specs[0]
    fig = plot_figure(spec, "n")
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert "accuracy · majority_vote" in labels
    assert "baseline · majority_vote" in labels
    assert "compute-optimal frontier(accuracy)" in labels
    assert any(label.startswith("fit a + b·ln(x), R²=0.97") for label in labels)
    # one shaded band per curve with an interval (the frontier has none)
    assert len(ax.collections) == 3
    gids = [line.get_gid() or "" for line in ax.get_lines()]
    budgets = {g: line for g, line in zip(gids, ax.get_lines(), strict=True) if "budget" in g}
    targets = {g: line for g, line in zip(gids, ax.get_lines(), strict=True) if "target" in g}
    assert set(targets) == {"target addition-2", "target addition-3"}
    assert list(targets["target addition-3"].get_xydata()[0]) == [64.0, 0.95]
    assert set(budgets) == {"budget addition-2", "budget addition-3"}  # the n budgets only
    assert budgets["budget addition-2"].get_xdata()[0] == 8
    assert to_hex(budgets["budget addition-2"].get_color()) == OUTCOME_COLOR["passed"]
    assert ax.get_xscale() == "log"
    flops = plot_figure(spec, "flops").axes[0]
    (line,) = [line for line in flops.get_lines() if "budget" in (line.get_gid() or "")]
    assert line.get_gid() == "budget addition-1"
    assert to_hex(line.get_color()) == OUTCOME_COLOR["failed"]


def test_a_spec_without_curves_says_so() -> None:
    spec = SpecResult(
        name="nothing estimated",
        path="x.tts",
        model="m",
        expectations=[ExpectationResult(id="e", text="expect x", outcome="error", detail="boom")],
    )
    run = RunResults("2026-11-22T10:00:00", "2026-11-22T10:00:01", "0", Machine("x", 2), [spec])
    html = render_html(run)
    assert "no curves were estimated for this spec" in html
    assert parse(html).find("img") == []


def test_non_finite_points_and_missing_units_still_plot() -> None:
    curve = CurveResult(
        "majority_vote",
        "accuracy",
        ks=[1, 2, 4],
        mean=[0.3, float("nan"), 0.5],
        ci_low=[0.2, float("nan"), 0.4],
        ci_high=[0.4, float("nan"), 0.6],
        cost_tokens=[0, 20, 40],  # a zero cost cannot sit on a log axis: left out
    )
    spec = SpecResult(name="s", path="s.tts", model="m", curves=[curve])
    assert plot_units(spec) == ["n", "tokens"]
    run = RunResults("2026-11-22T10:00:00", "2026-11-22T10:00:01", "0", Machine("x", 2), [spec])
    assert len(parse(render_html(run)).find("img", "tts-plot")) == 2


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", 'a "quoted" & <b>bold</b>'])
def test_user_text_is_escaped(name: str) -> None:
    spec = SpecResult(name=name, path="s.tts", model=name, source=f'spec "{name}" {{}}')
    run = RunResults("2026-11-22T10:00:00", "2026-11-22T10:00:01", "0", Machine("x", 2), [spec])
    html = render_html(run)
    assert name not in html
    assert parse(html).find("script") == []
