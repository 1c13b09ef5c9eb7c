"""What a run is told by whoever starts it: :class:`Settings` (values) and :class:`Callbacks`
(how to show output).

The pytest glue (``pytest_tts.plugin``) builds both from options and ini values; a script
builds them by hand. Nothing in ``pytest_tts.run`` reads pytest's configuration.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pytest_tts.store import DEFAULT_CACHE_DIR


def resolve_cache_dir(value: str | Path | None, *, base: Path, rootdir: Path) -> Path:
    """The store folder from an option value: absolute as given, relative to ``base`` (where
    the command was invoked), or :data:`DEFAULT_CACHE_DIR` at ``rootdir`` when empty."""
    if value:
        path = Path(value)
        return path if path.is_absolute() else base / path
    return rootdir / DEFAULT_CACHE_DIR


# A spec with this tag opts its items into adaptive mode without --tts-adaptive.
ADAPTIVE_TAG = "adaptive"


@dataclass(frozen=True)
class Settings:
    """The options of one run.

    ``rootdir`` is the folder paths in results and messages are shown relative to (pytest's
    rootdir); ``cache_dir`` the sample store's folder (default :data:`DEFAULT_CACHE_DIR` at
    ``rootdir``). ``offline`` never generates: a missing sample fails its pool's items.
    ``update_baselines`` records the baselines of regression expectations instead of
    comparing; ``allow_provenance_mismatch`` compares against a baseline made under other
    provenance (flagged in the results). ``report`` and ``json`` are where the HTML report
    and the JSON results go (None: not written). ``adaptive`` fills pools in rounds and
    stops a pool once its items are decided (:mod:`pytest_tts.run.adaptive`); without it,
    only the pools every spec of which has ``tags adaptive`` (:data:`ADAPTIVE_TAG`) do.
    """

    rootdir: Path = field(default_factory=Path.cwd)
    cache_dir: Path | None = None
    offline: bool = False
    adaptive: bool = False
    update_baselines: bool = False
    allow_provenance_mismatch: bool = False
    report: Path | None = None
    json: Path | None = None

    @property
    def store_dir(self) -> Path:
        """The folder of the sample store."""
        return self.cache_dir if self.cache_dir is not None else self.rootdir / DEFAULT_CACHE_DIR


def _no_stream() -> IO[str] | None:
    return None


@dataclass(frozen=True)
class Callbacks:
    """How the run shows output while it works.

    ``live_output()`` is a context manager the run holds while it generates: output inside
    it must reach the user as it happens (pytest suspends its capture there).
    ``progress()`` is called once before a generation that has samples to make and returns
    the stream progress lines go to (None: standard error).
    """

    live_output: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
    progress: Callable[[], IO[str] | None] = _no_stream


@contextlib.contextmanager
def live(callbacks: Callbacks) -> Iterator[None]:
    """Hold ``callbacks.live_output()`` while engines work, with engine import noise off.

    vLLM and torch emit DeprecationWarnings and FutureWarnings on import; they are not the
    user's to fix, so they are silenced here rather than listed in every run's summary.
    """
    with callbacks.live_output(), warnings.catch_warnings():
        for module in ("torch", "vllm", "transformers"):
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
            warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        yield


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when below it, else as given (how results show paths)."""
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
