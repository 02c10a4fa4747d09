"""Ordered batches of post lines, and control messages, as JetStream messages.

One message per post caps the Python client near 20k posts/s; 500 posts a message reached
~600k posts/s publish here (issue 15), so posts travel in batches: the NDJSON lines as they
were read, at most `MAX_POSTS` of them and under `MAX_BYTES`. Each batch's `Nats-Msg-Id` is
its source and line range, so a reader that restarts and publishes the same lines again
gets the same ids and the server reports them duplicate instead of storing them twice.

Control messages travel in the same ordered stream, so every worker applies them at the
same point: `flush` closes every open bucket, as the end of a `groundswell replay` does,
`false-alarm` is a "Not a campaign" click and `playbooks` a reload (their payloads:
`control`).

>>> batches = list(line_batches([b'{"a":1}\\n', b'{"b":2}\\n', b'{"c":3}\\n'], max_posts=2))
>>> [(b.first, b.last, len(b.lines)) for b in batches]
[(1, 2, 2), (3, 3, 1)]
>>> batch_id("file:x", batches[0])
'file:x:1-2'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "KIND",
    "MAX_BYTES",
    "MAX_POSTS",
    "SOURCE",
    "Batch",
    "batch_id",
    "headers_for",
    "line_batches",
    "split_lines",
]

MAX_POSTS = 500
#: The server's default max_payload is 1 MiB; leave room for headers.
MAX_BYTES = 900 * 1024
KIND = "Groundswell-Kind"  # header: "posts" (default), "flush", "false-alarm", "playbooks"
SOURCE = "Groundswell-Source"  # header: the default `source` of posts that name none


@dataclass(frozen=True, slots=True)
class Batch:
    """Lines `first`..`last` (1-based, inclusive) of one source."""

    first: int
    last: int
    lines: list[bytes]

    @property
    def payload(self) -> bytes:
        return b"".join(line if line.endswith(b"\n") else line + b"\n" for line in self.lines)


def line_batches(
    lines: Iterable[bytes],
    *,
    start: int = 1,
    max_posts: int = MAX_POSTS,
    max_bytes: int = MAX_BYTES,
) -> Iterator[Batch]:
    """Cut `lines` (numbered from `start`) into batches; the cut depends only on the lines,
    so the same file always gives the same batches and ids. A line over `max_bytes` is
    yielded alone (the caller decides: the server refuses a message over its max_payload)."""
    chunk: list[bytes] = []
    size = 0
    first = number = start
    for number, line in enumerate(lines, start):
        if chunk and (len(chunk) >= max_posts or size + len(line) > max_bytes):
            yield Batch(first, number - 1, chunk)
            chunk, size, first = [], 0, number
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        yield Batch(first, number, chunk)


def batch_id(source: str, batch: Batch) -> str:
    return f"{source}:{batch.first}-{batch.last}"


def headers_for(msg_id: str, *, kind: str = "posts", source: str = "") -> dict[str, str]:
    headers = {"Nats-Msg-Id": msg_id, KIND: kind}
    if source:
        headers[SOURCE] = source
    return headers


def split_lines(payload: bytes) -> list[bytes]:
    """A batch's lines as `groundswell replay` reads them (each ending in a newline)."""
    return payload.splitlines(keepends=True)
