"""Collect what `responders.brief.voices` needs about a surge's accounts, and the brief's texts.

The engine counts, per bucket, who reshared or replied to which post and the follower counts
sources report. Here a campaign's tally becomes `VoiceCandidate`s: which accounts' posts many
distinct people picked up, and whether they spoke on the issue before the surge.
Deciding who may be shown is the responders' people-safety rule, not this module's.
"""

from __future__ import annotations

from collections import defaultdict

from responders.alert import VoiceCandidate
from watcher.pipeline.buckets import Bucket, CampaignTally

#: Authors remembered per playbook as having spoken on the issue outside a surge.
MAX_KNOWN_AUTHORS = 50_000
#: Candidates handed to the brief (the most picked-up).
MAX_CANDIDATES = 20
#: Post texts handed to the brief for ranking resources and spotting requests.
MAX_TEXTS = 300


def remember_authors(known: dict[str, float], bucket: Bucket) -> None:
    """Note when each of the bucket's authors first spoke on the issue (quiet buckets only)."""
    for author in bucket.authors:
        known.setdefault(author, bucket.start)
    if len(known) > MAX_KNOWN_AUTHORS:  # forget the earliest half
        keep = sorted(known.items(), key=lambda kv: kv[1], reverse=True)[: MAX_KNOWN_AUTHORS // 2]
        known.clear()
        known.update(keep)


def voice_candidates(tally: CampaignTally, known: dict[str, float]) -> tuple[VoiceCandidate, ...]:
    """Accounts whose posts in the surge were reshared or replied to, most engagers first."""
    people: dict[str, set[str]] = defaultdict(set)
    top_post: dict[str, int] = defaultdict(int)
    urls: dict[str, str] = {}
    for post_id, engagers in tally.engagers.items():
        original = tally.examples.get(post_id)
        if original is None:
            continue  # we never saw whose post it was
        others = engagers - {original.author}
        people[original.author] |= others
        if len(others) > top_post[original.author]:
            top_post[original.author] = len(others)
            urls[original.author] = original.url
    ranked = sorted(people, key=lambda a: (-len(people[a]), a))[:MAX_CANDIDATES]
    return tuple(
        VoiceCandidate(
            account=author,
            engagers=len(people[author]),
            posts=tally.authors.get(author, 0),
            followers=tally.followers.get(author),
            seen_before=known.get(author, tally.onset) < tally.onset,
            top_post_engagers=top_post[author],
            url=urls.get(author, ""),
        )
        for author in ranked
    )


def surge_texts(tally: CampaignTally) -> tuple[str, ...]:
    """Distinct texts of the surge's first posts (originals and replies), for the brief."""
    texts = dict.fromkeys(post.text for post in tally.examples.values())
    return tuple(texts)[:MAX_TEXTS]
