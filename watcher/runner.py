"""Build the running service from command-line source specs, or the embedded demo."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from responders.console import ConsoleResponder
from watcher.dedup import Dedup
from watcher.playbook import Playbook
from watcher.record import Recorder
from watcher.service import Service, install_signal_handlers
from watcher.sources.base import Source
from watcher.sources.cursors import DEFAULT_STATE, CursorStore
from watcher.sources.replay import ReplaySource, file_lines
from watcher.sources.specs import SourceOptions, SourceSpecError, parse_source

log = logging.getLogger("groundswell")

#: The demo replays its first two days at once (to warm the baselines), then 3600× real time.
DEMO_SCENARIO = "trafigura"
DEMO_BACKFILL_S = 48 * 3600.0
DEMO_SPEED = 3600.0


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
    record: Path | None = None,
    state: Path | None = None,
    options: Mapping[str, SourceOptions] | None = None,
    watch: Sequence[Path] = (),
) -> int:
    with contextlib.ExitStack() as stack:
        store: list[CursorStore] = []

        def cursors() -> CursorStore:  # opened only when a source keeps a cursor
            if not store:
                store.append(
                    stack.enter_context(
                        contextlib.closing(CursorStore(state or Path(DEFAULT_STATE)))
                    )
                )
            return store[0]

        try:
            sources = [
                parse_source(
                    spec,
                    env=os.environ,
                    cursors=cursors,
                    options=(options or {}).get(spec) or SourceOptions(),
                )
                for spec in specs
            ]
        except (SourceSpecError, ValueError) as exc:
            log.error("%s", exc)
            return 2
        recorder = stack.enter_context(Recorder(record)) if record else None
        return await _serve(
            playbooks,
            sources,
            host=host,
            port=port,
            recorder=recorder,
            watch=watch,
            state=state,
        )


async def _serve(
    playbooks: Sequence[Playbook],
    sources: list[Source],
    *,
    host: str,
    port: int,
    recorder: Recorder | None,
    watch: Sequence[Path],
    state: Path | None,
) -> int:
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
            playbooks,
            sources,
            [ConsoleResponder()],
            host=host,
            port=port,
            dedup=Dedup(),
            recorder=recorder,
            watch=watch,
            state=state,
        ) as svc:
            log.info(
                "watching %d playbooks: %s; Ctrl-C to stop",
                len(playbooks),
                ", ".join(p.name for p in playbooks),
            )
            await svc.run(stop)
        log.info("stopped cleanly")
    return 0
