"""Novelty of co-occurring tokens: which ones a surge makes newly significant."""

from __future__ import annotations

import math
from collections.abc import Mapping

#: A token worth fewer posts than this today is dropped first when the baseline is full.
MIN_KEPT = 1.5
#: Rescale the forward-decayed weights before 2**RESCALE_AFTER half-lives overflow them.
RESCALE_AFTER = 64.0


def g_squared(k: float, n: float, base_k: float, base_n: float) -> float:
    """Dunning's log-likelihood ratio G² of a 2×2 table, signed by the direction of change.

    `k` of `n` posts in the window carry the token, against `base_k` of `base_n` in the
    baseline. Positive when the window's share is the higher; 10.83 is p = 0.001 (1 dof).

    >>> round(g_squared(5, 10, 1, 100), 1), round(g_squared(1, 100, 5, 10), 1)
    (21.5, -21.5)
    >>> g_squared(3, 30, 30, 300)
    0.0
    """
    total = n + base_n
    if n <= 0 or base_n <= 0 or total <= 0:
        return 0.0
    present = k + base_k
    absent = total - present
    g = 0.0
    for observed, row, column in (
        (k, n, present),
        (n - k, n, absent),
        (base_k, base_n, present),
        (base_n - base_k, base_n, absent),
    ):
        if observed > 0:
            g += observed * math.log(observed * total / (row * column))
    g = max(2.0 * g, 0.0)
    return g if k * base_n >= base_k * n else -g


