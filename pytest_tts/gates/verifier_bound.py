"""Verifier error-rate bounds and the accuracy ceiling they imply for resampling.

The oracle (ground truth) and the verifier under test judge the same samples. With
``oracle`` and ``verifier`` boolean arrays of the same shape (``[problems, samples]`` or
flat):

- false-positive rate ``FPR = P(verifier accepts | oracle rejects)``,
- false-negative rate ``FNR = P(verifier rejects | oracle accepts)``,

each with an exact Clopper–Pearson bound (``scipy.stats.beta`` quantiles) at the stated
confidence: the upper bound for ``<=``/``<`` claims, the lower bound for ``>=``/``>``.
Clopper–Pearson treats every judged sample as an independent trial; samples of the same
problem are correlated, which ``bench/gate_calibration.py`` measures (coverage on real pools).

The accuracy ceiling ("Inference Scaling fLaws"): resample a problem until the verifier
accepts, and answer with the accepted sample. A sample is correct with probability ``p``
(the problem's single-sample accuracy); it is accepted with probability ``p (1 - FNR)`` if
correct and ``(1 - p) FPR`` if wrong (verdicts depending on the sample only through its
correctness). Draws are independent, so the first accepted draw is distributed as any
draw conditioned on acceptance, and by Bayes' rule

    P(correct | accepted) = p (1 - FNR) / (p (1 - FNR) + (1 - p) FPR).

With unbounded samples some draw is accepted with probability 1 (when the denominator is
positive), so this is the problem's accuracy in the limit, whatever the budget: a verifier
with ``FPR > 0`` caps accuracy below 1 on every problem with ``p < 1``. A problem where no
sample can be accepted (denominator 0) never yields an answer and counts as wrong. The
reported ceiling is the mean over problems.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pytest_tts.gates._stats import OPS, check_level, norm_op
from pytest_tts.gates.result import GateResult, fmt

RateName = Literal["false_positive_rate", "false_negative_rate"]


def clopper_pearson(
    successes: ArrayLike, trials: ArrayLike, confidence: float, side: str = "two-sided"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact binomial interval (lo, hi) at ``confidence``; ``side`` lower/upper/two-sided.

    One-sided intervals are [lo, 1] or [0, hi]. ``trials == 0`` gives [0, 1].
    """
    check_level(confidence)
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(x < 0) or np.any(x > n):
        msg = "successes must lie in [0, trials]"
        raise ValueError(msg)
    tail = (1.0 - confidence) / 2 if side == "two-sided" else 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(tail, np.maximum(x, 1e-300), n - x + 1), 0.0)
        hi = np.where(x < n, stats.beta.ppf(1 - tail, x + 1, np.maximum(n - x, 1e-300)), 1.0)
    if side == "upper":
        lo = np.zeros_like(lo)
    elif side == "lower":
        hi = np.ones_like(hi)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def accuracy_ceiling(p: ArrayLike, fpr: float, fnr: float = 0.0) -> NDArray[np.float64]:
    """Per-problem accuracy of resampling until the verifier accepts (see the module doc)."""
    pa = np.asarray(p, dtype=np.float64)
    good = pa * (1.0 - fnr)
    bad = (1.0 - pa) * fpr
    denom = good + bad
    out: NDArray[np.float64] = np.where(denom > 0, good / np.where(denom > 0, denom, 1.0), 0.0)
    return out


def verifier_rates(oracle: ArrayLike, verifier: ArrayLike) -> dict[str, int]:
    """Counts: oracle negatives/positives and the verifier's false positives/negatives."""
    o = np.asarray(oracle, dtype=bool)
    v = np.asarray(verifier, dtype=bool)
    if o.shape != v.shape:
        msg = f"oracle and verifier verdicts must have the same shape, got {o.shape} and {v.shape}"
        raise ValueError(msg)
    return {
        "negatives": int((~o).sum()),
        "false_positives": int((v & ~o).sum()),
        "positives": int(o.sum()),
        "false_negatives": int((~v & o).sum()),
    }


