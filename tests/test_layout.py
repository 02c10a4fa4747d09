"""The house rules a reader relies on: every module says what it holds, and none sprawls.

A module over `MAX_LINES` must say why in its docstring, in a paragraph that starts with
`Long because`; anything else is a sign it holds two concerns and should be split.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("watcher", "detectors", "responders", "bench")
MAX_LINES = 350


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_opens_with_a_docstring(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{path.relative_to(REPO)} has no module docstring"
    assert len(docstring.split()) >= 4, f"{path.relative_to(REPO)}: say what the module holds"


def test_long_modules_say_why() -> None:
    sprawling = []
    for path in modules():
        source = path.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if len(source.splitlines()) > MAX_LINES and "Long because" not in docstring:
            sprawling.append(f"{path.relative_to(REPO)}: {len(source.splitlines())} lines")
    assert sprawling == []
