""" "Not a campaign" clicks, from the delivery process's outbox into the ordered stream.

The single process applies clicks straight from its outbox (`watcher.service.feedback`). In
the cluster the outbox belongs to `groundswell deliver` and the detectors to the workers, so
the deliverer publishes each click as a `false-alarm` control message (`control`) into the
posts stream, and every worker applies it at that point of the stream.

What was published is remembered in the state bucket (`feedback.published`: the outbox's
identity, its last feedback row published, and the cluster's click count `n`), written by
compare-and-set after each PubAck, so a restart neither re-sends nor skips a click:

- a crash between the PubAck and the cursor's write publishes the same row again with the
  same `Nats-Msg-Id` (outbox identity and row id: the server drops it) and the same `n` (a
  worker applies a click only past the last `n` it applied, so even after the dedup window
  it counts once);
- the outbox's identity is a random token kept in the outbox file itself
  (`Outbox.identity`), so a replaced outbox (whose row ids start again) or another
  deliverer's outbox is told apart from the one published from: its clicks stored before
  it first published are history, judged by a detector this cluster does not have, and
  counting starts from its newest row, as `apply_false_alarms` does for a first run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from responders.delivery.outbox import Outbox
from watcher.cluster.batches import headers_for
from watcher.cluster.control import FALSE_ALARM, Click, click_id, encode_click
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.leases import LeaseLost

__all__ = ["CURSOR_KEY", "ClickPublisher", "Cursor"]

log = logging.getLogger("groundswell.cluster")

CURSOR_KEY = "feedback.published"


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last click published: from which outbox, its feedback row, and its `n`."""

    outbox: str
    row: int
    n: int

    def encode(self) -> bytes:
        return orjson.dumps({"outbox": self.outbox, "row": self.row, "n": self.n})

    @classmethod
    def decode(cls, data: bytes) -> Cursor:
        raw = orjson.loads(data)
        return cls(str(raw["outbox"]), int(raw["row"]), int(raw["n"]))


class ClickPublisher:
    """Publishes the clicks of one outbox that are not published yet, in row order."""

    def __init__(self, js: JetStreamContext, layout: Layout, stores: Stores, outbox: Outbox):
        self.js = js
        self.layout = layout
        self.stores = stores
        self.outbox = outbox
        self.identity = outbox.identity()
        self.published = 0  # clicks the server stored (not duplicates)

    async def _read(self) -> tuple[Cursor | None, int | None]:
        try:
            entry = await self.stores.state.get(CURSOR_KEY)
        except KeyNotFoundError:
            return None, None
        return (Cursor.decode(entry.value) if entry.value else None), entry.revision

    async def _write(self, cursor: Cursor, revision: int | None) -> int:
        kv = self.stores.state
        try:
            if revision is None:
                return await kv.create(CURSOR_KEY, cursor.encode())
            return await kv.update(CURSOR_KEY, cursor.encode(), last=revision)
        except KeyWrongLastSequenceError:
            raise LeaseLost("deliver: another process published clicks meanwhile") from None

    async def publish(self) -> int:
        """Publish every click stored since the cursor; how many the server stored."""
        cursor, revision = await self._read()
        if cursor is None or cursor.outbox != self.identity:
            newest = self.outbox.last_feedback_id()
            log.info(
                "deliver: publishing the clicks of outbox %s after its feedback row %d",
                self.identity,
                newest,
            )
            cursor = Cursor(self.identity, newest, cursor.n if cursor else 0)
            revision = await self._write(cursor, revision)
        stored = 0
        for alarm in self.outbox.false_alarms(cursor.row):
            click = Click(cursor.n + 1, alarm.playbook, alarm.campaign_id)
            ack = await self.js.publish(
                self.layout.posts_subject,
                encode_click(click),
                stream=self.layout.posts_stream,
                headers=headers_for(click_id(self.identity, alarm.id), kind=FALSE_ALARM),
            )
            stored += not ack.duplicate
            log.info(
                "deliver: not a campaign: %s (%s) published as click %d",
                alarm.campaign_id,
                alarm.playbook,
                click.n,
            )
            cursor = Cursor(self.identity, alarm.id, click.n)
            revision = await self._write(cursor, revision)
        self.published += stored
        return stored
