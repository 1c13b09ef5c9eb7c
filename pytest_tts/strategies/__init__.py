"""Selection strategies: how k samples of a problem become one answer, and what that costs.

One module per family: ``coverage`` (pass@k and the single-sample baseline), ``order``
(best-of-N, worst-of-N, first-finish, self-certainty: exact order statistics), ``vote``
(majority, filtered and weighted votes) and ``frontier`` (the compute-optimal envelope).
``base`` holds the :class:`~pytest_tts.strategies.base.Strategy` protocol. Built-ins are
registered in :mod:`pytest_tts.builtins` by lazy path, like any user's strategy.
"""
