"""The streams and buckets of one named cluster, created if missing and checked at start.

nats-server 2.9.10 silently drops settings it does not know (2.10's subject transforms,
`filter_subjects`), so a config is never trusted as sent: `ensure_stream` compares what the
server returns with what was asked for and refuses to run on a difference, instead of
running on a stream that behaves differently from the one the design assumes.

Names: `--cluster-name gs` gives streams `gs-posts`, `gs-alerts`, KV buckets `gs-leases`
(with the lease TTL) and `gs-state` (cursors and checkpoint pointers, no TTL), and the
object store `gs-checkpoints`, so two clusters can share one server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from watcher.errors import GroundswellError

__all__ = ["Layout", "LayoutError", "Stores", "connect", "ensure_stream", "open_stores"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DAY = 24 * 3600.0


class LayoutError(GroundswellError):
    """The cluster's streams or buckets are missing, misnamed or not as configured."""

    what = "nats"


@dataclass(frozen=True, slots=True)
class Layout:
    """Where one cluster keeps everything, all prefixed by its name."""

    name: str = "groundswell"
    lease_ttl: float = 10.0
    #: How long the posts stream keeps batches: a worker may restart from a checkpoint
    #: this old; past it the shard starts cold (and says so).
    posts_max_age: float = 7 * DAY
    #: Republished batches inside this window are dropped by the server (`Nats-Msg-Id`).
    posts_dedup_window: float = 600.0
    #: Alerts re-emitted after a crash come back within minutes; a day is ample, and the
    #: outbox's insert-or-ignore catches anything older.
    alerts_dedup_window: float = DAY

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise LayoutError(f"--cluster-name {self.name!r}: use 1-32 letters, digits, '-' or '_'")

    @property
    def leases_bucket(self) -> str:
        return f"{self.name}-leases"

    @property
    def posts_stream(self) -> str:
        return f"{self.name}-posts"

    @property
    def posts_subject(self) -> str:
        return f"{self.name}.posts"

    @property
    def alerts_stream(self) -> str:
        return f"{self.name}-alerts"

    @property
    def alerts_subject(self) -> str:
        return f"{self.name}.alerts"

    def stream_configs(self) -> list[StreamConfig]:
        return [
            StreamConfig(
                name=self.posts_stream,
                subjects=[self.posts_subject],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                max_age=self.posts_max_age,
                duplicate_window=self.posts_dedup_window,
            ),
            StreamConfig(
                name=self.alerts_stream,
                subjects=[self.alerts_subject],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                max_age=30 * DAY,
                duplicate_window=self.alerts_dedup_window,
            ),
        ]


@dataclass(frozen=True, slots=True)
class Stores:
    """The cluster's buckets, opened."""

    leases: KeyValue  # TTL = lease TTL: an unrenewed lease disappears by itself
    state: KeyValue  # ingest cursors and checkpoint pointers; never expires
    checkpoints: ObjectStore  # engine state, too big for a KV value (capped at 1 MiB)


#: The fields we set, compared with what the server returns.
_CHECKED = ("subjects", "retention", "storage", "discard", "max_age", "duplicate_window")


def _differences(asked: StreamConfig, got: StreamConfig) -> list[str]:
    out = []
    for name in _CHECKED:
        want: Any = getattr(asked, name)
        have: Any = getattr(got, name)
        if isinstance(want, float) and isinstance(have, float | int):
            same = abs(want - have) < 1e-3
        else:
            same = want == have
        if not same:
            out.append(f"{name}: asked {want!r}, server has {have!r}")
    return out


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream if missing, then check the server holds it as asked."""
    assert config.name is not None
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        try:
            info = await js.add_stream(config)
        except BadRequestError as exc:  # another process created it first
            if exc.err_code != 10058:
                raise
            info = await js.stream_info(config.name)
    problems = _differences(config, info.config)
    if problems:
        raise LayoutError(
            f"stream {config.name}: the server's config is not the one this version needs "
            f"({'; '.join(problems)}); delete the stream or use another --cluster-name"
        )


async def _kv(js: JetStreamContext, bucket: str, ttl: float | None) -> KeyValue:
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        kv = await js.create_key_value(KeyValueConfig(bucket=bucket, history=1, ttl=ttl))
    info = await js.stream_info(f"KV_{bucket}")
    have = info.config.max_age or None
    if (ttl or None) != (have and round(have, 3)):
        raise LayoutError(
            f"bucket {bucket}: TTL {have} on the server, {ttl} asked; every process of a "
            "cluster needs the same --lease-ttl (or delete the bucket)"
        )
    return kv


async def open_stores(js: JetStreamContext, layout: Layout) -> Stores:
    """Create (if missing) and check every stream and bucket the cluster uses."""
    for config in layout.stream_configs():
        await ensure_stream(js, config)
    leases = await _kv(js, layout.leases_bucket, layout.lease_ttl)
    state = await _kv(js, f"{layout.name}-state", None)
    try:
        checkpoints = await js.object_store(f"{layout.name}-checkpoints")
    except (BucketNotFoundError, NotFoundError):
        checkpoints = await js.create_object_store(f"{layout.name}-checkpoints")
    return Stores(leases, state, checkpoints)


async def connect(url: str, name: str) -> Client:
    """A connection that keeps reconnecting (leases, not the connection, decide who works);
    a broker that cannot be reached at start is one `LayoutError` line."""
    try:
        # nats-py applies max_reconnect_attempts to the first connection too, so -1 would
        # retry a wrong URL forever: a few tries at start, then never give up (below)
        nc = await nats.connect(
            url,
            name=name,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=3,
            reconnect_time_wait=0.25,
        )
    except (OSError, nats.errors.Error, TimeoutError) as exc:
        raise LayoutError(
            f"--nats {url}: cannot connect ({type(exc).__name__}); is nats-server running?"
        ) from None
    nc.options["max_reconnect_attempts"] = -1
    return nc
