"""Event-time buckets and the watermark: when a playbook's bucket is open, late or closed.

Time is event time only. A post counts into the bucket of `width` seconds holding its
`created_at`; a bucket closes once the watermark (the newest `created_at` the engine has
seen) passes its end plus `lateness`, and a post for a bucket already closed is late and
dropped (the engine counts it). Buckets close in order, one per `width`, empty ones too, so
a quiet playbook learns its zeros.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from watcher.pipeline.buckets import Bucket
from watcher.post import Post


@dataclass(slots=True)
class Windows:
    """One playbook's open buckets, by start, and the start of the next one to close."""

    width: float  # seconds a bucket spans
    lateness: float  # seconds past a bucket's end that its posts are still counted
    open: dict[float, Bucket] = field(default_factory=dict)
    first_start: float | None = None  # start of the next bucket to close; None: no post yet

    def start_at(self, ts: float) -> None:
        """Begin counting at the bucket holding `ts`, so quiet playbooks learn their zeros."""
        if self.first_start is None:
            self.first_start = ts - ts % self.width

    def add(self, post: Post, terms: Sequence[int], ts: float) -> bool:
        """Count a matched post at event time `ts`; False when its bucket has closed."""
        start = ts - ts % self.width
        if self.first_start is None:
            self.first_start = start
        elif start < self.first_start:
            return False
        bucket = self.open.get(start)
        if bucket is None:
            bucket = self.open[start] = Bucket(start)
        bucket.add(post, terms, ts)
        return True

    def next_close(self) -> float:
        """The watermark at which the oldest open bucket closes."""
        if self.first_start is None:
            return math.inf
        return self.first_start + self.width + self.lateness

    def close_until(self, watermark: float) -> Iterator[Bucket]:
        """Close, in order, every bucket the watermark has passed (empty ones as well)."""
        while self.first_start is not None and self.next_close() <= watermark:
            start = self.first_start
            bucket = self.open.pop(start, None) or Bucket(start)
            self.first_start = start + self.width
            yield bucket

    def final_watermark(self) -> float:
        """The watermark that closes every open bucket (at the end of a replay)."""
        return max(self.open, default=-math.inf) + self.width + self.lateness
