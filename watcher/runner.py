"""Build the running service from command-line source specs, or the embedded demo."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from responders.console import ConsoleResponder
from watcher.playbook import Playbook
from watcher.service import Service, install_signal_handlers
from watcher.sources.base import Source
from watcher.sources.replay import ReplaySource, file_lines

log = logging.getLogger("groundswell")

#: The demo replays its first two days at once (to warm the baselines), then 3600× real time.
DEMO_SCENARIO = "trafigura"
DEMO_BACKFILL_S = 48 * 3600.0
DEMO_SPEED = 3600.0
#: Where detector state is checkpointed when `--state` is not given (not for the demo).
DEFAULT_STATE = "groundswell-state.sqlite"


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
    state: Path | None = None,
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
            # the demo replays the same old events each time: keep its state throwaway
            state = state or Path(tmp) / "demo-state.sqlite"
        state = state or Path(DEFAULT_STATE)
        stop = asyncio.Event()
        install_signal_handlers(stop)
        async with Service(
            playbooks, sources, [ConsoleResponder()], host=host, port=port, state=state
        ) as svc:
            log.info(
                "watching %d playbooks: %s; Ctrl-C to stop",
                len(playbooks),
                ", ".join(p.name for p in playbooks),
            )
            await svc.run(stop)
        log.info("stopped cleanly")
    return 0
