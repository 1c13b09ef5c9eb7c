"""The words of a verifier-rate bound (``pytest_tts.gates.verifier_bound``)."""

from __future__ import annotations

from typing import Any

from pytest_tts.report.gates.text import GateText, fmt

_DESCRIPTIONS = {
    "false_positive_rate": "FPR = P(accepts | oracle rejects)",
    "false_negative_rate": "FNR = P(rejects | oracle accepts)",
}


def render_verifier_bound(r: Any) -> GateText:
    side, confidence, metric = r.side, r.confidence, r.metric
    target = r.rates[metric]
    label = "FPR" if metric == "false_positive_rate" else "FNR"
    given = "oracle rejects" if metric == "false_positive_rate" else "oracle accepts"
    claim = f"{metric}({r.verifier_name}) {r.op} {fmt(r.value)}"
    if target["trials"] == 0:
        headline = f"{claim}: cannot be measured: no sample where the {given}"
    else:
        headline = (
            f"{claim}: {label} {fmt(target['rate'])} ({target['errors']}/{target['trials']}), "
            f"{side} {confidence:g} bound {fmt(target['bound'])}"
        )
    notes = []
    if r.flat:
        notes.append("flat verdicts: the ceiling uses the overall single-sample accuracy")
    fpr = r.rates["false_positive_rate"]
    if fpr["trials"] and float(fpr["rate"]) > 0:
        headline += (
            f"; resampling until it accepts caps accuracy at {fmt(r.ceilings['observed'])} "
            f"(single sample {fmt(r.single_sample_accuracy)})"
        )
    bound_key = f"CP {side} {confidence:g} bound"
    rows: list[dict[str, Any]] = []
    for name, rate in r.rates.items():
        rows.append(
            {
                "rate": _DESCRIPTIONS[name],
                "errors / trials": f"{rate['errors']} / {rate['trials']}",
                "estimate": rate["rate"],
                bound_key: rate["bound"] if rate["trials"] else None,
                "design effect": rate["design_effect"] if r.clustered else None,
                "tested": "<-" if name == metric else "",
            }
        )
    for name, ceiling in r.ceilings.items():
        rows.append(
            {
                "rate": f"accuracy ceiling ({name})",
                "errors / trials": "",
                "estimate": ceiling,
                bound_key: None,
                "design effect": None,
                "tested": "",
            }
        )
    if r.clustered:
        method = (
            f"Clopper-Pearson one-sided {side} bound at the effective sample size "
            "(Korn-Graubard: n / design effect over problem clusters)"
        )
        assumption = "problems independent, samples within a problem may be correlated"
    else:
        method = f"Clopper-Pearson one-sided {side} bound (exact binomial)"
        assumption = "every judged sample an independent trial"
        notes.append(
            "plain Clopper-Pearson: samples of one problem are correlated in practice; pass "
            "[problems, samples] verdicts to widen the bound for it"
        )
    return GateText(
        passed=r.passed,
        kind="verifier_bound",
        headline=headline,
        rows=rows,
        confidence=confidence,
        method=method,
        error_rate=(
            f"passes with probability at most {1 - confidence:.3g} when the true {label} "
            f"violates the bound ({assumption})"
        ),
        notes=tuple(notes),
        data={
            "rates": r.rates,
            "ceiling": r.ceilings,
            "single_sample_accuracy": r.single_sample_accuracy,
        },
    )
