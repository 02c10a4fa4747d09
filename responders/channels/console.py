"""Print the alert and its brief for a person reading a terminal.

Each brief item is one line: `N. title — detail <url> (why)`, so a resource's title and
summary stay apart. Voices are grouped under the playbook's list and those found in the
surge, instead of each repeating where it came from. Times are shown to the minute in UTC,
with local time beside them when the playbook names its time zone (`respond.timezone`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from responders.alert import Alert, BriefItem
from responders.base import Delivery
from responders.brief.voices import FOUND, LISTED
from responders.localtime import beside_utc

_BOLD, _DIM, _RED, _YELLOW, _RESET = "\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[0m"


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _when(moment: datetime, timezone: str = "") -> str:
    """`2009-10-12 21:40 UTC (22:40 BST)`: a reader needs the minute, not the microsecond."""
    return beside_utc(moment, timezone)


def render(alert: Alert, *, colour: bool = False) -> str:
    """The alert as readable text: facts of the surge, then the three lists.

    Colour codes are added only when `colour` is set, so files and pipes stay plain.
    """

    def style(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    s = alert.surge
    head = "NEW CAMPAIGN" if s.kind == "new" else "CAMPAIGN UPDATE"
    ratio = s.rate / s.baseline if s.baseline > 0 else float("inf")
    lines = [
        style(_BOLD + (_RED if s.kind == "new" else _YELLOW), f"▲ {head}: {s.playbook}")
        + f"  [{s.state}]  {s.campaign_id}",
        f"  at {_when(s.fired_at, alert.timezone)} (onset ~{_when(s.onset, alert.timezone)})",
        f"  {s.posts} posts from {s.distinct_authors} people"
        # no share without posts or author data: "0% of posts" would claim a measurement
        + (f"; top account {s.top_author_share:.0%} of posts" if s.top_author_share > 0 else ""),
        f"  rate {s.rate:.1f}/{s.bucket_minutes}min vs baseline {s.baseline:.1f} "
        f"(×{ratio:.1f}, significance {s.score:.1f}, growth ×{s.growth:.1f})",
        "  terms: " + ", ".join(f"{t} ({n})" for t, n in s.terms),
    ]
    if s.surging_terms:
        lines.append("  surging: " + ", ".join(s.surging_terms))
    if s.emerging_terms:
        lines.append("  emerging: " + ", ".join(s.emerging_terms))
    if s.sources:
        lines.append("  sources: " + ", ".join(f"{name} since {_when(t)}" for name, t in s.sources))
    lines.extend(
        style(_DIM, f"  · {p.author}: {_clip(p.text, 100)} {p.url}".rstrip()) for p in s.samples
    )
    if s.kind == "update":  # the brief went out with the `new` alert; updates stay short
        return "\n".join(lines)
    brief = alert.brief
    lines.append(style(_BOLD, "  Ready resources:"))
    lines.extend(_items(brief.resources))
    lines.append(style(_BOLD, "  Other authoritative voices:"))
    listed = [_unprefixed(v, LISTED) for v in brief.voices if v.why.startswith(LISTED)]
    found = [_unprefixed(v, FOUND) for v in brief.voices if v.why.startswith(FOUND)]
    other = [v for v in brief.voices if not v.why.startswith((LISTED, FOUND))]
    for heading, voices in (("in the playbook", listed), ("found in the surge", found)):
        if voices:
            lines.append(f"    {heading}:")
            lines.extend(_items(voices, indent="      "))
    if other or not brief.voices:
        lines.extend(_items(other))
    lines.append(style(_BOLD, "  Offers of support:"))
    lines.extend(_items(brief.offers))
    return "\n".join(lines)


def _unprefixed(item: BriefItem, prefix: str) -> BriefItem:
    return BriefItem(item.title, item.why.removeprefix(prefix), item.url, item.detail)


def _items(items: Sequence[BriefItem], *, indent: str = "    ") -> list[str]:
    """Numbered lines, or a line saying the playbook lists none."""
    if not items:
        return [f"{indent}(none in the playbook)"]
    return [_item_line(item, n, indent) for n, item in enumerate(items, 1)]


def _item_line(item: BriefItem, n: int, indent: str) -> str:
    parts = [f"{indent}{n}. {item.title}"]
    if item.detail:
        parts.append(f" — {_clip(item.detail, 80)}")
    if item.url:
        parts.append(f" <{item.url}>")
    if item.why:
        parts.append(f" ({item.why})")
    return "".join(parts)


class ConsoleResponder:
    """Writes each alert to a text stream (stdout by default), in colour on a terminal."""

    name = "console"

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None) -> None:
        self._stream = stream or sys.stdout
        self._colour = self._stream.isatty() if colour is None else colour

    async def send(self, alert: Alert) -> Delivery:
        self._stream.write(render(alert, colour=self._colour) + "\n\n")
        self._stream.flush()
        return Delivery(self.name, "sent")

    async def aclose(self) -> None:
        self._stream.flush()
