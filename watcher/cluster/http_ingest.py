"""`--source ingest`: `POST /ingest` into the cluster's posts stream, answered after the PubAck.

The body is read, checked and parsed exactly as the single process does it
(`watcher.sources.ingest.IngestSource`: bearer token, size bound, per-line report, recent
post ids reported `duplicate`). Its new posts are published as batches (`MAX_POSTS` lines,
under `MAX_BYTES`), and the answer comes only once the broker has acknowledged every one:
a 200 means the posts are in the stream, on disk. If the broker does not acknowledge them
(it is down or restarting), the sender gets 503 with `Retry-After`, and the posts are
forgotten by the duplicate check so that the retry is accepted.

A batch's `Nats-Msg-Id` is a hash of its lines, so a body sent twice (a sender retrying
after a lost answer, to this ingest or to another one behind the same load balancer) gives
the same ids. The server then reports those batches as duplicates instead of storing them
twice. `late` and `refused` are `null` in the answer: in the cluster, the workers decide
them later.

Posts from several ingests interleave in the stream in the order the broker acknowledged
them, and every worker reads that one order. Unlike `file:`, an HTTP ingest never sends a
`flush`: it is live, and buckets close as event time passes.
"""

from __future__ import annotations

import hashlib
import logging

from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from watcher.cluster.batches import MAX_BYTES, headers_for, line_batches
from watcher.cluster.ingest import Published
from watcher.cluster.layout import Layout
from watcher.post import dump_post
from watcher.sources.ingest import MAX_BODY, IngestSource, IngestUnavailable

__all__ = ["ClusterIngest"]

log = logging.getLogger("groundswell.cluster")

#: How long one publish may wait for its PubAck before the body is answered 503.
PUBLISH_TIMEOUT_S = 5.0


class ClusterIngest:
    """Bodies POSTed to `/ingest`, published to `layout`'s posts stream (`Ingestor`)."""

    def __init__(
        self,
        js: JetStreamContext,
        layout: Layout,
        token: str,
        *,
        name: str = "ingest",
        max_body: int = MAX_BODY,
        out: Published | None = None,
    ) -> None:
        self._js = js
        self._layout = layout
        self._parser = IngestSource(token, name=name, max_body=max_body)
        self.name = name
        self.max_body = max_body
        self.out = out if out is not None else Published()

    @property
    def outcomes(self) -> dict[str, int]:
        """Lines accepted, malformed and duplicate so far."""
        return self._parser.outcomes

    def authorized(self, header: str) -> bool:
        return self._parser.authorized(header)

    async def accept(self, body: bytes, received_at: float) -> dict[str, object]:
        """Parse `body`, publish its new posts and wait for every PubAck; the report."""
        posts, report = self._parser.parse(body)
        if posts:
            try:
                await self._publish([dump_post(post) for post in posts])
            except (NatsError, TimeoutError) as exc:
                self._parser.forget(posts)
                raise IngestUnavailable(f"the broker did not take the posts ({exc!r})") from None
        return {**report, "late": None, "refused": None}

    async def _publish(self, lines: list[bytes]) -> None:
        for batch in line_batches(lines, max_bytes=MAX_BYTES):
            payload = batch.payload
            msg_id = f"{self.name}:{hashlib.sha256(payload).hexdigest()[:32]}"
            ack = await self._js.publish(
                self._layout.posts_subject,
                payload,
                timeout=PUBLISH_TIMEOUT_S,
                stream=self._layout.posts_stream,
                headers=headers_for(msg_id, source=self.name),
            )
            if ack.duplicate:
                self.out.duplicates += 1
            else:
                self.out.batches += 1
                self.out.posts += len(batch.lines)
