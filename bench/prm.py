"""A learned PRM against the perfect one: search and selection at matched FLOPs, step measures.

Runs ``specs/search.tts`` (the bundled model on 60 test problems; the learned
``models/tiny-prm`` and the rule ``step_check``, which knows the reference steps) through the
script API, then tabulates, at matched FLOPs per problem (the PRM's own FLOPs included;
piecewise linear in log FLOPs, "-" outside a curve's range):

- beam search with the learned PRM, best-of-N with it, beam search and best-of-N with
  ``step_check``, majority vote and one sample;
- the learned PRM's step measures against ``step_check`` on the pool (ProcessBench
  first-error accuracy, right-trace accuracy, F1; expected calibration error) with their
  cluster-bootstrap bounds, and its reliability bins.

Run: ``python bench/prm.py [--write]`` (``--write`` appends to bench/RESULTS.md). Samples,
search paths and verdicts come from the store (``.tts-cache``) when a run filled it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

from pytest_tts.run import Settings, run_specs  # noqa: E402

SPEC = ROOT / "specs" / "search.tts"
COLUMNS = {
    "beam, learned PRM": "beam_search(prm = prm, width = 4, expansions = 2)",
    "best-of-N, learned PRM": "best_of_n(verifier = prm)",
    "beam, step_check": "beam_search(prm = steps, width = 4, expansions = 2)",
    "best-of-N, step_check": "best_of_n(verifier = steps)",
    "majority vote": "majority_vote",
}


def at(curve: Any, flops: float) -> str:
    costs = np.asarray(curve.cost_flops, dtype=float)
    if not costs.size or flops < costs.min() or flops > costs.max():
        return "-"
    value = np.interp(np.log(flops), np.log(costs), np.asarray(curve.mean, dtype=float))
    return f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run_specs([SPEC], Settings(rootdir=ROOT))
    wall = time.perf_counter() - started
    curves = {c.strategy: c for s in results.specs for c in s.curves}
    missing = [s for s in COLUMNS.values() if s not in curves]
    if missing:
        print(f"missing curves: {missing}", file=sys.stderr)
        return 1
    grid = [1e8, 1.5e8, 2e8, 3e8, 4e8, 4.5e8, 6e8, 8e8, 1.2e9, 1.5e9]
    rows = [[f"{f:.2g}", *(at(curves[s], f) for s in COLUMNS.values())] for f in grid]
    points = []
    for label in ("beam, learned PRM", "beam, step_check"):
        c = curves[COLUMNS[label]]
        points += [
            [label, int(k), f"{m:.3f}", f"{f:.3g}"]
            for k, m, f in zip(c.ks, c.mean, c.cost_flops or (), strict=False)
        ]
    step_items = [e for s in results.specs for e in s.expectations if e.kind == "step_metric"]
    measures_rows = []
    reliability: list[Any] = []
    for e in step_items:
        values = e.properties["values"]
        measures_rows.append([e.text, f"{e.properties['bound']:.3f}", e.outcome])
        reliability = e.properties["reliability"]
    if step_items:
        values = step_items[0].properties["values"]
        counts = step_items[0].properties["counts"]
    out = [
        "## A learned PRM against the perfect one (`bench/prm.py`)",
        "",
        f"Machine: 2-core x86_64 CPU, 24 GiB; date 2026-12-06; vLLM 0.32.0 (CPU build); "
        f"{wall:.0f} s wall (samples, paths and verdicts from the store when present). "
        "`specs/search.tts`: models/tiny-arith on 60 test problems, 16 samples each; the "
        "learned PRM is models/tiny-prm (step pooling, its FLOPs included in every strategy "
        "that reads it), step_check the rule that knows the reference steps.",
        "",
        "Accuracy at matched FLOPs per problem (interpolated in log FLOPs; '-' outside a "
        "curve's range):",
        "",
        tabulate(rows, headers=["FLOPs/problem", *COLUMNS], tablefmt="github"),
        "",
        tabulate(
            points, headers=["search", "width", "accuracy", "FLOPs/problem"], tablefmt="github"
        ),
    ]
    if step_items:
        out += [
            "",
            f"The learned PRM's steps against step_check on the pool ({counts['wrong_traces']} "
            f"wrong and {counts['right_traces']} right traces, {counts['steps']} steps, "
            f"{counts['problems']} problems): first wrong step found "
            f"{values['first_error_accuracy']:.3f}, right traces left unflagged "
            f"{values['right_trace_accuracy']:.3f}, F1 {values['first_error_f1']:.3f}, "
            f"expected calibration error {values['step_calibration_error']:.3f}.",
            "",
            tabulate(
                measures_rows,
                headers=["expectation", "0.95 bound (cluster bootstrap)", "outcome"],
                tablefmt="github",
            ),
            "",
            tabulate(
                [[f"{s:.3f}", f"{r:.3f}", n] for s, r, n in reliability],
                headers=["mean step score", "share of steps right", "steps"],
                tablefmt="github",
            ),
        ]
    text = "\n".join(out) + "\n"
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
