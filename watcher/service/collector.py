"""The families `Metrics` collects at scrape time, and the tallies it reads them from.

`FAMILIES` is the catalogue of every collected metric (name, type, help, label names) that
the dashboards in deploy/ and tests/ops rely on; `Families` fills one scrape of them from the
live totals: a source's `SourceHealth`, the engine's `EngineStats` and running playbooks, the
delivery tallies and the outbox's figures. Only running playbooks are yielded, so a playbook
removed by a reload leaves no series behind.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

from detectors.campaign import FALSE_ALARM_HALF_LIFE_S, MAX_STRICTNESS, STATES
from watcher.pipeline.engine import Engine
from watcher.sources.base import SourceHealth

STATE_CODES = {state: code for code, state in enumerate(STATES)}
ALERT_KINDS = ("new", "update")
OUTCOMES = ("sent", "failed", "suppressed")
OUTBOX_STATUSES = ("pending", "sent", "suppressed", "gave_up", "failed")

Kind = Literal["counter", "gauge"]
#: Every collected family: name (after `groundswell_`) → (type, help, label names).
FAMILIES: dict[str, tuple[Kind, str, tuple[str, ...]]] = {
    "posts_received": ("counter", "Posts read from a source.", ("source",)),
    "posts_parsed": ("counter", "Posts from a source that parsed into a valid post.", ("source",)),
    "posts_malformed": ("counter", "Posts skipped because they could not be parsed.", ("source",)),
    "posts_deduplicated": (
        "counter",
        "Posts skipped as already seen (e.g. replayed after a reconnect).",
        ("source",),
    ),
    "posts_dropped": ("counter", "Posts dropped by backpressure before the engine.", ("source",)),
    "source_up": ("gauge", "1 when the source is connected.", ("source",)),
    "source_finished": (
        "gauge",
        "1 when a finite source (a replay) has read all its posts.",
        ("source",),
    ),
    "source_reconnects": (
        "counter",
        "Times the source reconnected after losing its feed.",
        ("source",),
    ),
    "source_event_lag_seconds": (
        "gauge",
        "Now minus created_at of the newest post from the source.",
        ("source",),
    ),
    "source_restarts": ("counter", "Times the supervisor restarted a crashed source.", ("source",)),
    "source_backfill_failures": (
        "counter",
        "Gap backfills that failed and were retried while the stream went on (Mastodon).",
        ("source",),
    ),
    "posts_edited": (
        "counter",
        "Edits of posts already counted, seen and not counted again (Mastodon).",
        ("source",),
    ),
    "source_gaps": (
        "counter",
        "Resumes that started beyond what the server keeps (posts were lost).",
        ("source",),
    ),
    "source_failed": (
        "gauge",
        "1 when the source stopped on a fatal error (e.g. a refused token).",
        ("source",),
    ),
    "source_last_event_timestamp_seconds": (
        "gauge",
        "created_at of the newest post from the source.",
        ("source",),
    ),
    "posts_matched": (
        "counter",
        "Posts that count towards a playbook's surge detection.",
        ("playbook",),
    ),
    "posts_own_voice": (
        "counter",
        "Matched posts left out as the organisation's own voice.",
        ("playbook",),
    ),
    "posts_late": ("counter", "Posts too late for their event-time bucket.", ()),
    "posts_refused": (
        "counter",
        "Matched posts refused as far outside the current event-time window (over a day "
        "behind the watermark, e.g. dated years ago).",
        ("source",),
    ),
    "burst_score": ("gauge", "Significance of the playbook's last closed bucket.", ("playbook",)),
    "campaign_state": (
        "gauge",
        ", ".join(f"{code} {state}" for state, code in STATE_CODES.items()) + ".",
        ("playbook",),
    ),
    "detector_strictness": (
        "gauge",
        "Factor on the significance a surge needs to open a campaign: 1, raised by "
        f'"Not a campaign" clicks (at most {MAX_STRICTNESS:g}), fading back with a '
        f"{FALSE_ALARM_HALF_LIFE_S / 86400:g}-day half-life.",
        ("playbook",),
    ),
    "alerts": ("counter", "Alerts fired, by kind (new or update).", ("playbook", "kind")),
    "playbooks_loaded": ("gauge", "Playbooks the engine is running.", ()),
    "deliveries": ("counter", "Alert deliveries by final outcome.", ("responder", "outcome")),
    "delivery_attempts": ("counter", "Delivery attempts, retries included.", ("responder",)),
    "delivery_failures": (
        "counter",
        "Delivery attempts that failed, retried or not.",
        ("responder",),
    ),
    "delivery_retries": ("counter", "Delivery attempts that were retries.", ("responder",)),
    "outbox_depth": ("gauge", "Alerts waiting in the delivery outbox.", ()),
    "outbox_rows": (
        "gauge",
        "Alerts in the delivery outbox by status (pending, sent, suppressed, gave_up, failed).",
        ("status",),
    ),
    "feedback": (
        "counter",
        "Button clicks on alert messages (action: ack, snooze, not_campaign).",
        ("playbook", "action"),
    ),
    "queue_depth": ("gauge", "Items waiting between stages (post batches, alerts).", ("queue",)),
    "queue_capacity": ("gauge", "Bound of the queue between stages.", ("queue",)),
    "checkpoint_age_seconds": (
        "gauge",
        "Seconds since the last state checkpoint (since start when none yet).",
        (),
    ),
}


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    """What the delivery outbox (SQLite, so it survives restarts) says at a scrape."""

    rows: Mapping[str, int]  # by status
    feedback: Mapping[tuple[str, str], int]  # clicks by (playbook, action), ever
    by_responder: Mapping[tuple[str, str], int]  # (channel, outcome) this run, retried too


@dataclass(slots=True)
class Deliveries:
    """Final outcomes and tries per responder, as the delivery counters show them."""

    outcomes: Tally[tuple[str, str]] = field(default_factory=Tally)
    attempts: Tally[str] = field(default_factory=Tally)
    failures: Tally[str] = field(default_factory=Tally)
    retries: Tally[str] = field(default_factory=Tally)

    def add(self, responder: str, outcome: str, *, tries: int = 1, times: int = 1) -> None:
        """`times` deliveries ended with `outcome`, each after `tries` tries.

        Retries follow failed tries (429, 5xx, connection errors), so every try but the
        last failed, and the last failed too when the outcome is `failed`.
        """
        self.outcomes[responder, outcome] += times
        if outcome == "suppressed":  # nothing was sent, e.g. a snoozed playbook
            return
        tries = max(tries, 1)
        self.attempts[responder] += times * tries
        self.retries[responder] += times * (tries - 1)
        self.failures[responder] += times * (tries - 1 + (outcome == "failed"))

    def with_outbox(self, by_responder: Mapping[tuple[str, str], int]) -> Deliveries:
        """These deliveries plus the outbox's tally, where "retried" counts failed tries."""
        total = Deliveries(
            Tally(self.outcomes), Tally(self.attempts), Tally(self.failures), Tally(self.retries)
        )
        for (responder, outcome), n in by_responder.items():
            if outcome != "retried":
                total.add(responder, outcome, times=n)
                continue
            for tally in (total.attempts, total.failures, total.retries):
                tally[responder] += n
        return total


