"""Dataset sources: where problems come from (local files, HumanEval, reasoning-gym).

Each is a plugin registered in ``pytest_tts.builtins``; `pytest_tts.sources.base` holds the
contract (``load()``, ``content_hash()``) and the shared options (limit, shuffle, chat).
"""
