"""Hook specifications of pytest-tts.

Implement these in a ``conftest.py``, a pytest plugin, or a package with a ``pytest_tts``
entry point, with ``@pytest.hookimpl`` (or ``pluggy.HookimplMarker("pytest")``). pytest-tts's
own strategies, verifiers, backends and dataset sources are registered through the very same
hooks (see ``pytest_tts.builtins``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pytest_tts.registry import Registry

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_tts_register(registry: Registry) -> None:
    """Register strategies, verifiers, backends, dataset sources and answer extractors.

    Called once per session (and once per ``pytest-tts`` command) before any spec file is
    checked, so every name a spec uses must be registered here.

    :param registry:
        The :class:`pytest_tts.registry.Registry` to fill. Use ``registry.add_strategy(name,
        factory)``, ``add_verifier``, ``add_backend``, ``add_source`` or ``add_extractor``.
        ``factory`` is a callable or a lazy ``"module:attribute"`` path; prefer the path for
        anything that imports heavy libraries, so that ``pytest --collect-only`` stays fast
        and never imports vLLM or torch. Spec arguments are bound to the factory's keyword
        parameters, and the checker reports arguments the factory does not accept.
        Registering an existing (kind, name) replaces it; the latest registration wins, so a
        ``conftest.py`` can override a built-in.
    """


@hookspec(firstresult=True)
def pytest_tts_count_flops(
    model_config: dict[str, Any], prompt_tokens: int, completion_tokens: int, n_samples: int
) -> float | None:
    """Count the FLOPs of generating ``n_samples`` completions for one prompt.

    The first non-None result wins; the built-in implementation follows Kaplan et al. (2020):
    about 2·N non-embedding parameters plus the attention term per token, prefill counted once
    per prompt when the samples share it.

    :param model_config: the model's ``config.json`` as a dict.
    :param prompt_tokens: tokens of the prompt (prefill).
    :param completion_tokens: tokens generated, summed over all ``n_samples`` completions.
    :param n_samples: how many completions shared this prompt's prefill.
    :returns: total FLOPs, or None to let the next implementation decide.
    """
