"""Who has spoken on a playbook's issue before, and how: a bounded table, and voice candidates.

`TopicHistory` learns from quiet buckets only (a surge's own posts are no evidence of
standing before it). Per author it keeps the first and last time they posted on the issue,
how many posts, how many in their own words (originals and replies rather than reshares),
and how many of those read as abuse (`responders.brief.safety`). Memory is bounded: past
`MAX_AUTHORS` rows the half with the least record (fewest posts, then seen longest ago) is
forgotten at once, so the cost is amortised O(1) per post and a firehose of one-off
authors cannot push out the accounts that post on the issue week after week.

`voice_candidates` turns a campaign's tally plus this history into `VoiceCandidate`s for
the brief: whose posts many distinct people picked up, their reach, their record on the
issue, account age, and shares of own words and abuse. Deciding who may be shown is the
responders' people-safety rule (`responders.brief.voices`), not this module's.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from responders.alert import VoiceCandidate
from responders.brief.safety import abusive_flags, is_abusive
from watcher.pipeline.buckets import Bucket, CampaignTally
from watcher.post import Post

#: Authors remembered per playbook (about 100 bytes each: 50,000 is a few MB).
MAX_AUTHORS = 50_000
#: Candidates handed to the brief (the most picked-up).
MAX_CANDIDATES = 20
DAY = 86400.0


@dataclass(slots=True)
class Record:
    """One author's posts on the issue outside surges."""

    first: float
    last: float
    posts: int = 0
    own_words: int = 0
    abusive: int = 0

    def __reduce__(self) -> tuple[type[Record], tuple[Any, ...]]:
        """Pickle as a constructor call (up to `MAX_AUTHORS` of these a playbook are in
        every checkpoint; a slotted dataclass's default state is ~3× slower to write)."""
        return (Record, _record_fields(self))


_record_fields = operator.attrgetter(*(f.name for f in fields(Record)))


class TopicHistory:
    """Per-author record on one issue, bounded at `cap` authors.

    >>> from watcher.post import Post
    >>> from datetime import UTC, datetime
    >>> history = TopicHistory(cap=4)
    >>> for day, author in enumerate(["ann", "ann", "bob", "cy", "dee", "eve", "ann"]):
    ...     bucket = Bucket(day * DAY)
    ...     post = Post(f"{day}", author, "raw sewage", datetime(2009, 10, 1, tzinfo=UTC))
    ...     bucket.add(post, [0], day * DAY)
    ...     history.learn(bucket)
    >>> sorted(history.records), history.records["ann"].posts  # full at eve: 2 kept
    (['ann', 'eve'], 3)
    """

    def __init__(self, cap: int = MAX_AUTHORS) -> None:
        self.cap = cap
        self.records: dict[str, Record] = {}

    def learn(self, bucket: Bucket) -> None:
        """Add a quiet bucket's posts to their authors' records."""
        records = self.records
        at = bucket.start
        for author, posts in bucket.authors.items():
            record = records.get(author)
            if record is None:
                record = records[author] = Record(at, at)
            record.posts += posts
            record.last = at
        originals = bucket.examples.values()  # the originals and replies
        for post in originals:
            records[post.author].own_words += 1
        flags = abusive_flags([post.text for post in originals])
        if flags is not None:
            for post, abusive in zip(originals, flags, strict=True):
                records[post.author].abusive += abusive
        if len(records) > self.cap:
            kept = sorted(records.items(), key=lambda kv: (kv[1].posts, kv[1].last), reverse=True)
            self.records = dict(kept[: self.cap // 2])

    def get(self, author: str) -> Record | None:
        return self.records.get(author)


def voice_candidates(
    tally: CampaignTally, history: TopicHistory, earlier: Sequence[Bucket] = ()
) -> tuple[VoiceCandidate, ...]:
    """Accounts whose posts the surge reshared or replied to, most engagers first.

    A post from before the onset (in one of the `earlier` buckets) that the surge picks up
    counts too, with those who picked it up before the onset: the voices that start a surge
    post before it shows, and its rise begins before the detector is sure of it. A post only
    picked up before the onset does not: that is everyday resharing, not the surge.
    """
    people: dict[str, set[str]] = defaultdict(set)
    top_post: dict[str, int] = defaultdict(int)
    urls: dict[str, str] = {}
    before = [b for b in earlier if b.start < tally.onset]
    originals: dict[str, Post] = {}
    for post_id, engagers in tally.engagers.items():
        original = tally.examples.get(post_id)
        for bucket in before:
            if original is None:
                original = bucket.examples.get(post_id)
            engagers = engagers | bucket.engagers.get(post_id, set())  # its rise before
        if original is None:
            continue  # we never saw whose post it was
        originals[post_id] = original
        others = engagers - {original.author}
        people[original.author] |= others
        if len(others) > top_post[original.author]:
            top_post[original.author] = len(others)
            urls[original.author] = original.url
    ranked = sorted(people, key=lambda a: (-len(people[a]), a))[:MAX_CANDIDATES]
    return tuple(
        _candidate(tally, history, a, len(people[a]), top_post[a], urls, originals) for a in ranked
    )


def _candidate(
    tally: CampaignTally,
    history: TopicHistory,
    author: str,
    engagers: int,
    top_post: int,
    urls: dict[str, str],
    originals: dict[str, Post],
) -> VoiceCandidate:
    mine = [p for p in tally.examples.values() if p.author == author]
    picked = [p for p in originals.values() if p.author == author]
    joined = next((p.author_created_at for p in picked if p.author_created_at is not None), None)
    reported = [p.author_followers for p in picked if p.author_followers is not None]
    record = history.get(author)
    posts = tally.authors.get(author, 0)
    before = record.posts if record else 0
    own = (record.own_words if record else 0) + len(mine)
    abusive = (record.abusive if record else 0) + sum(is_abusive(p.text) for p in mine)
    return VoiceCandidate(
        account=author,
        engagers=engagers,
        posts=posts,
        followers=tally.followers.get(author, max(reported, default=None)),
        seen_before=record is not None and record.first < tally.onset,
        top_post_engagers=top_post,
        url=urls.get(author, ""),
        topic_posts=before,
        topic_days=max(0.0, (tally.onset - record.first) / DAY) if record else 0.0,
        own_words=min(1.0, own / max(1, before + posts)),
        abusive=abusive / own if own else 0.0,
        account_age_days=None if joined is None else (tally.onset - joined) / DAY,
    )
