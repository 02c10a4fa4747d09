"""Block Kit messages for a campaign: the top message (kept current) and thread updates.

Every text is escaped and clipped by construction (see `responders.slack.text`), a post's
text and author go out as `plain_text` without emoji so Slack shows them as written, and
`check_limits` states Slack's documented limits so tests can hold every rendered message to
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from responders.alert import Alert, BriefItem, Surge, rfc3339
from responders.brief.voices import FOUND
from responders.delivery.feedback import Feedback, FeedbackAction
from responders.localtime import local_suffix
from responders.slack.text import (
    clip,
    disarm,
    escape,
    link,
    mention,
    plain,
    post_link,
    safe_url,
)

Block = dict[str, Any]

#: Slack's documented limits (docs.slack.dev Block Kit reference).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ACTION_ID = 255
#: Slack rejects messages whose blocks add up to much more (`msg_blocks_too_long`, ~13k).
MAX_TOTAL_TEXT = 11_000
MAX_FALLBACK_TEXT = 3_000

ACTION_IDS: dict[str, FeedbackAction] = {
    "groundswell_ack": "ack",
    "groundswell_snooze": "snooze",
    "groundswell_not_campaign": "not_campaign",
}
_VERB: dict[FeedbackAction, str] = {
    "ack": "Acknowledged by",
    "snooze": "Playbook snoozed by",
    "not_campaign": "Marked not a campaign by",
}


@dataclass(frozen=True, slots=True)
class Message:
    """A Slack message: the plain-text fallback (notifications, screen readers) and blocks."""

    text: str
    blocks: tuple[Block, ...]


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text[:MAX_SECTION_TEXT])}


def _ratio(surge: Surge) -> str:
    return f"×{surge.rate / surge.baseline:.1f}" if surge.baseline > 0 else "from nothing"


def _at(moment: datetime, timezone: str) -> str:
    """The RFC 3339 time, and the local time beside it when the playbook names a zone."""
    return rfc3339(moment) + local_suffix(moment, timezone)


def _facts(surge: Surge, timezone: str = "") -> Block:
    fields = [
        f"*State*\n{escape(surge.state)}",
        f"*Rate*\n{surge.rate:.1f} per {surge.bucket_minutes} min, {_ratio(surge)} baseline",
        f"*People*\n{surge.distinct_authors:,} accounts, {surge.posts:,} posts",
        f"*Growth*\n×{surge.growth:.1f} (significance {surge.score:.1f})",
        f"*Since*\n{_at(surge.onset, timezone)}",
        "*Sources*\n" + (", ".join(clip(name, 40) for name, _ in surge.sources[:6]) or "—"),
    ]
    return {"type": "section", "fields": [_mrkdwn(f[:MAX_FIELD_TEXT]) for f in fields]}


def _terms(surge: Surge) -> str:
    line = "*Terms:* " + ", ".join(f"{clip(t, 60)} ({n})" for t, n in surge.terms[:12])
    if surge.surging_terms:
        line += "\n*Surging:* " + ", ".join(clip(t, 60) for t in surge.surging_terms[:5])
    if surge.emerging_terms:
        line += "\n*Emerging:* " + ", ".join(clip(t, 40) for t in surge.emerging_terms[:8])
    return line


def _samples(surge: Surge) -> list[Block]:
    """One context block per sample post. The author and text are `plain_text` without emoji,
    so Slack shows them as written: no markup, mention, code block or emoji from a post."""
    blocks = []
    for post in surge.samples[:5]:
        shared = f" · reshared {post.reshares}×" if post.reshares else ""
        said = f"{plain(post.author, 80)}{shared}: “{plain(post.text, 400)}”"
        elements: list[Block] = [{"type": "plain_text", "text": said, "emoji": False}]
        where = post_link(post.url, post.id, post.author)
        if where:
            elements.append(_mrkdwn(link(where, "open")))
        blocks.append({"type": "context", "elements": elements})
    return blocks


def _item(n: int, item: BriefItem) -> str:
    url, title = item.url, item.title
    if item.why.startswith(FOUND):  # a public account: its name and link are the public's
        url, title = post_link(url, "", title), disarm(title)
    title = link(url, title, 150) if url else f"*{clip(title, 150)}*"
    detail = f" {clip(item.detail, 220)}" if item.detail else ""
    return f"{n}. {title}{detail}\n      _{clip(item.why, 200)}_"


def _list(title: str, items: Sequence[BriefItem]) -> Block:
    """A numbered list in one section; items that would pass the text limit are counted."""
    text = f"*{title}*"
    for n, item in enumerate(items, 1):
        line = "\n" + _item(n, item)
        rest = f"\n_…and {len(items) - n + 1} more_"
        if len(text) + len(line) + len(rest) > MAX_SECTION_TEXT:
            text += rest
            break
        text += line
    if not items:
        text += "\n_(none in the playbook)_"
    return _section(text)


def _buttons(alert: Alert, link_url: str, snooze_hours: float) -> Block:
    value = f"{alert.surge.playbook}|{alert.surge.campaign_id}"[:MAX_BUTTON_VALUE]
    labels = {
        "groundswell_ack": "Acknowledge",
        "groundswell_snooze": f"Snooze playbook {snooze_hours:g}h",
        "groundswell_not_campaign": "Not a campaign",
    }
    elements: list[Block] = []
    for action_id, label in labels.items():
        button: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": value,
        }
        if action_id == "groundswell_ack":
            button["style"] = "primary"
        elements.append(button)
    if safe_url(link_url):
        elements.append(
            {
                "type": "button",
                "action_id": "groundswell_open",
                "text": {"type": "plain_text", "text": "More"},
                "url": safe_url(link_url),
            }
        )
    return {"type": "actions", "block_id": f"actions-{alert.surge.state}", "elements": elements}


def _feedback(feedback: Sequence[Feedback]) -> Block | None:
    if not feedback:
        return None
    seen: dict[tuple[str, str], Feedback] = {}
    for note in feedback:
        seen.setdefault((note.action, note.user_id), note)
    notes = [f"{_VERB[f.action]} {mention(f.user_id, f.user_name)}" for f in seen.values()]
    return {"type": "context", "elements": [_mrkdwn(n) for n in notes[-MAX_CONTEXT_ELEMENTS:]]}


def fill_link(template: str, surge: Surge) -> str:
    """The configured link back, with {playbook} and {campaign_id} filled in."""
    return template.replace("{playbook}", surge.playbook).replace(
        "{campaign_id}", surge.campaign_id
    )


def top_message(
    alert: Alert,
    feedback: Sequence[Feedback] = (),
    *,
    link_template: str = "",
    snooze_hours: float = 6.0,
) -> Message:
    """The campaign's one top-level message, showing its current state and who acted."""
    s = alert.surge
    header = "▲ Campaign" + (" over" if s.state == "over" else "") + f": {s.playbook}"
    updated = _at(s.fired_at, alert.timezone)
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": plain(header, 150)}},
        _section(f"`{escape(s.campaign_id)}` · {escape(s.state)} · updated {updated}"),
        _facts(s, alert.timezone),
        _section(_terms(s)),
        *_samples(s),
        {"type": "divider"},
        _list("Ready resources", alert.brief.resources[:5]),
        _list("Other authoritative voices", alert.brief.voices[:6]),
        _list("Offers of support", alert.brief.offers[:6]),
    ]
    note = _feedback(feedback)
    if note is not None:
        blocks.append(note)
    link_url = fill_link(link_template, s) if link_template else ""
    blocks.append(_buttons(alert, link_url, snooze_hours))
    return Message(_fallback(alert), tuple(_fit(blocks)))


