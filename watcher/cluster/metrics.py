"""A worker's metrics, read live at scrape: leases held, shard lag, checkpoint age.

`groundswell worker --metrics-port PORT` serves them (Prometheus text format, any path) on
its own port, as every cluster process is its own scrape target:

- `groundswell_cluster_leases_held` (gauge): shards this worker holds;
- `groundswell_cluster_shard_lag_batches{shard}` (gauge): batches in the posts stream the
  shard has not applied yet;
- `groundswell_cluster_checkpoint_age_seconds{shard}` (gauge): since its last commit;
- `groundswell_cluster_alerts_emitted_total` / `_stored_total` (counters): alerts published,
  and those the server stored (the rest were re-emissions it dropped as duplicates).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from watcher.cluster.worker import Worker

__all__ = ["WorkerCollector", "serve_metrics"]


class WorkerCollector:
    """Reads the worker's state at each scrape; nothing is counted on the hot path."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        w = self.worker
        held = GaugeMetricFamily("groundswell_cluster_leases_held", "Shards this worker holds.")
        held.add_metric([], len(w.held))
        yield held
        lag = GaugeMetricFamily(
            "groundswell_cluster_shard_lag_batches",
            "Batches in the posts stream the shard has not applied yet.",
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
            age.add_metric([str(shard)], now - h.committed_at)
        yield lag
        yield age
        emitted = CounterMetricFamily(
            "groundswell_cluster_alerts_emitted", "Alerts published, re-emissions included."
        )
        emitted.add_metric([], w.emitted)
        yield emitted
        stored = CounterMetricFamily(
            "groundswell_cluster_alerts_stored", "Alerts the server stored (not duplicates)."
        )
        stored.add_metric([], w.published)
        yield stored


def serve_metrics(worker: Worker, port: int, host: str = "127.0.0.1") -> CollectorRegistry:
    """Serve the worker's metrics on `host:port` (a daemon thread of prometheus_client)."""
    registry = CollectorRegistry()
    registry.register(WorkerCollector(worker))
    start_http_server(port, addr=host, registry=registry)
    return registry
