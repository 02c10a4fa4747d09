"""The brief: ranked resources, listed and found voices, and offers matched to requests.

`build_brief` is the entry point; the rankers are public for tests and the bench.
"""

from __future__ import annotations

from responders.brief.brief import build_brief, rank_resources
from responders.brief.requests import detect_requests, rank_offers
from responders.brief.voices import find_voices

__all__ = ["build_brief", "detect_requests", "find_voices", "rank_offers", "rank_resources"]
