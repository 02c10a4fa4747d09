"""Deduplication with bounded memory: a post counts once, however many feeds carry it.

Keys are remembered in two generations: when the young one fills, the old one is dropped.
Memory stays under `capacity` keys and the most recent `capacity / 2` are always remembered,
which is far more than any reconnect overlap or backfill can repeat.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from watcher.post import Post

DEFAULT_CAPACITY = 400_000  # ≈ 25 MB as hashed keys


class RecentKeys:
    """A set of about the last `capacity` keys added.

    >>> keys = RecentKeys(4)
    >>> [keys.seen(k) for k in "abab"]
    [False, False, True, True]
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise ValueError(f"capacity={capacity} must be at least 2")
        self._half = capacity // 2
        self._young: set[Hashable] = set()
        self._old: set[Hashable] = set()

    def seen(self, key: Hashable) -> bool:
        """True if `key` was seen recently; otherwise remember it and return False."""
        if key in self._young or key in self._old:
            return True
        if len(self._young) >= self._half:
            self._old, self._young = self._young, set()
        self._young.add(key)
        return False

    def forget(self, key: Hashable) -> None:
        """Seen no more: what `key` stood for was not kept after all (a failed publish)."""
        self._young.discard(key)
        self._old.discard(key)

    def __len__(self) -> int:
        return len(self._young) + len(self._old)


class Dedup:
    """Across sources: once per post id, and the same URL once per author."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._keys = RecentKeys(capacity)

    def fresh(self, posts: Iterable[Post]) -> list[Post]:
        # Keys are stored as 64-bit hashes: a quarter of the memory of the strings, and a
        # false "seen" needs a collision among a few hundred thousand keys (odds ~1e-8).
        out = []
        for post in posts:
            seen = self._keys.seen(hash(("id", post.id)))
            if post.url:
                seen = self._keys.seen(hash(("url", post.author.lower(), post.url))) or seen
            if not seen:
                out.append(post)
        return out
