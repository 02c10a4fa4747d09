"""Prometheus metrics: live totals read at scrape time, and the service's own instruments.

Names follow Prometheus conventions: a `groundswell_` prefix, base units (`_seconds`), and
`_total` on counters. Labels are bounded: by source, playbook, kind, responder, outcome,
action, status or queue; never by term, author or post.

`Metrics` is a prometheus_client custom collector (like its `gc_collector.py` and
`process_collector.py`): `collect()` builds the families listed in `collector.FAMILIES` from
totals that already exist, so nothing is copied into counters by hand.

- Read live: each source's `SourceHealth`, the engine's `EngineStats`, each running
  playbook's last decision and strictness, the queues between stages, the checkpoint's age,
  and the outbox figures (rows, button clicks, what each channel behind it did) that the
  service reads from SQLite just before a scrape (`observe_outbox_store`).
- Tallied here as plain counts and collected the same way: alerts by playbook and delivery
  outcomes. Their labels are names that come and go (a playbook removed by a reload, a
  channel first seen in the outbox's tally), and the outbox's tally adds to the service's
  own delivery counts; collected, a removed playbook is simply no longer yielded.
- Ordinary prometheus_client instruments, the simplest for values whose labels never go
  away: the three histograms (timed with `with histogram.time():`), the reload counters and
  gauge, the skipped-playbooks gauge, Slack's 429 counter and the build info.

Counters stay monotonic across reloads: a kept playbook keeps counting, and one removed and
added back resumes from its old totals (the engine and the alert tally keep them by name).
Every known label set (the sources, playbooks, responders and queues given) has a series at
0 before the first event (Prometheus: "avoid missing metrics").
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.metrics_core import Metric

from watcher.pipeline.engine import Engine
from watcher.service.collector import STATE_CODES, Deliveries, Families, OutboxFigures
from watcher.sources.base import SourceHealth

__all__ = ["STATE_CODES", "Metrics", "Queue", "Watched"]

#: Engine time per batch of up to 500 posts: sub-millisecond to a few seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _version() -> str:
    try:
        return version("groundswell")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class Watched(Protocol):
    """A source as the metrics read it: its name and its live health."""

    @property
    def name(self) -> str: ...

    @property
    def health(self) -> SourceHealth: ...


class Queue(Protocol):
    """A bounded queue between stages, such as an `asyncio.Queue`."""

    @property
    def maxsize(self) -> int: ...

    def qsize(self) -> int: ...


class Metrics:
    """Every Groundswell metric on `registry` (a fresh one per service or test).

    `collect()` reads `engine`, `sources` and `queues` at each scrape; `responders` are the
    delivery label values known up front; `clock` gives epoch seconds for the ages.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        engine: Engine | None = None,
        sources: Sequence[Watched] = (),
        responders: Iterable[str] = (),
        queues: Mapping[str, Queue] | None = None,
        started: float = 0.0,
        clock: Callable[[], float] = time.time,
        skipped: int = 0,
    ) -> None:
        self.registry = registry
        self._engine = engine
        self._sources = list(sources)
        self._responders = list(responders)
        self._queues = dict(queues or {})
        #: When the process started (epoch seconds): the checkpoint age counts from here
        #: until the first checkpoint is written, since everything before it would be lost.
        self.started = started
        self._clock = clock
        self._alerts: Tally[tuple[str, str]] = Tally()  # (playbook, kind)
        self._deliveries = Deliveries()
        self._outbox: OutboxFigures | None = None
        self._last_checkpoint: float | None = None

        self._reloads = Counter(
            "groundswell_playbook_reloads", "Playbook reloads attempted.", registry=registry
        )
        self._reload_failures = Counter(
            "groundswell_playbook_reload_failures",
            "Playbook reloads rejected (the last good set keeps running).",
            registry=registry,
        )
        self._reload_ok = Gauge(
            "groundswell_playbook_last_reload_successful",
            "1 when the last playbook reload succeeded.",
            registry=registry,
        )
        self._reload_ok.set(1)  # the start-up load succeeded, or the service would not run
        self._skipped = Gauge(
            "groundswell_playbooks_skipped",
            "Playbook files not watched because they have errors and no earlier good "
            "version (skipped at start while the others run, until fixed).",
            registry=registry,
        )
        self._skipped.set(skipped)
        self._rate_limited = Counter(
            "groundswell_slack_rate_limited",
            "Slack API responses 429 (rate limited; Retry-After honoured).",
            registry=registry,
        )
        self._outbox_failures = Counter(
            "groundswell_outbox_write_failures",
            "Writes to the delivery outbox that failed (a full disk); each is retried.",
            registry=registry,
        )
        self._clients_dropped = Counter(
            "groundswell_http_clients_dropped",
            "HTTP clients closed for not sending a whole request in time, or over the cap.",
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "groundswell_delivery_seconds",
            "Time to deliver one alert, retries included.",
            ["responder"],
            registry=registry,
        )
        for name in self._responders:
            self.delivery_seconds.labels(name)
        self.batch_seconds = Histogram(
            "groundswell_batch_seconds",
            "Engine time per batch of posts (match, bucket, detect).",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.decision_latency = Histogram(
            "groundswell_decision_latency_seconds",
            "From a batch's receipt (POST /ingest) or admission (other feeds) to the engine's "
            "decision on it: queueing plus matching, bucketing and detection.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._build = Info("groundswell_build", "Groundswell version.", registry=registry)
        self._build.info({"version": _version()})
        registry.register(self)

    # -- events the service reports --------------------------------------------------------
    def observe_alert(self, playbook: str, kind: str) -> None:
        """The engine fired an alert of `kind` (new or update) for `playbook`."""
        self._alerts[playbook, kind] += 1

    def observe_delivery(self, responder: str, outcome: str, *, attempts: int = 1) -> None:
        """One alert's delivery via `responder` ended with `outcome` after `attempts` tries."""
        self._deliveries.add(responder, outcome, tries=attempts)

    def count_rate_limited(self, n: int = 1) -> None:
        """Slack answered 429 `n` times."""
        self._rate_limited.inc(n)

    def count_outbox_failure(self) -> None:
        """A write to the outbox failed (it is retried; `/readyz` fails meanwhile)."""
        self._outbox_failures.inc()

    def count_client_dropped(self) -> None:
        """The HTTP server closed a slow or excess client."""
        self._clients_dropped.inc()

    def observe_reload(self, *, ok: bool, skipped: int = 0) -> None:
        """A playbook reload ran; the engine now runs the playbooks it kept or took, and
        `skipped` files with errors run no version at all."""
        self._reloads.inc()
        self._reload_ok.set(1 if ok else 0)
        self._skipped.set(skipped)
        if not ok:
            self._reload_failures.inc()

    def observe_checkpoint(self, at: float) -> None:
        """A checkpoint of detector state was written at `at` (epoch seconds)."""
        self._last_checkpoint = at

    def observe_outbox_store(
        self,
        outbox: Mapping[str, int],
        feedback: Mapping[tuple[str, str], int],
        by_responder: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        """Keep the outbox's figures (rows by status, button clicks, and what each channel
        behind it did this run) for the next scrapes; called just before one."""
        self._outbox = OutboxFigures(dict(outbox), dict(feedback), dict(by_responder or {}))

    # -- the collector ---------------------------------------------------------------------
    def describe(self) -> Iterator[Metric]:
        """The collected families without samples: the registry checks names with them."""
        return iter(Families(self.started).by_name.values())

    def collect(self) -> Iterator[Metric]:
        """Every collected family, built from the live totals."""
        families = Families(self.started)
        now = self._clock()
        for source in self._sources:
            families.add_source(source.name, source.health, now)
        families.add_engine(self._engine, self._alerts)
        outbox = self._outbox
        families.add_deliveries(
            self._deliveries.with_outbox(outbox.by_responder if outbox else {}), self._responders
        )
        families.add_outbox(outbox)
        for name, queue in self._queues.items():
            families.add("queue_depth", (name,), queue.qsize())
            families.add("queue_capacity", (name,), queue.maxsize)
        since = self._last_checkpoint if self._last_checkpoint is not None else self.started
        families.add("checkpoint_age_seconds", (), max(now - since, 0.0))
        return iter(families.by_name.values())
