"""Replay recorded posts through one playbook and keep every bucket's numbers.

`groundswell backtest` prints the alerts a playbook would have fired and plots why. Posts may
carry a `label` (simulated campaign posts do: `"label": "<scenario>"`); the first labelled
post is the campaign's onset, so each alert can be timed against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from detectors.campaign import Decision
from responders.alert import Alert
from watcher.pipeline.buckets import Bucket
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook
from watcher.post import PostError, post_from_json


@dataclass(frozen=True, slots=True)
class BucketRecord:
    """One closed bucket as the detector saw it."""

    start: float
    posts: int
    authors: int
    baseline: float
    score: float
    state: str


@dataclass(slots=True)
class Backtest:
    """What one playbook did over a recorded posts file."""

    playbook: Playbook
    buckets: list[BucketRecord] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    received: int = 0
    malformed: int = 0
    matched: int = 0
    late: int = 0
    label: str = ""
    onset: float | None = None  # created_at of the first labelled post

    def delay(self, alert: Alert) -> float | None:
        """Seconds from the onset to when `alert` fired (negative: before it); None unlabelled."""
        if self.onset is None:
            return None
        return alert.surge.fired_at.timestamp() - self.onset


def run_backtest(playbook: Playbook, lines: Iterable[bytes], *, label: str = "") -> Backtest:
    """Feed posts NDJSON `lines` to a fresh engine holding only `playbook`.

    `label` picks which labelled posts mark the onset; empty means any label.
    """
    result = Backtest(playbook)
    engine = Engine([playbook])

    def record(_: str, bucket: Bucket, decision: Decision) -> None:
        result.buckets.append(
            BucketRecord(
                bucket.start,
                bucket.posts,
                len(bucket.authors),
                decision.baseline,
                decision.score,
                decision.state,
            )
        )

    engine.on_bucket(record)
    for line in lines:
        if not line.strip():
            continue
        result.received += 1
        try:
            raw = orjson.loads(line)
            post = post_from_json(raw, default_source="backtest")
        except (orjson.JSONDecodeError, PostError):
            result.malformed += 1
            continue
        tag = raw.get("label")
        wanted = isinstance(tag, str) and tag and (not label or tag == label)
        if wanted and (result.onset is None or post.timestamp < result.onset):
            result.onset, result.label = post.timestamp, str(tag)
        engine.feed_posts((post,))
        result.alerts.extend(engine.drain_alerts())
    engine.flush()
    result.alerts.extend(engine.drain_alerts())
    result.matched = engine.stats.matched[playbook.name]
    result.late = engine.stats.late
    return result
