"""Event-time buckets and the watermark: when a playbook's bucket is open, late or closed.

Time is event time only. A post counts into the bucket of `width` seconds holding its
`created_at`; a bucket closes once the watermark (the newest `created_at` the engine has
seen) passes its end plus `lateness`, and a post for a bucket already closed is late and
dropped (the engine counts it). Buckets close in order, one per `width`, empty ones too, so
a quiet playbook learns its zeros.

A gap in event time costs nothing: when the watermark jumps (a feed back after an outage, a
post dated long ago followed by one dated now), at most `idle` empty buckets in a row close
one by one (enough for the detector's short-term view to settle on zero), and the rest of the
stretch up to the next bucket holding posts is handed over as one `Skipped` run. An empty
bucket that closes is handed over as its start alone: most closes of a long replay are empty
ones, and building a `Bucket` (four `Counter`s) for each was a tenth of their cost.

The watermark itself is per feed (`Watermark`): each feed's clock and delay differ, so a
bucket closes when every live feed has passed it, or once the newest feed is `max_skew`
past it; one feed running ahead does not make another's posts late.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from watcher.pipeline.buckets import Bucket
from watcher.post import Post


@dataclass(frozen=True, slots=True)
class Skipped:
    """A run of `buckets` empty buckets from `start` that closed without being fed one by one."""

    start: float
    buckets: int


@dataclass(slots=True)
class Watermark:
    """The event time up to which buckets may close, from each feed's newest post.

    `at` is the least of the feeds' newest times, but never more than `max_skew` behind the
    newest of them (a feed that far behind, or silent, no longer holds buckets open), and it
    never moves back. With one feed it is simply that feed's newest time.

    >>> mark = Watermark(300.0)
    >>> mark.see("fast", 1000.0), mark.see("slow", 880.0), mark.see("fast", 1300.0)
    (1000.0, 1000.0, 1000.0)
    >>> mark.see("slow", 1100.0), mark.see("fast", 1500.0)
    (1100.0, 1200.0)

    A feed expected but not heard from yet holds buckets as if it were `max_skew` behind:

    >>> mark = Watermark(300.0)
    >>> mark.expect("late starter")
    >>> mark.see("fast", 1000.0)
    700.0
    """

    max_skew: float
    at: float = -math.inf
    feeds: dict[str, float] = field(default_factory=dict)  # each feed's newest event time
    #: Feeds remembered at most (a relay's senders name their own): past it, the feed
    #: furthest behind is forgotten, which only lets buckets close sooner.
    most: int = 64

    def expect(self, feed: str) -> None:
        """A feed that will send: until it does, it holds buckets open (up to `max_skew`)."""
        self.feeds.setdefault(feed, -math.inf)

    def see(self, feed: str, ts: float) -> float:
        """Note that `feed` has reached event time `ts`; return the new watermark."""
        if ts > self.feeds.get(feed, -math.inf):
            self.feeds[feed] = ts
            if len(self.feeds) > self.most:  # forget the one furthest behind that has sent
                heard = [name for name, mark in self.feeds.items() if mark > -math.inf]
                del self.feeds[min(heard, key=self.feeds.__getitem__)]
            newest = max(self.feeds.values())
            self.at = max(self.at, min(self.feeds.values()), newest - self.max_skew)
        return self.at


def by_feed(posts: Sequence[Post], source: str, *, relays: bool) -> list[tuple[str, list[Post]]]:
    """A batch split by the feed each post came from, in order within each: for a relay,
    `source:post.source`; otherwise the batch is all the source's own feed.

    >>> from datetime import UTC, datetime
    >>> at = datetime.fromtimestamp(0, tz=UTC)
    >>> posts = [Post(str(i), "a", "t", at, source=s) for i, s in enumerate("xyx")]
    >>> [(feed, [p.id for p in group]) for feed, group in by_feed(posts, "ingest", relays=True)]
    [('ingest:x', ['0', '2']), ('ingest:y', ['1'])]
    """
    if not relays:
        return [(source, list(posts))]
    groups: dict[str, list[Post]] = {}
    for post in posts:
        groups.setdefault(f"{source}:{post.source}", []).append(post)
    return list(groups.items())


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
        for bucket in self.advance(watermark, math.inf):
            assert not isinstance(bucket, Skipped)  # no limit on empty buckets: none is skipped
            yield bucket if isinstance(bucket, Bucket) else Bucket(bucket)

    def advance(self, watermark: float, idle: float) -> Iterator[Bucket | float | Skipped]:
        """Close, in order, every bucket the watermark has passed: a `Bucket` for one that
        holds posts, the start of an empty one; past `idle` empty buckets in a row, the rest
        of an empty stretch is one `Skipped`."""
        empty = 0
        while self.first_start is not None and self.next_close() <= watermark:
            start = self.first_start
            bucket = self.open.pop(start, None)
            if bucket is None and empty >= idle:
                closable = math.floor((watermark - self.lateness - start) / self.width)
                end = min(min(self.open, default=math.inf), start + closable * self.width)
                self.first_start = end
                yield Skipped(start, round((end - start) / self.width))
                continue
            empty = 0 if bucket is not None else empty + 1
            self.first_start = start + self.width
            yield start if bucket is None else bucket

    def final_watermark(self) -> float:
        """The watermark that closes every open bucket (at the end of a replay)."""
        return max(self.open, default=-math.inf) + self.width + self.lateness
