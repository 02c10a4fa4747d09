"""Print the alert and its brief for a person reading a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from responders.alert import Alert, BriefItem, rfc3339
from responders.base import Delivery

_BOLD, _DIM, _RED, _YELLOW, _RESET = "\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[0m"


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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
        f"  at {rfc3339(s.fired_at)} (onset ~{rfc3339(s.onset)})",
        f"  {s.posts} posts from {s.distinct_authors} people; top account "
        f"{s.top_author_share:.0%} of posts",
        f"  rate {s.rate:.1f}/{s.bucket_minutes}min vs baseline {s.baseline:.1f} "
        f"(×{ratio:.1f}, significance {s.score:.1f}, growth ×{s.growth:.1f})",
        "  terms: " + ", ".join(f"{t} ({n})" for t, n in s.terms),
    ]
    if s.surging_terms:
        lines.append("  surging: " + ", ".join(s.surging_terms))
    if s.emerging_terms:
        lines.append("  emerging: " + ", ".join(s.emerging_terms))
    if s.sources:
        lines.append(
            "  sources: " + ", ".join(f"{name} since {rfc3339(t)}" for name, t in s.sources)
        )
    lines.extend(
        style(_DIM, f"  · {p.author}: {_clip(p.text, 100)} {p.url}".rstrip()) for p in s.samples
    )
    if s.kind == "update":  # the brief went out with the `new` alert; updates stay short
        return "\n".join(lines)
    for title, items in (
        ("Ready resources", alert.brief.resources),
        ("Other authoritative voices", alert.brief.voices),
        ("Offers of support", alert.brief.offers),
    ):
        lines.append(style(_BOLD, f"  {title}:"))
        lines.extend(_item_line(i, n) for n, i in enumerate(items, 1))
        if not items:
            lines.append("    (none in the playbook)")
    return "\n".join(lines)


def _item_line(item: BriefItem, n: int) -> str:
    parts = [f"    {n}. {item.title}"]
    if item.detail:
        parts.append(f" {_clip(item.detail, 80)}")
    if item.url:
        parts.append(f" <{item.url}>")
    parts.append(f" — {item.why}")
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
