"""Fixtures shared by the watcher's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.cli import main


@pytest.fixture(scope="module")
def trafigura(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated Trafigura scenario as a posts file, written once per test module."""
    out = tmp_path_factory.mktemp("sim") / "trafigura.ndjson"
    assert main(["simulate", "--scenario", "trafigura", "--out", str(out)]) == 0
    return out
