"""How a worker cuts the messages it has read into runs applied as one batch."""

from __future__ import annotations

from typing import Any, cast

from nats.aio.msg import Msg

from watcher.cluster.batches import KIND, SOURCE
from watcher.cluster.worker import RUN_BATCHES, runs


def message(seq: int, *, kind: str = "posts", source: str = "") -> Msg:
    headers = {"Nats-Msg-Id": f"x:{seq}", KIND: kind} | ({SOURCE: source} if source else {})
    reply = f"$JS.ACK.posts.c.1.{seq}.{seq}.1700000000000000000.0"
    return Msg(cast(Any, None), subject="posts", reply=reply, data=b"", headers=headers)


def seqs(cut: list[list[Msg]]) -> list[list[int]]:
    return [[m.metadata.sequence.stream for m in run] for run in cut]


def test_consecutive_posts_batches_of_one_source_make_one_run() -> None:
    assert seqs(runs([message(n) for n in range(1, 5)])) == [[1, 2, 3, 4]]


def test_a_flush_a_new_source_or_a_gap_starts_a_new_run() -> None:
    taken = [
        message(1),
        message(2),
        message(3, kind="flush"),
        message(4),
        message(5, source="ingest"),
        message(6, source="ingest"),
        message(8, source="ingest"),
    ]
    assert seqs(runs(taken)) == [[1, 2], [3], [4], [5, 6], [8]]


def test_a_run_holds_at_most_run_batches_messages() -> None:
    cut = runs([message(n) for n in range(1, 2 * RUN_BATCHES + 2)])
    assert [len(run) for run in cut] == [RUN_BATCHES, RUN_BATCHES, 1]
