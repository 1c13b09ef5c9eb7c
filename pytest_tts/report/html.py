"""The HTML report (``--tts-report PATH.html``): one self-contained file.

Everything is inline: CSS in a ``<style>`` element, plots as base64 PNG ``data:`` URIs drawn
by matplotlib's Agg backend, the spec source highlighted by ``TTSLexer``. The page loads no
script, stylesheet, font or image from anywhere, so it opens the same from a CI artifact, an
e-mail attachment or an air-gapped machine.

matplotlib is imported inside the plotting function: importing this module stays cheap.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tts.report.fmt import count, rows_for_table, si
from pytest_tts.report.results import (
    OUTCOMES,
    UNITS,
    CurveResult,
    ExpectationResult,
    RunResults,
    SpecResult,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

UNIT_AXIS = {
    "n": "samples per problem (n)",
    "tokens": "tokens per problem",
    "flops": "FLOPs per problem",
    "thinking": "thinking budget (reasoning tokens per sample)",
}
UNIT_TITLE = {"n": "samples", "tokens": "tokens", "flops": "FLOPs", "thinking": "thinking"}
OUTCOME_COLOR = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#9a6700",
    "skipped": "#6e7781",
}
_DPI = 96
_FIGSIZE = (6.0, 4.2)


# -- plots ---------------------------------------------------------------------------------


def _positive(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """Points that can sit on a log axis (x > 0 and finite)."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=False) if math.isfinite(x) and x > 0]
    return [p[0] for p in pts], [p[1] for p in pts]


def expectation_labels(spec: SpecResult) -> dict[str, str]:
    """Short labels (``E1``, ``E2``, …) that tie budget lines in plots to table rows."""
    return {e.id: f"E{i}" for i, e in enumerate(spec.expectations, start=1)}


def plot_units(spec: SpecResult) -> list[str]:
    """The units that have at least one curve with costs measured in them."""
    return [u for u in UNITS if any(c.x(u) for c in spec.curves)]