class Families:
    """The collected families of one scrape, filled by name (see `FAMILIES`)."""

    def __init__(self, created: float) -> None:
        #: Every counter series is stamped as created at process start: its total counts
        #: from 0 there (a playbook added later was implicitly at 0 until then).
        self.created = created
        self.by_name: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            name: (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
                f"groundswell_{name}", doc, labels=labels
            )
            for name, (kind, doc, labels) in FAMILIES.items()
        }

    def add(self, name: str, labels: Sequence[str], value: float) -> None:
        """One series of the family `name`."""
        family = self.by_name[name]
        if isinstance(family, CounterMetricFamily):
            family.add_metric(labels, value, created=self.created)
        else:
            family.add_metric(labels, value)

    def add_source(self, name: str, health: SourceHealth, now: float) -> None:
        """One source's totals and state; its lag as of `now` once it has read a post."""
        labels = (name,)
        for family, value in (
            ("posts_received", health.received),
            ("posts_refused", health.refused),
            ("posts_parsed", health.received - health.malformed),
            ("posts_malformed", health.malformed),
            ("posts_deduplicated", health.duplicates),
            ("posts_dropped", health.dropped),
            ("source_reconnects", health.reconnects),
            ("source_restarts", health.restarts),
            ("source_gaps", health.gaps),
            ("source_backfill_failures", health.backfill_failures),
            ("posts_edited", health.edits),
            ("source_up", health.connected),
            ("source_finished", health.finished),
            ("source_failed", health.state == "failed"),
        ):
            self.add(family, labels, float(value))
        if health.last_event is not None:
            self.add("source_event_lag_seconds", labels, max(now - health.last_event, 0.0))
            self.add("source_last_event_timestamp_seconds", labels, health.last_event)

    def add_engine(self, engine: Engine | None, alerts: Mapping[tuple[str, str], int]) -> None:
        """The running playbooks' totals and last decisions, and their alerts by kind."""
        if engine is None:  # e.g. metrics for the outbox alone
            self.add("posts_late", (), 0)
            self.add("playbooks_loaded", (), 0)
            return
        stats = engine.stats
        self.add("posts_late", (), stats.late)
        self.add("playbooks_loaded", (), len(engine.playbooks))
        for runtime in engine.runtimes:  # only the running playbooks: a removed one is gone
            labels = (runtime.playbook.name,)
            decision = runtime.last
            self.add("posts_matched", labels, stats.matched.get(labels[0], 0))
            self.add("posts_own_voice", labels, stats.own_voice.get(labels[0], 0))
            self.add("burst_score", labels, decision.score if decision else 0.0)
            self.add("campaign_state", labels, STATE_CODES[decision.state] if decision else 0)
            strictness = runtime.detector.strictness(engine.watermark)
            self.add("detector_strictness", labels, strictness)
            for kind in ALERT_KINDS:
                self.add("alerts", (*labels, kind), alerts.get((labels[0], kind), 0))

    def add_deliveries(self, total: Deliveries, known: Iterable[str]) -> None:
        """Every outcome of every responder known or seen, at 0 until it happens."""
        outcomes = dict.fromkeys(OUTCOMES)
        outcomes.update(dict.fromkeys(outcome for _, outcome in total.outcomes))
        responders = dict.fromkeys(known)
        responders.update(dict.fromkeys(responder for responder, _ in total.outcomes))
        responders.update(dict.fromkeys(total.attempts))  # retried, not yet done
        for responder in responders:
            for outcome in outcomes:
                self.add("deliveries", (responder, outcome), total.outcomes[responder, outcome])
            self.add("delivery_attempts", (responder,), total.attempts[responder])
            self.add("delivery_failures", (responder,), total.failures[responder])
            self.add("delivery_retries", (responder,), total.retries[responder])

    def add_outbox(self, outbox: OutboxFigures | None) -> None:
        """Rows by status and button clicks; without an outbox only its depth, at 0."""
        self.add("outbox_depth", (), outbox.rows.get("pending", 0) if outbox else 0)
        if outbox is None:
            return
        for status in OUTBOX_STATUSES:
            self.add("outbox_rows", (status,), outbox.rows.get(status, 0))
        for (playbook, action), clicks in outbox.feedback.items():
            self.add("feedback", (playbook, action), clicks)
