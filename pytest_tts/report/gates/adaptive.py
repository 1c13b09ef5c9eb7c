"""The words of an adaptive decision (``pytest_tts.gates.adaptive.AdaptiveThresholdResult``)."""

from __future__ import annotations

from typing import Any

from pytest_tts.report.gates.text import GateText, budget_text, fmt


def render_adaptive_threshold(r: Any) -> GateText:
    using = f" using {r.strategy}" if r.strategy else ""
    where = f" at {budget_text('n', *r.budget_n)}" if r.budget_n is not None else ""
    claim = f"{r.metric} {r.op} {fmt(r.value)}{where}{using}"
    best = r.best
    side = "lower" if r.op in (">=", ">") else "upper"
    bound = float(r.lower[best] if side == "lower" else r.upper[best])
    verdict = "passes" if r.passed else "fails"
    seen = f"{r.problems_seen:,} of {r.problems_total:,} problems"
    how = (
        f"decided after {seen}, anytime-valid at {r.confidence:g}: {verdict}"
        if r.decided
        else f"undecided after {seen}"
    )
    if r.passed or not r.decided:
        detail = f"{side} bound {fmt(bound)} at k = {int(r.ks[best])}"
    else:  # failed: every point's opposite bound is on the wrong side
        opposite = float(r.upper.max()) if side == "lower" else float(r.lower.min())
        detail = f"{'upper' if side == 'lower' else 'lower'} bound {fmt(opposite)} at best"
    rows = [
        {
            "k": int(k),
            r.metric: float(m),
            "lower CS": float(lo),
            "upper CS": float(hi),
            "selected": "<-" if j == best else "",
        }
        for j, (k, m, lo, hi) in enumerate(zip(r.ks, r.means, r.lower, r.upper, strict=True))
    ]
    points = len(r.ks)
    method = (
        "predictable plug-in empirical-Bernstein confidence sequence over problems in a "
        "seeded random order (Waudby-Smith & Ramdas 2024)"
        + (f", union bound over {points} points within budget" if points > 1 else "")
    )
    return GateText(
        passed=r.passed,
        kind="threshold",
        headline=f"{claim}: {how} ({detail})",
        rows=rows,
        confidence=r.confidence,
        method=method,
        error_rate=(
            f"a wrong decision (passing a false claim, or failing a true one) has probability "
            f"at most {1 - r.confidence:.3g}, whenever the run stops"
        ),
        data={
            "adaptive": True,
            "decided_after": r.problems_seen,
            "problems_total": r.problems_total,
            "trajectory": [list(t) for t in r.trajectory],
            "threshold": r.value,
            "op": r.op,
        },
    )


def _point(r: Any, j: int) -> str:
    """Where a comparison point lies: ``k = 4`` at matched n, ``1.2e+09 flops`` else."""
    return f"k = {int(r.ks[j])}" if r.unit == "n" else f"{fmt(float(r.ks[j]))} {r.unit}"


def render_adaptive_comparison(r: Any) -> GateText:
    claim = f"{r.left} {r.op} {r.right} at matched {r.unit}"
    seen = f"{r.problems_seen:,} of {r.problems_total:,} problems"
    verdict = "passes" if r.passed else "fails"
    worst = r.worst
    how = (
        f"decided after {seen}, anytime-valid at {r.confidence:g}: {verdict}"
        if r.decided
        else f"undecided after {seen}"
    )
    detail = (
        f"difference {fmt(float(r.diffs[worst]))} at {_point(r, worst)}, "
        f"CS [{fmt(float(r.lower[worst]))}, {fmt(float(r.upper[worst]))}]"
    )
    matched = (
        f"; {r.unit} matched at the mean costs of the first {r.pilot:,} problems, which "
        "are left out of the CS"
        if r.pilot
        else ""
    )
    rows = [
        {
            ("k" if r.unit == "n" else r.unit): int(k) if r.unit == "n" else float(k),
            "difference": float(d),
            "lower CS": float(lo),
            "upper CS": float(hi),
            "closest": "<-" if j == worst else "",
        }
        for j, (k, d, lo, hi) in enumerate(zip(r.ks, r.diffs, r.lower, r.upper, strict=True))
    ]
    return GateText(
        passed=r.passed,
        kind="comparison",
        headline=f"{claim}: {how} ({detail})",
        rows=rows,
        confidence=r.confidence,
        method=(
            "predictable plug-in empirical-Bernstein confidence sequence of the paired "
            "per-problem difference in [-1, 1], problems in a seeded random order (Waudby-Smith "
            "& Ramdas 2024); passing needs every point (intersection-union), failing one "
            f"(union bound over {len(r.ks)}){matched}"
        ),
        error_rate=(
            f"a wrong decision (passing a false claim, or failing a true one) has probability "
            f"at most {1 - r.confidence:.3g}, whenever the run stops"
            + (f", for the claim at the {r.unit} matched on the first problems" if r.pilot else "")
        ),
        data={
            "adaptive": True,
            "decided_after": r.problems_seen,
            "problems_total": r.problems_total,
            "trajectory": [list(t) for t in r.trajectory],
            "op": r.op,
            "unit": r.unit,
            "matched_on": r.pilot,
        },
    )


