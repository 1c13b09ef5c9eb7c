"""Step-wise search strategies: generation guided by a process verifier, step by step.

Unlike selection strategies (``pytest_tts.strategies``), which choose among a pool of full
samples, a search strategy generates its own text one step at a time through the spec's
backend. Each round asks the engine, in one batched call, for continuations of every open
prefix of every problem, stopping at the step delimiter; every continuation is stored in
the sample store like a sample (so a re-run generates nothing) and honours
``--tts-offline``. The run recognises a search strategy by the :class:`SearchStrategy`
protocol (``search_curve(context)``) and hands it a :class:`SearchContext`
(``contract.py``).

The process verifier's verdicts on partial paths, and the oracle's on final answers, are
cached in the store too, under the continuation that ends each path: a warm re-run calls
no verifier.

``beam.py`` holds beam search and lookahead search, ``particles.py`` particle filtering;
what they share is split by concern: ``loop.py`` (the round loop), ``sampling.py`` (step
continuations through the store), ``verdicts.py`` (cached verdicts on paths), ``paths.py``
(draws, paths, scores) and ``cost.py`` (cost accounting and the curve).
"""

from pytest_tts.search.contract import SearchContext, SearchStrategy, is_search_strategy

__all__ = ["SearchContext", "SearchStrategy", "is_search_strategy"]
