"""The terminal summary printed after a run: one row per spec, then a total line.

``render_summary`` returns text only; the plugin decides where it goes (a section of the
terminal reporter). Verbosity follows pytest's: ``-qq`` (−2) prints only the total line,
``-q`` (−1) a compact table, the default a full table, ``-v`` (1) adds one line per
expectation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from tabulate import tabulate

from pytest_tts.report.fmt import count, si
from pytest_tts.report.results import OUTCOMES, RunResults, SpecResult

_NAME_WIDTH = 36
_MARK = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR", "skipped": "SKIPPED"}


def _short(text: str, width: int = _NAME_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _outcomes(counts: dict[str, int], *, always: tuple[str, ...] = ()) -> str:
    parts = [f"{counts[o]} {o}" for o in OUTCOMES if counts[o] or o in always]
    return ", ".join(parts) if parts else "no expectations"


def total_line(results: RunResults) -> str:
    """One line for the whole run: specs, expectation outcomes, samples, tokens, FLOPs."""
    specs = results.specs
    counts = results.counts()
    generated = sum(s.pools.samples_generated for s in specs)
    reused = sum(s.pools.samples_reused for s in specs)
    tokens = sum(s.pools.tokens for s in specs)
    known = [s.pools.flops for s in specs if s.pools.flops is not None]
    unknown = len(specs) - len(known)
    flops = f"{si(sum(known))} FLOPs" if known or not specs else "FLOPs unknown"
    if known and unknown:
        flops += f" (unknown for {unknown} spec{'s' * (unknown != 1)})"
    n_exp = sum(counts.values())
    return (
        f"pytest-tts: {len(specs)} spec{'s' * (len(specs) != 1)}, "
        f"{n_exp} expectation{'s' * (n_exp != 1)} ({_outcomes(counts)}); "
        f"samples {count(generated)} generated, {count(reused)} reused; "
        f"{si(tokens)} tokens, {flops}"
    )


@dataclass(frozen=True)
class SearchCounts:
    """What step-wise search strategies and budget forcing did in a run: step continuations
    generated or read from the store, engine rounds, forced answers generated or read, and
    verdicts on paths and forced answers computed or read from the store."""

    generated: int = 0
    reused: int = 0
    rounds: int = 0
    verified: int = 0
    verdicts: int = 0
    forced_generated: int = 0
    forced_reused: int = 0

    @classmethod
    def total(cls, stats: Iterable[Any]) -> SearchCounts:
        """The sum of search strategies' ``stats`` (fields they lack count as 0)."""
        stats = list(stats)
        return cls(**{f.name: sum(int(getattr(s, f.name, 0)) for s in stats) for f in fields(cls)})


def search_line(counts: SearchCounts) -> str:
    """One line for the run's step-wise searches and budget forcing (their generations are
    in no pool's count)."""
    parts = []
    if counts.generated or counts.reused or counts.rounds:
        parts.append(
            f"step continuations {count(counts.generated)} generated, "
            f"{count(counts.reused)} reused in {count(counts.rounds)} rounds"
        )
    if counts.forced_generated or counts.forced_reused:
        parts.append(
            f"forced answers {count(counts.forced_generated)} generated, "
            f"{count(counts.forced_reused)} reused"
        )
    if not parts:
        parts.append("nothing generated")
    parts.append(
        f"verdicts {count(counts.verified)} computed, "
        f"{count(counts.verdicts - counts.verified)} cached"
    )
    return "pytest-tts search: " + "; ".join(parts)


def _flops(value: float | None) -> str:
    return "unknown" if value is None else si(value)


def _full_row(spec: SpecResult) -> list[object]:
    p = spec.pools
    return [
        _short(spec.name),
        spec.model,
        count(p.problems),
        count(p.samples_generated),
        count(p.samples_reused),
        si(p.tokens),
        _flops(p.flops),
        _outcomes(spec.counts(), always=("passed",)),
    ]


def _compact_row(spec: SpecResult) -> list[object]:
    p = spec.pools
    c = spec.counts()
    verdict = f"{c['passed']}/{sum(c.values())}"
    if c["failed"] or c["error"]:
        verdict += " FAILED" if c["failed"] else " ERROR"
    return [
        _short(spec.name, 32),
        spec.model,
        f"{count(p.samples_generated)}+{count(p.samples_reused)}",
        si(p.tokens),
        _flops(p.flops),
        verdict,
    ]


def render_summary(results: RunResults, verbosity: int = 0) -> str:
    """The summary text for ``results`` at pytest's ``verbosity`` (no trailing newline)."""
    total = total_line(results)
    if verbosity <= -2 or not results.specs:
        return total
    if verbosity == -1:
        headers = ["spec", "model", "samples new+reused", "tokens", "FLOPs", "passed"]
        table = tabulate(
            [_compact_row(s) for s in results.specs],
            headers=headers,
            tablefmt="plain",
            disable_numparse=True,
        )
        return f"{table}\n{total}"
    headers = [
        "spec",
        "model",
        "problems",
        "generated",
        "reused",
        "tokens",
        "FLOPs",
        "expectations",
    ]
    table = tabulate(
        [_full_row(s) for s in results.specs],
        headers=headers,
        tablefmt="simple",
        disable_numparse=True,
        colalign=("left", "left", "right", "right", "right", "right", "right", "left"),
    )
    lines = [table]
    if verbosity >= 1:
        for spec in results.specs:
            lines.append("")
            lines.append(f"{spec.name} ({spec.path}, model {spec.model})")
            for e in spec.expectations:
                where = f"{spec.path}:{e.line}" if e.line else spec.path
                line = f"  {_MARK[e.outcome]:<7} {where}  {e.text.strip()}"
                if e.headline:
                    line += f"\n          {e.headline}"
                lines.append(line)
    lines.append(total)
    return "\n".join(lines)


def adaptive_line(
    adaptive: Mapping[str, Mapping[str, int]], whole: Mapping[str, str] | None = None
) -> str:
    """The lines for ``--tts-adaptive``: pools stopped early, samples read against a fixed
    run, and each pool that was read whole with the reason (``whole``: pool label -> why)."""
    used = sum(c.get("samples_used", 0) for c in adaptive.values())
    fixed = sum(c.get("samples_fixed", 0) for c in adaptive.values())
    early = sum(1 for c in adaptive.values() if c.get("problems_used", 0) < c.get("problems", 0))
    saved = f" ({1 - used / fixed:.0%} saved)" if fixed else ""
    lines = [
        f"pytest-tts adaptive: {early} of {len(adaptive)} pool{'s' * (len(adaptive) != 1)} "
        f"stopped early; {count(used)} of {count(fixed)} samples read{saved}"
    ]
    lines += [f"  read whole: {label}: {why}" for label, why in sorted((whole or {}).items())]
    return "\n".join(lines)
