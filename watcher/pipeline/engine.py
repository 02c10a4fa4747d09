"""The synchronous core of the pipeline: posts in, alerts out, on event time.

`Engine` runs the stages in order over each batch: decode the lines (`decode`), match the
posts against every playbook in one pass (`matcher`), set the organisation's own voice apart
(`own`), count the rest into each playbook's event-time buckets (`windows`, `buckets`), feed
each bucket the watermark closes to that playbook's detector (`detectors.base.Detector`),
and turn lifecycle transitions into `Alert`s with their brief (`surge`). `PlaybookRuntime`
is one playbook's live state across those stages; the engine also swaps playbooks in
without losing state and applies staff feedback. It does no I/O and reads no clock, so
replay is deterministic and the async service simply feeds it batches.

Long because the engine's per-batch loop (watermark per feed, refusal, counting, closing)
and the runtime it drives share the same bucket and gap rules; apart, each would reach into
the other's state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from detectors.base import Detector
from detectors.campaign import CampaignDetector, Decision
from detectors.novelty import Novelty
from responders.alert import Alert
from watcher.pipeline.buckets import Bucket, CampaignTally, History
from watcher.pipeline.decode import Decoded, decode_lines, from_posts, rfc3339_seconds
from watcher.pipeline.own import OwnVoice, own_handles, remember
from watcher.pipeline.standing import TopicHistory
from watcher.pipeline.surge import build_alert, emerging_terms
from watcher.pipeline.tokens import OwnTerms
from watcher.pipeline.windows import Skipped, Watermark, Windows, by_feed
from watcher.playbooks.model import Playbook, build_matcher
from watcher.post import Post, PostError

__all__ = ["BucketHook", "Engine", "EngineStats", "PlaybookRuntime", "rfc3339_seconds"]

#: How long the baseline of co-occurring tokens remembers, for picking out emerging terms.
TOKEN_HALF_LIFE_S = 24 * 3600.0
#: How far back CampaignDetector may date an onset (its `_recent`), in buckets.
ONSET_LOOKBACK_BUCKETS = 12
#: Across a gap in event time, this much of the empty stretch is closed bucket by bucket
#: (the detector's short-term view, an hour and its decayed rates, is all zeros well within
#: a day); the rest is skipped in one step (`Detector.skip`), so a gap costs nothing.
IDLE_SPAN_S = 24 * 3600.0
#: How far a feed may run behind the newest one and still hold buckets open (see
#: `windows.Watermark`): sources clamp posts to at most 5 minutes in the future, so two
#: honest feeds' clocks are within this of each other.
MAX_FEED_SKEW_S = 300.0
#: A post more than this behind the watermark is refused rather than late: far outside the
#: current window (a post dated years ago), counted per feed.
HORIZON_S = 24 * 3600.0


@dataclass(slots=True)
class EngineStats:
    """Plain counters the watcher exports as metrics after each batch."""

    received: int = 0
    malformed: int = 0
    late: int = 0
    late_by: dict[str, int] = field(default_factory=dict)  # by playbook (a cluster's shards)
    refused: dict[str, int] = field(default_factory=dict)  # by feed: far outside the window
    matched: dict[str, int] = field(default_factory=dict)
    own_voice: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=lambda: {"new": 0, "update": 0})
    last_error: str = ""

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


#: Called with (playbook name, closed bucket, the detector's decision on it).
BucketHook = Callable[[str, Bucket, Decision], None]


class PlaybookRuntime:
    """One playbook's live state: open buckets, detector, history and open campaign."""

    #: What a checkpoint saves of a runtime; the playbook itself comes from configuration.
    STATE = ("detector", "history", "windows", "campaign", "last", "novelty", "standing")

    def __init__(self, playbook: Playbook, lateness: float) -> None:
        self.playbook = playbook
        terms = len(playbook.watch.terms)
        zone = playbook.respond.timezone  # the team's local days shape the baseline
        self.detector: Detector = CampaignDetector(playbook.detect, terms, zone)
        self.windows = Windows(playbook.detect.bucket_minutes * 60.0, lateness)
        self.history = History(self.detector.window)
        self.campaign: CampaignTally | None = None
        self.last: Decision | None = None
        self.on_close: BucketHook | None = None  # sees every closed bucket (backtest plots)
        # a quiet bucket is learned late, once it is too old to be a backdated onset's
        self.novelty = Novelty(TOKEN_HALF_LIFE_S, hold=ONSET_LOOKBACK_BUCKETS * self.width)
        self.own = OwnVoice.of(playbook)
        self._own_terms = OwnTerms(playbook.watch.terms)
        self.standing = TopicHistory()  # who spoke on the issue outside a surge, and how

    def state(self) -> dict[str, object]:
        """The live detection state, for a checkpoint (picklable)."""
        return {name: getattr(self, name) for name in self.STATE}

    def load_state(self, state: dict[str, object]) -> None:
        for name in self.STATE:
            if name == "standing" and name not in state:
                continue  # a checkpoint from before the topic history: it starts empty
            setattr(self, name, state[name])

    @property
    def width(self) -> float:
        """Seconds a bucket spans."""
        return self.windows.width

    @property
    def first_start(self) -> float | None:
        """Start of the next bucket to close; None before the first post."""
        return self.windows.first_start

    def start_at(self, ts: float) -> None:
        """Begin counting at the bucket holding `ts`, so quiet playbooks learn their zeros."""
        self.windows.start_at(ts)

    def next_close(self) -> float:
        """The watermark at which the oldest open bucket closes."""
        return self.windows.next_close()

    def close_until(self, watermark: float) -> list[Alert]:
        """Close every bucket `watermark` has passed; the alerts their decisions raise."""
        alerts: list[Alert] = []
        idle = IDLE_SPAN_S / self.width
        for bucket in self.windows.advance(watermark, idle):
            if isinstance(bucket, Skipped):
                self.detector.skip(bucket.start, bucket.buckets)
                continue
            alert = self._close(bucket) if isinstance(bucket, Bucket) else self._close_empty(bucket)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _close(self, bucket: Bucket) -> Alert | None:
        decision = self.detector.update(self.history.stats_with(bucket, self.detector.scores_terms))
        self.history.push(bucket)
        return self._decided(decision, bucket, bucket.start)

    def _close_empty(self, start: float) -> Alert | None:
        """`_close` for the empty bucket from `start`: the same stats for the detector, and
        no `Bucket` built unless a hook or a new campaign wants one."""
        decision = self.detector.update(self.history.stats_empty(start))
        self.history.push_empty(start)
        return self._decided(decision, None, start)

    def _decided(self, decision: Decision, bucket: Bucket | None, start: float) -> Alert | None:
        """Act on a closed bucket's decision (`bucket` None: it was empty, so there is
        nothing for a campaign's tally, the token baseline or the topic history to add)."""
        self.last = decision
        if self.on_close is not None:
            self.on_close(self.playbook.name, bucket or Bucket(start), decision)
        if decision.transition == "new":
            assert decision.onset is not None
            self.campaign = CampaignTally(decision.onset)
            self.novelty.discard_since(decision.onset)
            for past in self.history.since(decision.onset):
                self.campaign.absorb(past)
        elif self.campaign is not None:
            if bucket is not None:
                self.campaign.absorb(bucket)
        elif bucket is None:
            self.novelty.learn(0, {}, start)  # still learned: it holds the baseline's clock
        else:  # a surge's posts are not the usual words or voices
            self.novelty.learn(bucket.originals, bucket.tokens, bucket.start)
            self.standing.learn(bucket)
        alert = self._alert(decision) if decision.transition else None
        if decision.state == "over":
            self.campaign = None
        return alert

    def _alert(self, decision: Decision) -> Alert:
        tally = self.campaign or CampaignTally(decision.start)
        at = decision.start + self.width
        return build_alert(
            self.playbook,
            decision,
            tally,
            emerging=emerging_terms(self.novelty, tally, self._own_terms, at),
            history=self.standing,
            earlier=self.history.since(-math.inf),  # the last two hours, for posts before the onset
        )


