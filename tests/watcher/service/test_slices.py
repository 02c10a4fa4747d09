"""The engine takes a batch a slice at a time, so the loop (and /healthz) gets turns inside
it; a checkpoint still never sees half a batch, and a cancel mid-batch loses none of it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import crowd
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook
from watcher.post import Post, post_from_json
from watcher.service import checkpoint
from watcher.service.service import ENGINE_SLICE, Service
from watcher.settings import HttpSettings, Settings
from watcher.sources.base import Batch, Settled
from watcher.sources.replay import ReplaySource

POSTS = 2 * ENGINE_SLICE + ENGINE_SLICE // 2  # three slices


def service_for(playbook: Playbook, state: Path) -> tuple[Service, ReplaySource]:
    source = ReplaySource("test", lambda: iter([]))
    settings = Settings(http=HttpSettings(port=0), state=state)
    return Service([playbook], [source], [], settings), source


def one_batch(make_post: PostFactory, settled: list[Settled]) -> Batch:
    posts: list[Post] = [post_from_json(p) for p in crowd(make_post, T0, POSTS)]
    return Batch(posts, received_at=0.0, on_settled=settled.append)


async def watch_counts(service: Service, seen: list[int], until: asyncio.Event) -> None:
    """Note the engine's matched count at every loop turn until told to stop."""
    while not until.is_set():
        seen.append(service.engine.stats.matched.get("waste", 0))
        await asyncio.sleep(0)


async def into_the_batch(service: Service) -> None:
    """Return at the first loop turn after the engine has taken some of the batch."""
    for _ in range(1000):
        if service.engine.stats.matched.get("waste", 0):
            return
        await asyncio.sleep(0)
    raise AssertionError("the engine never took a slice")


async def test_the_loop_runs_between_slices_of_one_batch(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path
) -> None:
    service, source = service_for(mini_playbook, tmp_path / "state.sqlite")
    settled: list[Settled] = []
    batch, done = one_batch(make_post, settled), asyncio.Event()
    seen: list[int] = []
    watcher = asyncio.create_task(watch_counts(service, seen, done))
    detect = asyncio.create_task(service.detect())
    await service._posts.put((source, batch, batch))
    await asyncio.wait_for(service._posts.join(), 30)
    done.set()
    detect.cancel()
    await asyncio.gather(watcher, detect, return_exceptions=True)
    assert ENGINE_SLICE in seen  # turns inside the batch
    assert 2 * ENGINE_SLICE in seen
    assert service.engine.stats.matched["waste"] == POSTS
    assert len(settled) == 1


async def test_a_checkpoint_asked_mid_batch_waits_for_the_whole_batch(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    service, source = service_for(mini_playbook, state)
    batch = one_batch(make_post, [])
    detect = asyncio.create_task(service.detect())
    await service._posts.put((source, batch, batch))
    await into_the_batch(service)
    assert service.engine.stats.matched["waste"] < POSTS
    await service._checkpoint()
    detect.cancel()
    await asyncio.gather(detect, return_exceptions=True)
    restored = Engine([mini_playbook])
    assert checkpoint.load(restored, state) == ["waste"]
    assert restored.watermark == service.engine.watermark == batch[-1].timestamp


async def test_a_cancel_mid_batch_feeds_the_rest_before_the_batch_settles(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path
) -> None:
    service, source = service_for(mini_playbook, tmp_path / "state.sqlite")
    settled: list[Settled] = []
    batch = one_batch(make_post, settled)
    detect = asyncio.create_task(service.detect())
    await service._posts.put((source, batch, batch))
    await into_the_batch(service)
    assert service.engine.stats.matched["waste"] < POSTS  # cancelled inside the batch
    detect.cancel()
    await asyncio.gather(detect, return_exceptions=True)
    assert service.engine.stats.matched["waste"] == POSTS  # every post counted
    assert settled == [Settled(0, 0)]  # and the batch settled once, whole
