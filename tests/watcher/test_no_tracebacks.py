"""Every subcommand, given what a user gets wrong, answers in one line and a non-zero exit.

Each case is `groundswell: <what>: <why>` on stderr, nothing else, never a traceback: the
command line turns a `GroundswellError` into that line, so each input below must be caught
as one where it is first seen (see `watcher.errors`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PLAYBOOKS
from watcher.cli import main


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("posts") / "quiet.ndjson"
    out.write_bytes(
        b'{"id": "1", "author": "a", "text": "raw sewage", "created_at": "2024-03-04T00:00:00Z"}\n'
    )
    return out


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


SEWAGE = str(PLAYBOOKS / "river-sewage.yaml")
NO_FILE = "No such file or directory"


def cases(tmp: Path, posts: Path, port: int) -> dict[str, tuple[list[str], str]]:
    """Each case: the arguments, and the one line they must give."""
    gone = tmp / "gone"  # a folder that does not exist
    plain = tmp / "plain.txt"  # a file where a folder is expected (the test writes it)
    scenarios = "trafigura, sewage, evictions, quiet, surge-small-fast-evening"
    return {
        "replay-missing-file": (
            ["replay", str(tmp / "none.ndjson"), "--playbooks", str(PLAYBOOKS)],
            f"groundswell: input: {tmp / 'none.ndjson'}: cannot read: {NO_FILE}",
        ),
        "replay-folder": (
            ["replay", str(tmp), "--playbooks", str(PLAYBOOKS)],
            f"groundswell: input: {tmp}: cannot read: Is a directory",
        ),
        "replay-alerts-out-missing-folder": (
            ["replay", str(posts), "--playbooks", SEWAGE, "--alerts-out", str(gone / "a.ndjson")],
            f"groundswell: output: {gone / 'a.ndjson'}: cannot write: the folder {gone} does "
            "not exist; create it first",
        ),
        "score-series-missing-file": (
            ["score-series", str(tmp / "none.csv")],
            f"groundswell: input: {tmp / 'none.csv'}: cannot read: {NO_FILE}",
        ),
        "score-series-not-text": (
            ["score-series", str(tmp / "bytes.csv")],
            f"groundswell: input: {tmp / 'bytes.csv'}: not UTF-8 text (byte 0); is it a CSV?",
        ),
        "simulate-unknown-scenario": (
            ["simulate", "--scenario", "nope", "--out", str(tmp / "x.ndjson")],
            f"groundswell: scenario: 'nope' is not a scenario; choose one of {scenarios}",
        ),
        "simulate-out-missing-folder": (
            ["simulate", "--scenario", "quiet", "--out", str(gone / "x.ndjson")],
            f"groundswell: output: {gone / 'x.ndjson'}: cannot write: the folder {gone} does "
            "not exist; create it first",
        ),
        "schema-out-missing-folder": (
            ["schema", "--out", str(plain / "schema.json")],
            f"groundswell: output: {plain / 'schema.json'}: cannot write: the folder {plain} "
            "is not a folder; create it first",
        ),
        "backtest-plot-missing-folder": (
            ["backtest", SEWAGE, "--posts", str(posts), "--plot", str(gone / "p.png")],
            f"groundswell: output: {gone / 'p.png'}: cannot write: the folder {gone} does not "
            "exist; create it first",
        ),
        "backtest-folder-for-a-playbook": (
            ["backtest", str(PLAYBOOKS), "--posts", str(posts), "--no-plot"],
            f"groundswell: input: {PLAYBOOKS}: is a folder; backtest takes one playbook file, "
            f"such as {PLAYBOOKS / 'toxic-waste.yaml'}",
        ),
        "backtest-folder-for-posts": (
            ["backtest", SEWAGE, "--posts", str(tmp), "--no-plot"],
            f"groundswell: input: {tmp}: cannot read: Is a directory",
        ),
        "run-busy-port": (
            ["run", "--playbooks", str(PLAYBOOKS), "--http-port", str(port), "--no-reload"],
            f"groundswell: http: cannot listen on 127.0.0.1:{port}: address already in use; "
            "stop what uses it or choose another --http-port",
        ),
        "run-state-missing-folder": (
            ["run", "--playbooks", str(PLAYBOOKS), "--state", str(gone / "s.sqlite")],
            f"groundswell: state: --state {gone / 's.sqlite'}: directory {gone} does not "
            "exist; create it or pass another path",
        ),
        "run-outbox-under-a-file": (
            ["run", "--playbooks", str(PLAYBOOKS), "--outbox", str(plain / "o.sqlite3")],
            f"groundswell: storage: --outbox {plain / 'o.sqlite3'}: the folder {plain} is not "
            "a folder; create it first",
        ),
        "run-record-missing-folder": (
            ["run", "--playbooks", str(PLAYBOOKS), "--record", str(gone / "posts.ndjson")],
            f"groundswell: storage: --record {gone / 'posts.ndjson'}: the folder {gone} does "
            "not exist; create it first",
        ),
    }


NAMES = sorted(cases(Path("/x"), Path("/x/p"), 1))


@pytest.mark.parametrize("name", NAMES)
def test_each_mistake_is_one_line_and_a_failure(
    name: str,
    tmp_path: Path,
    posts: Path,
    busy_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "plain.txt").write_text("not a folder\n")
    (tmp_path / "bytes.csv").write_bytes(b"\xff\xfe\x00timestamp")
    args, line = cases(tmp_path, posts, busy_port)[name]
    assert main(args) != 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if name == "simulate-unknown-scenario":  # the rest of the list, then where to read more
        assert err.startswith(line)
        assert err.endswith(", week-quiet (`groundswell simulate --list` describes each)\n")
        assert err.count("\n") == 1
    else:
        assert err == line + "\n"


def test_simulate_help_lists_the_suite_scenarios_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "trafigura, sewage, evictions, quiet, surge-small-fast-evening," in text
    assert "decoy-bot-ring" in text
    assert "week-quiet" in text
