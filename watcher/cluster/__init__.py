"""The same engine across processes on NATS JetStream, with the same alerts as one process.

`layout` (the streams and buckets of one named cluster, created and checked at start),
`batches` (ordered batches of post lines and control messages, with deterministic ids),
`control` (what the `false-alarm` and `playbooks` control messages carry), `ingest` (a recorded file
into the posts stream, resumable from its cursor), `http_ingest` (`POST /ingest` into the
posts stream, answered after the PubAck), `leases` (shard and presence leases in KV,
renewed by compare-and-set), `checkpoints` (engine state in the Object Store behind a
fenced pointer), `shards` (playbook → shard, one engine per worker over its shards),
`worker` (takes shards as leases allow, applies the stream's posts and control messages
in order, and publishes their alerts), `deliver` (the alerts stream into the outbox and
`--alerts-out`), `feedback` ("Not a campaign" clicks from the deliverer's outbox into the
ordered stream), `reloads` (playbook sets in the Object Store, reloaded at one point of the
stream), `metrics` (a worker's leases, shard lag, checkpoint age and playbook set for
Prometheus).
"""

from __future__ import annotations

__all__ = [
    "batches",
    "checkpoints",
    "control",
    "deliver",
    "feedback",
    "http_ingest",
    "ingest",
    "layout",
    "leases",
    "metrics",
    "reloads",
    "shards",
    "worker",
]
