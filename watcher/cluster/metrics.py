"""A cluster process's metrics and readiness: leases held, shard lag, checkpoint age.

`groundswell worker|deliver|ingest --metrics-port PORT` serves `/metrics` (Prometheus text
format), `/healthz` and `/readyz` on their own port, as every cluster process is its own
scrape target. Everything is read from the process's state at scrape; nothing is counted
on the hot path.

- every role: `groundswell_cluster_leases_held` (gauge): shards, the delivery lease or the
  source's lease this process holds;
- worker: `groundswell_cluster_shards` (the shards the playbooks are split into, held or
  not: the ops alert on unowned shards compares the shards held across workers with it),
  `groundswell_cluster_shard_lag_batches{shard}` (batches in the posts stream the
  shard has not applied yet, as of the last batch read),
  `groundswell_cluster_shard_position{shard}` (the last posts-stream sequence it applied),
  `groundswell_cluster_checkpoint_age_seconds{shard}` (since
  its last commit), `groundswell_cluster_alerts_emitted_total` / `_stored_total` (alerts
  published, and those the server stored: the rest were re-emissions it dropped),
  `groundswell_cluster_playbook_set{set}` (held shards running the playbook set with that
  digest: one series while the cluster agrees, two while a shard catches up to a reload)
  and `groundswell_cluster_playbook_reloads_total` (sets swapped in, per engine);
- deliver: `groundswell_cluster_alerts_delivered_total`, and
  `groundswell_cluster_deliver_lag_alerts` (alerts in the stream after the last fetched);
- ingest: `groundswell_cluster_posts_published_total`, `_batches_published_total`,
  `_duplicate_batches_total` and `groundswell_cluster_ingest_cursor_line`.

`/readyz` answers 503 with the reasons while the broker is away or a lease the process
works under is not certainly fresh (see `faults`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from aiohttp import web
from nats.aio.client import Client
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from watcher.http.app import create_cluster_app

if TYPE_CHECKING:
    from watcher.cluster.deliver import Deliverer
    from watcher.cluster.ingest import Published
    from watcher.cluster.worker import Worker

__all__ = [
    "DelivererCollector",
    "IngestCollector",
    "WorkerCollector",
    "broker_faults",
    "serve",
]


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    metric = GaugeMetricFamily(name, doc)
    metric.add_metric([], value)
    return metric


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    metric = CounterMetricFamily(name, doc)
    metric.add_metric([], value)
    return metric


class WorkerCollector:
    """A worker's leases, shard lag and checkpoint age, and the alerts it published."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        w = self.worker
        yield _gauge("groundswell_cluster_leases_held", "Leases this process holds.", len(w.held))
        yield _gauge("groundswell_cluster_shards", "Shards the playbooks are split into.", w.shards)
        lag = GaugeMetricFamily(
            "groundswell_cluster_shard_lag_batches",
            "Batches in the posts stream the shard has not applied yet.",
            labels=["shard"],
        )
        position = GaugeMetricFamily(
            "groundswell_cluster_shard_position",
            "The last posts-stream sequence the shard has applied.",
            labels=["shard"],
        )
        age = GaugeMetricFamily(
            "groundswell_cluster_checkpoint_age_seconds",
            "Seconds since the shard's last committed checkpoint.",
            labels=["shard"],
        )
        now = time.monotonic()
        for shard, h in sorted(w.held.items()):
            lag.add_metric([str(shard)], max(0, w.stream_last - h.seq))
            position.add_metric([str(shard)], h.seq)
            age.add_metric([str(shard)], now - h.committed_at)
        yield lag
        yield position
        yield age
        sets = GaugeMetricFamily(
            "groundswell_cluster_playbook_set",
            "Held shards running the playbook set with this digest.",
            labels=["set"],
        )
        for digest, shards in sorted(w.sets().items()):
            sets.add_metric([digest], shards)
        yield sets
        yield _counter(
            "groundswell_cluster_playbook_reloads",
            "Playbook sets swapped in at a reload in the stream, once per engine.",
            w.reloads,
        )
        yield _counter(
            "groundswell_cluster_alerts_emitted",
            "Alerts published, re-emissions included.",
            w.emitted,
        )
        yield _counter(
            "groundswell_cluster_alerts_stored",
            "Alerts the server stored (not duplicates).",
            w.published,
        )


class DelivererCollector:
    """The delivery lease, and the alerts moved into the outbox and still to fetch."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer

    def collect(self) -> Iterator[Metric]:
        d = self.deliverer
        yield _gauge(
            "groundswell_cluster_leases_held", "Leases this process holds.", int(d.lease.held)
        )
        yield _counter(
            "groundswell_cluster_alerts_delivered",
            "Alerts moved from the stream into the outbox and acked.",
            d.delivered,
        )
        yield _gauge(
            "groundswell_cluster_deliver_lag_alerts",
            "Alerts in the alerts stream after the last one fetched.",
            d.lag,
        )


class IngestCollector:
    """The source's lease, what was published, and the source's cursor."""

    def __init__(self, published: Published) -> None:
        self.published = published

    def collect(self) -> Iterator[Metric]:
        p = self.published
        yield _gauge("groundswell_cluster_leases_held", "Leases this process holds.", int(p.leased))
        yield _counter("groundswell_cluster_posts_published", "Posts the server stored.", p.posts)
        yield _counter(
            "groundswell_cluster_batches_published", "Batches the server stored.", p.batches
        )
        yield _counter(
            "groundswell_cluster_duplicate_batches",
            "Batches the server already had (the same Nats-Msg-Id).",
            p.duplicates,
        )
        yield _gauge(
            "groundswell_cluster_ingest_cursor_line",
            "The last line of the source acknowledged by the server.",
            p.cursor,
        )


def broker_faults(nc: Client) -> list[str]:
    return [] if nc.is_connected else ["broker: not connected (reconnecting)"]


async def serve(
    collector: Collector,
    faults: Callable[[], Sequence[str]],
    host: str,
    port: int,
    routes: Sequence[web.RouteDef] = (),
) -> web.AppRunner:
    """Serve `/metrics` (from `collector`), `/healthz`, `/readyz` and any `routes` on
    `host:port` in this event loop; the caller cleans the runner up."""
    registry = CollectorRegistry()
    registry.register(collector)
    runner = web.AppRunner(create_cluster_app(registry, faults, routes))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
