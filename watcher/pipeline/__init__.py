"""The pure, synchronous pipeline: posts in, alerts out, on event time. No asyncio, no clock.

`decode` (the batched NDJSON hot path), `matcher` (every playbook's terms in one
Aho-Corasick pass), `own` (the organisation's own voice), `windows` (event-time buckets and
the watermark), `buckets` with `crowd` and `tokens` (what a bucket counts), `surge` (alert
assembly: samples, surging and emerging terms), `standing` (who spoke on the issue before,
bounded, and found-voice candidates), `engine` (the
stages joined) and `dedup` (a post counts once, however many feeds carry it).
"""

from __future__ import annotations

__all__ = [
    "buckets",
    "crowd",
    "decode",
    "dedup",
    "engine",
    "matcher",
    "own",
    "standing",
    "surge",
    "tokens",
    "windows",
]
