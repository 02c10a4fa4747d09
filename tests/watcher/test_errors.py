from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import watcher
from tests.conftest import PLAYBOOKS
from watcher.cli import main
from watcher.errors import GroundswellError
from watcher.settings import SettingsError


def watcher_error_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(watcher.__path__, "watcher."):
        if info.name == "watcher.__main__":  # importing it runs the command line
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
            ):
                found[f"{info.name}.{name}"] = value
    return list(found.values())


def test_every_watcher_error_derives_from_the_one_root() -> None:
    classes = watcher_error_classes()
    assert len(classes) >= 10  # PlaybookError, PostError, SettingsError, CheckpointError, …
    strays = [c.__qualname__ for c in classes if not issubclass(c, GroundswellError)]
    assert strays == []


def test_the_one_line_report_joins_several_problems() -> None:
    error = SettingsError(["a.yaml:1:1: first", "a.yaml:2:1: second"])
    assert error.one_line() == "groundswell: config: a.yaml:1:1: first; a.yaml:2:1: second"


def test_an_expected_failure_is_one_line_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.ndjson"
    assert main(["replay", str(missing), "--playbooks", str(PLAYBOOKS)]) == 2
    err = capsys.readouterr().err
    assert err == f"groundswell: input: {missing}: cannot read: No such file or directory\n"
