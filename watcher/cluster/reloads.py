"""Playbook reloads in the cluster: a checked set in the Object Store, applied by every
worker at the same point of the ordered posts stream.

The single process reloads its playbooks where it stands between two batches
(`Engine.replace_playbooks`). In the cluster each worker runs some shards, restarts from
checkpoints and catches up at its own pace, so a reload is a control message of the posts
stream (`control.PLAYBOOKS`): every worker swaps the set in where the message stands, and
the alerts are those of one engine reloaded between the same two batches.

- A *set* is its playbooks as validated models, in load order, encoded canonically
  (`encode_set`: each model's JSON dump, keys sorted) and named by the SHA-256 of that
  encoding (`digest`): the same playbooks give the same digest whatever their comments,
  whitespace or folder, and a worker started with `--playbooks` has the digest of its set
  without asking anyone. It is stored in the cluster's Object Store as `playbooks-DIGEST`
  (over KV's 1 MiB value cap at 1,000 playbooks); the message carries only the digest.
- `groundswell publish-playbooks` checks the files exactly as `groundswell check` does and
  publishes nothing if any has an error. The texts it checks are the ones it encodes (each
  file is read once), so a file saved meanwhile cannot slip in unchecked.
- The reloads are counted in the state bucket (`playbooks.published`: the last digest and
  its number `n`), and a reload's `Nats-Msg-Id` is `playbooks:N:DIGEST`. A publish that
  crashed between the PubAck and the count's write publishes the same id again and the
  server drops it; a set published again later (A, B, then A again) is a new reload with a
  new number, which an id of the digest alone would have had dropped as a duplicate inside
  the stream's dedup window. Publishing the set already in force re-sends its last id:
  dropped, or (past the window) applied as "unchanged" by every worker.

A set that does not decode or validate in a worker (it was checked at publish, so only a
newer version's set could) is logged and skipped, by every worker alike: each skips the
same bytes. A set that cannot be fetched because the broker is away is retried, never
skipped, or workers would disagree.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from pydantic import ValidationError

from watcher.cluster.batches import headers_for
from watcher.cluster.control import PLAYBOOKS, Reload, encode_reload, reload_id
from watcher.cluster.layout import Layout, Stores
from watcher.errors import GroundswellError
from watcher.playbooks.model import Playbook

__all__ = [
    "PUBLISHED_KEY",
    "Published",
    "SetError",
    "decode_set",
    "encode_set",
    "fetch_set",
    "object_name",
    "publish_set",
    "set_digest",
    "store_set",
]

log = logging.getLogger("groundswell.cluster")

PUBLISHED_KEY = "playbooks.published"
SET_FORMAT = 1


class SetError(GroundswellError):
    """A stored playbook set that this version cannot run, or a publish that raced another."""

    what = "playbooks"


def encode_set(playbooks: Sequence[Playbook]) -> bytes:
    """The set's canonical bytes: the same playbooks always give the same bytes."""
    return orjson.dumps(
        {"format": SET_FORMAT, "playbooks": [p.model_dump(mode="json") for p in playbooks]},
        option=orjson.OPT_SORT_KEYS,
    )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def set_digest(playbooks: Sequence[Playbook]) -> str:
    return _digest(encode_set(playbooks))


def object_name(digest: str) -> str:
    return f"playbooks-{digest}"


def decode_set(data: bytes) -> tuple[Playbook, ...]:
    """The playbooks `encode_set` wrote, validated again; `SetError` if they cannot run."""
    try:
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("format") != SET_FORMAT:
            found = raw.get("format") if isinstance(raw, dict) else None
            raise SetError(f"set format {found!r}; this version reads {SET_FORMAT}")
        playbooks = tuple(Playbook.model_validate(item) for item in raw["playbooks"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
        raise SetError(f"not a playbook set this version reads ({exc})") from None
    names = [p.name for p in playbooks]
    if len(set(names)) != len(names):
        raise SetError("two playbooks share a name")
    return playbooks


async def store_set(stores: Stores, playbooks: Sequence[Playbook]) -> str:
    """Put the set in the Object Store (unless it is there); its digest."""
    data = encode_set(playbooks)
    digest = _digest(data)
    try:
        await stores.checkpoints.get_info(object_name(digest))
    except NotFoundError:
        await stores.checkpoints.put(object_name(digest), data)
    return digest


async def fetch_set(stores: Stores, digest: str) -> tuple[Playbook, ...]:
    """The set stored under `digest`; `SetError` if it is missing, altered or unreadable.
    Broker errors pass through (the caller retries: skipping them would split workers)."""
    try:
        data = (await stores.checkpoints.get(object_name(digest))).data or b""
    except NotFoundError:
        raise SetError(f"playbook set {digest[:12]} is not in the object store") from None
    if _digest(data) != digest:
        raise SetError(f"playbook set {digest[:12]}: its stored bytes do not match the digest")
    return decode_set(data)


@dataclass(frozen=True, slots=True)
class Published:
    """What `publish_set` did: the reload, and whether the server stored it (not a
    duplicate) and whether it was the set already in force."""

    reload: Reload
    stored: bool
    already: bool


async def publish_set(
    js: JetStreamContext, layout: Layout, stores: Stores, playbooks: Sequence[Playbook]
) -> Published:
    """Store the set, then publish its reload into the posts stream, then count it."""
    digest = await store_set(stores, playbooks)
    try:
        entry = await stores.state.get(PUBLISHED_KEY)
        last: Reload | None = Reload(**orjson.loads(entry.value or b"{}"))
        revision: int | None = entry.revision
    except KeyNotFoundError:
        last, revision = None, None
    already = last is not None and last.digest == digest
    reload = last if last is not None and already else Reload((last.n if last else 0) + 1, digest)
    ack = await js.publish(
        layout.posts_subject,
        encode_reload(reload),
        stream=layout.posts_stream,
        headers=headers_for(reload_id(reload), kind=PLAYBOOKS),
    )
    if not already:
        value = orjson.dumps({"n": reload.n, "digest": reload.digest})
        try:
            if revision is None:
                await stores.state.create(PUBLISHED_KEY, value)
            else:
                await stores.state.update(PUBLISHED_KEY, value, last=revision)
        except KeyWrongLastSequenceError:
            raise SetError(
                "another publish-playbooks published a set at the same time; the one later "
                "in the stream is in force: run this one again to be sure it is yours"
            ) from None
    return Published(reload, not ack.duplicate, already)