def update_message(alert: Alert) -> Message:
    """A short thread reply for a lifecycle change."""
    s = alert.surge
    line = (
        f"*{escape(s.state.capitalize())}* at {_at(s.fired_at, alert.timezone)}: {s.rate:.1f} per "
        f"{s.bucket_minutes} min ({_ratio(s)} baseline), {s.posts:,} posts from "
        f"{s.distinct_authors:,} accounts so far."
    )
    if s.state == "over":
        line = (
            f"*Over* at {_at(s.fired_at, alert.timezone)}: {s.posts:,} posts from "
            f"{s.distinct_authors:,} accounts in all."
        )
    blocks = [_section(line)]
    if s.emerging_terms:
        blocks.append(_section("*Emerging:* " + ", ".join(clip(t, 40) for t in s.emerging_terms)))
    text = (
        f"{s.playbook}: campaign {s.state}, {s.posts:,} posts from {s.distinct_authors:,} accounts"
    )
    return Message(clip(text, MAX_FALLBACK_TEXT), tuple(blocks))


def _fallback(alert: Alert) -> str:
    s = alert.surge
    parts = [
        f"Campaign on {s.playbook} ({s.state}): {s.posts:,} posts from {s.distinct_authors:,} "
        f"accounts, {_ratio(s)} baseline. Terms: {', '.join(t for t, _ in s.terms[:5])}."
    ]
    if alert.brief.resources:
        parts.append(f"Share first: {alert.brief.resources[0].title}.")
    return clip(" ".join(parts), MAX_FALLBACK_TEXT)


