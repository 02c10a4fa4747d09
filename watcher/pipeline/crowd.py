"""Who carries a surge: distinct authors, the busiest one's share, and how evenly posts spread.

Per bucket, authors are counted exactly up to `MAX_EXACT_AUTHORS`; past that bound, further
new authors go only into a HyperLogLog sketch (river's `sketch.NUnique`), so a firehose-sized
surge costs bounded memory and still reports about how many people carry it.

Over the last hour, `AuthorWindow` keeps a running count per author plus Σ c·ln c, so the
Shannon entropy of who posted, H = ln N − Σ c·ln c / N, is updated in time proportional to
the bucket that enters or leaves, not recomputed over the hour at every close. exp(H) is the
number of *effective* authors (Hill's number of order 1): N when every post has its own
author, 1 when one account posts them all, k for k accounts posting equally. Posts per
effective author then reads as "how often each voice repeats itself": a crowd of people
arriving stays near 1–2, while a ring of k accounts posting N posts between them reaches
N / k, however many accounts k is. So a bot ring that dodges the top-author-share gate
(fifteen accounts at 7 % each) is still told apart from a crowd.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass

from river.sketch import NUnique

#: Distinct authors counted exactly per bucket; past this, new ones only go to a sketch.
MAX_EXACT_AUTHORS = 20_000
#: HyperLogLog error for the overflow sketch: 2 % needs 4,096 registers (about 33 KiB).
SKETCH_ERROR = 0.02
#: Window pushes between exact recomputations of Σ c·ln c (float drift stays negligible).
RESUM_EVERY = 288
#: An empty bucket's authors, shared by every empty bucket a window holds (never written).
NO_AUTHORS: Counter[str] = Counter()


def new_sketch() -> NUnique:
    return NUnique(error_rate=SKETCH_ERROR, seed=0)


def union(sketches: list[NUnique]) -> int:
    """Distinct values in the union of HyperLogLog sketches made by `new_sketch`.

    >>> a, b = new_sketch(), new_sketch()
    >>> for n in range(3000):
    ...     a.update(f"user{n}")
    ...     b.update(f"user{n + 2000}")
    >>> abs(union([a, b]) - 5000) < 5000 * 3 * SKETCH_ERROR
    True
    """
    combined = None
    for sketch in sketches:
        combined = merged(combined, sketch)
    return int(combined.get()) if combined is not None else 0


def merged(into: NUnique | None, other: NUnique | None) -> NUnique | None:
    """`into` with `other`'s registers folded in (a new sketch when `into` is None)."""
    if other is None:
        return into
    if into is None:
        into = new_sketch()
    into.buckets = [max(a, b) for a, b in zip(into.buckets, other.buckets, strict=True)]
    return into


def count_author(
    authors: Counter[str], sketch: NUnique | None, author: str, posts: int = 1
) -> NUnique | None:
    """Count `author`'s posts exactly while `authors` is under the bound (or already knows
    them); past it, only sketch them. Returns the sketch, made when first needed."""
    if author in authors or len(authors) < MAX_EXACT_AUTHORS:
        authors[author] += posts
        return sketch
    if sketch is None:
        sketch = new_sketch()
    sketch.update(author)
    return sketch


def distinct(authors: Counter[str], sketch: NUnique | None) -> int:
    """Distinct authors: those counted exactly plus the sketch's estimate of the rest."""
    return len(authors) + (int(sketch.get()) if sketch is not None else 0)


def _clogc(count: int) -> float:
    return count * math.log(count) if count > 1 else 0.0


@dataclass(frozen=True, slots=True)
class Crowd:
    """Who posted over a span: distinct people, the busiest one's share, effective authors."""

    posts: int
    distinct: int
    top_share: float
    effective: float


def effective_authors(posts: int, sum_clogc: float) -> float:
    """exp(H) of the authors of `posts` posts, from Σ c·ln c over their per-author counts.

    >>> effective_authors(4, 0.0), effective_authors(4, 4 * math.log(4)), effective_authors(0, 0)
    (4.0, 1.0, 0.0)
    """
    if posts <= 0:
        return 0.0
    return max(1.0, math.exp(math.log(posts) - sum_clogc / posts))


class AuthorWindow:
    """The authors of the last `size` closed buckets, for hour-long crowd statistics.

    Examples
    --------
    >>> window = AuthorWindow(size=2)
    >>> window.push(Counter({"a": 1, "b": 1}), posts=2)
    >>> window.push(Counter({"a": 1, "c": 1}), posts=2)
    >>> crowd = window.with_bucket(Counter({"bot": 6}), posts=6)
    >>> crowd.distinct, round(crowd.top_share, 2), round(crowd.effective, 2)
    (4, 0.6, 2.97)
    >>> window.push(Counter({"bot": 6}), posts=6)  # the first bucket leaves the window
    >>> window.with_bucket(Counter(), posts=0).distinct
    3

    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._parts: deque[tuple[Counter[str], int, NUnique | None]] = deque()
        self._counts: Counter[str] = Counter()
        self._posts = 0
        self._sum = 0.0  # Σ c·ln c over _counts
        self._pushes = 0

    def _shift(self, authors: Counter[str], sign: int) -> None:
        counts = self._counts
        for author, n in authors.items():
            before = counts.get(author, 0)
            after = before + sign * n
            self._sum += _clogc(after) - _clogc(before)
            if after:
                counts[author] = after
            else:
                del counts[author]

    def push(self, authors: Counter[str], posts: int, sketch: NUnique | None = None) -> None:
        """Add a closed bucket's authors; the oldest leaves once there are `size`."""
        if self.size <= 0:
            return
        self._parts.append((authors, posts, sketch))
        self._shift(authors, +1)
        self._posts += posts
        if len(self._parts) > self.size:
            old, old_posts, _ = self._parts.popleft()
            self._shift(old, -1)
            self._posts -= old_posts
        self._pushes += 1
        if self._pushes % RESUM_EVERY == 0 or not self._counts:
            self._sum = sum(_clogc(n) for n in self._counts.values())

    def crowd(self) -> Crowd:
        """`with_bucket` for an empty bucket: the crowd of the window alone."""
        counts, total = self._counts, self._posts
        top = max(counts.values(), default=0)
        distinct = len(counts) + union([s for _, _, s in self._parts if s is not None])
        return Crowd(
            total, distinct, top / total if total else 0.0, effective_authors(total, self._sum)
        )

    def with_bucket(
        self, authors: Counter[str], posts: int, sketch: NUnique | None = None
    ) -> Crowd:
        """The crowd of the window plus one more bucket, without changing the window."""
        counts = self._counts
        total_sum = self._sum
        new_people = 0
        top = max(counts.values(), default=0)
        for author, n in authors.items():
            before = counts.get(author, 0)
            if not before:
                new_people += 1
            total_sum += _clogc(before + n) - _clogc(before)
            top = max(top, before + n)
        total = self._posts + posts
        distinct = len(counts) + new_people
        sketches = [s for _, _, s in self._parts if s is not None]
        if sketch is not None:
            sketches.append(sketch)
        distinct += union(sketches)  # overflow authors are rare enough not to overlap much
        # Posts by sketched authors count as one post each person: Σ c·ln c adds nothing.
        return Crowd(
            total, distinct, top / total if total else 0.0, effective_authors(total, total_sum)
        )
