"""The cluster's commands: help, and the expected failures as one line with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.watcher.cluster.natsd import free_port
from watcher.cli import main


@pytest.mark.parametrize("command", ["ingest", "worker", "deliver", "publish-playbooks"])
def test_each_has_help_naming_the_broker_and_the_cluster(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watcher", command, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith(f"usage: groundswell {command}")
    assert "--nats URL" in done.stdout
    assert "--cluster-name NAME" in done.stdout


def test_an_unknown_source_kind_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--source", "mastodon:x"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "groundswell: ingest: --source 'mastodon:x': this version reads file:PATH or ingest"
    )


def test_an_http_ingest_without_its_token_or_port_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GROUNDSWELL_INGEST_TOKEN", raising=False)
    assert main(["ingest", "--source", "ingest", "--metrics-port", "9"]) == 2
    assert capsys.readouterr().err.strip() == (
        "groundswell: ingest: --source ingest needs a token: set GROUNDSWELL_INGEST_TOKEN"
    )
    monkeypatch.setenv("GROUNDSWELL_INGEST_TOKEN", "t")
    assert main(["ingest", "--source", "ingest"]) == 2
    assert capsys.readouterr().err.strip() == (
        "groundswell: ingest: --source ingest serves POST /ingest on --metrics-port: give one"
    )


def test_a_broker_that_does_not_answer_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "posts.ndjson"
    posts.write_bytes(b"")
    url = f"nats://127.0.0.1:{free_port()}"
    assert main(["ingest", "--nats", url, "--source", f"file:{posts}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"groundswell: nats: --nats {url}: cannot connect")
    assert err[-1].endswith("is nats-server running?")


def test_a_bad_cluster_name_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--cluster-name", "a.b", "--playbooks", "playbooks"]) == 2
    assert "--cluster-name 'a.b': use 1-32 letters, digits, '-' or '_'" in capsys.readouterr().err
