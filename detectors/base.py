"""The detector contract: what a detector is fed (`BucketStats`) and what the engine calls.

Like river's `anomaly/base.py`, one small type states the family's API, but as a `Protocol`
rather than a base class: a detector satisfies it by shape (mypy checks that where the engine
holds one typed as `Detector`), so a new algorithm needs no inheritance and no registration.
What `update` returns, `Decision`, is declared in `detectors.campaign` beside the lifecycle
`State`s it carries.

The contract, which `tests/detectors/test_contract.py` checks over every implementation:

- `update` is fed each closed event-time bucket of one playbook in order, exactly once,
  scores it, advances the lifecycle and learns it; a higher `Decision.score` means burstier.
  Time comes only from `BucketStats.start` and the `at` arguments: no clock, no I/O.
- The same buckets give the same decisions (no unseeded randomness, no hash order).
- The detector pickles, and an unpickled copy goes on exactly as the original would: the
  watcher checkpoints it between batches and restores it after a restart.
- A burst does not teach the baseline that it is normal (river's `protect_anomaly_detector`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # `Decision` holds the lifecycle `State`, declared with the detector
    from detectors.campaign import Decision


@dataclass(frozen=True, slots=True)
class TermStats:
    """What one closed bucket held for one of the playbook's terms."""

    posts: int
    authors: int
    top_share: float = 0.0
    effective_authors: float = 0.0


@dataclass(frozen=True, slots=True)
class BucketStats:
    """What one closed event-time bucket held for one playbook.

    `authors` is None for a bare count series (no author data), which skips the crowd gates.
    `hour_authors` is how many distinct people posted in the last hour up to this bucket
    (0 when unknown), so a slow crowd of a few people a bucket still counts as a crowd, and
    `hour_top_share` the busiest one's share of that hour's posts. `effective_authors`
    and `hour_effective_authors` are exp(H), H the Shannon entropy of who posted: the posts'
    count when each has its own author, k when k accounts post equally (0.0 when unknown).
    `terms` holds the same per term, by the term's index in the playbook, for the terms
    that had posts (absent ones had none; empty for a bare series).
    """

    start: float
    posts: int
    authors: int | None = None
    top_author_share: float = 0.0
    hour_authors: int = 0
    hour_top_share: float = 0.0
    effective_authors: float = 0.0
    hour_effective_authors: float = 0.0
    terms: Mapping[int, TermStats] = field(default_factory=dict)


@runtime_checkable
class Detector(Protocol):
    """One playbook's burst detector and campaign lifecycle, fed one closed bucket at a time."""

    #: Buckets in the hour-long view: the caller keeps who posted in the last `window - 1`
    #: buckets, so each bucket's `BucketStats.hour_*` crowd covers that hour.
    window: int

    @property
    def scores_terms(self) -> bool:
        """Whether `update` wants each term's own counts in `BucketStats.terms`."""
        ...

    def update(self, bucket: BucketStats) -> Decision:
        """Score one closed bucket, advance the lifecycle, learn it, and say what happened."""
        ...

    def skip(self, start: float, buckets: int) -> None:
        """`buckets` empty buckets from `start` on closed without `update`: the engine skips
        the rest of a long empty stretch (a gap in event time) after feeding a day of it."""
        ...

    def strictness(self, at: float) -> float:
        """The factor on the significance a surge needs at event time `at`: 1 unless marked."""
        ...

    def mark_false_alarm(self, at: float) -> float:
        """Staff said the alert raised by event time `at` was no campaign: get stricter,
        and return the new strictness."""
        ...
