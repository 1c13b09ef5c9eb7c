"""Monotonicity: no drop between consecutive budget points larger than the tolerance.

Negative scaling (accuracy that falls as samples or tokens grow) shows up as a drop from
one budget point to the next. Without a confidence every observed drop beyond the
tolerance fails. With ``confidence c`` a drop counts only if it is significant: each
consecutive pair gets the paired one-sided test of the regression gate (H0: drop <=
tolerance), with Holm's adjustment (or the bootstrap max-T) across the pairs, so a flat or
rising curve fails with probability at most ``1 - c``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from pytest_tts.gates._stats import check_curve, check_level
from pytest_tts.gates.regression import RegressionMethod, regression_pvalues
from pytest_tts.gates.result import GateResult, fmt


def check_monotone(
    per_problem: ArrayLike,
    ks: ArrayLike,
    cost: ArrayLike | None = None,
    *,
    tolerance: float = 0.0,
    confidence: float | None = None,
    unit: str = "n",
    metric: str = "accuracy",
    strategy: str = "",
    method: RegressionMethod = "holm",
    resamples: int = 2000,
    seed: int = 0,
) -> GateResult:
    """Is the curve free of drops larger than ``tolerance`` between consecutive points?

    ``per_problem`` float[P, K] ordered by budget, ``ks`` int[K], ``cost`` float[K] (shown
    in the table; defaults to the ks). The worst drop is reported either way.
    """
    k_arr = np.asarray(ks)
    values, k, c = check_curve(per_problem, ks, k_arr if cost is None else cost)
    if tolerance < 0:
        msg = f"tolerance must be >= 0, got {tolerance!r}"
        raise ValueError(msg)
    using = f" using {strategy}" if strategy else ""
    claim = f"{metric}{using} is monotone in {unit}" + (
        f" within {fmt(float(tolerance))}" if tolerance else ""
    )
    if k.size < 2:
        return GateResult(
            passed=True,
            kind="monotone",
            headline=f"{claim}: only one budget point, nothing to compare",
            confidence=confidence,
            method="none",
            notes=("a single budget point cannot drop",),
        )
    drop = values[:, :-1] - values[:, 1:]
    means = values.mean(axis=0)
    mean_drop = drop.mean(axis=0)
    if confidence is not None:
        check_level(confidence)
        _, _, p_adj = regression_pvalues(
            drop, tolerance, method=method, resamples=resamples, seed=seed
        )
        bad = p_adj <= 1.0 - confidence
        method_text = (
            f"paired one-sided test per consecutive pair over {values.shape[0]} problems ("
            + (
                "t test, Holm-adjusted"
                if method == "holm"
                else f"bootstrap max-T, {resamples} resamples, seed {seed}"
            )
            + ")"
        )
        error_rate = (
            f"family-wise: fails with probability at most {1 - confidence:.3g} when no pair "
            f"drops by more than {fmt(float(tolerance))}"
        )
    else:
        p_adj = None
        bad = mean_drop > tolerance + 1e-12
        method_text = "observed drops (point estimates)"
        error_rate = "not controlled (point estimate); add `with confidence c` to test drops"
    rows: list[dict[str, Any]] = []
    for j in range(k.size - 1):
        row: dict[str, Any] = {
            "from k": int(k[j]),
            "to k": int(k[j + 1]),
            f"cost ({unit})": f"{fmt(float(c[j]))} -> {fmt(float(c[j + 1]))}",
            "from": float(means[j]),
            "to": float(means[j + 1]),
            "drop": float(mean_drop[j]),
        }
        if p_adj is not None:
            row["adjusted p"] = float(p_adj[j])
        row["verdict"] = "DROP" if bad[j] else "ok"
        rows.append(row)
    worst = int(np.argmax(mean_drop))
    worst_text = (
        f"worst drop {fmt(float(mean_drop[worst]))} from k = {k[worst]} to k = {k[worst + 1]}"
        if mean_drop[worst] > 0
        else "no drop"
    )
    if bad.any():
        headline = f"{claim}: {int(bad.sum())} drop(s) beyond the tolerance; {worst_text}"
    else:
        headline = f"{claim}: holds; {worst_text}"
    return GateResult(
        passed=not bool(bad.any()),
        kind="monotone",
        headline=headline,
        rows=rows,
        confidence=confidence,
        method=method_text,
        error_rate=error_rate,
        data={"worst_drop": float(mean_drop[worst]), "worst_from_k": int(k[worst])},
    )
