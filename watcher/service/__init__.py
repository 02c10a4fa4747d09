"""The running service: named async stages, built from settings, with durable state.

`service` (the stages and their ordered shutdown), `alerts` (the outbox as the queue of
alerts: stored before a checkpoint passes them, held while it is full), `compose`
(building it from settings, and the demo), `delivery` (channels and the outbox dispatcher
from settings), `checkpoint` (detector state in SQLite), `feedback` ("Not a campaign"
clicks back to the detectors), `record` (`--record`), `stores` (the data directory and
every file, checked at start), `supervisor` (each source's task: restarts, the firehose
buffer), `metrics` and `collector` (Prometheus metrics read live at scrape).
"""

from __future__ import annotations

__all__ = [
    "alerts",
    "checkpoint",
    "collector",
    "compose",
    "delivery",
    "feedback",
    "metrics",
    "record",
    "service",
    "stores",
    "supervisor",
]
