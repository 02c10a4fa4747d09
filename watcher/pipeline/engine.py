"""The synchronous core of the pipeline: posts in, alerts out, on event time.

`Engine` matches posts against every playbook in one pass, counts them into event-time
buckets, feeds each closed bucket to that playbook's detector, and turns lifecycle
transitions into `Alert`s with their brief. It does no I/O and reads no clock, so replay is
deterministic and the async service simply feeds it batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
import orjson

from detectors.campaign import CampaignDetector, Decision
from detectors.novelty import Novelty
from responders.alert import Alert, SamplePost, Surge
from responders.brief.brief import build_brief
from watcher.pipeline.buckets import Bucket, CampaignTally, History
from watcher.pipeline.tokens import OwnTerms, pick_emerging
from watcher.pipeline.voices import remember_authors, surge_texts, voice_candidates
from watcher.playbooks.model import Playbook, build_matcher
from watcher.post import EARLIEST, LATEST, Post, PostError, post_from_json

#: Own-post ids remembered per engine, so reshares of them can be recognised.
MAX_OWN_IDS = 50_000
#: Surging terms an alert names.
MAX_SURGING_TERMS = 5
#: How long the baseline of co-occurring tokens remembers, for picking out emerging terms.
TOKEN_HALF_LIFE_S = 24 * 3600.0
#: Emerging terms an alert names.
MAX_EMERGING = 6
#: How far back CampaignDetector may date an onset (its `_recent`), in buckets.
ONSET_LOOKBACK_BUCKETS = 12


@dataclass(slots=True)
class EngineStats:
    """Plain counters the watcher exports as metrics after each batch."""

    received: int = 0
    malformed: int = 0
    late: int = 0
    matched: dict[str, int] = field(default_factory=dict)
    own_voice: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=lambda: {"new": 0, "update": 0})
    last_error: str = ""


#: Called with (playbook name, closed bucket, the detector's decision on it).
BucketHook = Callable[[str, Bucket, Decision], None]


class _Head(msgspec.Struct):
    """The fields of a post line the hot path reads; the rest is decoded only on a match."""

    text: str
    created_at: str | int | float
    author: str | None = None
    id: str | int | None = None


_HEADS = msgspec.json.Decoder(_Head)


def rfc3339_seconds(created: str) -> float | None:
    """Epoch seconds of an RFC 3339 time in range, or None (the validator then explains).

    The hot path's version of `parse_timestamp`: no exceptions for the caller to catch, and
    `fromisoformat` plus `timestamp` in C is all it costs (about 0.4 µs).
    """
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return None
    ts = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()
    return ts if EARLIEST <= ts < LATEST else None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class PlaybookRuntime:
    """One playbook's live state: open buckets, detector, history and open campaign."""

    def __init__(self, playbook: Playbook, lateness: float) -> None:
        self.playbook = playbook
        self.width = playbook.detect.bucket_minutes * 60.0
        self.lateness = lateness
        self.detector = CampaignDetector(playbook.detect, len(playbook.watch.terms))
        self.history = History(self.detector.window)
        self.open: dict[float, Bucket] = {}
        self.first_start: float | None = None  # start of the next bucket to close
        self.campaign: CampaignTally | None = None
        self.last: Decision | None = None
        self.on_close: BucketHook | None = None  # sees every closed bucket (backtest plots)
        # a quiet bucket is learned late, once it is too old to be a backdated onset's
        self.novelty = Novelty(TOKEN_HALF_LIFE_S, hold=ONSET_LOOKBACK_BUCKETS * self.width)
        self._own_accounts = {a.lower().lstrip("@") for a in playbook.watch.own_accounts}
        self._own_domains = tuple(d.lower() for d in playbook.watch.own_domains)
        self._own_terms = OwnTerms(playbook.watch.terms)
        self.known_authors: dict[str, float] = {}  # who spoke on the issue outside a surge

    #: What a checkpoint saves of a runtime; the playbook itself comes from configuration.
    STATE = ("detector", "history", "open", "first_start", "campaign", "last", "novelty")

    def state(self) -> dict[str, object]:
        """The live detection state, for a checkpoint (picklable)."""
        return {name: getattr(self, name) for name in self.STATE}

    def load_state(self, state: dict[str, object]) -> None:
        for name in self.STATE:
            setattr(self, name, state[name])

    def is_own_voice(self, post: Post, own_ids: set[str]) -> bool:
        if post.author.lower().lstrip("@") in self._own_accounts:
            return True
        if post.reshare_of and post.reshare_of in own_ids:
            return True
        if self._own_domains:
            haystack = f"{post.url} {post.text}".lower()
            return any(domain in haystack for domain in self._own_domains)
        return False

    def start_at(self, ts: float) -> None:
        """Begin counting at the bucket holding `ts`, so quiet playbooks learn their zeros."""
        if self.first_start is None:
            self.first_start = ts - ts % self.width

    def add(self, post: Post, terms: Sequence[int], ts: float) -> bool:
        """Count a matched post; False when it is too late for its bucket."""
        start = ts - ts % self.width
        self.start_at(ts)
        assert self.first_start is not None
        if start < self.first_start:
            return False
        bucket = self.open.get(start)
        if bucket is None:
            bucket = self.open[start] = Bucket(start)
        bucket.add(post, terms, ts)
        return True

    def next_close(self) -> float:
        """The watermark at which the oldest open bucket closes."""
        if self.first_start is None:
            return math.inf
        return self.first_start + self.width + self.lateness

    def close_until(self, watermark: float) -> list[Alert]:
        alerts: list[Alert] = []
        while self.first_start is not None and self.next_close() <= watermark:
            start = self.first_start
            bucket = self.open.pop(start, None) or Bucket(start)
            self.first_start = start + self.width
            alert = self._close(bucket)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _close(self, bucket: Bucket) -> Alert | None:
        decision = self.detector.update(self.history.stats_with(bucket, self.detector.scores_terms))
        self.last = decision
        if self.on_close is not None:
            self.on_close(self.playbook.name, bucket, decision)
        self.history.push(bucket)
        if decision.transition == "new":
            assert decision.onset is not None
            self.campaign = CampaignTally(decision.onset)
            self.novelty.discard_since(decision.onset)
            for past in self.history.since(decision.onset):
                self.campaign.absorb(past)
        elif self.campaign is not None:
            self.campaign.absorb(bucket)
        else:
            self._learn_tokens(bucket)
            remember_authors(self.known_authors, bucket)
        alert = self._alert(decision) if decision.transition else None
        if decision.state == "over":
            self.campaign = None
        return alert

    def _learn_tokens(self, bucket: Bucket) -> None:
        self.novelty.learn(bucket.originals, bucket.tokens, bucket.start)

    def _emerging(self, tally: CampaignTally, at: float) -> tuple[str, ...]:
        ranked = self.novelty.emerging(tally.originals, tally.tokens, tally.token_support(), at)
        return pick_emerging(ranked, tally.tokens, self._own_terms, MAX_EMERGING)

    def _surging(self, decision: Decision) -> tuple[str, ...]:
        """The terms significant against their own baselines in this bucket, most first."""
        needed = self.playbook.detect.thresholds.crowd_significance
        ranked = sorted(
            (
                (score, term)
                for term, score in zip(
                    self.playbook.watch.terms, decision.term_scores, strict=False
                )
                if score >= needed
            ),
            reverse=True,
        )
        return tuple(term for _, term in ranked[:MAX_SURGING_TERMS])

    def _alert(self, decision: Decision) -> Alert:
        tally = self.campaign or CampaignTally(decision.start)
        pb = self.playbook
        terms = tuple((pb.watch.terms[index], count) for index, count in tally.terms.most_common())
        # The most-reshared posts whose original we saw; then the first posts, to make three.
        samples = []
        for post_id, reshares in tally.reshares.most_common():
            original = tally.examples.get(post_id)
            if original is not None:
                samples.append(
                    SamplePost(post_id, original.author, original.text, original.url, reshares)
                )
            if len(samples) == 3:
                break
        chosen = {s.id for s in samples}
        for post in tally.examples.values():
            if len(samples) == 3:
                break
            if post.id not in chosen:
                samples.append(SamplePost(post.id, post.author, post.text, post.url))
        surge = Surge(
            playbook=pb.name,
            campaign_id=f"{pb.name}-{_utc(tally.onset):%Y%m%d-%H%M}",
            kind="new" if decision.transition == "new" else "update",
            state=decision.state,
            fired_at=_utc(decision.start + self.width),
            onset=_utc(tally.onset),
            terms=terms,
            posts=tally.posts,
            distinct_authors=tally.distinct_authors,
            top_author_share=tally.top_author_share,
            rate=decision.rate,
            baseline=decision.baseline,
            score=decision.score,
            growth=decision.growth,
            bucket_minutes=pb.detect.bucket_minutes,
            emerging_terms=self._emerging(tally, decision.start + self.width),
            surging_terms=self._surging(decision),
            sources=tuple(
                sorted(((s, _utc(t)) for s, t in tally.sources.items()), key=lambda x: x[1])
            ),
            samples=tuple(samples),
            voice_candidates=voice_candidates(tally, self.known_authors),
            texts=surge_texts(tally),
        )
        return Alert(surge, build_brief(surge, pb.respond, own_accounts=pb.watch.own_accounts))


