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
#: The most posts per new person a surge may carry in one bucket: a crowd's extra posts come
#: with about as many people new to the bucket as posts (each posts once or twice over the
#: whole event), a ring's volume is its few accounts posting again and again, so its posts
#: outrun its accounts from the first bucket on (chosen between the highest crowd, 1.24, and
#: the lowest ring, 1.42, on sweep seeds 20-27; see bench/README.md, issue 13 session 6).
SURGE_REPEATS = 4 / 3
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


def surge_repeats(bucket: BucketStats, everyday: tuple[float, float]) -> float:
    """Posts per extra person in the bucket: its posts over what the hour usually holds,
    divided by its distinct authors over theirs (`everyday`: the baselines' expected posts
    and distinct authors). Judged on the excess, not the whole bucket, so a series whose
    everyday regulars post often does not count against a crowd arriving on top of it.

    0 when the bucket holds no extra posts: there is no surge to judge. When the extra posts
    bring no extra people, every one of them is a repeat (`inf`).

    >>> surge_repeats(BucketStats(0.0, 22, 21), (2.0, 2.0))  # 20 posts from 19 newcomers
    1.0526315789473684
    >>> surge_repeats(BucketStats(0.0, 22, 13), (2.0, 2.0))  # 20 posts from 11 accounts
    1.8181818181818181
    """
    if bucket.authors is None:
        return 0.0
    posts, people = bucket.posts - everyday[0], bucket.authors - everyday[1]
    if posts <= 0:
        return 0.0
    return posts / people if people > 0 else float("inf")


def is_crowd(
    bucket: BucketStats,
    t: Thresholds,
    past: Iterable[float],
    author_score: float,
    acceleration: float,
    everyday: tuple[float, float] = (0.0, 0.0),
) -> bool:
    """Whether the playbook's surge is carried by a crowd (always, for a bare count series).

    `author_score` is the significance of the bucket's distinct authors against their own
    baseline, `acceleration` the short decayed rate over the long one, `everyday` the
    posts and distinct authors the baselines expect in this bucket (`surge_repeats`).
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
        and surge_repeats(bucket, everyday) <= SURGE_REPEATS
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
