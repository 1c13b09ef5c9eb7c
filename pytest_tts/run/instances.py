"""Stage 0, instances: the plugin objects a run builds from checked specs, and their end.

In: the registry (names -> factories), the rootdir, and the FLOPs hook (None when only the
built-in FLOPs model is registered). Out: backends per model call and folder, verifiers per
call and folder, strategy objects, FLOPs functions per backend. Backends and model-based
verifiers hold engines: :meth:`Instances.close` shuts every one down.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tts.errors import TTSError
from pytest_tts.spec import ModelRef, PluginCall, VerifierRef

if TYPE_CHECKING:
    from pytest_tts.backends.base import Backend
    from pytest_tts.registry import Registry
    from pytest_tts.search.contract import FlopsFn

# pytest_tts_count_flops(model_config=, prompt_tokens=, completion_tokens=, n_samples=)
CountFlops = Callable[..., float | None]


class Instances:
    """Backends, verifiers and strategies built once per call text and folder."""

    def __init__(
        self, registry: Registry, rootdir: Path, count_flops: CountFlops | None = None
    ) -> None:
        self.registry = registry
        self.rootdir = rootdir
        self.count_flops = count_flops
        self.backends: dict[tuple[str, str], Backend] = {}
        self.backend_errors: dict[tuple[str, str], TTSError] = {}
        self.verifiers: dict[tuple[str, str], Any] = {}

    def backend(self, model: ModelRef, base_dir: Path) -> Backend:
        """The backend of ``model`` (paths relative to ``base_dir``); a factory that failed
        fails again with the same error, without a second try."""
        key = (str(base_dir), model.backend.text or repr(model.backend))
        if key in self.backend_errors:
            raise self.backend_errors[key]
        if key not in self.backends:
            factory = self.registry.get("backend", model.backend.name)
            try:
                self.backends[key] = factory(
                    *model.backend.args, base_dir=base_dir, **dict(model.backend.kwargs)
                )
            except TTSError as exc:
                self.backend_errors[key] = exc
                raise
        return self.backends[key]

    def provenance(self, model: ModelRef, base_dir: Path) -> dict[str, Any]:
        """The backend's provenance, or an empty dict when it cannot say."""
        try:
            return dict(self.backend(model, base_dir).provenance())
        except TTSError:
            return {}

    def verifier(self, ref: VerifierRef, base_dir: Path | None = None) -> Any:
        """The verifier instance of ``ref``, one per call text and folder for the run.

        Model-based verifiers (reward models, judges) hold an engine, so they are built
        once and closed with the run. A factory with a ``base_dir`` parameter gets the
        spec's folder (paths in the spec are relative to it, like a model's).
        """
        call = ref.verifier
        folder = base_dir if base_dir is not None else self.rootdir
        key = (str(folder), call.text or repr(call))
        if key not in self.verifiers:
            factory = self.registry.get("verifier", call.name)
            kwargs = dict(call.kwargs)
            if _takes_base_dir(factory):
                kwargs["base_dir"] = folder
            self.verifiers[key] = factory(*call.args, **kwargs)
        return self.verifiers[key]

    def strategy(self, call: PluginCall) -> Any:
        """A new strategy object for ``call`` (strategy arguments built first)."""
        factory = self.registry.get("strategy", call.name)
        args = [self.strategy(a) if _is_strategy(a) else a for a in call.args]
        kwargs = {k: self.strategy(v) if _is_strategy(v) else v for k, v in call.kwargs.items()}
        return factory(*args, **kwargs)

    def flops_fn(self, backend: Backend) -> FlopsFn | None:
        """FLOPs of ``(prompt_tokens, completion_tokens, k)`` for the backend's model, or None
        when its config is unknown."""
        try:
            config = backend.model_config()
        except TTSError:
            return None
        if not config:
            return None
        hook = self.count_flops
        if hook is None:
            # only the built-in FLOPs model: its vectorized form costs one call per curve
            from pytest_tts.estimate.flops import flops_from_config

            return flops_from_config(config)

        def flops(prompt_tokens: float, completion_tokens: float, k: int) -> float:
            value = hook(
                model_config=config,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                n_samples=k,
            )
            return math.nan if value is None else float(value)

        return flops

    def close(self) -> None:
        """Shut down every backend and verifier that holds an engine; errors are swallowed
        so that one failing engine does not keep the others running."""
        for backend in self.backends.values():
            with contextlib.suppress(Exception):
                backend.close()
        self.backends.clear()
        for verifier in self.verifiers.values():
            close = getattr(verifier, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
        self.verifiers.clear()


def _takes_base_dir(factory: Any) -> bool:
    try:
        return "base_dir" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def _is_strategy(value: Any) -> bool:
    return isinstance(value, PluginCall) and value.kind == "strategy"