def plot_figure(spec: SpecResult, unit: str) -> Figure:
    """``spec``'s curves against the cost in ``unit`` (log x axis), as a matplotlib figure.

    Each strategy gets a line with markers and its shaded confidence band, its baseline a
    dotted line in the same colour, its fit a dotted extension; the compute-optimal frontier
    a wide grey band under them; each expectation's budget in this unit a dash-dot vertical
    line coloured by its verdict and labelled ``E1``, ``E2``, … as in the table.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator

    fig = Figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    palette = [f"C{i}" for i in range(10)]
    curves = [c for c in spec.curves if c.x(unit)]
    regular = [c for c in curves if not c.is_frontier]
    all_y: list[float] = []
    for i, curve in enumerate(regular):
        color = palette[i % len(palette)]
        style = "--" if curve.metric == "coverage" else "-"
        xs, ys = _positive(curve.x(unit) or (), curve.mean)
        all_y += ys
        ax.plot(xs, ys, style, marker="o", ms=3.5, lw=1.6, color=color, label=curve.label)
        if curve.ci_low and curve.ci_high:
            xl, lo = _positive(curve.x(unit) or (), curve.ci_low)
            _, hi = _positive(curve.x(unit) or (), curve.ci_high)
            ax.fill_between(xl, lo, hi, color=color, alpha=0.18, lw=0)
            all_y += lo + hi
        base = curve.baseline
        bx = base.x(unit) if base is not None else None
        if base is not None and bx:
            xb, yb = _positive(bx, base.mean)
            all_y += yb
            ax.plot(
                xb, yb, ":", marker="x", ms=4, lw=1.4, color=color, alpha=0.75,
                label=f"{base.label} · {curve.strategy}",
            )  # fmt: skip
        if curve.fit is not None and curve.fit.unit == unit and curve.fit.extrapolated:
            last = [(xs[-1], ys[-1])] if xs else []
            pts = last + list(curve.fit.extrapolated)
            xf, yf = _positive([p[0] for p in pts], [p[1] for p in pts])
            all_y += yf
            ax.plot(
                xf, yf, ls=(0, (1, 2)), lw=1.4, color=color,
                label=f"fit {curve.fit.form}, R²={curve.fit.r2:.2f}",
            )  # fmt: skip
    for curve in curves:
        if curve.is_frontier:
            xs, ys = _positive(curve.x(unit) or (), curve.mean)
            all_y += ys
            # under the strategies' lines: the frontier often coincides with one of them
            ax.plot(
                xs, ys, "-", lw=6.0, color="#57606a", alpha=0.35, zorder=1,
                solid_capstyle="round", label=f"compute-optimal {curve.strategy}",
            )  # fmt: skip
    labels = expectation_labels(spec)
    for e in spec.expectations:
        for b in e.budgets:
            if b.unit != unit or not (math.isfinite(b.value) and b.value > 0):
                continue
            color = OUTCOME_COLOR[e.outcome]
            ax.axvline(b.value, color=color, ls="-.", lw=1.1, alpha=0.9, gid=f"budget {e.id}")
            ax.annotate(
                labels[e.id] + (f" {b.label}" if b.label else ""),
                xy=(b.value, 1.0), xycoords=("data", "axes fraction"),
                xytext=(2, -10), textcoords="offset points",
                color=color, fontsize=7, fontweight="bold",
            )  # fmt: skip
            if e.target is not None and math.isfinite(e.target):
                # where the curve had to be: the target on the budget line
                ax.plot(
                    [b.value], [e.target], marker="_", ms=16, mew=2.5, color=color,
                    zorder=6, gid=f"target {e.id}",
                )  # fmt: skip
    ax.set_xscale("log")
    if unit == "n":  # powers of two: the budgets people pick for n
        xs_all = [x for c in curves for x in (c.x(unit) or ()) if math.isfinite(x) and x > 0]
        top = max(xs_all, default=1.0)
        ax.xaxis.set_major_locator(FixedLocator([2.0**i for i in range(int(math.log2(top)) + 2)]))
    else:
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: si(v)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda _v, _pos: ""))
    finite = [y for y in all_y if math.isfinite(y)]
    if finite and min(finite) >= 0 and max(finite) <= 1:
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(UNIT_AXIS[unit], fontsize=8)
    metrics = sorted({c.metric for c in curves})
    ax.set_ylabel(" / ".join(metrics), fontsize=8)
    ax.set_title(f"{' / '.join(metrics)} vs {UNIT_TITLE[unit]}", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=7, frameon=False)
    return fig


def plot_png(spec: SpecResult, unit: str) -> bytes:
    """The PNG bytes of ``plot_figure(spec, unit)``."""
    buf = io.BytesIO()
    plot_figure(spec, unit).savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def thinking_grid_png(curve: CurveResult) -> bytes | None:
    """For a ``budget_forcing`` curve: its whole grid, as a family of curves (the metric
    against the thinking budget, one line per k) beside every (budget, k) cell against tokens
    per problem with their frontier (the best cell at each token cost: think longer or
    sample more); None for any other curve."""
    grid = curve.grid
    if not grid or not grid.get("mean"):
        return None
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator

    budgets = [float(b) for b in grid["budgets"]]
    ks = [int(k) for k in grid["ks"]]
    mean = [[float(x) for x in row] for row in grid["mean"]]
    tokens = [[float(x) for x in row] for row in grid["tokens"]]
    shown = [j for j, k in enumerate(ks) if k & (k - 1) == 0 or j == len(ks) - 1]
    fig = Figure(figsize=(9.0, 3.4))
    left, right = fig.subplots(1, 2)
    for j in shown:
        column = [row[j] for row in mean]
        left.plot(budgets, column, marker="o", ms=3, label=f"k = {ks[j]}")
        right.plot([row[j] for row in tokens], column, marker="o", ms=3, alpha=0.6)
    cells = sorted((tokens[i][j], mean[i][j]) for i in range(len(budgets)) for j in shown)
    front: list[tuple[float, float]] = []
    for x, y in cells:
        if not front or y > front[-1][1]:
            front.append((x, y))
    right.step(
        [x for x, _ in front], [y for _, y in front], where="post", color="black", lw=1.5,
        label="frontier",
    )  # fmt: skip
    left.set_xlabel(UNIT_AXIS["thinking"], fontsize=8)
    right.set_xlabel(UNIT_AXIS["tokens"], fontsize=8)
    right.set_xscale("log")
    right.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    right.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: si(v)))
    right.xaxis.set_minor_formatter(FuncFormatter(lambda _v, _pos: ""))
    for ax in (left, right):
        ax.set_ylabel(curve.metric, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(-0.02, 1.02)
    left.legend(fontsize=7, loc="best")
    right.legend(fontsize=7, loc="best")
    fig.suptitle(f"{curve.strategy}: thinking budget x samples", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def trajectory_png(e: ExpectationResult) -> bytes | None:
    """For an item decided by ``--tts-adaptive``: its confidence sequence (lower and upper
    bound of the point that decided it) against the problems seen, with the threshold; None
    for any other item."""
    points = e.properties.get("trajectory") if e.properties.get("adaptive") else None
    if not points:
        return None
    from matplotlib.figure import Figure

    seen = [p[0] for p in points]
    fig = Figure(figsize=(4.2, 2.4))
    ax = fig.add_subplot()
    ax.fill_between(seen, [p[1] for p in points], [p[2] for p in points], alpha=0.25)
    ax.plot(seen, [p[1] for p in points], marker="o", label="lower CS")
    ax.plot(seen, [p[2] for p in points], marker="o", label="upper CS")
    threshold = e.properties.get("threshold")
    if threshold is not None:
        ax.axhline(float(threshold), color="black", linestyle="--", linewidth=1, label="threshold")
    elif e.kind == "comparison":
        ax.axhline(0.0, color="black", linestyle="--", linewidth=1, label="no difference")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("problems seen")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def reliability_png(e: ExpectationResult) -> bytes | None:
    """For a step-level item: the reliability diagram of the process verifier's step scores
    (share of steps the step oracle accepts against the mean score, per bin; marker area by
    steps), beside the diagonal of perfect calibration; None for any other item."""
    bins = e.properties.get("reliability") if e.kind == "step_metric" else None
    if not bins:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.4, 3.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="calibrated")
    total = sum(b[2] for b in bins) or 1
    ax.plot([b[0] for b in bins], [b[1] for b in bins], color="C0", linewidth=1)
    ax.scatter(
        [b[0] for b in bins],
        [b[1] for b in bins],
        s=[20 + 300 * b[2] / total for b in bins],
        color="C0",
        label="step scores",
        zorder=3,
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean step score (bin)")
    ax.set_ylabel("share of steps right")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


# -- HTML ----------------------------------------------------------------------------------

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0; }
h3 { font-size: 14px; margin: 18px 0 6px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
.muted { color: var(--muted); }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 12.5px; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
  vertical-align: top; }
th { background: var(--bg2); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 12px;
  font-weight: 600; color: #fff; white-space: nowrap; }
.badge.passed { background: #1a7f37; } .badge.failed { background: #cf222e; }
.badge.error { background: #9a6700; } .badge.skipped { background: #6e7781; }
tr.passed td.verdict { background: #dafbe1; } tr.failed td.verdict { background: #ffebe9; }
tr.error td.verdict { background: #fff8c5; } tr.skipped td.verdict { background: #f6f8fa; }
tr.failed { background: #fff5f5; }
nav table, .expectations { width: 100%; }
section.spec { border: 1px solid var(--line); border-radius: 8px; margin: 22px 0;
  padding: 16px 18px; }
section.spec.failed { border-left: 5px solid #cf222e; }
section.spec.passed { border-left: 5px solid #1a7f37; }
.spec-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr));
  gap: 12px; margin-top: 12px; }
figure.plot { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px;
  background: #fff; }
figure.plot img { display: block; width: 100%; height: auto; }
figure.plot figcaption { font-size: 12px; color: var(--muted); padding: 2px 4px 0; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 2fr); gap: 20px; }
table.kv th { width: 38%; white-space: nowrap; background: none; color: var(--muted);
  font-weight: normal; }
table.kv td { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px;
  word-break: break-all; }
details summary { cursor: pointer; color: var(--muted); font-size: 12px; }
details table { margin: 4px 0 2px; font-size: 12.5px; }
.method, .detail { font-size: 12px; color: var(--muted); }
.detail { white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace; }
.tts-src { border: 1px solid var(--line); border-radius: 6px; overflow-x: auto;
  background: #fafbfc; }
.tts-src pre { margin: 0; padding: 8px 10px; line-height: 1.4; font-size: 12px; }
.tts-src .hll { background-color: #ffebe9; }
footer { color: var(--muted); font-size: 12px; padding: 10px 20px 30px; }
"""