def render_adaptive_rate(r: Any) -> GateText:
    claim = f"{r.metric}({r.verifier_name}) {r.op} {fmt(r.value)}"
    seen = f"{r.problems_seen:,} of {r.problems_total:,} problems"
    verdict = "passes" if r.passed else "fails"
    how = (
        f"decided after {seen}, anytime-valid at {r.confidence:g}: {verdict}"
        if r.decided
        else f"undecided after {seen}"
    )
    return GateText(
        passed=r.passed,
        kind="verifier_bound",
        headline=(
            f"{claim}: {how} (rate {fmt(r.rate)} per problem over {r.problems} problems, "
            f"{r.errors}/{r.trials} samples; CS [{fmt(float(r.lower[0]))}, "
            f"{fmt(float(r.upper[0]))}])"
        ),
        rows=[
            {
                "errors / trials": f"{r.errors} / {r.trials}",
                "problems": r.problems,
                "rate per problem": r.rate,
                "lower CS": float(r.lower[0]),
                "upper CS": float(r.upper[0]),
            }
        ],
        confidence=r.confidence,
        method=(
            "predictable plug-in empirical-Bernstein confidence sequence of the mean of the "
            "per-problem rates (each problem's share of its samples the verifier gets wrong), "
            "problems in a seeded random order (Waudby-Smith & Ramdas 2024)"
        ),
        error_rate=(
            f"a wrong decision (passing a false claim, or failing a true one) has probability "
            f"at most {1 - r.confidence:.3g}, whenever the run stops"
        ),
        data={
            "adaptive": True,
            "decided_after": r.problems_seen,
            "problems_total": r.problems_total,
            "trajectory": [list(t) for t in r.trajectory],
            "threshold": r.value,
            "op": r.op,
        },
    )


def render_adaptive_regression(r: Any) -> GateText:
    using = f" using {r.strategy}" if r.strategy else ""
    monotone = r.kind == "monotone"
    claim = (
        f"{r.metric}{using} is monotone in n within {fmt(r.tolerance)}"
        if monotone
        else f"no regression of {r.metric}{using} against baseline within {fmt(r.tolerance)}"
    )
    seen = f"{r.problems_seen:,} of {r.problems_total:,} problems"
    verdict = "passes" if r.passed else "fails"
    how = (
        f"decided after {seen}, anytime-valid at {r.confidence:g}: {verdict}"
        if r.decided
        else f"undecided after {seen}"
    )
    w = r.worst
    rows = [
        {"k": int(k), "drop": float(d), "lower CS": float(lo), "upper CS": float(hi)}
        for k, d, lo, hi in zip(r.ks, r.drops, r.lower, r.upper, strict=True)
    ]
    into = " (from the point before)" if monotone else ""
    drop = "the point before - this point" if monotone else "baseline - current"
    return GateText(
        passed=r.passed,
        kind="monotone" if monotone else "regression",
        headline=(
            f"{claim}: {how} (largest drop bound {fmt(float(r.upper[w]))} at k = "
            f"{int(r.ks[w])}{into}; mean drop {fmt(float(r.drops[w]))})"
        ),
        rows=rows,
        confidence=r.confidence,
        method=(
            "predictable plug-in empirical-Bernstein confidence sequence of the paired "
            f"per-problem drop ({drop}) in [-1, 1], problems in a seeded random order "
            "(Waudby-Smith & Ramdas 2024); failing needs one k beyond the tolerance (union "
            f"bound over {len(r.ks)}), passing every k within it"
        ),
        error_rate=(
            f"a wrong decision (failing without a drop beyond the tolerance, or passing with "
            f"one) has probability at most {1 - r.confidence:.3g}, whenever the run stops"
        ),
        data={
            "adaptive": True,
            "decided_after": r.problems_seen,
            "problems_total": r.problems_total,
            "trajectory": [list(t) for t in r.trajectory],
            "threshold": r.tolerance,
        },
    )
