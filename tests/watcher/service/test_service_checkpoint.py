"""A service restarted from its checkpoint carries on: same campaign, warm baseline, no re-alert."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from detectors.campaign import CampaignDetector
from responders.channels.console import ConsoleResponder
from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import background, crowd, lines
from tests.watcher.service.test_service import wait_for
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook
from watcher.service import checkpoint
from watcher.service.service import Service
from watcher.settings import HttpSettings, Settings
from watcher.sources.replay import ReplaySource


async def serve(playbook: Playbook, data: list[bytes], state: Path, out: io.StringIO) -> Service:
    source = ReplaySource("test", lambda: iter(data))
    service = Service(
        [playbook],
        [source],
        [ConsoleResponder(out)],
        Settings(http=HttpSettings(port=0), state=state),
    )
    stop = asyncio.Event()
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await wait_for(lambda: source.health.finished)
        stop.set()
        await asyncio.wait_for(runner, 15)
    return service


async def test_state_is_saved_on_shutdown_and_a_restart_does_not_realert(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    start = T0 + 6 * 3600
    first_half = lines(background(make_post, 6) + crowd(make_post, start, 150))
    out = io.StringIO()
    first = await serve(mini_playbook, first_half, state, out)
    assert out.getvalue().count("NEW CAMPAIGN: waste") == 1
    assert state.exists()
    probe = Engine([mini_playbook])
    assert checkpoint.load(probe, state) == ["waste"]
    assert probe.watermark == first.engine.watermark

    # the crowd keeps going after the restart: it is the same campaign, not a new one
    more = crowd(make_post, start + 600, 150)
    for post in more:
        post["author"] = f"late-{post['author']}"
    out = io.StringIO()
    second = await serve(mini_playbook, lines(more), state, out)
    assert "NEW CAMPAIGN" not in out.getvalue()
    assert second.engine.stats.matched["waste"] == 150  # counted, not dropped as late
    detector = second.engine.runtimes[0].detector
    assert isinstance(detector, CampaignDetector)  # the engine holds it as a `Detector`
    assert detector.campaigns == 1  # restored mid-campaign, not a cold start
    assert detector.volume.warm
