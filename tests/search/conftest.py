"""The counting verifier, as a fixture, for the verdict-cache tests of search."""

from __future__ import annotations

import pytest

from tests.fakes import Counting


@pytest.fixture
def counting() -> type[Counting]:
    return Counting
