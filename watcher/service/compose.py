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
import time
from collections.abc import Sequence
from pathlib import Path

from responders.delivery.records import Records
from watcher.http.api import Redraw, api_routes
from watcher.http.openapi import PREFIX as API_PREFIX
from watcher.http.slack import ANSWER_WITHIN_S, actions_route
from watcher.http.slack import PATH as ACTIONS_PATH
from watcher.http.socket_mode import SocketModeError, start_socket_mode
from watcher.pipeline.dedup import Dedup
from watcher.playbooks.model import Playbook
from watcher.service.checkpoint import CheckpointError
from watcher.service.delivery import DeliveryConfig, DeliveryStack, build_delivery
from watcher.service.metrics import Metrics
from watcher.service.record import Recorder
from watcher.service.service import Service, Wiring, install_signal_handlers
from watcher.service.stores import DataDirError, prepare_stores
from watcher.settings import API_TOKEN_VARIABLE, Settings
from watcher.sources.base import Source
from watcher.sources.cursors import CursorStore
from watcher.sources.replay import ReplaySource, file_lines
from watcher.sources.specs import SourceSpecError, build_source

log = logging.getLogger("groundswell")

#: The demo replays its weeks of lead-in and first two days at once (to warm the baselines
#: and learn who has standing on the issue), then 3600× real time.
DEMO_SCENARIO = "trafigura"
DEMO_SPEED = 3600.0


def demo_source(workdir: Path) -> Source:
    """The bundled simulated feed: a Trafigura-style surge after two quiet days."""
    from watcher.simulation import generate as simulate  # only the demo needs it
    from watcher.simulation.ecosystem import LEAD_IN_DAYS

    path = workdir / f"demo-{DEMO_SCENARIO}.ndjson"
    simulate.write(DEMO_SCENARIO, path)
    backfill = LEAD_IN_DAYS * 86400.0 + 48 * 3600.0
    return ReplaySource("demo", file_lines(path), speed=DEMO_SPEED, backfill=backfill)


async def run_service(
    playbooks: Sequence[Playbook], settings: Settings, *, skipped: Sequence[str] = ()
) -> int:
    """Run until SIGINT or SIGTERM; 0 after a clean stop, 2 when it cannot start.

    `skipped` names the playbook files left out for their errors (shown on /readyz). Raises
    `DataDirError` when real feeds would keep their files in an unusable data directory, and
    `StoreError` when a state, outbox or record file cannot be written.
    """
    if settings.sources:  # the demo keeps throwaway files instead (see `_serve`)
        settings = settings.in_data_dir()
    with contextlib.ExitStack() as stack:
        store: list[CursorStore] = []

        def cursors() -> CursorStore:  # opened only when a source keeps a cursor
            if not store:
                assert settings.state is not None
                prepare_stores(settings)
                store.append(stack.enter_context(contextlib.closing(CursorStore(settings.state))))
            return store[0]

        try:
            sources = [
                build_source(entry, env=settings.env, cursors=cursors) for entry in settings.sources
            ]
        except DataDirError:
            raise
        except (SourceSpecError, ValueError) as exc:
            log.error("%s", exc)
            return 2
        prepare_stores(settings)  # after the specs: a typo in one creates no directory
        recorder = (
            stack.enter_context(
                Recorder(
                    settings.record,
                    max_bytes=round(settings.record_max_mb * 2**20),
                    keep=settings.record_keep,
                )
            )
            if settings.record
            else None
        )
        return await _serve(playbooks, sources, settings, recorder, skipped)


async def _serve(
    playbooks: Sequence[Playbook],
    sources: list[Source],
    settings: Settings,
    recorder: Recorder | None,
    skipped: Sequence[str],
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
        stop = asyncio.Event()
        install_signal_handlers(stop)
        outbox = settings.outbox
        assert outbox is not None
        config = DeliveryConfig.from_environment(
            settings.env, outbox, sys.stdout, history_days=settings.history_days
        )
        delivery = build_delivery(playbooks, config)
        routes = []
        if config.signing_secret:
            routes.append(actions_route(delivery, config.signing_secret))
            log.info("Slack buttons: POST %s verifies SLACK_SIGNING_SECRET", ACTIONS_PATH)
        if settings.env.api_token:
            records, redraw = api_parts(delivery)
            routes.extend(api_routes(records, settings.env.api_token, redraw=redraw))
            log.info("API: %s/… needs $%s as bearer token", API_PREFIX, API_TOKEN_VARIABLE)

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
            skipped=skipped,
            on_playbooks=delivery.reroute,
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


def api_parts(delivery: DeliveryStack) -> tuple[Records, Redraw]:
    """What `/api/v1` works on: the stack's outbox as records (silences may name the
    playbooks delivery knows), and a redraw of a campaign's Slack messages after a click
    from the API, bounded like a button's (`ANSWER_WITHIN_S`)."""
    records = Records(delivery.outbox, now=time.time, playbooks=delivery.dispatcher.params.keys)

    async def redraw(campaign_id: str) -> None:
        try:
            async with asyncio.timeout(ANSWER_WITHIN_S):
                for responder in delivery.slack.values():
                    await responder.refresh(campaign_id)
        except TimeoutError:
            log.warning("api: redraw of %s still running after %gs", campaign_id, ANSWER_WITHIN_S)
        except Exception:  # the feedback is recorded; a failed redraw must not lose that
            log.exception("api: could not redraw %s", campaign_id)

    return records, redraw
