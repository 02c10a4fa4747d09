"""`--source file:PATH`: a recorded posts file into the posts stream, resumably.

The file is cut into deterministic batches (`batches.line_batches`) and published in order,
each waiting for its PubAck, so a batch is in the stream (on disk, on every replica) before
the next is sent and the stream's order is the file's. The source's cursor (the last line
acknowledged) is kept in the state bucket: a re-run of the same source starts after it and
sends nothing twice, and the batches a crash left between the PubAck and the cursor write
are sent again with the same ids, which the server reports duplicate. At the end a `flush`
control message (with its own deterministic id) closes every open bucket, as the end of a
replay does.

A source holds a lease while it publishes, so two readers of one feed cannot interleave.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from watcher.cluster.batches import MAX_BYTES, Batch, batch_id, headers_for, line_batches
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.leases import Lease
from watcher.errors import GroundswellError

__all__ = ["IngestError", "Published", "cursor_key", "publish_batch", "publish_file"]

log = logging.getLogger("groundswell.cluster")

#: The default `source` of posts that name none, as `groundswell replay` gives them.
REPLAY_SOURCE = "replay"


class IngestError(GroundswellError):
    """A source cannot be published (another reader holds it, or a line is too big)."""

    what = "ingest"


@dataclass(slots=True)
class Published:
    """What one ingest run did."""

    batches: int = 0
    posts: int = 0
    duplicates: int = 0  # batches the server already had (same Nats-Msg-Id)
    skipped_lines: int = 0  # lines before the cursor, published by an earlier run
    oversized: int = 0  # lines over the message size: counted and left out
    cursor: int = 0  # the last line the server acknowledged
    leased: bool = False  # whether this run holds the source's lease now


def cursor_key(spec: str) -> str:
    """The state-bucket key of a source's cursor (KV keys allow few characters)."""
    return "cursor." + hashlib.sha256(spec.encode()).hexdigest()[:24]


async def publish_batch(
    js: JetStreamContext, layout: Layout, spec: str, batch: Batch, *, source: str = ""
) -> bool:
    """Publish one batch; True if the server stored it, False if it was a duplicate."""
    ack = await js.publish(
        layout.posts_subject,
        batch.payload,
        stream=layout.posts_stream,
        headers=headers_for(batch_id(spec, batch), source=source),
    )
    return not ack.duplicate


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle


async def publish_file(
    js: JetStreamContext,
    layout: Layout,
    stores: Stores,
    spec: str,
    path: Path,
    owner: str,
    out: Published | None = None,
) -> Published:
    """Publish the file at `path` as source `spec`, from its cursor on, then a flush;
    counted in `out` as it goes (for metrics)."""
    lease = Lease(stores.leases, "ingest." + cursor_key(spec)[7:], owner, layout.lease_ttl)
    if not await lease.acquire():
        raise IngestError(f"{spec}: another ingest of this source is running; wait for it")
    out = out if out is not None else Published()
    out.leased = True
    key = cursor_key(spec)
    try:
        try:
            entry = await stores.state.get(key)
            done = int(entry.value or b"0")
        except KeyNotFoundError:
            done = 0
        last = out.cursor = done
        for batch in line_batches(_lines(path)):
            if batch.last <= done:
                out.skipped_lines += len(batch.lines)
                continue
            if len(batch.lines) == 1 and len(batch.lines[0]) > MAX_BYTES:
                out.oversized += 1
                log.warning("%s: line %d is over %d bytes; left out", spec, batch.first, MAX_BYTES)
            elif await publish_batch(js, layout, spec, batch, source=REPLAY_SOURCE):
                out.batches += 1
                out.posts += len(batch.lines)
            else:
                out.duplicates += 1
            last = out.cursor = batch.last
            if out.batches % 50 == 0 or not lease.fresh():
                await lease.renew()  # also proves we still own the source
                await stores.state.put(key, str(last).encode())
        ack = await js.publish(
            layout.posts_subject,
            b"",
            stream=layout.posts_stream,
            headers=headers_for(f"{spec}:flush:{last}", kind="flush"),
        )
        out.duplicates += int(bool(ack.duplicate))
        await stores.state.put(key, str(last).encode())
    finally:
        await lease.release()
        out.leased = False
    return out
