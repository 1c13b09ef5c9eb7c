"""Step-wise search strategies: generation guided by a process verifier, step by step.

Unlike selection strategies (``pytest_tts.strategies``), which choose among a pool of full
samples, a search strategy generates its own text one step at a time through the spec's
backend. Each round asks the engine, in one batched call, for continuations of every open
prefix of every problem, stopping at the step delimiter; every continuation is stored in
the sample store like a sample (so a re-run generates nothing) and honours
``--tts-offline``. The session runs a strategy that has ``search_curve(context)`` this way
(see :class:`pytest_tts.session.SearchContext`).

The process verifier's verdicts on partial paths, and the oracle's on final answers, are
cached in the store too, under the continuation that ends each path: a warm re-run calls
no verifier.

``beam.py`` holds beam search and lookahead search, ``particles.py`` particle filtering,
``common.py`` what they share: the round loop, the step sampler, cached verdicts, cost
accounting and curve building.
"""
