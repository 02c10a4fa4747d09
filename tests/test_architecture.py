"""Dependencies point one way: watcher composes detectors and responders, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

FORBIDDEN = {
    "detectors": {"watcher", "responders", "asyncio", "aiohttp", "prometheus_client", "slack_sdk"},
    "responders": {"watcher", "detectors", "prometheus_client"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_inside_its_layer(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (REPO / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_detectors_read_no_clock() -> None:
    for path in (REPO / "detectors").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for banned in ("datetime.now", "time.time(", "time.monotonic("):
            assert banned not in source, f"{path.name} reads the clock via {banned}"
