"""pytest-tts's own plugins, registered through the same hook that users implement.

Targets are lazy ``"module:attribute"`` paths: registering costs no imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_tts.registry import Registry


@pytest.hookimpl
def pytest_tts_register(registry: Registry) -> None:
    # Each package section below is owned by the module it points at; keep them sorted.
    pass
