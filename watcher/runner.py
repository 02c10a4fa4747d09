"""Build the running service from command-line source specs, or the embedded demo."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from watcher.delivery import DeliveryConfig, build_delivery
from watcher.interactivity import PATH as ACTIONS_PATH
from watcher.interactivity import actions_route
from watcher.metrics import Metrics
from watcher.playbook import Playbook
from watcher.service import Service, install_signal_handlers
from watcher.socket_mode import SocketModeError, start_socket_mode
from watcher.sources.base import Source
from watcher.sources.replay import ReplaySource, file_lines

log = logging.getLogger("groundswell")

#: The demo replays its first two days at once (to warm the baselines), then 3600× real time.
DEMO_SCENARIO = "trafigura"
DEMO_BACKFILL_S = 48 * 3600.0
DEMO_SPEED = 3600.0


class SourceSpecError(ValueError):
    """A `--source` value that names no known feed."""


def parse_source(spec: str) -> Source:
    """Build a source from `KIND:TARGET`, e.g. `file:posts.ndjson?speed=60`."""
    kind, _, target = spec.partition(":")
    if kind == "file" and target:
        parts = urlsplit(target)
        options = parse_qs(parts.query)
        speed = float(options["speed"][0]) if "speed" in options else None
        path = Path(parts.path)
        if not path.is_file():
            raise SourceSpecError(f"--source {spec!r}: no such file {path}")
        return ReplaySource(f"file:{path.name}", file_lines(path), speed=speed)
    raise SourceSpecError(f"--source {spec!r}: expected file:PATH[?speed=N]")


def demo_source(workdir: Path) -> Source:
    """The bundled simulated feed: a Trafigura-style surge after two quiet days."""
    from watcher import simulate  # only the demo needs it

    path = workdir / f"demo-{DEMO_SCENARIO}.ndjson"
    simulate.write(DEMO_SCENARIO, path)
    return ReplaySource("demo", file_lines(path), speed=DEMO_SPEED, backfill=DEMO_BACKFILL_S)


async def run_service(
    playbooks: Sequence[Playbook],
    specs: Sequence[str],
    *,
    host: str,
    port: int,
    outbox: Path | None = None,
) -> int:
    try:
        sources = [parse_source(spec) for spec in specs]
    except SourceSpecError as exc:
        log.error("%s", exc)
        return 2
    with tempfile.TemporaryDirectory(prefix="groundswell-") as tmp:
        if not sources:
            log.info(
                "no --source given: running the demo (%s scenario, %g× event time)",
                DEMO_SCENARIO,
                DEMO_SPEED,
            )
            sources = [demo_source(Path(tmp))]
        stop = asyncio.Event()
        install_signal_handlers(stop)
        config = DeliveryConfig.from_env(outbox or Path(tmp) / "outbox.sqlite3", sys.stdout)
        delivery = build_delivery(playbooks, config)
        routes = []
        if config.signing_secret:
            routes.append(actions_route(delivery, config.signing_secret))
            log.info("Slack buttons: POST %s verifies SLACK_SIGNING_SECRET", ACTIONS_PATH)

        def refresh(metrics: Metrics) -> None:
            metrics.observe_delivery(
                delivery.outbox.counts(),
                delivery.outbox.feedback_counts(),
                delivery.dispatcher.tally.by_responder,
            )

        service = Service(
            playbooks,
            sources,
            [delivery.dispatcher],
            host=host,
            port=port,
            routes=routes,
            on_refresh=refresh,
        )
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
                # what a previous run left undelivered goes out first, beside the pipeline
                leftover = asyncio.create_task(delivery.dispatcher.drain(), name="outbox")
                await svc.run(stop)
                leftover.cancel()
                await asyncio.gather(leftover, return_exceptions=True)
        finally:
            if socket is not None:
                await socket.close()  # type: ignore[no-untyped-call]
            await delivery.aclose()
        log.info("stopped cleanly")
    return 0
