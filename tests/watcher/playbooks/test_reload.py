"""Hot reload under a running service: real files, real watcher, real HTTP; polling only."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from watchfiles import Change

from tests.conftest import MINI_PLAYBOOK, T0, PostFactory
from tests.watcher.service.test_service import scrape, wait_for
from watcher.playbooks.model import Playbook, load_playbooks
from watcher.playbooks.reload import PlaybookReloader
from watcher.post import Post, post_from_json
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings
from watcher.sources.base import Source, SourceHealth


class QueueSource(Source):
    """A feed the test writes to: each `put` is one batch of posts."""

    def __init__(self) -> None:
        self.name = "queue"
        self.health = SourceHealth(connected=True)
        self.queue: asyncio.Queue[Sequence[Post]] = asyncio.Queue()

    async def stream(self) -> AsyncIterator[Sequence[Post]]:
        while True:
            batch = await self.queue.get()
            self.health.received += len(batch)
            yield batch


def save(path: Path, text: str) -> None:
    """Save the way editors do: write a temporary file, then rename it over the old one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


async def save_until(path: Path, text: str, done: Callable[[], bool]) -> None:
    """Save, and save again until `done`: the watcher may not be running yet at first."""
    while not done():
        save(path, text)
        for _ in range(20):
            if done():
                return
            await asyncio.sleep(0.05)


async def test_edits_go_live_and_a_broken_edit_changes_nothing(
    tmp_path: Path, make_post: PostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    book = tmp_path / "waste.yaml"
    save(book, MINI_PLAYBOOK)
    registry = CollectorRegistry()
    source = QueueSource()
    service = Service(
        load_playbooks([tmp_path]),
        [source],
        [],
        Settings(http=HttpSettings(port=0), reload_debounce_ms=50),
        Wiring(registry=registry, watch=[tmp_path]),
    )

    def sample(name: str) -> float:
        return registry.get_sample_value(name) or 0.0

    def reloads() -> float:
        return sample("groundswell_playbook_reloads_total")

    async def feed(text: str) -> None:
        before = service.engine.stats.received
        await source.queue.put([post_from_json(make_post(T0, text))])
        await wait_for(lambda: service.engine.stats.received > before)

    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="groundswell")
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await feed("raw sewage in the river")
        assert service.engine.stats.matched["waste"] == 0
        runtime = service.engine.runtimes[0]

        # A new resource: the brief changes, the detector keeps its state.
        edited = MINI_PLAYBOOK.replace("Our dumping report", "Our new report")
        await save_until(book, edited, lambda: reloads() >= 1)
        assert service.engine.runtimes[0] is runtime
        assert service.engine.playbooks[0].respond.resources[0].title == "Our new report"

        # A new term: posts that mention it count from now on.
        edited = edited.replace('"#dumpgate"]', '"#dumpgate", raw sewage]')
        await save_until(book, edited, lambda: reloads() >= 2)
        await feed("raw sewage in the river")
        assert service.engine.stats.matched["waste"] == 1
        live, live_runtime = service.engine.playbooks, service.engine.runtimes[0]

        # A typo: logged and counted; the last good version keeps running.
        failures = "groundswell_playbook_reload_failures_total"
        await save_until(book, edited.replace("respond:", "respnd:"), lambda: sample(failures) > 0)
        assert service.engine.playbooks is live
        assert service.engine.runtimes[0] is live_runtime
        await feed("more raw sewage")
        assert service.engine.stats.matched["waste"] == 2

        metrics = await scrape(service.port)
        stop.set()
        await asyncio.wait_for(runner, 15)
    # A slow machine may see a save twice; every attempt must be counted and logged alike.
    assert f"groundswell_playbook_reload_failures_total {sample(failures)}" in metrics
    assert "groundswell_playbook_last_reload_successful 0.0" in metrics
    assert f"groundswell_playbook_reloads_total {reloads()}" in metrics
    errors = {r.getMessage() for r in caplog.records if r.levelno == logging.ERROR}
    assert errors == {
        f"playbook change rejected for {book}; still running its last good version. "
        f"Fix and save again:\n{book}:9:1: error: unknown key `respnd` — did you mean `respond`?"
    }


