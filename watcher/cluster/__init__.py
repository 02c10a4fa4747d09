"""The same engine across processes on NATS JetStream, with the same alerts as one process.

`layout` (the streams and buckets of one named cluster, created and checked at start),
`batches` (ordered batches of post lines and control messages, with deterministic ids),
`ingest` (a recorded file into the posts stream, resumable from its cursor),
`http_ingest` (`POST /ingest` into the posts stream, answered after the PubAck), `leases`
(shard and presence leases in KV, renewed by compare-and-set), `checkpoints` (engine state
in the Object Store behind a fenced pointer), `shards` (playbook → shard, one engine per
worker over its shards), `worker` (takes shards as leases allow and publishes their alerts),
`deliver` (the alerts stream into the outbox and `--alerts-out`), `metrics` (a worker's
leases, shard lag and checkpoint age for Prometheus).
"""

from __future__ import annotations

__all__ = [
    "batches",
    "checkpoints",
    "deliver",
    "http_ingest",
    "ingest",
    "layout",
    "leases",
    "metrics",
    "shards",
    "worker",
]