def _text_size(block: Block) -> int:
    total = len(block.get("text", {}).get("text", ""))
    total += sum(len(f["text"]) for f in block.get("fields", ()))
    total += sum(
        len(e.get("text", ""))
        for e in block.get("elements", ())
        if e["type"] in ("mrkdwn", "plain_text")
    )
    return total


def _fit(blocks: list[Block]) -> list[Block]:
    """Drop sample-post context blocks first, then anything past the limits."""
    while sum(map(_text_size, blocks)) > MAX_TOTAL_TEXT and any(_is_sample(b) for b in blocks):
        last = max(i for i, b in enumerate(blocks) if _is_sample(b))
        del blocks[last]
    return blocks[:MAX_BLOCKS]


def _is_sample(block: Block) -> bool:
    return block["type"] == "context" and "“" in block["elements"][0]["text"]


def check_limits(blocks: Sequence[Block]) -> list[str]:
    """Every documented Block Kit limit the blocks break, as readable problems ([] if none)."""
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    for i, block in enumerate(blocks):
        text = block.get("text", {}).get("text", "")
        if block["type"] == "header" and (
            len(text) > MAX_HEADER_TEXT or block["text"]["type"] != "plain_text"
        ):
            problems.append(f"block {i}: header must be plain_text ≤ {MAX_HEADER_TEXT}")
        if block["type"] == "section" and len(text) > MAX_SECTION_TEXT:
            problems.append(f"block {i}: section text {len(text)} > {MAX_SECTION_TEXT}")
        fields = block.get("fields", [])
        if len(fields) > MAX_FIELDS or any(len(f["text"]) > MAX_FIELD_TEXT for f in fields):
            problems.append(f"block {i}: more than {MAX_FIELDS} fields or one too long")
        elements = block.get("elements", [])
        if block["type"] == "context" and len(elements) > MAX_CONTEXT_ELEMENTS:
            problems.append(f"block {i}: {len(elements)} context elements")
        problems.extend(
            f"block {i}: button {e['action_id']} over a limit"
            for e in elements
            if e["type"] == "button"
            and (
                len(e["text"]["text"]) > MAX_BUTTON_TEXT
                or len(e.get("value", "")) > MAX_BUTTON_VALUE
                or len(e["action_id"]) > MAX_ACTION_ID
            )
        )
    total = sum(map(_text_size, blocks))
    if total > MAX_TOTAL_TEXT:
        problems.append(f"{total} characters of block text > {MAX_TOTAL_TEXT}")
    return problems