def check_verifier_bound(
    oracle: ArrayLike,
    verifier: ArrayLike,
    *,
    value: float,
    op: str = "<=",
    metric: RateName = "false_positive_rate",
    confidence: float = 0.95,
    verifier_name: str = "verifier",
) -> GateResult:
    """Is the verifier's FPR (or FNR) ``OP value``, by its Clopper–Pearson bound?

    ``oracle``/``verifier`` are boolean arrays of one shape; with two or more axes the first
    is problems (single-sample accuracy per problem, for the ceiling, is the oracle's mean
    over the others); a flat array is one pool and its ceiling uses the overall accuracy.
    """
    op = norm_op(op)
    if op == "=":
        msg = "a rate bound needs <=, <, >= or >, got '='"
        raise ValueError(msg)
    counts = verifier_rates(oracle, verifier)
    o = np.asarray(oracle, dtype=bool)
    side = "upper" if op in ("<=", "<") else "lower"
    notes: list[str] = []
    rates: dict[str, dict[str, Any]] = {}
    for name, errors, trials in (
        ("false_positive_rate", counts["false_positives"], counts["negatives"]),
        ("false_negative_rate", counts["false_negatives"], counts["positives"]),
    ):
        lo, hi = clopper_pearson(errors, trials, confidence, side)
        rates[name] = {
            "errors": errors,
            "trials": trials,
            "rate": errors / trials if trials else float("nan"),
            "bound": float(hi if side == "upper" else lo),
        }
    target = rates[metric]
    label = "FPR" if metric == "false_positive_rate" else "FNR"
    given = "oracle rejects" if metric == "false_positive_rate" else "oracle accepts"
    claim = f"{metric}({verifier_name}) {op} {fmt(float(value))}"
    if target["trials"] == 0:
        passed = False
        headline = f"{claim}: cannot be measured: no sample where the {given}"
    else:
        passed = OPS[op](target["bound"], float(value))
        headline = (
            f"{claim}: {label} {fmt(target['rate'])} ({target['errors']}/{target['trials']}), "
            f"{side} {confidence:g} bound {fmt(target['bound'])}"
        )

    fpr = rates["false_positive_rate"]
    fnr = rates["false_negative_rate"]
    if o.ndim >= 2:
        p = o.reshape(o.shape[0], -1).mean(axis=1)
    else:
        p = np.array([o.mean()]) if o.size else np.array([0.0])
        notes.append("flat verdicts: the ceiling uses the overall single-sample accuracy")
    fnr_rate = 0.0 if np.isnan(fnr["rate"]) else float(fnr["rate"])
    ceilings: dict[str, float] = {}
    if fpr["trials"]:
        ceilings["observed"] = float(accuracy_ceiling(p, float(fpr["rate"]), fnr_rate).mean())
        _, fpr_hi = clopper_pearson(fpr["errors"], fpr["trials"], confidence, "upper")
        ceilings["at FPR upper bound"] = float(accuracy_ceiling(p, float(fpr_hi), fnr_rate).mean())
        if float(fpr["rate"]) > 0:
            headline += (
                f"; resampling until it accepts caps accuracy at {fmt(ceilings['observed'])} "
                f"(single sample {fmt(float(p.mean()))})"
            )
    rows: list[dict[str, Any]] = []
    descriptions = {
        "false_positive_rate": "FPR = P(accepts | oracle rejects)",
        "false_negative_rate": "FNR = P(rejects | oracle accepts)",
    }
    for name, r in rates.items():
        rows.append(
            {
                "rate": descriptions[name],
                "errors / trials": f"{r['errors']} / {r['trials']}",
                "estimate": r["rate"],
                f"CP {side} {confidence:g} bound": r["bound"] if r["trials"] else None,
                "tested": "<-" if name == metric else "",
            }
        )
    for name, ceiling in ceilings.items():
        rows.append(
            {
                "rate": f"accuracy ceiling ({name})",
                "errors / trials": "",
                "estimate": ceiling,
                f"CP {side} {confidence:g} bound": None,
                "tested": "",
            }
        )
    notes.append(
        "Clopper-Pearson counts every judged sample as an independent trial; samples of one "
        "problem are correlated, so the bound is exact only for independent samples"
    )
    return GateResult(
        passed=bool(passed),
        kind="verifier_bound",
        headline=headline,
        rows=rows,
        confidence=confidence,
        method=f"Clopper-Pearson one-sided {side} bound (exact binomial)",
        error_rate=(
            f"passes with probability at most {1 - confidence:.3g} when the true {label} "
            f"violates the bound (independent samples)"
        ),
        notes=tuple(notes),
        data={"rates": rates, "ceiling": ceilings, "single_sample_accuracy": float(p.mean())},
    )
