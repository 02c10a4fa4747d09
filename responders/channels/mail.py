"""Email: the brief as plain text and HTML, sent over SMTP with aiosmtplib.

The plain-text part is the console's rendering; the HTML part is built here from the same
facts, and every string in it that comes from the public (post text, author names, terms,
URLs) or from a playbook is escaped with `html.escape(quote=True)`. A URL becomes a link only
when it is plain http(s); anything else (`javascript:`, `data:`) is shown as escaped text.

Delivery goes through the outbox like Slack's: stored first, retried on a 4xx reply, a
timeout or a dropped connection, given up on a 5xx reply (a refused address will be refused
again). SMTP has no way to ask whether an in-doubt earlier attempt arrived, so each message's
`Message-ID` is derived from its outbox key: a mail system that dedups on it drops the copy.
Every message of a campaign carries `In-Reply-To`/`References` to one id per campaign, so mail
clients thread them as Slack does.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

import aiosmtplib

from responders.alert import Alert, BriefItem
from responders.base import Delivery, Job
from responders.channels.console import render
from responders.localtime import beside_utc
from responders.params import EmailParams

DOMAIN = "groundswell.invalid"  # Message-IDs need a right-hand side; ours names no host


def message_id(key: str) -> str:
    """A stable Message-ID for an outbox key (or a campaign id).

    >>> message_id("email|waste-1|new|emerging|2009-10-12T21:40:00Z")
    '<9eaa5361e12b319474554e90395f1bb9@groundswell.invalid>'
    """
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{DOMAIN}>"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def link(url: str, label: str) -> str:
    """`label` linked to `url` when the URL is plain http(s), else `label` and the URL as
    text; both escaped.

    >>> link("javascript:alert(1)", "<b>x</b>")
    '&lt;b&gt;x&lt;/b&gt; (javascript:alert(1))'
    >>> link('https://ex.example/?a="1"', "ok")
    '<a href="https://ex.example/?a=&quot;1&quot;">ok</a>'
    """
    parts = urlsplit(url.strip())
    if parts.scheme in {"http", "https"} and parts.netloc:
        return f'<a href="{_e(url.strip())}">{_e(label)}</a>'
    return f"{_e(label)} ({_e(url)})" if url else _e(label)


def _items(title: str, items: Sequence[BriefItem]) -> list[str]:
    out = [f"<h3>{_e(title)}</h3>"]
    if not items:
        return [*out, "<p><em>(none in the playbook)</em></p>"]
    out.append("<ol>")
    for item in items:
        line = link(item.url, item.title) if item.url else _e(item.title)
        if item.detail:
            line += f" — {_e(item.detail)}"
        if item.why:
            line += f" <small>({_e(item.why)})</small>"
        out.append(f"<li>{line}</li>")
    return [*out, "</ol>"]


def render_html(alert: Alert) -> str:
    """The alert as an HTML document: the facts, sample posts, then the three lists."""
    s = alert.surge
    head = "New campaign" if s.kind == "new" else "Campaign update"
    facts = [
        f"{s.posts} posts from {s.distinct_authors} people",
        f"rate {s.rate:.1f}/{s.bucket_minutes} min vs baseline {s.baseline:.1f}",
        f"significance {s.score:.1f}, growth ×{s.growth:.1f}",
        "terms: " + ", ".join(f"{t} ({n})" for t, n in s.terms),
    ]
    if s.emerging_terms:
        facts.append("emerging: " + ", ".join(s.emerging_terms))
    body = [
        f"<h2>{_e(head)}: {_e(s.playbook)} <small>[{_e(s.state)}]</small></h2>",
        f"<p>{_e(s.campaign_id)} · {_e(beside_utc(s.fired_at, alert.timezone))}</p>",
        "<ul>" + "".join(f"<li>{_e(fact)}</li>" for fact in facts) + "</ul>",
    ]
    if s.samples:
        body.append("<h3>Sample posts</h3><ul>")
        for post in s.samples:
            who = link(post.url, post.author) if post.url else _e(post.author)
            body.append(f"<li>{who}: {_e(' '.join(post.text.split()))}</li>")
        body.append("</ul>")
    if s.kind == "new":  # the brief goes out with the first alert; updates stay short
        brief = alert.brief
        body += _items("Ready resources", brief.resources)
        body += _items("Other authoritative voices", brief.voices)
        body += _items("Offers of support", brief.offers)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        + "\n".join(body)
        + "</body></html>"
    )


def subject(alert: Alert) -> str:
    s = alert.surge
    head = "New campaign" if s.kind == "new" else "Campaign update"
    terms = ", ".join(t for t, _ in s.terms[:3])
    return " ".join(f"[Groundswell] {head}: {s.playbook} ({s.state}): {terms}".split())


def build_message(job: Job, params: EmailParams, now: float) -> EmailMessage:
    """The message for one outbox job: text and HTML alternatives, threaded per campaign."""
    alert = job.alert
    message = EmailMessage()
    message["Subject"] = subject(alert)
    message["From"] = params.sender
    message["To"] = ", ".join(params.to)
    message["Date"] = formatdate(now, usegmt=True)
    message["Message-ID"] = message_id(job.key)
    thread = message_id(alert.surge.campaign_id)
    message["In-Reply-To"] = thread
    message["References"] = thread
    message.set_content(render(alert, colour=False) + "\n")
    message.add_alternative(render_html(alert), subtype="html")
    return message


def _refused(name: str, code: int, text: str) -> Delivery:
    """A reply code as a delivery: 5xx will be refused again; 4xx may pass later."""
    return Delivery(name, "failed", f"SMTP {code}: {text[:200]}", permanent=500 <= code < 600)


class EmailResponder:
    """Sends each job as one email to the playbook's addresses; quiet updates are skipped."""

    def __init__(
        self,
        params: EmailParams,
        *,
        username: str = "",
        password: str = "",
        now: Callable[[], float],
        name: str = "email",
    ) -> None:
        self.params = params
        self.username = username
        self.password = password
        self.now = now
        self.name = name

    async def deliver(self, job: Job) -> Delivery:
        if job.quiet:
            return Delivery(self.name, "suppressed", "cooldown")
        p = self.params
        message = build_message(job, p, self.now())
        try:
            refused, _ = await aiosmtplib.send(
                message,
                hostname=p.host,
                port=p.smtp_port(),
                username=self.username or None,
                password=self.password or None,
                use_tls=p.security == "tls",
                start_tls=p.security == "starttls",
                timeout=p.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:  # every address refused
            worst = max(exc.recipients, key=lambda r: r.code)
            return _refused(self.name, worst.code, f"{worst.recipient}: {worst.message}")
        except aiosmtplib.SMTPResponseException as exc:
            return _refused(self.name, exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:  # timeouts, refused connections
            where = f"{p.host}:{p.smtp_port()}"
            return Delivery(
                self.name, "failed", f"cannot reach {where}: {exc or type(exc).__name__}"
            )
        if refused:  # some addresses took it: sent; the others are named for the record
            names = ", ".join(f"{to} ({r.code})" for to, r in refused.items())
            return Delivery(self.name, "sent", f"refused by {names}")
        return Delivery(self.name, "sent")

    async def aclose(self) -> None:
        """Each message has its own connection."""