def _badges(counts: dict[str, int]) -> str:
    parts = [
        f'<span class="badge {o}">{counts[o]} {o}</span>'
        for o in OUTCOMES
        if counts[o] or o in ("passed", "failed")
    ]
    return " ".join(parts)


def _spec_status(spec: SpecResult) -> str:
    c = spec.counts()
    if c["failed"] or c["error"]:
        return "failed"
    return "passed" if c["passed"] else "skipped"


def _plain_text(value: Any) -> str:
    """A provenance value as written in a spec: ``1.0`` stays ``1.0``, not ``1.000``."""
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain_text(v)}" for k, v in value.items())
    return str(value)


def _kv_table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(_plain_text(v))}</td></tr>"
        for k, v in rows
        if v not in (None, "", {})
    )
    return f'<table class="kv">{body}</table>'


def _points_table(rows: Sequence[Any]) -> str:
    headers, cells, aligns = rows_for_table(rows)
    cls = ['class="num"' if a == "right" else "" for a in aligns]
    head = "".join(f"<th {c}>{escape(h)}</th>" for c, h in zip(cls, headers, strict=True))
    body = "".join(
        "<tr>"
        + "".join(f"<td {c}>{escape(v)}</td>" for c, v in zip(cls, row, strict=True))
        + "</tr>"
        for row in cells
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _expectation_row(spec: SpecResult, label: str, e: ExpectationResult) -> str:
    finding = escape(e.headline)
    if e.detail:
        finding += f'<div class="detail">{escape(e.detail)}</div>'
    if e.method:
        finding += f'<div class="method">{escape(e.method)}</div>'
    trajectory = trajectory_png(e)
    if trajectory is not None:
        data = base64.b64encode(trajectory).decode("ascii")
        finding += (
            f'<img class="tts-trajectory" alt="{escape(e.id)}: confidence sequence against '
            f'problems seen" src="data:image/png;base64,{data}">'
        )
    reliability = reliability_png(e)
    if reliability is not None:
        data = base64.b64encode(reliability).decode("ascii")
        finding += (
            f'<img class="tts-reliability" alt="{escape(e.id)}: reliability diagram of the '
            f'step scores" src="data:image/png;base64,{data}">'
        )
    if e.table:
        is_open = " open" if e.outcome == "failed" else ""
        finding += (
            f"<details{is_open}><summary>curve points ({len(e.table)})</summary>"
            f"{_points_table(e.table)}</details>"
        )
    where = f"{spec.path}:{e.line}" if e.line else spec.path
    return (
        f'<tr class="expectation {e.outcome}" data-id="{escape(e.id)}">'
        f"<td>{label}</td>"
        f'<td class="verdict"><span class="badge {e.outcome}">{e.outcome}</span></td>'
        f'<td><code>{escape(e.text.strip())}</code><div class="muted">{escape(where)}</div>'
        f"</td><td>{finding}</td></tr>"
    )


def _source_html(spec: SpecResult) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    from pytest_tts.report.lexer import TTSLexer

    failed = [
        e.line - spec.source_line + 1
        for e in spec.expectations
        if e.outcome in ("failed", "error") and e.line >= spec.source_line
    ]
    formatter = HtmlFormatter(
        cssclass="tts-src",
        linenos="inline",
        linenostart=spec.source_line,
        hl_lines=failed,
    )
    return str(highlight(spec.source, TTSLexer(), formatter))


def _spec_section(index: int, spec: SpecResult) -> str:
    status = _spec_status(spec)
    labels = expectation_labels(spec)
    figures = []
    for unit in plot_units(spec):
        data = base64.b64encode(plot_png(spec, unit)).decode("ascii")
        n_curves = sum(1 for c in spec.curves if c.x(unit))
        alt = f"{spec.name}: scaling curves against {UNIT_AXIS[unit]}"
        figures.append(
            f'<figure class="plot" data-unit="{unit}">'
            f'<img class="tts-plot" data-unit="{unit}" alt="{escape(alt)}" '
            f'src="data:image/png;base64,{data}">'
            f"<figcaption>{n_curves} curve{'s' * (n_curves != 1)} against "
            f"{UNIT_AXIS[unit]}; shaded: confidence interval; dash-dot lines: expectation "
            f"budgets (bars: the target at that budget)</figcaption></figure>"
        )
    for curve in spec.curves:
        png = thinking_grid_png(curve)
        if png is None:
            continue
        data = base64.b64encode(png).decode("ascii")
        figures.append(
            f'<figure class="plot grid" data-unit="thinking">'
            f'<img class="tts-grid" alt="{escape(curve.strategy)}: thinking budget x samples" '
            f'src="data:image/png;base64,{data}">'
            "<figcaption>left: the metric against the thinking budget, one line per k"
            " (samples per problem, each forced at that budget); right: every (budget, k)"
            " against tokens per problem, with the frontier (think longer or sample"
            " more)</figcaption></figure>"
        )
    plots = (
        f'<div class="plots">{"".join(figures)}</div>'
        if figures
        else '<p class="muted">no curves were estimated for this spec</p>'
    )
    rows = "".join(_expectation_row(spec, labels[e.id], e) for e in spec.expectations)
    expectations = (
        '<table class="expectations"><thead><tr><th></th><th>verdict</th>'
        "<th>expectation</th><th>finding</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    by_difficulty = _difficulty_table(spec)
    p = spec.pools
    provenance = _kv_table(
        [
            ("model", spec.model),
            *((f"model {k}", v) for k, v in spec.model_provenance.items()),
            ("dataset", spec.dataset),
            ("dataset hash", spec.dataset_hash),
            *((f"sample {k}", v) for k, v in spec.sampling.items()),
            ("pools", p.pools),
            ("problems", p.problems),
            ("samples generated", count(p.samples_generated)),
            ("samples reused", count(p.samples_reused)),
            ("tokens", si(p.tokens)),
            ("FLOPs", "unknown" if p.flops is None else si(p.flops)),
            ("tags", ", ".join(spec.tags)),
        ]
    )
    source = _source_html(spec) if spec.source.strip() else '<p class="muted">no source</p>'
    return (
        f'<section class="spec {status}" id="spec-{index}" data-spec="{escape(spec.name)}">'
        f'<div class="spec-head"><h2>{escape(spec.name)}</h2>'
        f"{_badges(spec.counts())}</div>"
        f'<div class="muted">{escape(spec.path)} · model <b>{escape(spec.model)}</b>'
        f"{' · dataset <b>' + escape(spec.dataset) + '</b>' if spec.dataset else ''}</div>"
        f"{plots}<h3>Expectations</h3>{expectations}{by_difficulty}"
        f'<div class="cols"><div><h3>Provenance</h3>{provenance}</div>'
        f"<div><h3>Spec source</h3>{source}</div></div></section>"
    )


def _difficulty_table(spec: SpecResult) -> str:
    """Which strategy wins per difficulty bin at matched samples (empty without bins)."""
    if not spec.difficulty:
        return ""
    strategies = [
        k for k in spec.difficulty[0] if k not in ("difficulty", "problems", "k", "winner")
    ]
    head = "".join(f"<th class='num'>{escape(s)}</th>" for s in strategies)
    body = []
    for row in spec.difficulty:
        cells = "".join(
            f"<td class='num'>{'<b>' if s in row['winner'].split(' = ') else ''}{row[s]:.3f}</td>"
            for s in strategies
        )
        body.append(
            f"<tr><td>{escape(str(row['difficulty']))}</td><td class='num'>{row['problems']}"
            f"</td><td class='num'>{row['k']}</td>{cells}<td>{escape(row['winner'])}</td></tr>"
        )
    return (
        "<h3>By difficulty</h3><p class='muted'>accuracy of each strategy on the problems of "
        "each difficulty bin at k samples per problem (matched samples); bold: the best</p>"
        "<table class='expectations'><thead><tr><th>difficulty</th><th class='num'>problems"
        f"</th><th class='num'>k</th>{head}<th>winner</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def render_html(results: RunResults) -> str:
    """The report of ``results`` as one HTML document (a string)."""
    from pygments.formatters import HtmlFormatter

    counts = results.counts()
    nav_rows = "".join(
        f'<tr><td><a href="#spec-{i}">{escape(s.name)}</a></td><td>{escape(s.model)}</td>'
        f'<td class="num">{count(s.pools.samples)}</td><td class="num">{si(s.pools.flops)}</td>'
        f"<td>{_badges(s.counts())}</td></tr>"
        for i, s in enumerate(results.specs, start=1)
    )
    nav = (
        "<nav><table><thead><tr><th>spec</th><th>model</th><th class='num'>samples</th>"
        f"<th class='num'>FLOPs</th><th>expectations</th></tr></thead><tbody>{nav_rows}"
        "</tbody></table></nav>"
    )
    m = results.machine
    machine = f"{m.platform}, {m.cpu_count} CPUs" + (f", {m.accelerator}" if m.accelerator else "")
    sections = "".join(_spec_section(i, s) for i, s in enumerate(results.specs, start=1))
    # Pygments' rules first, so that ours (the highlighted-line colour) win
    css = HtmlFormatter(style="default").get_style_defs(".tts-src") + _CSS
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>pytest-tts report</title><style>{css}</style></head><body>"
        f"<header><h1>pytest-tts report</h1>"
        f'<div class="muted">{escape(results.started)} → {escape(results.finished)} · '
        f"pytest-tts {escape(results.pytest_tts_version)} · {escape(machine)}</div>"
        f"<p>{len(results.specs)} spec{'s' * (len(results.specs) != 1)}: "
        f"{_badges(counts)}</p>{nav}</header>"
        f"<main>{sections}</main>"
        f"<footer>Written by pytest-tts {escape(results.pytest_tts_version)}. "
        "This file is self-contained: it loads nothing from the network.</footer>"
        "</body></html>\n"
    )


def write_html(results: RunResults, path: str | os.PathLike[str]) -> Path:
    """Write the HTML report of ``results`` to ``path`` (parent folders are created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(results)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
