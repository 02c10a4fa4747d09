"""Each package states its public API in `__all__`, sorted, and only that.

Like httpx's tests/test_exported_members.py: a name added to or dropped from a package's API
is a visible decision, not an accident of an import.

- `detectors` and the `responders` packages are libraries: their `__init__` binds the public
  names, every one is in `__all__`, and every name in `__all__` resolves.
- `watcher`'s packages are rooms of the composition root: their `__all__` lists the room's
  modules, every module in the folder and nothing else, without importing them (so
  `groundswell check` does not pay for aiohttp, and a reader sees what the room holds).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import detectors
import responders
import watcher


def packages(root: object) -> list[str]:
    name = root.__name__  # type: ignore[attr-defined]
    found = pkgutil.walk_packages(root.__path__, f"{name}.")  # type: ignore[attr-defined]
    return [name, *sorted(info.name for info in found if info.ispkg)]


LIBRARIES = [*packages(detectors), *packages(responders)]
ROOMS = packages(watcher)
#: Helpers a lazy `__init__` binds for itself (PEP 562), not part of the API.
PLUMBING = {"annotations", "importlib", "TYPE_CHECKING", "Any"}


def test_every_package_is_checked() -> None:
    assert LIBRARIES == [
        "detectors",
        "responders",
        "responders.brief",
        "responders.channels",
        "responders.delivery",
        "responders.slack",
    ]
    assert ROOMS == [
        "watcher",
        "watcher.cluster",
        "watcher.commands",
        "watcher.http",
        "watcher.pipeline",
        "watcher.playbooks",
        "watcher.service",
        "watcher.simulation",
        "watcher.sources",
    ]


def isort_style(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions and modules."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("package", LIBRARIES + ROOMS)
def test_all_is_sorted(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__, key=isort_style)


@pytest.mark.parametrize("package", LIBRARIES)
def test_every_name_resolves_and_every_public_member_is_in_all(package: str) -> None:
    module = importlib.import_module(package)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
    members = {
        name
        for name in dir(module)
        if not name.startswith("_")
        and name not in PLUMBING
        and not inspect.ismodule(getattr(module, name))
    }
    assert members == set(module.__all__)


@pytest.mark.parametrize("package", ROOMS)
def test_a_room_lists_its_modules(package: str) -> None:
    module = importlib.import_module(package)
    folder = Path(module.__file__).parent  # type: ignore[arg-type]
    present = {
        path.stem if path.is_file() else path.name
        for path in folder.iterdir()
        if (path.suffix == ".py" and path.stem not in {"__init__", "__main__"})
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert set(module.__all__) == present
