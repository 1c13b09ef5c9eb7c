"""Generation backends: the protocol (``base``) and one module per implementation.

``vllm`` (offline engine), ``openai`` (an OpenAI-compatible server, e.g. a vLLM cluster) and
``replay`` (samples generated elsewhere, from JSONL). Each registers itself in
``pytest_tts.builtins`` by a lazy path, so importing this package imports no engine.
"""
