"""The control messages of the posts stream besides `flush`: what each one carries.

Control messages travel in the ordered posts stream between batches of posts, so every
worker applies them at the same point of the stream, as a single engine applying them
between the same two batches would (`Groundswell-Kind` names the kind; see `batches`):

- `false-alarm`: a "Not a campaign" click, published by `groundswell deliver` from its
  outbox (`feedback`). `n` numbers the clicks of the whole cluster (1, 2, ...): an engine
  applies a click only if its `n` is past the last one it applied (`Engine.
  false_alarms_applied`, checkpointed with the detectors), so a click re-published after
  the stream's dedup window has passed still counts once.
- `playbooks`: a new playbook set, published by `groundswell publish-playbooks` (`reloads`):
  the set's digest (the set itself is in the Object Store) and `n`, the cluster's count of
  reloads. A worker swaps the set in where the message stands, as `Engine.
  replace_playbooks` between the same two batches; a set already in force changes nothing.

>>> click = Click(3, "river-sewage", "river-sewage-1")
>>> decode_click(encode_click(click)) == click
True
>>> click_id("4f1c", 17)
'false-alarm:4f1c:17'
>>> decode_reload(encode_reload(Reload(2, "9f86d0"))), reload_id(Reload(2, "9f86d0"))
(Reload(n=2, digest='9f86d0'), 'playbooks:2:9f86d0')
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = [
    "FALSE_ALARM",
    "FLUSH",
    "PLAYBOOKS",
    "Click",
    "Reload",
    "click_id",
    "decode_click",
    "decode_reload",
    "encode_click",
    "encode_reload",
    "reload_id",
]

FLUSH = "flush"
FALSE_ALARM = "false-alarm"
PLAYBOOKS = "playbooks"


@dataclass(frozen=True, slots=True)
class Click:
    """The `n`-th "Not a campaign" click the cluster published: campaign `campaign_id` of
    `playbook` was none."""

    n: int
    playbook: str
    campaign_id: str


def encode_click(click: Click) -> bytes:
    return orjson.dumps({"n": click.n, "playbook": click.playbook, "campaign": click.campaign_id})


def decode_click(data: bytes) -> Click:
    raw = orjson.loads(data)
    return Click(int(raw["n"]), str(raw["playbook"]), str(raw["campaign"]))


def click_id(outbox: str, row: int) -> str:
    """The click's `Nats-Msg-Id`: its outbox and feedback row, so publishing the same row
    again (a restart between the PubAck and the cursor's write) is a duplicate."""
    return f"{FALSE_ALARM}:{outbox}:{row}"


@dataclass(frozen=True, slots=True)
class Reload:
    """The `n`-th playbook set published to the cluster: the one whose digest is `digest`."""

    n: int
    digest: str


def encode_reload(reload: Reload) -> bytes:
    return orjson.dumps({"n": reload.n, "set": reload.digest})


def decode_reload(data: bytes) -> Reload:
    raw = orjson.loads(data)
    return Reload(int(raw["n"]), str(raw["set"]))


def reload_id(reload: Reload) -> str:
    """The reload's `Nats-Msg-Id`: its number and set, so publishing it again (a restart
    between the PubAck and the count's write) is a duplicate, while a set published again
    later (a revert from B back to A) is a new reload and is stored."""
    return f"{PLAYBOOKS}:{reload.n}:{reload.digest}"
