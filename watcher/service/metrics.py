"""Prometheus metrics: one container built on an injected registry.

Names follow Prometheus conventions: a `groundswell_` prefix, base units (`_seconds`), and
`_total` on counters (prometheus_client appends it). Labels are bounded: by source, playbook,
kind, responder, outcome or queue; never by term, author or post.

Most values are pulled at scrape time from the counters the pipeline already keeps
(`SourceHealth`, `EngineStats`), turned into counter increments by `_delta`. Features that
own their numbers push them through the `observe_*`/`count_*` helpers below. Known label
sets are initialised to 0 by `init_labels`, so every dashboard and alert query has a series
before the first event (Prometheus: "avoid missing metrics").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from detectors.campaign import FALSE_ALARM_HALF_LIFE_S, MAX_STRICTNESS
from watcher.pipeline.engine import Engine
from watcher.sources.base import SourceHealth

STATE_CODES = {"quiet": 0, "emerging": 1, "escalating": 2, "peaked": 3, "subsiding": 4, "over": 5}
ALERT_KINDS = ("new", "update")
OUTCOMES = ("sent", "failed", "suppressed")
#: Engine time per batch of up to 500 posts: sub-millisecond to a few seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _version() -> str:
    try:
        return version("groundswell")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@dataclass
class Metrics:
    """Every Groundswell metric, registered on `registry` (a fresh one per service or test)."""

    registry: CollectorRegistry
    #: When the process started (epoch seconds): the checkpoint age counts from here until
    #: the first checkpoint is written, since everything before it would be lost on a crash.
    started: float = 0.0
    # -- sources
    posts_received: Counter = field(init=False)
    posts_parsed: Counter = field(init=False)
    posts_malformed: Counter = field(init=False)
    posts_deduplicated: Counter = field(init=False)
    posts_dropped: Counter = field(init=False)
    source_up: Gauge = field(init=False)
    source_finished: Gauge = field(init=False)
    source_reconnects: Counter = field(init=False)
    source_restarts: Counter = field(init=False)
    source_gaps: Counter = field(init=False)
    source_failed: Gauge = field(init=False)
    source_lag: Gauge = field(init=False)
    source_last_event: Gauge = field(init=False)
    # -- playbooks and detection
    posts_matched: Counter = field(init=False)
    posts_own_voice: Counter = field(init=False)
    posts_late: Counter = field(init=False)
    burst_score: Gauge = field(init=False)
    campaign_state: Gauge = field(init=False)
    detector_strictness: Gauge = field(init=False)
    alerts: Counter = field(init=False)
    playbooks_loaded: Gauge = field(init=False)
    reloads: Counter = field(init=False)
    reload_failures: Counter = field(init=False)
    reload_ok: Gauge = field(init=False)
    # -- delivery
    deliveries: Counter = field(init=False)
    delivery_attempts: Counter = field(init=False)
    delivery_failures: Counter = field(init=False)
    delivery_retries: Counter = field(init=False)
    delivery_seconds: Histogram = field(init=False)
    outbox_depth: Gauge = field(init=False)
    slack_rate_limited: Counter = field(init=False)
    # -- pipeline
    queue_depth: Gauge = field(init=False)
    queue_capacity: Gauge = field(init=False)
    batch_seconds: Histogram = field(init=False)
    decision_latency: Histogram = field(init=False)
    checkpoint_age: Gauge = field(init=False)
    build: Info = field(init=False)
    feedback: Counter = field(init=False)
    outbox_rows: Gauge = field(init=False)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict, init=False)
    _playbooks: set[str] = field(default_factory=set, init=False)
    _last_checkpoint: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        r = self.registry

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(f"groundswell_{name}", doc, labels, registry=r)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(f"groundswell_{name}", doc, labels, registry=r)

        self.posts_received = counter("posts_received", "Posts read from a source.", "source")
        self.posts_parsed = counter(
            "posts_parsed", "Posts from a source that parsed into a valid post.", "source"
        )
        self.posts_malformed = counter(
            "posts_malformed", "Posts skipped because they could not be parsed.", "source"
        )
        self.posts_deduplicated = counter(
            "posts_deduplicated",
            "Posts skipped as already seen (e.g. replayed after a reconnect).",
            "source",
        )
        self.posts_dropped = counter(
            "posts_dropped", "Posts dropped by backpressure before the engine.", "source"
        )
        self.source_up = gauge("source_up", "1 when the source is connected.", "source")
        self.source_finished = gauge(
            "source_finished", "1 when a finite source (a replay) has read all its posts.", "source"
        )
        self.source_reconnects = counter(
            "source_reconnects", "Times the source reconnected after losing its feed.", "source"
        )
        self.source_lag = gauge(
            "source_event_lag_seconds",
            "Now minus created_at of the newest post from the source.",
            "source",
        )
        self.source_restarts = counter(
            "source_restarts", "Times the supervisor restarted a crashed source.", "source"
        )
        self.source_gaps = counter(
            "source_gaps",
            "Resumes that started beyond what the server keeps (posts were lost).",
            "source",
        )
        self.source_failed = gauge(
            "source_failed",
            "1 when the source stopped on a fatal error (e.g. a refused token).",
            "source",
        )
        self.source_last_event = gauge(
            "source_last_event_timestamp_seconds",
            "created_at of the newest post from the source.",
            "source",
        )
        self.posts_matched = counter(
            "posts_matched", "Posts that count towards a playbook's surge detection.", "playbook"
        )
        self.posts_own_voice = counter(
            "posts_own_voice", "Matched posts left out as the organisation's own voice.", "playbook"
        )
        self.posts_late = counter("posts_late", "Posts too late for their event-time bucket.")
        self.burst_score = gauge(
            "burst_score", "Significance of the playbook's last closed bucket.", "playbook"
        )
        self.campaign_state = gauge(
            "campaign_state",
            "0 quiet, 1 emerging, 2 escalating, 3 peaked, 4 subsiding, 5 over.",
            "playbook",
        )
        self.detector_strictness = gauge(
            "detector_strictness",
            "Factor on the significance a surge needs to open a campaign: 1, raised by "
            f'"Not a campaign" clicks (at most {MAX_STRICTNESS:g}), fading back with a '
            f"{FALSE_ALARM_HALF_LIFE_S / 86400:g}-day half-life.",
            "playbook",
        )
        self.alerts = counter(
            "alerts", "Alerts fired, by kind (new or update).", "playbook", "kind"
        )
        self.playbooks_loaded = gauge("playbooks_loaded", "Playbooks the engine is running.")
        self.reloads = counter("playbook_reloads", "Playbook reloads attempted.")
        self.reload_failures = counter(
            "playbook_reload_failures",
            "Playbook reloads rejected (the last good set keeps running).",
        )
        self.reload_ok = gauge(
            "playbook_last_reload_successful", "1 when the last playbook reload succeeded."
        )
        self.reload_ok.set(1)  # the start-up load succeeded, or the service would not run
        self.deliveries = counter(
            "deliveries", "Alert deliveries by final outcome.", "responder", "outcome"
        )
        self.delivery_attempts = counter(
            "delivery_attempts", "Delivery attempts, retries included.", "responder"
        )
        self.delivery_failures = counter(
            "delivery_failures", "Delivery attempts that failed, retried or not.", "responder"
        )
        self.delivery_retries = counter(
            "delivery_retries", "Delivery attempts that were retries.", "responder"
        )
        self.delivery_seconds = Histogram(
            "groundswell_delivery_seconds",
            "Time to deliver one alert, retries included.",
            ["responder"],
            registry=r,
        )
        self.outbox_depth = gauge("outbox_depth", "Alerts waiting in the delivery outbox.")
        self.slack_rate_limited = counter(
            "slack_rate_limited", "Slack API responses 429 (rate limited; Retry-After honoured)."
        )
        self.queue_depth = gauge(
            "queue_depth", "Items waiting between stages (post batches, alerts).", "queue"
        )
        self.queue_capacity = gauge("queue_capacity", "Bound of the queue between stages.", "queue")
        self.batch_seconds = Histogram(
            "groundswell_batch_seconds",
            "Engine time per batch of posts (match, bucket, detect).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.decision_latency = Histogram(
            "groundswell_decision_latency_seconds",
            "From a batch's receipt (POST /ingest) or admission (other feeds) to the engine's "
            "decision on it: queueing plus matching, bucketing and detection.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.checkpoint_age = gauge(
            "checkpoint_age_seconds",
            "Seconds since the last state checkpoint (since start when none yet).",
        )
        self.build = Info("groundswell_build", "Groundswell version.", registry=r)
        self.build.info({"version": _version()})

        self.feedback = Counter(
            "groundswell_feedback",
            "Button clicks on alert messages (action: ack, snooze, not_campaign).",
            ["playbook", "action"],
            registry=r,
        )
        self.outbox_rows = Gauge(
            "groundswell_outbox_rows",
            "Alerts in the delivery outbox by status (pending, sent, suppressed, gave_up, failed).",
            ["status"],
            registry=r,
        )

    # -- label sets known up front ---------------------------------------------------------
    def init_labels(
        self,
        *,
        sources: Iterable[str] = (),
        playbooks: Iterable[str] = (),
        responders: Iterable[str] = (),
        queues: dict[str, int] | None = None,
    ) -> None:
        """Create the series for every known label value at 0, so queries find them."""
        for name in sources:
            for metric in (
                self.posts_received,
                self.posts_parsed,
                self.posts_malformed,
                self.posts_deduplicated,
                self.posts_dropped,
                self.source_reconnects,
                self.source_restarts,
                self.source_gaps,
                self.source_failed,
                self.source_up,
                self.source_finished,
            ):
                metric.labels(name)
        names = list(playbooks)
        for name in names:
            self._init_playbook(name)
        self.playbooks_loaded.set(len(names))
        for name in responders:
            for metric in (self.delivery_attempts, self.delivery_failures, self.delivery_retries):
                metric.labels(name)
            for outcome in OUTCOMES:
                self.deliveries.labels(name, outcome)
            self.delivery_seconds.labels(name)
        for queue, capacity in (queues or {}).items():
            self.queue_depth.labels(queue).set(0)
            self.queue_capacity.labels(queue).set(capacity)

    def _init_playbook(self, name: str) -> None:
        self._playbooks.add(name)
        for metric in (self.posts_matched, self.posts_own_voice, self.burst_score):
            metric.labels(name)
        self.campaign_state.labels(name).set(STATE_CODES["quiet"])
        self.detector_strictness.labels(name).set(1.0)
        for kind in ALERT_KINDS:
            self.alerts.labels(name, kind)

    def forget_playbook(self, name: str) -> None:
        """Drop a removed playbook's series (after a reload), so dashboards stop showing it."""
        self._playbooks.discard(name)
        for metric in (self.posts_matched, self.posts_own_voice, self.burst_score):
            metric.remove(name)
        self.campaign_state.remove(name)
        self.detector_strictness.remove(name)
        for kind in ALERT_KINDS:
            self.alerts.remove(name, kind)
        for key in [k for k in self._seen if k[1] == name and k[0] in ("matched", "own")]:
            del self._seen[key]

    def observe_outbox_store(
        self,
        outbox: dict[str, int],
        feedback: dict[tuple[str, str], int],
        by_responder: dict[tuple[str, str], int] | None = None,
    ) -> None:
        """Read at scrape time from the delivery outbox (SQLite, so it survives restarts):
        rows by status, button clicks, and what each channel behind the outbox did this run
        (sent, suppressed, retried, failed)."""
        for (responder, outcome), total in (by_responder or {}).items():
            n = self._delta(("delivery", f"{responder}/{outcome}"), total)
            if outcome == "retried":  # a retry follows a failed attempt
                self.delivery_retries.labels(responder).inc(n)
                self.delivery_failures.labels(responder).inc(n)
                self.delivery_attempts.labels(responder).inc(n)
                continue
            self.deliveries.labels(responder, outcome).inc(n)
            if outcome != "suppressed":
                self.delivery_attempts.labels(responder).inc(n)
            if outcome == "failed":
                self.delivery_failures.labels(responder).inc(n)
        for status in ("pending", "sent", "suppressed", "gave_up", "failed"):
            self.outbox_rows.labels(status).set(outbox.get(status, 0))
        self.outbox_depth.set(outbox.get("pending", 0))
        for (playbook, action), total in feedback.items():
            key = ("feedback", f"{playbook}/{action}")
            self.feedback.labels(playbook, action).inc(self._delta(key, total))

    # -- pulled at scrape time -------------------------------------------------------------
    def _delta(self, key: tuple[str, str], total: int) -> int:
        before = self._seen.get(key, 0)
        self._seen[key] = total
        return max(total - before, 0)

    def observe_source(self, name: str, health: SourceHealth, now: float) -> None:
        parsed = health.received - health.malformed
        self.posts_received.labels(name).inc(self._delta(("received", name), health.received))
        self.posts_parsed.labels(name).inc(self._delta(("parsed", name), parsed))
        self.posts_malformed.labels(name).inc(self._delta(("malformed", name), health.malformed))
        self.source_reconnects.labels(name).inc(
            self._delta(("reconnects", name), health.reconnects)
        )
        self.source_up.labels(name).set(1 if health.connected else 0)
        self.source_finished.labels(name).set(1 if health.finished else 0)
        if health.last_event is not None:
            self.source_lag.labels(name).set(max(now - health.last_event, 0.0))
            self.source_last_event.labels(name).set(health.last_event)
        self.source_failed.labels(name).set(1 if health.state == "failed" else 0)
        for counter, event in (
            (self.posts_deduplicated, "duplicates"),
            (self.posts_dropped, "dropped"),
            (self.source_restarts, "restarts"),
            (self.source_gaps, "gaps"),
        ):
            counter.labels(name).inc(self._delta((event, name), getattr(health, event)))

    def observe_engine(self, engine: Engine) -> None:
        stats = engine.stats
        for name, total in stats.matched.items():
            self.posts_matched.labels(name).inc(self._delta(("matched", name), total))
        for name, total in stats.own_voice.items():
            self.posts_own_voice.labels(name).inc(self._delta(("own", name), total))
        self.posts_late.inc(self._delta(("late", ""), stats.late))
        self.playbooks_loaded.set(len(engine.playbooks))
        for runtime in engine.runtimes:
            name = runtime.playbook.name
            decision = runtime.last
            self.burst_score.labels(name).set(decision.score if decision else 0.0)
            self.campaign_state.labels(name).set(STATE_CODES[decision.state] if decision else 0)
            strictness = runtime.detector.strictness(engine.watermark)
            self.detector_strictness.labels(name).set(strictness)

    def observe_clock(self, now: float) -> None:
        """Refresh the values that are ages: they move with the clock, not with events."""
        since = self._last_checkpoint if self._last_checkpoint is not None else self.started
        self.checkpoint_age.set(max(now - since, 0.0))

    # -- pushed by the features that own the numbers ---------------------------------------
    def observe_delivery(self, responder: str, outcome: str, *, attempts: int = 1) -> None:
        """One alert's delivery ended with `outcome` after `attempts` tries.

        Retries follow failed tries (429, 5xx, connection errors), so every try but the
        last failed, and the last failed too when the outcome is `failed`.
        """
        self.deliveries.labels(responder, outcome).inc()
        if outcome == "suppressed":  # nothing was sent, e.g. a snoozed playbook
            return
        attempts = max(attempts, 1)
        self.delivery_attempts.labels(responder).inc(attempts)
        self.delivery_retries.labels(responder).inc(attempts - 1)
        self.delivery_failures.labels(responder).inc(attempts - 1 + (outcome == "failed"))

    def count_rate_limited(self, n: int = 1) -> None:
        """Slack answered 429 `n` times."""
        self.slack_rate_limited.inc(n)

    def observe_outbox(self, depth: int) -> None:
        self.outbox_depth.set(depth)

    def observe_reload(self, *, ok: bool, playbooks: Iterable[str] = ()) -> None:
        """A playbook reload ran; on success `playbooks` are the names now running."""
        self.reloads.inc()
        self.reload_ok.set(1 if ok else 0)
        if not ok:
            self.reload_failures.inc()
            return
        running = set(playbooks)
        for name in self._playbooks - running:
            self.forget_playbook(name)
        for name in running - self._playbooks:
            self._init_playbook(name)
        self.playbooks_loaded.set(len(running))

    def observe_checkpoint(self, at: float) -> None:
        """A checkpoint of detector state was written at `at` (epoch seconds)."""
        self._last_checkpoint = at
