"""Build the running service from its settings: sources, delivery, HTTP routes, the demo.

Which source a spec builds and which responder a channel gets are tables
(`watcher.sources.specs.KINDS`, `watcher.service.delivery.CHANNELS`); this module wires
what they build into one `Service`, and runs it until a signal asks it to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from watcher.http.slack import PATH as ACTIONS_PATH
from watcher.http.slack import actions_route
from watcher.http.socket_mode import SocketModeError, start_socket_mode
from watcher.pipeline.dedup import Dedup
from watcher.playbooks.model import Playbook
from watcher.service.checkpoint import CheckpointError
from watcher.service.checkpoint import check as check_state
from watcher.service.delivery import DeliveryConfig, build_delivery
from watcher.service.metrics import Metrics
from watcher.service.record import Recorder
from watcher.service.service import Service, Wiring, install_signal_handlers
from watcher.settings import DEFAULT_OUTBOX, Settings
from watcher.sources.base import Source
from watcher.sources.cursors import DEFAULT_STATE, CursorStore
from watcher.sources.replay import ReplaySource, file_lines
from watcher.sources.specs import SourceSpecError, build_source

log = logging.getLogger("groundswell")

#: The demo replays its first two days at once (to warm the baselines), then 3600× real time.
DEMO_SCENARIO = "trafigura"
DEMO_BACKFILL_S = 48 * 3600.0
DEMO_SPEED = 3600.0


def demo_source(workdir: Path) -> Source:
    """The bundled simulated feed: a Trafigura-style surge after two quiet days."""
    from watcher.simulation import generate as simulate  # only the demo needs it

    path = workdir / f"demo-{DEMO_SCENARIO}.ndjson"
    simulate.write(DEMO_SCENARIO, path)
    return ReplaySource("demo", file_lines(path), speed=DEMO_SPEED, backfill=DEMO_BACKFILL_S)


async def run_service(playbooks: Sequence[Playbook], settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; 0 after a clean stop, 2 when it cannot start."""
    if settings.state is not None or settings.sources:  # the demo keeps a throwaway one
        try:  # now, not at the shutdown checkpoint, when the state would be lost
            check_state(settings.state or DEFAULT_STATE)
        except CheckpointError as exc:
            log.error("%s", exc)
            return 2
    with contextlib.ExitStack() as stack:
        store: list[CursorStore] = []

        def cursors() -> CursorStore:  # opened only when a source keeps a cursor
            if not store:
                state = settings.state or DEFAULT_STATE
                store.append(stack.enter_context(contextlib.closing(CursorStore(state))))
            return store[0]

        try:
            sources = [
                build_source(entry, env=settings.env, cursors=cursors) for entry in settings.sources
            ]
        except (SourceSpecError, ValueError) as exc:
            log.error("%s", exc)
            return 2
        recorder = stack.enter_context(Recorder(settings.record)) if settings.record else None
        return await _serve(playbooks, sources, settings, recorder)


async def _serve(
    playbooks: Sequence[Playbook],
    sources: list[Source],
    settings: Settings,
    recorder: Recorder | None,
) -> int:
    with tempfile.TemporaryDirectory(prefix="groundswell-") as tmp:
        if not sources:
            log.info(
                "no --source given: running the demo (%s scenario, %g× event time)",
                DEMO_SCENARIO,
                DEMO_SPEED,
            )
            sources = [demo_source(Path(tmp))]
            # the demo replays the same old events each time: keep its state and outbox
            # throwaway, or a second run would restore the campaign and print nothing
            settings = settings.model_copy(
                update={
                    "state": settings.state or Path(tmp) / "demo-state.sqlite",
                    "outbox": settings.outbox or Path(tmp) / "demo-outbox.sqlite3",
                }
            )
        settings = settings.model_copy(update={"state": settings.state or DEFAULT_STATE})
        stop = asyncio.Event()
        install_signal_handlers(stop)
        outbox = settings.outbox or DEFAULT_OUTBOX
        config = DeliveryConfig.from_environment(settings.env, outbox, sys.stdout)
        delivery = build_delivery(playbooks, config)
        routes = []
        if config.signing_secret:
            routes.append(actions_route(delivery, config.signing_secret))
            log.info("Slack buttons: POST %s verifies SLACK_SIGNING_SECRET", ACTIONS_PATH)

        def refresh(metrics: Metrics) -> None:
            metrics.observe_outbox_store(
                delivery.outbox.counts(),
                delivery.outbox.feedback_counts(),
                delivery.dispatcher.tally.by_responder,
            )

        wiring = Wiring(
            dedup=Dedup(),
            recorder=recorder,
            watch=settings.watched(),
            routes=routes,
            on_refresh=refresh,
            outbox=delivery.outbox,
        )
        service = Service(playbooks, sources, [delivery.dispatcher], settings, wiring)
        socket = None
        if config.app_token:
            try:
                socket = await start_socket_mode(delivery, config.app_token, config.slack_api_url)
                log.info("Slack buttons: Socket Mode connected with SLACK_APP_TOKEN")
            except SocketModeError as exc:
                log.error("%s", exc)
        try:
            async with service as svc:
                log.info(
                    "watching %d playbooks: %s; Ctrl-C to stop",
                    len(playbooks),
                    ", ".join(p.name for p in playbooks),
                )
                await svc.run(stop)  # its delivery stages first send what a previous run left
        except CheckpointError as exc:  # a state file from elsewhere: say so, no traceback
            log.error("%s", exc)
            return 2
        finally:
            if socket is not None:
                await socket.close()  # type: ignore[no-untyped-call]
            await delivery.aclose()
        log.info("stopped cleanly")
    return 0
