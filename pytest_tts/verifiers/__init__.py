"""Verifiers: what a sample is worth.

A verifier is made by a factory registered under a name (``exact_match``, ``math_equivalence``,
``last_digit``, ``unit_tests``, ``weak_tests``) and called with the spec's arguments. The
object it returns follows :class:`pytest_tts.verifiers.base.Verifier`: ``identity()`` names it
(and keys its cached verdicts), ``verify(items)`` judges a batch of (problem, completion) pairs.

The spec's *oracle* is one of these used as ground truth; every other verifier of a spec is
something under test, which is what makes a false-positive rate measurable.
"""
