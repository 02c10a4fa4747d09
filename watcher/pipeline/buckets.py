"""Per-playbook aggregates of matched posts in event-time buckets, and campaign tallies.

Only matched posts reach this module, so it can afford exact counts. `Counts` holds what a
`Bucket` and a `CampaignTally` both count; `History` the last few closed buckets. Memory is
bounded by keeping a fixed number of recent buckets and capping what a campaign remembers.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from river.sketch import NUnique

from detectors.base import BucketStats, TermStats
from watcher.pipeline.crowd import (
    MAX_EXACT_AUTHORS,
    NO_AUTHORS,
    AuthorWindow,
    Crowd,
    count_author,
    distinct,
    effective_authors,
    merged,
)
from watcher.pipeline.tokens import tokens_of
from watcher.post import Post

#: Recent closed buckets kept so a campaign can be summarised back to its onset.
HISTORY_BUCKETS = 24
#: Posts remembered per campaign for samples; reshare counts are kept for all.
MAX_REMEMBERED_POSTS = 2_000
#: Distinct resharers/repliers remembered per post (enough to tell a voice from a viral post).
MAX_ENGAGERS = 5_000
#: Distinct tokens counted per bucket and per campaign (a token seen first past it is not).
MAX_TOKENS = 2_000
#: Distinct authors (and wordings) remembered per token: enough to tell a crowd from one voice.
MAX_TOKEN_VOICES = 10


def count_tokens(counts: Counter[str], tokens: set[str]) -> None:
    """Count a post's tokens once each; past MAX_TOKENS distinct, only those already seen."""
    if len(counts) < MAX_TOKENS:
        counts.update(tokens)  # in C
        return
    for token in tokens:
        if token in counts:
            counts[token] += 1


def note_voices(tally: CampaignTally, tokens: set[str], author: str) -> None:
    """Remember who used each token, and in which wording, up to MAX_TOKEN_VOICES each."""
    authors, texts = tally.token_authors, tally.token_texts
    # In sorted order, not the set's: when only some of a post's new tokens fit under
    # MAX_TOKENS, which ones must not depend on the process's hash seed, or a replay and a
    # cluster worker (or a restart) would remember different tokens for one campaign.
    ordered = sorted(tokens)
    # copies of one text share it, mentions and links aside; crc32, not hash(), so that it
    # is the same after a restart from a checkpoint
    wording = zlib.crc32(" ".join(ordered).encode())
    for token in ordered:
        people = authors.get(token)
        if people is None:
            if len(authors) >= MAX_TOKENS:
                continue
            people = authors[token] = set()
            texts[token] = set()
        if len(people) < MAX_TOKEN_VOICES:
            people.add(author)
        seen = texts[token]
        if len(seen) < MAX_TOKEN_VOICES:
            seen.add(wording)


@dataclass(slots=True, kw_only=True)
class Counts:
    """What a bucket and a campaign's tally both count of a playbook's matched posts.

    Keyword-only, so each subclass's own first field (`start`, `onset`) stays positional.
    """

    posts: int = 0
    authors: Counter[str] = field(default_factory=Counter)
    more_authors: NUnique | None = None  # authors past MAX_EXACT_AUTHORS, sketched
    terms: Counter[int] = field(default_factory=Counter)  # by the term's index in the playbook
    reshares: Counter[str] = field(default_factory=Counter)  # original's id → reshares
    examples: dict[str, Post] = field(default_factory=dict)  # the first originals, by id
    sources: dict[str, float] = field(default_factory=dict)  # source → first post's time
    engagers: dict[str, set[str]] = field(default_factory=dict)  # post id → who picked it up
    followers: dict[str, int] = field(default_factory=dict)  # author → most followers seen

    @property
    def distinct_authors(self) -> int:
        return distinct(self.authors, self.more_authors)

    @property
    def top_author_share(self) -> float:
        """The busiest author's share of the posts."""
        top = max(self.authors.values(), default=0)
        return top / self.posts if self.posts else 0.0


