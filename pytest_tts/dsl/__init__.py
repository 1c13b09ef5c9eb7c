"""The spec language: parse ``.tts`` files, check them, format them.

::

    from pytest_tts.dsl import load_spec_file
    from pytest_tts.registry import build_registry

    checked = load_spec_file("specs/addition.tts", build_registry())

``parse``/``parse_file`` give the syntax tree (:mod:`pytest_tts.dsl.ast`), ``check`` turns
it into the checked specs of :mod:`pytest_tts.spec`, ``format_source`` lays it out.
"""

from __future__ import annotations

from pytest_tts.dsl.checker import check, load_spec_file
from pytest_tts.dsl.formatter import format_file, format_module, format_source
from pytest_tts.dsl.parser import parse, parse_file

__all__ = [
    "check",
    "format_file",
    "format_module",
    "format_source",
    "load_spec_file",
    "parse",
    "parse_file",
]