async def test_reload_refuses_an_empty_set_and_reports_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book = tmp_path / "waste.yaml"
    save(book, MINI_PLAYBOOK)
    applied: list[Sequence[object]] = []
    reports: list[bool] = []

    def apply(playbooks: Sequence[object]) -> dict[str, str]:
        applied.append(playbooks)
        return {"waste": "unchanged"}

    reloader = PlaybookReloader([tmp_path], apply, reports.append)
    assert await reloader.reload()
    book.unlink()
    assert not await reloader.reload()
    assert reports == [True, False]
    assert len(applied) == 1
    assert f"no playbooks found in {tmp_path}" in caplog.text


def test_only_playbook_files_trigger_a_reload(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(MINI_PLAYBOOK)
    other = tmp_path / "elsewhere"
    other.mkdir()
    reloader = PlaybookReloader([tmp_path, other / "two.yml"], lambda _: {})
    relevant = [
        tmp_path / "one.yaml",
        tmp_path / "new.yml",
        other / "two.yml",
    ]
    ignored = [
        tmp_path / ".one.yaml.swp",
        tmp_path / ".one.yaml",
        tmp_path / "schema.json",
        other / "three.yml",  # only two.yml was asked for in that folder
    ]
    assert [reloader.relevant(Change.modified, str(p)) for p in relevant] == [True] * 3
    assert [reloader.relevant(Change.modified, str(p)) for p in ignored] == [False] * 4
    assert reloader.dirs == sorted({tmp_path.resolve(), other.resolve()})


@pytest.mark.parametrize("polling", [False, True])
async def test_reloader_applies_a_saved_change(tmp_path: Path, polling: bool) -> None:
    book = tmp_path / "waste.yaml"
    save(book, MINI_PLAYBOOK)
    names: list[str] = []

    def apply(playbooks: Sequence[Playbook]) -> dict[str, str]:
        names.extend(p.description for p in playbooks)
        return {}

    reloader = PlaybookReloader([tmp_path], apply, debounce_ms=50, polling=polling)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop))
    await save_until(book, MINI_PLAYBOOK + "description: edited\n", lambda: "edited" in names)
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_each_file_reloads_on_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken file keeps its last good version while the others' edits go live; a file
    broken since start-up stays out until fixed; a fresh file may take a broken one's name."""
    waste, sewage, never = tmp_path / "waste.yaml", tmp_path / "sewage.yaml", tmp_path / "x.yaml"
    save(waste, MINI_PLAYBOOK)
    save(sewage, MINI_PLAYBOOK.replace("name: waste", "name: sewage"))
    save(never, MINI_PLAYBOOK.replace("name: waste", "name: never").replace("watch:", "wach:"))
    live: list[list[str]] = []
    reports: list[bool] = []

    def apply(playbooks: Sequence[Playbook]) -> dict[str, str]:
        live.append(sorted(f"{p.name}:{p.description}" for p in playbooks))
        return {}

    reloader = PlaybookReloader([tmp_path], apply, reports.append)
    assert reloader.skipped == (str(never),)

    save(waste, MINI_PLAYBOOK.replace("respond:", "respnd:"))  # broken: the old one runs
    save(sewage, MINI_PLAYBOOK.replace("name: waste", "name: sewage") + "description: new\n")
    assert not await reloader.reload()
    assert live == [["sewage:new", "waste:"]]
    assert reloader.skipped == (str(never),)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors[0].startswith(f"playbook change rejected for {waste}; still running its last")
    assert errors[1].startswith(f"playbook {never} is not watched: fix and save again:\n{never}:")

    assert not await reloader.reload()  # nothing changed: nothing applied again
    assert len(live) == 1

    save(never, MINI_PLAYBOOK.replace("name: waste", "name: never"))  # fixed: it comes in
    assert not await reloader.reload()
    assert live[-1] == ["never:", "sewage:new", "waste:"]
    assert not reloader.skipped

    # waste.yaml is still broken; a new file named waste replaces its stale version
    save(tmp_path / "a-waste.yaml", MINI_PLAYBOOK + "description: moved\n")
    assert not await reloader.reload()
    assert live[-1] == ["never:", "sewage:new", "waste:moved"]
    assert reloader.skipped == (str(waste),)

    save(waste, MINI_PLAYBOOK.replace("name: waste", "name: waste2"))
    assert await reloader.reload()
    assert live[-1] == ["never:", "sewage:new", "waste2:", "waste:moved"]
    assert reports == [False, False, False, False, True]