class Engine:
    """Match, bucket and detect for a set of playbooks. Feed posts; collect alerts.

    Time is event time only: buckets close when the watermark passes their end plus
    `lateness`; posts older than that are counted as late and dropped, and posts more than
    `HORIZON_S` behind it are refused (counted per feed). The watermark is the newest
    `created_at` seen, per feed: each batch says which feed it came from, and a bucket
    closes once every feed has passed it or the newest is `max_skew` past it.
    """

    def __init__(
        self,
        playbooks: Sequence[Playbook],
        *,
        lateness: float = 60.0,
        max_skew: float = MAX_FEED_SKEW_S,
    ) -> None:
        self.playbooks = tuple(playbooks)
        self.lateness = lateness
        self._marks = Watermark(max_skew)
        self._bucket_hook: BucketHook | None = None
        self.runtimes = [PlaybookRuntime(p, lateness) for p in self.playbooks]
        self.matcher = build_matcher(self.playbooks)
        self.own_handles = own_handles(self.playbooks)  # whose post ids to remember
        self._own_ids: set[str] = set()  # own posts seen (checkpointed), to know reshares
        self.stats = EngineStats(
            matched=dict.fromkeys((p.name for p in self.playbooks), 0),
            own_voice=dict.fromkeys((p.name for p in self.playbooks), 0),
        )
        self.watermark = -math.inf
        self._next_close = math.inf
        self._alerts: list[Alert] = []
        #: The outbox feedback row up to which "Not a campaign" clicks are applied (None: not
        #: known yet). Checkpointed with the detectors, so after a crash both roll back
        #: together and each click is applied exactly once.
        self.false_alarms_applied: int | None = None

    def expect_feeds(self, feeds: Iterable[str]) -> None:
        """Name the feeds that will send, so one that starts behind the others (or has not
        sent yet) holds buckets open for it, up to the skew bound, instead of finding its
        first posts late. A name that never sends (`ingest:*`: a relay's senders name their
        own feeds, and a new one may start up behind the rest at any time) holds them so
        for good."""
        for feed in feeds:
            self._marks.expect(feed)

    def feed_lines(self, lines: Iterable[bytes | str], *, source: str = "") -> None:
        """Decode and process NDJSON post lines; malformed ones are counted and skipped.

        This is the replay hot path, so it is batched, and a `Post` is built only for the
        lines in which the matcher finds a term (see `watcher.pipeline.decode`).
        """
        self.feed_decoded(decode_lines(lines, source=source, own=self.own_handles), feed=source)

    def feed_posts(self, posts: Sequence[Post], *, feed: str = "", relays: bool = False) -> None:
        """Process already-normalised posts (the live service path), batched like replay;
        `feed` names the source they came from (each has its own watermark), and a source
        that `relays` other feeds has each post's `source` name its own feed."""
        for name, group in by_feed(posts, feed, relays=relays):
            self.feed_decoded(from_posts(group, own=self.own_handles), feed=name)

    def feed_decoded(self, batch: Decoded, *, feed: str = "") -> None:
        """Process one decoded batch from `feed`: count what it held, then match and bucket
        its posts."""
        stats = self.stats
        stats.received += batch.received
        if batch.malformed:
            stats.malformed += batch.malformed
            stats.last_error = batch.last_error
        for post_id in batch.own_ids:
            remember(self._own_ids, post_id)
        self._ingest(batch.texts, batch.stamps, batch.post_at, feed)

    def _ingest(
        self,
        texts: Sequence[str],
        stamps: Sequence[float],
        post_at: Callable[[int], Post],
        feed: str,
    ) -> None:
        """Count the batch's matching posts, closing buckets in event-time order as we go.

        Before the i-th post is counted the watermark moves to the newest time of the posts
        before it, exactly as if the batch had been fed one post at a time.
        """
        if not stamps:
            return
        if self.watermark == -math.inf:  # with other feeds to come, start as far back as
            others = any(name != feed for name in self._marks.feeds)
            first = stamps[0] - (self._marks.max_skew if others else 0.0)
            for runtime in self.runtimes:  # they may be behind this one
                runtime.start_at(first)
            self._next_close = min((r.next_close() for r in self.runtimes), default=math.inf)
        done = 0
        for index in self.matcher.candidates(texts):
            if index > done:
                self._advance_to(max(stamps[done:index]), feed)
                done = index
            try:
                post = post_at(index)
            except PostError as exc:
                self.stats.malformed += 1
                self.stats.last_error = str(exc)
                continue
            hits = self.matcher.match(post.text, post.lang)
            if hits:
                self._count(post, stamps[index], hits, feed)
        self._advance_to(max(stamps[done:]), feed)

    def _count(self, post: Post, ts: float, hits: dict[int, list[int]], feed: str) -> None:
        if ts < self.watermark - HORIZON_S:  # far outside the window: refused, not bucketed
            self.stats.refused[feed] = self.stats.refused.get(feed, 0) + 1
            return
        for index, terms in hits.items():
            runtime = self.runtimes[index]
            name = runtime.playbook.name
            if runtime.own.spoke(post, self._own_ids):
                self.stats.own_voice[name] += 1
                if post.reshare_of:  # so a reshare of this reshare is own voice too
                    remember(self._own_ids, post.id)
            elif runtime.windows.add(post, terms, ts):
                self.stats.matched[name] += 1
                self._next_close = min(self._next_close, runtime.windows.next_close())
            else:
                self.stats.late += 1
                self.stats.late_by[name] = self.stats.late_by.get(name, 0) + 1

    def _advance_to(self, ts: float, feed: str) -> None:
        mark = max(self._marks.see(feed, ts), self.watermark)  # a restored one never goes back
        if mark > self.watermark:
            self.watermark = mark
            if mark >= self._next_close:
                self._advance()

    def _advance(self) -> None:
        for runtime in self.runtimes:
            self._alerts.extend(runtime.close_until(self.watermark))
        self._next_close = min(r.next_close() for r in self.runtimes)

    def flush(self) -> None:
        """Close every open bucket, as at the end of a replay."""
        self.watermark = max(
            (r.windows.final_watermark() for r in self.runtimes), default=self.watermark
        )
        self._advance()

    def on_bucket(self, hook: BucketHook) -> None:
        """Call `hook` with every bucket any playbook closes, now and after reloads."""
        self._bucket_hook = hook
        for runtime in self.runtimes:
            runtime.on_close = hook

    def replace_playbooks(self, playbooks: Sequence[Playbook]) -> dict[str, str]:
        """Swap in a new set of playbooks between posts; say what happened to each name.

        A playbook whose `watch` and `detect` sections and time zone are unchanged keeps
        all its state (baseline, open buckets, history, open campaign) and is "kept", or
        "unchanged" if nothing at all changed; other edits (description, respond) show in
        its next alert. A new playbook is "added" and one whose `watch`, `detect` or zone
        changed is "reset" (a new zone moves every hour slot): each starts counting at the
        current watermark and learns a baseline for its new terms over `warmup_hours`.
        Names no longer present are "removed".
        """
        old = {runtime.playbook.name: runtime for runtime in self.runtimes}
        outcome: dict[str, str] = {}
        runtimes = []
        for playbook in playbooks:
            runtime = old.get(playbook.name)
            if (
                runtime is not None
                and runtime.playbook.watch == playbook.watch
                and runtime.playbook.detect == playbook.detect
                and runtime.playbook.respond.timezone == playbook.respond.timezone
            ):
                outcome[playbook.name] = "unchanged" if runtime.playbook == playbook else "kept"
                runtime.playbook = playbook
            else:
                outcome[playbook.name] = "added" if runtime is None else "reset"
                runtime = PlaybookRuntime(playbook, self.lateness)
                runtime.on_close = self._bucket_hook
                if self.watermark > -math.inf:
                    runtime.start_at(self.watermark)
            runtimes.append(runtime)
        outcome.update((name, "removed") for name in old if name not in outcome)
        self.playbooks = tuple(playbooks)
        self.runtimes = runtimes
        self.matcher = build_matcher(self.playbooks)
        self.own_handles = own_handles(self.playbooks)
        for playbook in self.playbooks:
            self.stats.matched.setdefault(playbook.name, 0)
            self.stats.own_voice.setdefault(playbook.name, 0)
        self._next_close = min((r.next_close() for r in self.runtimes), default=math.inf)
        return outcome

    def adopt(self, other: Engine) -> None:
        """Take in `other`'s playbooks with all their state. `other` must have run over the
        same posts up to the same point (a cluster worker merging a shard it caught up on
        its own): a runtime's buckets close on the watermark alone, which both engines
        reached alike, so its runtimes are as if they had run here all along."""
        self.playbooks = (*self.playbooks, *other.playbooks)
        self.runtimes = [*self.runtimes, *other.runtimes]
        for runtime in other.runtimes:
            runtime.on_close = self._bucket_hook
        self.matcher = build_matcher(self.playbooks)
        self._own_ids |= other._own_ids  # reshares of own posts each engine's playbooks saw
        self._next_close = min(self._next_close, other._next_close)

    def mark_false_alarm(self, playbook: str) -> float | None:
        """Staff said an alert of `playbook` was not a campaign: make its detector stricter
        as of the watermark. Returns the new strictness, or None if no such playbook runs or
        no post has been seen yet (there is no event time to date the click by)."""
        if self.watermark == -math.inf:
            return None
        for runtime in self.runtimes:
            if runtime.playbook.name == playbook:
                return runtime.detector.mark_false_alarm(self.watermark)
        return None

    def drain_alerts(self) -> list[Alert]:
        """The alerts raised since the last drain, counted by kind."""
        alerts, self._alerts = self._alerts, []
        for alert in alerts:
            self.stats.alerts[alert.surge.kind] += 1
        return alerts
