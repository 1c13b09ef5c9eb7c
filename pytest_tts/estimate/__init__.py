"""Estimation: from a pool of N samples per problem to scaling curves with costs and intervals.

``pool`` holds the arrays every strategy reads, ``curves`` turns a strategy into a curve
(metric, bootstrap interval and cost per budget), ``flops`` counts compute from a model's
``config.json``, ``stats`` has the interval estimators, ``fits`` the coverage power law and
``frontier`` the compute-optimal envelope of several curves. Everything here is plain numpy
and scipy: no pytest, no engine.
"""