@dataclass(slots=True)
class Bucket(Counts):
    """Everything counted for one playbook in one bucket."""

    start: float
    term_authors: dict[int, Counter[str]] = field(default_factory=dict)  # capped like authors

    def add(self, post: Post, terms: Iterable[int], timestamp: float) -> None:
        self.posts += 1
        for index in terms:
            self.terms[index] += 1
            by_term = self.term_authors.get(index)
            if by_term is None:
                by_term = self.term_authors[index] = Counter()
            if len(by_term) < MAX_EXACT_AUTHORS or post.author in by_term:
                by_term[post.author] += 1
        self.more_authors = count_author(self.authors, self.more_authors, post.author)
        if post.reshare_of:
            self.reshares[post.reshare_of] += 1
        elif len(self.examples) < MAX_REMEMBERED_POSTS:
            self.examples[post.id] = post
        source = post.source or "unknown"
        if source not in self.sources:
            self.sources[source] = timestamp
        target = post.reshare_of or post.reply_to
        if target:
            people = self.engagers.setdefault(target, set())
            if len(people) < MAX_ENGAGERS:
                people.add(post.author)
        if post.author_followers is not None:
            self.followers[post.author] = max(
                post.author_followers, self.followers.get(post.author, 0)
            )

    # Co-occurring tokens come from posts in their own words: a reshare repeats another's,
    # and counting it would make every word of one viral post look like news. They are the
    # remembered originals' (the first MAX_REMEMBERED_POSTS of a bucket: shares are what
    # novelty compares, and a sample keeps a firehose bucket bounded), worked out when the
    # bucket is learned, once per bucket, not per post as posts arrive.
    @property
    def originals(self) -> int:
        """Posts in their own words that the tokens are counted over."""
        return len(self.examples)

    @property
    def tokens(self) -> Counter[str]:
        """How many of the remembered originals carry each token (tokenises them: call once)."""
        counts: Counter[str] = Counter()
        seen: dict[tuple[str, tuple[str, ...]], set[str]] = {}  # copies of one text: once
        for post in self.examples.values():
            key = (post.text, post.hashtags)
            tokens = seen.get(key)
            if tokens is None:
                tokens = seen[key] = tokens_of(post.text, post.hashtags)
            count_tokens(counts, tokens)
        return counts

    def stats(self, per_term: bool = False, hour: Crowd | None = None) -> BucketStats:
        """The bucket's counts, and (if `per_term`) each of the playbook's terms' own, with
        the crowd of the `hour` up to it if given."""
        posts, share, voices = _crowd_of(self.authors, self.posts)
        per_term_stats = {}
        if per_term:
            for index, people in self.term_authors.items():
                count = self.terms[index]
                _, term_share, term_voices = _crowd_of(people, count)
                per_term_stats[index] = TermStats(count, len(people), term_share, term_voices)
        return BucketStats(
            self.start,
            posts,
            self.distinct_authors,
            share,
            effective_authors=voices,
            terms=per_term_stats,
            hour_authors=0 if hour is None else hour.distinct,
            hour_top_share=0.0 if hour is None else hour.top_share,
            hour_effective_authors=0.0 if hour is None else hour.effective,
        )


def _crowd_of(authors: Counter[str], posts: int) -> tuple[int, float, float]:
    """Posts, the busiest author's share of them, and effective authors."""
    top = max(authors.values(), default=0)
    share = top / posts if posts else 0.0
    voices = effective_authors(posts, sum(n * math.log(n) for n in authors.values() if n > 1))
    return posts, share, voices


