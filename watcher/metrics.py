"""Prometheus metrics: one container built on an injected registry.

Labels are bounded: by source, playbook, kind or responder; never by term, author or post.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from watcher.engine import Engine
from watcher.sources.base import SourceHealth

STATE_CODES = {"quiet": 0, "emerging": 1, "escalating": 2, "peaked": 3, "subsiding": 4, "over": 5}


@dataclass
class Metrics:
    registry: CollectorRegistry
    posts_received: Counter = field(init=False)
    posts_malformed: Counter = field(init=False)
    posts_matched: Counter = field(init=False)
    posts_own_voice: Counter = field(init=False)
    posts_late: Counter = field(init=False)
    source_up: Gauge = field(init=False)
    source_lag: Gauge = field(init=False)
    burst_score: Gauge = field(init=False)
    campaign_state: Gauge = field(init=False)
    alerts: Counter = field(init=False)
    deliveries: Counter = field(init=False)
    delivery_seconds: Histogram = field(init=False)
    queue_depth: Gauge = field(init=False)
    batch_seconds: Histogram = field(init=False)
    feedback: Counter = field(init=False)
    outbox_rows: Gauge = field(init=False)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.posts_received = Counter(
            "groundswell_posts_received", "Posts read from a source.", ["source"], registry=r
        )
        self.posts_malformed = Counter(
            "groundswell_posts_malformed",
            "Posts skipped because they could not be parsed.",
            ["source"],
            registry=r,
        )
        self.posts_matched = Counter(
            "groundswell_posts_matched",
            "Posts that count towards a playbook's surge detection.",
            ["playbook"],
            registry=r,
        )
        self.posts_own_voice = Counter(
            "groundswell_posts_own_voice",
            "Matched posts left out as the organisation's own voice.",
            ["playbook"],
            registry=r,
        )
        self.posts_late = Counter(
            "groundswell_posts_late", "Posts too late for their event-time bucket.", registry=r
        )
        self.source_up = Gauge(
            "groundswell_source_up", "1 when the source is connected.", ["source"], registry=r
        )
        self.source_lag = Gauge(
            "groundswell_source_event_lag_seconds",
            "Now minus created_at of the newest post from the source.",
            ["source"],
            registry=r,
        )
        self.burst_score = Gauge(
            "groundswell_burst_score",
            "Significance of the last closed bucket.",
            ["playbook"],
            registry=r,
        )
        self.campaign_state = Gauge(
            "groundswell_campaign_state",
            "0 quiet, 1 emerging, 2 escalating, 3 peaked, 4 subsiding, 5 over.",
            ["playbook"],
            registry=r,
        )
        self.alerts = Counter(
            "groundswell_alerts", "Alerts fired.", ["playbook", "kind"], registry=r
        )
        self.deliveries = Counter(
            "groundswell_deliveries",
            "Delivery attempts by outcome.",
            ["responder", "outcome"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "groundswell_delivery_seconds", "Time to deliver one alert.", ["responder"], registry=r
        )
        self.queue_depth = Gauge(
            "groundswell_queue_depth", "Items waiting between stages.", ["queue"], registry=r
        )
        self.batch_seconds = Histogram(
            "groundswell_batch_seconds", "Engine time per batch of posts.", registry=r
        )

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

    def observe_delivery(
        self,
        outbox: dict[str, int],
        feedback: dict[tuple[str, str], int],
        by_responder: dict[tuple[str, str], int] | None = None,
    ) -> None:
        """Outbox rows and clicks (kept in SQLite, so they survive restarts), and the outcomes
        of each channel behind the outbox (sent, suppressed, retried, failed) this run."""
        for (responder, outcome), total in (by_responder or {}).items():
            key = ("delivery", f"{responder}/{outcome}")
            self.deliveries.labels(responder, outcome).inc(self._delta(key, total))
        for status in ("pending", "sent", "suppressed", "gave_up", "failed"):
            self.outbox_rows.labels(status).set(outbox.get(status, 0))
        for (playbook, action), total in feedback.items():
            key = ("feedback", f"{playbook}/{action}")
            self.feedback.labels(playbook, action).inc(self._delta(key, total))

    def _delta(self, key: tuple[str, str], total: int) -> int:
        before = self._seen.get(key, 0)
        self._seen[key] = total
        return max(total - before, 0)

    def observe_source(self, name: str, health: SourceHealth, now: float) -> None:
        self.posts_received.labels(name).inc(self._delta(("received", name), health.received))
        self.posts_malformed.labels(name).inc(self._delta(("malformed", name), health.malformed))
        self.source_up.labels(name).set(1 if health.connected else 0)
        if health.last_event is not None:
            self.source_lag.labels(name).set(max(now - health.last_event, 0.0))

    def observe_engine(self, engine: Engine) -> None:
        stats = engine.stats
        for name, total in stats.matched.items():
            self.posts_matched.labels(name).inc(self._delta(("matched", name), total))
        for name, total in stats.own_voice.items():
            self.posts_own_voice.labels(name).inc(self._delta(("own", name), total))
        self.posts_late.inc(self._delta(("late", ""), stats.late))
        for runtime in engine.runtimes:
            name = runtime.playbook.name
            decision = runtime.last
            self.burst_score.labels(name).set(decision.score if decision else 0.0)
            self.campaign_state.labels(name).set(STATE_CODES[decision.state] if decision else 0)
