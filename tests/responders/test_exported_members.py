"""Each responders package states its public names in `__all__`, sorted, and only those.

Like httpx's tests/test_exported_members.py: every public name a package's `__init__` binds
is in `__all__` and every name in `__all__` resolves, so a name added to or dropped from a
package's API is a visible decision, not an accident of an import.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import responders

SUBPACKAGES = pkgutil.walk_packages(responders.__path__, "responders.")
PACKAGES = ["responders", *sorted(info.name for info in SUBPACKAGES if info.ispkg)]
#: Helpers a lazy `__init__` binds for itself (PEP 562), not part of the API.
PLUMBING = {"annotations", "importlib", "TYPE_CHECKING", "Any"}


def test_every_responders_package_is_checked() -> None:
    assert PACKAGES == [
        "responders",
        "responders.brief",
        "responders.channels",
        "responders.delivery",
        "responders.slack",
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_every_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_member_is_in_all(package: str) -> None:
    module = importlib.import_module(package)
    members = {
        name
        for name in dir(module)
        if not name.startswith("_")
        and name not in PLUMBING
        and not inspect.ismodule(getattr(module, name))
    }
    assert members == set(module.__all__)
