"""Jetstream as it really speaks: events in the documented shape, the cursor rewound on each
reconnect, and failover across instances."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.conftest import T0
from tests.watcher.sources.fakes import FakeJetstream, jetstream_feed, serving
from tests.watcher.sources.helpers import collect, fast_backoff
from watcher.sources.jetstream import PUBLIC_INSTANCES, JetstreamSource, parse_event

NOW = T0 + 3600.0
TIME_US = int(T0 * 1e6)
DID = "did:plc:eygmaihciaxprqvxpfvl6flk"
pytestmark = pytest.mark.timeout(30)

#: The v1 README's post create, as the service documents it (v2 servers add `cursor`).
CREATE: dict[str, Any] = {
    "did": DID,
    "time_us": TIME_US,
    "cursor": 12345,
    "kind": "commit",
    "commit": {
        "rev": "3l3qo2vutsw2b",
        "operation": "create",
        "collection": "app.bsky.feed.post",
        "rkey": "3l3qo2vuowo2b",
        "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
        "record": {
            "$type": "app.bsky.feed.post",
            "text": "Quake felt in #Tokyo ex.am/p",
            "createdAt": "2024-09-09T19:46:02.102Z",
            "langs": ["en"],
            "facets": [
                {
                    "index": {"byteStart": 14, "byteEnd": 20},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Tokyo"}],
                },
                {
                    "index": {"byteStart": 21, "byteEnd": 28},
                    "features": [
                        {"$type": "app.bsky.richtext.facet#link", "uri": "https://ex.am/p?x=1"}
                    ],
                },
            ],
            "reply": {
                "root": {"uri": f"at://{DID}/app.bsky.feed.post/3root", "cid": "bafyroot"},
                "parent": {"uri": f"at://{DID}/app.bsky.feed.post/3parent", "cid": "bafyp"},
            },
        },
    },
}

#: Events that are not new posts, each as the README shows it: they only move the cursor.
NOT_POSTS: list[dict[str, Any]] = [
    {
        "did": DID,
        "time_us": TIME_US + 1,
        "kind": "commit",
        "commit": {
            "rev": "3l3qo2vutsw2c",
            "operation": "update",
            "collection": "app.bsky.feed.post",
            "rkey": "3l3qo2vuowo2b",
            "cid": "bafyreiupdated",
            "record": CREATE["commit"]["record"],
        },
    },
    {
        "did": DID,
        "time_us": TIME_US + 2,
        "kind": "commit",
        "commit": {
            "rev": "3l3f6nzl3cv2s",
            "operation": "delete",
            "collection": "app.bsky.feed.post",
            "rkey": "3l3qo2vuowo2b",
        },
    },
    {
        "did": DID,
        "time_us": TIME_US + 3,
        "kind": "identity",
        "identity": {
            "did": DID,
            "handle": "jcsalterego.bsky.social",
            "seq": 1409752997,
            "time": "2024-09-05T06:11:04.870Z",
        },
    },
    {
        "did": DID,
        "time_us": TIME_US + 4,
        "kind": "account",
        "account": {
            "active": True,
            "did": DID,
            "seq": 1409753013,
            "time": "2024-09-05T06:11:04.870Z",
        },
    },
    {"kind": "heartbeat", "payload": "hello"},  # the answer to a client's heartbeat
]


def test_a_documented_create_is_a_post_with_its_tag_full_link_and_reply() -> None:
    time_us, post = parse_event(orjson.dumps(CREATE), NOW)
    assert time_us == TIME_US
    assert post is not None
    assert post.id == f"at://{DID}/app.bsky.feed.post/3l3qo2vuowo2b"
    assert post.author == DID
    assert post.text == "Quake felt in #Tokyo ex.am/p\nhttps://ex.am/p?x=1"
    assert post.hashtags == ("tokyo",)
    assert post.reply_to == f"at://{DID}/app.bsky.feed.post/3parent"
    assert post.timestamp == T0  # the server's time_us, not the client's createdAt
    assert post.url == f"https://bsky.app/profile/{DID}/post/3l3qo2vuowo2b"


@pytest.mark.parametrize(
    "event", NOT_POSTS, ids=["update", "delete", "identity", "account", "heartbeat"]
)
def test_updates_deletes_identity_account_and_heartbeats_are_not_posts(
    event: dict[str, Any],
) -> None:
    # An update is an edit: the post counted once, as created (like Mastodon's edits).
    assert parse_event(orjson.dumps(event), NOW) == (event.get("time_us"), None)


async def test_every_reconnect_rewinds_the_cursor_5_s_before_the_last_event_seen() -> None:
    fake = FakeJetstream(jetstream_feed(1200), per_connection=250)
    async with serving(fake.app()) as server:
        src = JetstreamSource(
            "jetstream:test",
            str(server.make_url("/subscribe")),
            backoff=fast_backoff(),
            clock=lambda: NOW,
        )
        posts = await collect(src, 1200)
    assert len({p.id for p in posts}) == 1200
    cursors = [int(q["cursor"]) for q in fake.queries[1:]]
    assert len(cursors) >= 4
    assert cursors == [last - 5_000_000 for last in fake.last_sent[: len(cursors)]]
    assert all(q["wantedCollections"] == "app.bsky.feed.post" for q in fake.queries)


async def test_an_instance_that_fails_moves_the_source_on_to_the_next() -> None:
    down = FakeJetstream(jetstream_feed(10), refusals=[(502, {})] * 100)
    up = FakeJetstream(jetstream_feed(600), per_connection=200)
    async with serving(down.app()) as first, serving(up.app()) as second:
        backup = str(second.make_url("/subscribe"))
        src = JetstreamSource(
            "jetstream:test",
            str(first.make_url("/subscribe")),
            failover=[backup],
            backoff=fast_backoff(),
            clock=lambda: NOW,
        )
        posts = await collect(src, 600)
    assert len({p.id for p in posts}) == 600
    # Each drop of `up` after events is retried on `up`; only `down`'s refusal moved us.
    assert len(down.queries) == 1
    assert len(up.queries) >= 3
    assert src.urls[src.host] == backup


def test_the_public_instances_are_bluesky_s_four() -> None:
    assert PUBLIC_INSTANCES == (
        "wss://jetstream1.us-east.bsky.network/subscribe",
        "wss://jetstream2.us-east.bsky.network/subscribe",
        "wss://jetstream1.us-west.bsky.network/subscribe",
        "wss://jetstream2.us-west.bsky.network/subscribe",
    )