class Novelty:
    """Tokens whose share of a surge's posts is significantly above their usual share.

    The baseline is how many posts on the issue carried each token (a hashtag, word or
    phrase), with the posts counted per bucket and decayed by event time. A surge window's
    counts are then tested token by token with Dunning's G² against that baseline, and a
    token is emerging when it is significant (`threshold`), is `min_lift` times as common as
    usual, and was posted at least `min_count` times with the support of at least
    `min_support` distinct voices, so that one account repeating its own hashtag is not news.
    (The caller says what a voice is: distinct authors, or, better, the fewer of distinct
    authors and distinct wordings, so that a hundred accounts pasting one text are one.)

    Comparing shares rather than rates is the point: a surge raises the volume of every
    word, everyday ones too, but only what is new to the conversation takes a larger share.
    The test weighs the baseline's own size, so a thin baseline (a young playbook) is
    cautious and a long one lets three posts from three people through.

    The counts decay by forward decay: each count is stored multiplied by
    2^((t − landmark) / half_life), so decaying the whole baseline costs nothing and
    shares are exact. Memory is at most `2 · max_tokens` tokens: beyond that, tokens worth
    under `MIN_KEPT` posts today are dropped, and if that is not enough only the
    `max_tokens` with the largest decayed counts are kept. Those are the commonest and the
    most recent; a dropped token had a baseline near zero, so forgetting it barely changes
    its score, whereas forgetting an everyday word would make it look new.

    It works on the matched posts of one issue, where a campaign brings names, tags and
    phrases the everyday talk does not use. It does not work when the surge is made of the
    usual words (nothing is new: the alert then names no emerging term), on a baseline of a
    few dozen posts (nothing is significant yet), or across languages: stopwords are the
    caller's and the test does not know synonyms or spellings.

    Don't learn from a surge: `learn` only quiet buckets. Because a campaign's onset is
    found after the fact, `learn` holds each bucket back for `hold` seconds, and
    `discard_since(onset)` drops the held buckets that turned out to be the campaign's.

    Parameters
    ----------
    half_life
        Seconds of event time after which a baseline count has half its weight.
    max_tokens
        Tokens kept in the baseline (up to twice as many between prunings). 2,000 covers an
        issue's everyday vocabulary; at 5,000, 100 playbooks' baselines held ~770k tokens
        (~90 MB) in `bench/memory.py`'s run.
    threshold
        G² above which a token's larger share is significant (10.83: p = 0.001).
    min_lift
        How many times its usual share a token must reach.
    min_count
        Posts in the window that must carry the token.
    min_support
        Distinct voices (authors, say) who must have used it.
    hold
        Seconds a learned bucket waits before it joins the baseline.

    Examples
    --------
    Two days of everyday posts on an issue, then a surge that brings a new hashtag:

    >>> import random
    >>> rng = random.Random(3)
    >>> everyday = ["report", "ports", "council", "#wastejustice"]
    >>> nov = Novelty(half_life=86_400, hold=0)
    >>> for hour in range(48):
    ...     posts = rng.randint(5, 15)
    ...     counts = {t: sum(rng.random() < 0.3 for _ in range(posts)) for t in everyday}
    ...     nov.learn(posts, counts, at=hour * 3600.0)
    >>> window = {"report": 6, "council": 4, "#trafigura": 14, "guardian": 9}
    >>> support = {"report": 6, "council": 4, "#trafigura": 13, "guardian": 9}
    >>> [(t, round(s)) for t, s in nov.emerging(20, window, support, at=48 * 3600.0)]
    [('#trafigura', 87), ('guardian', 52)]

    One author's tag is not news, however often it is posted:

    >>> nov.emerging(20, {"#mytag": 12}, {"#mytag": 1}, at=48 * 3600.0)
    []

    References
    ----------
    Dunning. "Accurate methods for the statistics of surprise and coincidence."
    Computational Linguistics 19(1), 1993.
    Cormode, Shkapenyuk, Srivastava, Xu. "Forward decay: a practical time decay model for
    streaming systems." ICDE 2009.

    """

    def __init__(
        self,
        half_life: float = 24 * 3600.0,
        max_tokens: int = 2_000,
        threshold: float = 10.83,
        min_lift: float = 3.0,
        min_count: int = 3,
        min_support: int = 3,
        hold: float = 3600.0,
    ) -> None:
        if half_life <= 0:
            raise ValueError(f"half_life={half_life} must be positive")
        if max_tokens < 1:
            raise ValueError(f"max_tokens={max_tokens} must be at least 1")
        self.half_life = half_life
        self.max_tokens = max_tokens
        self.threshold = threshold
        self.min_lift = min_lift
        self.min_count = min_count
        self.min_support = min_support
        self.hold = hold
        self.landmark: float | None = None
        self.posts = 0.0  # forward-decayed posts learned
        self.counts: dict[str, float] = {}  # forward-decayed posts carrying each token
        self.held: list[tuple[float, int, dict[str, int]]] = []  # (at, posts, counts)

    def learn(self, posts: int, tokens: Mapping[str, int], at: float) -> None:
        """Learn one quiet bucket: its `posts` and how many of them carried each token.

        It joins the baseline once it is `hold` seconds older than the newest bucket.
        Buckets come in time order, so those ready are the oldest held ones.
        """
        held = self.held
        held.append((at, posts, dict(tokens) if tokens else {}))
        cut, ready = at - self.hold, 0
        while ready < len(held) and held[ready][0] <= cut:
            ready += 1
        if ready:
            entries = held[:ready]
            del held[:ready]
            for entry in entries:
                self._commit(*entry)

    def discard_since(self, at: float) -> None:
        """Forget the held buckets from `at` on: they were a campaign's, found late."""
        self.held = [entry for entry in self.held if entry[0] < at]

    def _commit(self, at: float, posts: int, tokens: Mapping[str, int]) -> None:
        if self.landmark is None:
            self.landmark = at
        if (at - self.landmark) / self.half_life > RESCALE_AFTER:
            self._rescale(at)
        if not posts and not tokens:
            return  # an empty bucket: adding 0 × its weight would change nothing
        weight = math.pow(2.0, (at - self.landmark) / self.half_life)
        self.posts += posts * weight
        counts = self.counts
        get = counts.get
        for token, count in tokens.items():
            counts[token] = get(token, 0.0) + count * weight
        if len(counts) > 2 * self.max_tokens:
            # First drop what is worth less than MIN_KEPT posts today (one-off words, long
            # ago): one pass, no sort, and usually enough. Only then rank what is left.
            floor = MIN_KEPT * weight
            kept = {token: value for token, value in counts.items() if value >= floor}
            if len(kept) > self.max_tokens:
                # ties broken by the token, not by the dict's order: that is the order of
                # a set of strings, which is the process's hash seed, and a cluster worker
                # must keep the same tokens as a replay
                ranked = sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))
                kept = dict(ranked[: self.max_tokens])
            self.counts = kept

    def _rescale(self, at: float) -> None:
        assert self.landmark is not None
        factor = math.pow(2.0, (self.landmark - at) / self.half_life)
        self.posts *= factor
        self.counts = {token: value * factor for token, value in self.counts.items()}
        self.landmark = at

    def _decay(self, at: float) -> float:
        """What one stored unit is worth at time `at`."""
        if self.landmark is None:
            return 0.0
        return math.pow(2.0, (self.landmark - at) / self.half_life)

    def baseline(self, token: str, at: float) -> tuple[float, float]:
        """(decayed posts carrying `token`, decayed posts in all) as seen at time `at`."""
        scale = self._decay(at)
        return self.counts.get(token, 0.0) * scale, self.posts * scale

    def emerging(
        self,
        posts: int,
        tokens: Mapping[str, int],
        support: Mapping[str, int],
        at: float,
    ) -> list[tuple[str, float]]:
        """The window's newly significant tokens with their G², the most significant first.

        `posts` is how many posts the window has, `tokens` how many of them carried each
        token, `support` how many distinct voices used it, and `at` the window's end.
        """
        scale = self._decay(at)
        base_n = self.posts * scale
        found = []
        for token, count in tokens.items():
            if count < self.min_count or support.get(token, 0) < self.min_support:
                continue
            base_k = self.counts.get(token, 0.0) * scale
            # the usual share, smoothed so a token never seen has a small one, not zero
            usual = (base_k + 0.5) / (base_n + 1.0)
            if count / posts < self.min_lift * usual:
                continue
            g = g_squared(count, posts, base_k, base_n)
            if g >= self.threshold:
                found.append((token, g))
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found
