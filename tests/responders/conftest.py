from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responders.alert import Alert, SamplePost, Surge
from responders.brief.brief import build_brief
from responders.delivery.dispatch import RetrySchedule
from responders.params import Offer, Resource, RespondParams, SlackParams, Voice
from tests.responders.fake_slack import TOKEN, FakeSlack, serving
from watcher.playbooks.model import Playbook, WatchParams
from watcher.service.delivery import DeliveryConfig, DeliveryStack, build_delivery

NOW = datetime(2009, 10, 12, 21, 40, tzinfo=UTC)
HOSTILE = "<!channel> wire money to <@U123> now: <https://evil.example|your bank> & @here"

RESPOND = RespondParams(
    slack=SlackParams(channel="#alerts"),
    channels=("slack",),
    cooldown_minutes=0,
    resources=(
        Resource(title="Annual review", url="https://ngo.example/annual"),
        Resource(title="Gag orders, explained", url="https://ngo.example/gag", tags=("gag order",)),
    ),
    voices=(Voice(name="Media Law Clinic", handle="@clinic@law.example", why="free legal advice"),),
    offers=(Offer(title="Meeting room", detail="Seats 40", tags=("venue",)),),
)
PLAYBOOK = Playbook(name="waste", watch=WatchParams(terms=("gag order",)), respond=RESPOND)


def surge(
    kind: str = "new", state: str = "emerging", minutes: int = 0, campaign: str = "waste-1"
) -> Surge:
    return Surge(
        playbook="waste",
        campaign_id=campaign,
        kind="new" if kind == "new" else "update",
        state=state,
        fired_at=NOW + timedelta(minutes=minutes),
        onset=NOW - timedelta(minutes=20),
        terms=(("gag order", 17), ("toxic waste", 12)),
        posts=60 + minutes,
        distinct_authors=55 + minutes,
        top_author_share=0.03,
        rate=13.6,
        baseline=0.8,
        score=6.1,
        growth=3.0,
        bucket_minutes=5,
        emerging_terms=("carterruck",),
        sources=(("mastodon", NOW),),
        samples=(
            SamplePost("1", "ann@m.example", "Gagged! #trafigura", "https://m.example/1", 40),
            SamplePost("2", "<@U999> mallory", HOSTILE, "https://m.example/2|x>y"),
        ),
    )


def alert(kind: str = "new", state: str = "emerging", minutes: int = 0, **kw: str) -> Alert:
    s = surge(kind, state, minutes, **kw)
    return Alert(s, build_brief(s, RESPOND))


@dataclass
class Clock:
    """Fake time: `sleep` records the wait and moves the clock on at once."""

    t: float = 1_700_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
async def fake_slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    async with serving() as served:
        yield served


@pytest.fixture
def clock() -> Clock:
    return Clock()


def delivery_for(
    url: str,
    outbox: Path,
    clock: Clock,
    playbooks: tuple[Playbook, ...] = (PLAYBOOK,),
    *,
    http_timeout: float = 5.0,
    backoff: RetrySchedule | None = None,
) -> DeliveryStack:
    config = DeliveryConfig(outbox=outbox, slack_token=TOKEN, slack_api_url=url)
    return build_delivery(
        playbooks,
        config,
        sleep=clock.sleep,
        now=clock.now,
        http_timeout=http_timeout,
        backoff=backoff,
    )


def with_respond(**changes: object) -> Playbook:
    return replace_playbook(RESPOND.model_copy(update=changes))


def replace_playbook(respond: RespondParams) -> Playbook:
    return PLAYBOOK.model_copy(update={"respond": respond})
