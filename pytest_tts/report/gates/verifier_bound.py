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
    elif r.per_problem:
        headline = (
            f"{claim}: {label} {fmt(target['rate'])} per problem over {target['problems']} "
            f"problems ({target['errors']}/{target['trials']} samples), "
            f"{side} {confidence:g} bound {fmt(target['bound'])}"
        )
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
    bound_key = f"{'betting' if r.per_problem else 'CP'} {side} {confidence:g} bound"
    rows: list[dict[str, Any]] = []
    for name, rate in r.rates.items():
        rows.append(
            {
                "rate": _DESCRIPTIONS[name],
                "errors / trials": f"{rate['errors']} / {rate['trials']}",
                "estimate": rate["rate"],
                bound_key: rate["bound"] if rate["trials"] else None,
                "problems": rate["problems"] if r.per_problem else None,
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
                "problems": None,
                "tested": "",
            }
        )
    if r.per_problem:
        method = (
            f"one-sided {side} hedged-capital betting bound (Waudby-Smith & Ramdas 2024) on "
            "the per-problem rates: the mean, over problems with such samples, of the share "
            "the verifier gets wrong"
        )
        assumption = "problems independent; samples within a problem may be correlated"
    else:
        method = f"Clopper-Pearson one-sided {side} bound (exact binomial)"
        assumption = "every judged sample an independent trial"
        notes.append(
            "plain Clopper-Pearson: samples of one problem are correlated in practice; pass "
            "[problems, samples] verdicts to bound the per-problem rate instead"
        )
    hint = ""
    if not r.passed and r.estimate_passes:
        unit = "problems" if r.per_problem else "samples"
        count = target["problems"] if r.per_problem else target["trials"]
        hint = (
            f"the estimate meets the claim but the bound does not: {count} {unit} hold "
            f"samples where the {given}, too few to bound the rate at {fmt(r.value)} with "
            f"confidence {confidence:g}; more {unit} narrow the bound"
            + (" (more samples of the same problems hardly do)" if r.per_problem else "")
        )
    return GateText(
        passed=r.passed,
        hint=hint,
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
