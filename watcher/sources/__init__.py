"""Feed sources: each yields normalised posts behind one small protocol.

`base` (the `Source` protocol, `Batch`, `SourceHealth`), `retry` (the one reconnect loop),
`specs` (source kinds by name, built from settings), `cursors` (resume positions in SQLite),
`common`, and one module per feed: `mastodon` (with `mastodon_instance`, where an instance
streams from and what it calls itself, and `mastodon_wire`, its SSE and Status parsing),
`jetstream` (Bluesky), `rss`, `reddit`, `ingest` (pushed over HTTP), `follow` (a growing
file) and `replay` (a recorded file).
"""

from __future__ import annotations

__all__ = [
    "base",
    "common",
    "cursors",
    "follow",
    "ingest",
    "jetstream",
    "mastodon",
    "mastodon_instance",
    "mastodon_wire",
    "reddit",
    "replay",
    "retry",
    "rss",
    "specs",
]
