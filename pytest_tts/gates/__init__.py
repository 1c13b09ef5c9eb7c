"""Gates: statistical decisions over scaling curves, each returning a ``GateResult``.

Plain Python over numpy arrays; nothing here knows pytest. One module per kind of
expectation:

- ``threshold``: "metric >= x at budget" (the best point within budget);
- ``compare``: two curves at matched compute, interpolated in log cost;
- ``monotone``: no drop between consecutive budget points;
- ``verifier_bound``: false-positive / false-negative rate bounds and the accuracy ceiling
  an imperfect verifier implies for resampling;
- ``regression``: paired per-problem comparison against a stored baseline with
  family-wise error control;
- ``baseline``: the baseline files; ``planning``: sample-size planning.
"""

from __future__ import annotations

from pytest_tts.gates.result import GateResult

__all__ = ["GateResult"]
