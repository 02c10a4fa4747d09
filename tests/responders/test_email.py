"""The email channel against a real local SMTP server (aiosmtpd) that accepts, refuses and
stalls, alone and behind the outbox's retry and dedup."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from responders.alert import Alert, SamplePost
from responders.base import Job
from responders.channels.mail import EmailResponder, render_html
from responders.delivery.dispatch import Dispatcher, RetrySchedule
from responders.delivery.outbox import Outbox
from responders.params import EmailParams
from tests.responders.conftest import HOSTILE, PLAYBOOK, RESPOND, Clock, alert
from watcher.service.delivery import DeliveryConfig, build_delivery


class Inbox:
    """An aiosmtpd handler: keeps each message, or answers a scripted reply first."""

    def __init__(self, *replies: str, rcpt: str = "", stall: float = 0.0) -> None:
        self.replies = list(replies)  # answers to DATA, in turn, then 250
        self.rcpt = rcpt  # an answer to every RCPT, e.g. "550 5.1.1 no such user"
        self.stall = stall
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt:
            return self.rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.stall:
            await asyncio.sleep(self.stall)  # longer than the client waits
        if self.replies:
            return self.replies.pop(0)
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        self.messages.append(email.message_from_bytes(raw, policy=default))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[Any]:
    """Start a real SMTP server on a free port with the handler given; stop it after."""
    started: list[Controller] = []

    def start(handler: Inbox) -> EmailParams:
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        return EmailParams(
            to=("campaigns@ngo.example", "duty@ngo.example"),
            sender="groundswell@ngo.example",
            host="127.0.0.1",
            port=controller.port,
            security="none",
            timeout_seconds=5,
        )

    yield start
    for controller in started:
        controller.stop()


def hostile_alert() -> Alert:
    a = alert()
    samples = (
        *a.surge.samples,
        SamplePost("3", '"><img src=x onerror=alert(1)>', "<script>alert('x')</script> & co",
                   "javascript:alert(document.cookie)"),
    )  # fmt: skip
    return Alert(replace(a.surge, samples=samples), a.brief)


def job(a: Alert, key: str = "email|waste-1|new", **kw: Any) -> Job:
    return Job(key, a, **kw)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None
    assert page is not None
    return str(text.get_content()), str(page.get_content())


async def test_an_accepting_server_gets_the_brief_as_text_and_html(smtp: Any) -> None:
    inbox = Inbox()
    params = smtp(inbox)
    delivery = await EmailResponder(params, now=lambda: 1.7e9).deliver(job(alert()))
    assert (delivery.outcome, delivery.reason) == ("sent", "")
    [message] = inbox.messages
    assert message["Subject"] == (
        "[Groundswell] New campaign: waste (emerging): gag order, toxic waste"
    )
    assert message["To"] == "campaigns@ngo.example, duty@ngo.example"
    assert message["In-Reply-To"] == message["References"]  # one thread per campaign
    text, page = parts(message)
    assert "▲ NEW CAMPAIGN: waste  [emerging]  waste-1" in text
    assert "Gag orders, explained" in text
    assert '<a href="https://ngo.example/gag">Gag orders, explained</a>' in page
    assert "Offers of support" in page


async def test_hostile_post_text_is_escaped_in_the_html_part(smtp: Any) -> None:
    inbox = Inbox()
    await EmailResponder(smtp(inbox), now=lambda: 1.7e9).deliver(job(hostile_alert()))
    _, page = parts(inbox.messages[0])
    for raw in ("<script>", "<img", 'onerror=alert(1)>', "<!channel>", "<@U123>",
                'href="javascript:'):  # fmt: skip
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert (
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt; (javascript:alert(document.cookie))" in page
    )
    assert html_escaped(HOSTILE) in page
    assert 'href="https://m.example/2|x&gt;y"' in page  # an http link, its quote-breakers escaped


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


async def test_a_refusing_server_is_a_permanent_failure_and_a_busy_one_is_retried(
    smtp: Any,
) -> None:
    refusing = smtp(Inbox(rcpt="550 5.1.1 no such user"))
    delivery = await EmailResponder(refusing, now=lambda: 0.0).deliver(job(alert()))
    assert (delivery.outcome, delivery.permanent) == ("failed", True)
    assert delivery.reason.startswith("SMTP 550: ")
    busy = smtp(Inbox("451 4.3.0 try again later"))
    delivery = await EmailResponder(busy, now=lambda: 0.0).deliver(job(alert()))
    assert (delivery.outcome, delivery.permanent) == ("failed", False)
    assert delivery.reason == "SMTP 451: 4.3.0 try again later"


async def test_a_server_that_stalls_is_a_failure_to_retry(smtp: Any) -> None:
    params = smtp(Inbox(stall=3.0)).model_copy(update={"timeout_seconds": 0.3})
    delivery = await EmailResponder(params, now=lambda: 0.0).deliver(job(alert()))
    assert (delivery.outcome, delivery.permanent) == ("failed", False)
    assert delivery.reason.startswith(f"cannot reach 127.0.0.1:{params.port}")


async def test_no_server_at_all_is_a_failure_to_retry(smtp: Any) -> None:
    params = smtp(Inbox()).model_copy(update={"port": free_port()})
    delivery = await EmailResponder(params, now=lambda: 0.0).deliver(job(alert()))
    assert (delivery.outcome, delivery.permanent) == ("failed", False)


async def test_through_the_outbox_a_busy_server_gets_each_alert_once(
    smtp: Any, tmp_path: Path
) -> None:
    inbox = Inbox("451 4.3.0 busy", "421 4.3.2 shutting down")
    clock = Clock()
    responder = EmailResponder(smtp(inbox), now=clock.now, name="email")
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    try:
        d = Dispatcher(
            outbox,
            {"waste": [responder]},
            {"waste": RESPOND.model_copy(update={"cooldown_minutes": 0})},
            now=clock.now,
            sleep=clock.sleep,
            retry=RetrySchedule(first=1.0, max_attempts=5),
        )
        await d.send(alert())
        await d.send(alert())  # re-detected: the same key, nothing new
        await d.send(alert("update", "escalating", 5))
    finally:
        outbox.close()
    assert (d.tally.sent, d.tally.retried) == (2, 2)
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == len(set(ids)) == 2
    assert [str(m["Subject"]).strip().split(":")[0] for m in inbox.messages] == [
        "[Groundswell] New campaign",
        "[Groundswell] Campaign update",
    ]
    _, update = parts(inbox.messages[1])
    assert "Ready resources" not in update  # the brief went out with the first
    assert render_html(alert()).count("<li>") > render_html(alert("update", "peaked")).count("<li>")


def test_email_params_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="String should match pattern"):
        EmailParams(to=("not an address",), sender="a@b.example")
    assert EmailParams(to=("a@b.example",), sender="a@b.example", security="tls").smtp_port() == 465


async def test_a_playbook_with_an_email_section_is_delivered_by_the_service_stack(
    smtp: Any, tmp_path: Path
) -> None:
    inbox = Inbox()
    params = smtp(inbox).model_copy(update={"username_env": "SMTP_USER"})
    respond = RESPOND.model_copy(update={"channels": ("email",), "email": params})
    playbook = PLAYBOOK.model_copy(update={"respond": respond})
    config = DeliveryConfig(outbox=tmp_path / "outbox.sqlite3", env={})
    stack = build_delivery([playbook], config)
    try:
        [responder] = stack.dispatcher.routes["waste"]
        assert responder.name.startswith("email:groundswell@ngo.example>campaigns@ngo.example")
        await stack.dispatcher.send(alert())
    finally:
        await stack.aclose()
    assert len(inbox.messages) == 1
