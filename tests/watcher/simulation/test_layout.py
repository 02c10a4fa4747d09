"""The simulation and the responders use one another's public names only.

`suite` once reached into `simulate` for `_Sim`, `_Crowd` and `_arrivals`; now what one
module offers another is public (`generate.Stream`, `Crowd`, `arrivals`). This walk keeps it
so: no `from ... import _private` and no `module._private` across modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

ROOTS = ("watcher/simulation", "responders")


def private_reaches(path: Path) -> list[str]:
    """Each import of, or attribute access to, another module's underscore name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    found = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__"
        for alias in node.names
        if alias.name.startswith("_")
    ]
    found += [
        f"{node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]
    return found


@pytest.mark.parametrize("root", ROOTS)
def test_no_module_uses_another_modules_private_names(root: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): private_reaches(path)
        for path in sorted((REPO / root).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_walk_sees_a_private_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from watcher.simulation import generate\nfrom x import _y\ngenerate._z\n")
    assert private_reaches(bad) == ["x._y", "generate._z"]
