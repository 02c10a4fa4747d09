"""The crowd gates: whether the people behind a surging bucket look like a crowd.

`CampaignDetector` opens a campaign only when a significant count is carried by many
people: enough distinct authors (in the bucket, or over the last hour for a slow crowd), no
account above `max_top_share`, few posts per effective author, and an accelerating rate.
That rejects a flood from one account and most rings of accounts, whose hour climbs to many
posts per voice, while a crowd keeps arriving and mostly posts once or twice. The same gates
apply to one term alone (`term_fires`), with a margin for the best of many terms.

Each gate reads a bucket's `BucketStats`, the playbook's `Thresholds` and `past`, the
detector's last hour of bucket counts; none keeps state.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from detectors.base import BucketStats
from detectors.params import Thresholds
from detectors.terms import Floats

#: An hour's distinct authors count as a bucket's crowd when divided by this.
HOUR_CROWD = 3
#: One term alone must reach this × the significance a playbook's total needs: the best of
#: many terms scores higher than any one by chance (see `python -m bench.detection`).
TERM_MARGIN = 1.5


def repeats(bucket: BucketStats, past: Iterable[float]) -> float:
    """Posts per effective author, in the bucket or over the hour, whichever is higher.

    A crowd keeps arriving, so over an hour most people still post once or twice; a ring
    of accounts repeats itself, so its hour climbs to many posts per voice. `past` holds
    the hour's bucket counts, this bucket's included.
    """
    spans = (
        (bucket.posts, bucket.effective_authors),
        (sum(past), bucket.hour_effective_authors),
    )
    return max((posts / voices for posts, voices in spans if voices > 0), default=0.0)


def is_crowd(
    bucket: BucketStats,
    t: Thresholds,
    past: Iterable[float],
    author_score: float,
    acceleration: float,
) -> bool:
    """Whether the playbook's surge is carried by a crowd (always, for a bare count series).

    `author_score` is the significance of the bucket's distinct authors against their own
    baseline, `acceleration` the short decayed rate over the long one.
    """
    if bucket.authors is None:
        return True
    by_bucket = bucket.authors >= t.min_authors and author_score >= t.crowd_significance / 2
    by_hour = bucket.hour_authors // HOUR_CROWD >= t.min_authors  # a slow, steady crowd
    # a small bucket's top share is noise (2 of 5 posts); judge it over the hour instead
    small = bucket.posts < 2 * t.min_authors and bucket.hour_top_share > 0
    share = bucket.hour_top_share if small else bucket.top_author_share
    return (
        (by_bucket or by_hour)
        and share <= t.max_top_share
        and repeats(bucket, past) <= t.max_posts_per_voice
        and acceleration >= t.min_acceleration
    )


def term_fires(
    bucket: BucketStats,
    t: Thresholds,
    past: Iterable[float],
    scores: Floats,
    acceleration: Floats,
    needed: float,
) -> bool:
    """Whether one term alone surges enough, carried by a crowd of its own.

    `scores` and `acceleration` are each term's, `needed` the significance the playbook's
    total needs. The playbook's whole crowd must not repeat itself either: a ring spread
    over a few terms looks like a crowd within each term's bucket, but not over the hour.
    """
    if not bucket.terms or repeats(bucket, past) > t.max_posts_per_voice:
        return False  # no term had posts (an idle bucket): none surges, and it costs nothing
    for j in np.flatnonzero(scores >= needed * TERM_MARGIN):
        term = bucket.terms.get(int(j))
        if term is None:
            continue
        voices = term.effective_authors
        per_voice = term.posts / voices if voices > 0 else 0.0
        if (
            term.authors >= t.min_authors
            and term.top_share <= t.max_top_share
            and per_voice <= t.max_posts_per_voice
            and acceleration[j] >= t.min_acceleration
        ):
            return True
    return False