@dataclass(slots=True)
class CampaignTally(Counts):
    """What a campaign has gathered since its onset, summed over buckets.

    Unlike a bucket's, its tokens are counted as buckets are absorbed, with who used them.
    """

    onset: float
    originals: int = 0
    tokens: Counter[str] = field(default_factory=Counter)
    token_authors: dict[str, set[str]] = field(default_factory=dict)
    token_texts: dict[str, set[int]] = field(default_factory=dict)

    def absorb(self, bucket: Bucket) -> None:
        self.posts += bucket.posts
        if len(self.authors) < MAX_EXACT_AUTHORS:
            self.authors.update(bucket.authors)
        else:  # a huge campaign: known authors still count, new ones are sketched
            for author, n in bucket.authors.items():
                self.more_authors = count_author(self.authors, self.more_authors, author, n)
        self.more_authors = merged(self.more_authors, bucket.more_authors)
        self.terms.update(bucket.terms)
        # Each remembered original is tokenised once, for both its counts and who said it.
        self.originals += bucket.originals
        for post in bucket.examples.values():
            tokens = tokens_of(post.text, post.hashtags)
            count_tokens(self.tokens, tokens)
            note_voices(self, tokens, post.author)
        self.reshares.update(bucket.reshares)
        room = MAX_REMEMBERED_POSTS - len(self.examples)
        for post_id, post in list(bucket.examples.items())[: max(room, 0)]:
            self.examples.setdefault(post_id, post)
        for source, first in bucket.sources.items():
            self.sources[source] = min(first, self.sources.get(source, first))
        for post_id, people in bucket.engagers.items():
            mine = self.engagers.get(post_id)
            if mine is None and len(self.engagers) < MAX_REMEMBERED_POSTS:
                mine = self.engagers[post_id] = set()
            if mine is not None and len(mine) < MAX_ENGAGERS:
                mine |= people
        for author, count in bucket.followers.items():
            self.followers[author] = max(count, self.followers.get(author, 0))

    def token_support(self) -> dict[str, int]:
        """How many distinct voices used each token, counted up to MAX_TOKEN_VOICES.

        For a hashtag, distinct authors: a tag is a label people pass on, so copies count,
        but one account repeating it does not. For a word or phrase, the fewer of distinct
        authors and distinct wordings: the words of one text pasted by a hundred accounts
        are that text's, and its samples already show it.
        """
        texts = self.token_texts
        return {
            token: len(people) if token[0] == "#" else min(len(people), len(texts[token]))
            for token, people in self.token_authors.items()
        }


class History:
    """The last few closed buckets of one playbook, to seed a campaign back to its onset.

    It also keeps who posted in the last `window - 1` buckets, so each bucket's stats carry
    the crowd of the hour up to it (`watcher.pipeline.crowd.AuthorWindow`). An empty bucket
    is kept as its start alone (`push_empty`), and built only if `since` is asked for it:
    nearly every close of a long replay is an empty one.
    """

    def __init__(self, window: int) -> None:
        self._buckets: deque[Bucket | float] = deque(maxlen=HISTORY_BUCKETS)
        self._hour = AuthorWindow(window - 1)

    def push(self, bucket: Bucket) -> None:
        self._buckets.append(bucket)
        self._hour.push(bucket.authors, bucket.posts, bucket.more_authors)

    def push_empty(self, start: float) -> None:
        """`push` for the empty bucket from `start`."""
        self._buckets.append(start)
        self._hour.push(NO_AUTHORS, 0)

    def stats_with(self, bucket: Bucket, per_term: bool = False) -> BucketStats:
        """`bucket`'s stats, with the crowd of it and the buckets of the hour before it."""
        hour = self._hour.with_bucket(bucket.authors, bucket.posts, bucket.more_authors)
        return bucket.stats(per_term, hour)  # built once: `dataclasses.replace` cost ~6 µs

    def stats_empty(self, start: float) -> BucketStats:
        """`stats_with` for the empty bucket from `start`: the same figures, no `Bucket`."""
        hour = self._hour.crowd()
        return BucketStats(
            start,
            0,
            0,
            0.0,
            effective_authors=0.0,
            terms={},
            hour_authors=hour.distinct,
            hour_top_share=hour.top_share,
            hour_effective_authors=hour.effective,
        )

    def since(self, onset: float) -> list[Bucket]:
        return [
            b if isinstance(b, Bucket) else Bucket(b)
            for b in self._buckets
            if (b.start if isinstance(b, Bucket) else b) >= onset
        ]
