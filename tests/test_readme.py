"""The README against the real thing: the generated playbook key table, the metric names
and labels it lists, and the backtest example's output."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.conftest import MINI_PLAYBOOK, REPO
from watcher.cli import main
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook, parse_playbook
from watcher.playbooks.reference import BEGIN, END, with_reference
from watcher.service.metrics import Metrics
from watcher.sources.base import SourceHealth

README = (REPO / "README.md").read_text(encoding="utf-8")


class Feed:
    def __init__(self) -> None:
        self.name = "mastodon"
        self.health = SourceHealth(last_event=1.0)


def listing() -> tuple[str, set[str]]:
    """The Metrics paragraph's head (with the labels) and the metric names it lists."""
    paragraph = README[README.index("**Metrics** (all prefixed") :].split("\n\n")[0]
    head, listed = paragraph.split("):", 1)
    listed = re.sub(r"\([^)]*\)", "", listed)  # asides such as "(by `status`)"
    return head, {f"groundswell_{name}" for name in re.findall(r"`([a-z_]+)`", listed)}


def scrape() -> tuple[set[str], set[str]]:
    """(every family and sample name, every label name) a running service exports."""
    engine = Engine([parse_playbook(MINI_PLAYBOOK, "mini.yaml")])
    metrics = Metrics(
        CollectorRegistry(),
        engine=engine,
        sources=[Feed()],
        responders=["slack"],
        queues={"posts": asyncio.Queue(8)},
        started=0.0,
        clock=lambda: 10.0,
    )
    metrics.observe_delivery("slack", "sent")
    metrics.observe_outbox_store({"pending": 1}, {("waste", "ack"): 1}, {})
    names, labels = set(), set()
    for family in metrics.registry.collect():
        names.add(family.name)
        for sample in family.samples:
            names.add(sample.name)
            labels |= set(sample.labels) - {"le"}
    return names, labels


def test_the_playbook_key_table_is_what_the_schema_generates() -> None:
    assert BEGIN in README
    assert END in README
    expected = with_reference(README, Playbook.model_json_schema())
    assert expected == README, "stale: run `groundswell schema --readme README.md`"
    for key in ("detect.bucket_minutes", "respond.webhook.url", "respond.ndjson.path"):
        assert f"| `{key}` |" in README


def test_every_metric_name_in_the_readme_is_exported() -> None:
    exported, _ = scrape()
    mentioned = set(re.findall(r"\bgroundswell_[a-z_]*[a-z]", README))
    mentioned |= listing()[1]
    assert len(mentioned) > 35
    assert sorted(mentioned - exported) == []


def test_the_readme_lists_every_metric_and_every_label_exported() -> None:
    exported, labels = scrape()
    head, names = listing()
    # a histogram is listed by its family name, a counter by its sample name
    families = {n for n in exported if not n.endswith(("_bucket", "_count", "_sum", "_created"))}
    unlisted = {n for n in families if n not in names and f"{n}_total" not in names}
    assert sorted(unlisted - {"groundswell_build"}) == []  # Info: listed as build_info
    assert set(re.findall(r"`([a-z]+)`", head.split("labels only", 1)[1])) == labels


def test_the_backtest_example_prints_what_the_readme_shows(tmp_path: Path) -> None:
    section = README[README.index("**Backtest** a change") :]
    commands, output = re.findall(r"```(?:sh)?\n(.*?)```", section, re.S)[:2]
    (tmp_path / "playbooks").symlink_to(REPO / "playbooks")
    printed = []
    for line in commands.splitlines():
        argv = line.split("#")[0].split()
        assert argv[0] == "groundswell"
        done = subprocess.run(
            [sys.executable, "-m", "watcher", *argv[1:]],
            cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        printed.append(done.stdout)
    assert printed[-1] == output


def test_schema_readme_rewrites_the_table_and_says_when_the_markers_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    start, end = README.index(BEGIN) + len(BEGIN), README.index(END)
    readme.write_text(README[:start] + "\n| stale |\n" + README[end:], encoding="utf-8")
    out = ["schema", "--out", str(tmp_path / "schema.json"), "--readme", str(readme)]
    assert main(out) == 0
    assert readme.read_text(encoding="utf-8") == README
    readme.write_text("# no markers\n")
    assert main(out) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"groundswell: schema: {readme}: the README needs the lines {BEGIN} and {END}, "
        "in that order"
    )


def test_the_check_row_says_what_check_prints_and_when_it_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `groundswell check"))
    assert "`path:line:col: error: message`" in row
    assert "`path:line:col: warning: message`" in row
    assert "exit 1 when any file has an error (with `--strict`, also on a warning)" in row
    broken = REPO / "tests" / "watcher" / "broken_playbooks"
    covered = str(tmp_path / "covered.yaml")  # `toxic waste` covers `raw toxic waste`
    Path(covered).write_text(MINI_PLAYBOOK.replace('"#dumpgate"]', '"#dumpgate", raw toxic waste]'))
    assert main(["check", covered]) == 0
    printed = capsys.readouterr()
    found = [line for line in (printed.out + printed.err).splitlines() if covered in line]
    assert found
    assert all(re.match(rf"^{re.escape(covered)}:\d+:\d+: warning: ", line) for line in found)
    assert main(["check", "--strict", covered]) == 1
    assert main(["check", str(broken / "wrong-types.yaml")]) == 1
    printed = capsys.readouterr()
    assert re.search(r"wrong-types\.yaml:\d+:\d+: error: ", printed.out + printed.err)
