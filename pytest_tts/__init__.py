"""pytest-tts: test-time-scaling specs as pytest build gates.

Importing this package is cheap: it never imports vLLM or torch. Heavy dependencies load
lazily inside the backend that needs them.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