class Engine:
    """Match, bucket and detect for a set of playbooks. Feed posts; collect alerts.

    Time is event time only: buckets close when the newest `created_at` seen (the watermark)
    passes their end plus `lateness`; posts older than that are counted as late and dropped.
    """

    def __init__(self, playbooks: Sequence[Playbook], *, lateness: float = 60.0) -> None:
        self.playbooks = tuple(playbooks)
        self.lateness = lateness
        self._bucket_hook: BucketHook | None = None
        self.runtimes = [PlaybookRuntime(p, lateness) for p in self.playbooks]
        self.matcher = build_matcher(self.playbooks)
        self._own_authors = {
            a.lower().lstrip("@") for p in self.playbooks for a in p.watch.own_accounts
        }
        self._own_ids: set[str] = set()
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

    def feed_lines(self, lines: Iterable[bytes | str], *, source: str = "") -> None:
        """Decode and process NDJSON post lines; malformed ones are counted and skipped.

        This is the replay hot path, so it is batched: each line's text and time are read
        (the watermark needs every post's), but a `Post` is built and validated only for the
        few lines in which the matcher finds a term. A line the matcher skips cannot count
        for any playbook, so checking its other fields would change nothing but the cost.

        A batch of well-formed lines is read in one msgspec call that decodes only the four
        fields needed here (about 0.4 µs a line against 0.6 for a full `orjson.loads`, and
        no Python loop over the JSON); a batch with any malformed line takes the line-by-line
        path, which says what is wrong with each.
        """
        batch = lines if isinstance(lines, list) else list(lines)
        try:
            # str lines (rare: callers pass bytes) raise TypeError and take the slow path
            heads = _HEADS.decode_lines(b"\n".join(cast("list[bytes]", batch)))
        except (msgspec.DecodeError, msgspec.ValidationError, TypeError):
            self._feed_lines_one_by_one(batch, source)
            return
        if len(heads) != len(batch):
            batch = [line for line in batch if line.strip()]
        own = self._own_authors
        kept: list[int] = []
        texts: list[str] = []
        stamps: list[float] = []
        for index, head in enumerate(heads):
            created = head.created_at
            if isinstance(created, str):
                ts = rfc3339_seconds(created)
            else:
                ts = float(created) if EARLIEST <= created < LATEST else None
            if ts is None:  # the full validator says exactly what is wrong
                self._explain(batch[index], source)
                continue
            if own and head.author is not None and head.author.lower().lstrip("@") in own:
                self._remember_own(str(head.id))
            kept.append(index)
            texts.append(head.text)
            stamps.append(ts)
        self.stats.received += len(heads)
        self._ingest(
            texts,
            stamps,
            lambda i: post_from_json(orjson.loads(batch[kept[i]]), default_source=source),
        )

    def _explain(self, line: bytes | str, source: str) -> None:
        try:
            post_from_json(orjson.loads(line), default_source=source)
        except (orjson.JSONDecodeError, PostError) as exc:
            self._malformed(str(exc))
        else:  # unreachable for lines the fast path refused; count it rather than lose it
            self._malformed("unusable `created_at`")

    def _feed_lines_one_by_one(self, lines: Iterable[bytes | str], source: str) -> None:
        loads, own = orjson.loads, self._own_authors
        raws: list[dict[str, Any]] = []
        texts: list[str] = []
        stamps: list[float] = []
        received = 0
        for line in lines:
            try:
                raw = loads(line)
            except orjson.JSONDecodeError as exc:
                if line.strip():
                    received += 1
                    self._malformed(f"not JSON: {exc}")
                continue
            received += 1
            text = raw.get("text") if type(raw) is dict else None
            created = raw.get("created_at") if text.__class__ is str else None
            ts = rfc3339_seconds(created) if created.__class__ is str else None
            if ts is None:  # the full validator says exactly what is wrong
                try:
                    ts = post_from_json(raw, default_source=source).timestamp
                except PostError as exc:
                    self._malformed(str(exc))
                    continue
            if own:
                author = raw.get("author")
                if author.__class__ is str and author.lower().lstrip("@") in own:
                    self._remember_own(str(raw.get("id")))
            raws.append(raw)
            texts.append(text)  # type: ignore[arg-type]  # checked: a str
            stamps.append(ts)
        self.stats.received += received
        self._ingest(texts, stamps, lambda i: post_from_json(raws[i], default_source=source))

    def feed_posts(self, posts: Sequence[Post]) -> None:
        """Process already-normalised posts (the live service path), batched like replay."""
        self.stats.received += len(posts)
        if self._own_authors:
            for post in posts:
                if post.author.lower().lstrip("@") in self._own_authors:
                    self._remember_own(post.id)
        self._ingest([p.text for p in posts], [p.timestamp for p in posts], posts.__getitem__)

    def _malformed(self, error: str) -> None:
        self.stats.malformed += 1
        self.stats.last_error = error

    def _ingest(
        self, texts: Sequence[str], stamps: Sequence[float], post_at: Callable[[int], Post]
    ) -> None:
        """Count the batch's matching posts, closing buckets in event-time order as we go.

        Before the i-th post is counted the watermark moves to the newest time of the posts
        before it, exactly as if the batch had been fed one post at a time.
        """
        if not stamps:
            return
        if self.watermark == -math.inf:
            for runtime in self.runtimes:
                runtime.start_at(stamps[0])
            self._next_close = min((r.next_close() for r in self.runtimes), default=math.inf)
        done = 0
        for index in self.matcher.candidates(texts):
            if index > done:
                self._advance_to(max(stamps[done:index]))
                done = index
            try:
                post = post_at(index)
            except PostError as exc:
                self._malformed(str(exc))
                continue
            hits = self.matcher.match(post.text, post.lang)
            if hits:
                self._count(post, stamps[index], hits)
        self._advance_to(max(stamps[done:]))

    def _count(self, post: Post, ts: float, hits: dict[int, list[int]]) -> None:
        for index, terms in hits.items():
            runtime = self.runtimes[index]
            name = runtime.playbook.name
            if runtime.is_own_voice(post, self._own_ids):
                self.stats.own_voice[name] += 1
                if post.reshare_of:  # so a reshare of this reshare is own voice too
                    self._remember_own(post.id)
            elif runtime.add(post, terms, ts):
                self.stats.matched[name] += 1
                self._next_close = min(self._next_close, runtime.next_close())
            else:
                self.stats.late += 1

    def _advance_to(self, ts: float) -> None:
        if ts > self.watermark:
            self.watermark = ts
            if ts >= self._next_close:
                self._advance()

    def _remember_own(self, post_id: str) -> None:
        if len(self._own_ids) >= MAX_OWN_IDS:
            self._own_ids.clear()
        self._own_ids.add(post_id)

    def _advance(self) -> None:
        for runtime in self.runtimes:
            self._alerts.extend(runtime.close_until(self.watermark))
        self._next_close = min(r.next_close() for r in self.runtimes)

    def flush(self) -> None:
        """Close every open bucket, as at the end of a replay."""
        self.watermark = max(
            (max(r.open, default=-math.inf) + r.width + r.lateness for r in self.runtimes),
            default=self.watermark,
        )
        self._advance()

    def on_bucket(self, hook: BucketHook) -> None:
        """Call `hook` with every bucket any playbook closes, now and after reloads."""
        self._bucket_hook = hook
        for runtime in self.runtimes:
            runtime.on_close = hook

    def replace_playbooks(self, playbooks: Sequence[Playbook]) -> dict[str, str]:
        """Swap in a new set of playbooks between posts; say what happened to each name.

        A playbook whose `watch` and `detect` sections are unchanged keeps all its state
        (baseline, open buckets, history, open campaign) and is "kept", or "unchanged" if
        nothing at all changed; edits elsewhere (description, respond) show in its next
        alert. A new playbook is "added" and one whose `watch` or `detect` changed is
        "reset": each starts counting at the current watermark and learns a baseline for
        its new terms over `warmup_hours`. Names no longer present are "removed".
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
        self._own_authors = {
            a.lower().lstrip("@") for p in self.playbooks for a in p.watch.own_accounts
        }
        for playbook in self.playbooks:
            self.stats.matched.setdefault(playbook.name, 0)
            self.stats.own_voice.setdefault(playbook.name, 0)
        self._next_close = min((r.next_close() for r in self.runtimes), default=math.inf)
        return outcome

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
        alerts, self._alerts = self._alerts, []
        for alert in alerts:
            self.stats.alerts[alert.surge.kind] += 1
        return alerts
