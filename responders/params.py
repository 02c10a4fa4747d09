"""The `respond:` section of a playbook, declared and validated here because responders read it."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resource(_Closed):
    """Something the organisation already has online: a report, a story, an interview."""

    title: str = Field(min_length=1, description="Headline as the team would share it.")
    url: AnyHttpUrl = Field(description="Where it lives, starting with https://")
    summary: str = Field(default="", description="One or two sentences on what it says.")
    tags: tuple[str, ...] = Field(default=(), description="Topics it covers, used for ranking.")


class Voice(_Closed):
    """A person or group with standing on the issue, to amplify rather than compete with."""

    name: str = Field(min_length=1, description="Who they are.")
    handle: str = Field(default="", description="Their account, e.g. @name@instance.")
    why: str = Field(min_length=1, description="Why they are worth amplifying.")


class Offer(_Closed):
    """Support the organisation can give the most active people in a surge."""

    title: str = Field(min_length=1, description="What is offered, in a few words.")
    detail: str = Field(default="", description="How to take it up, who to contact.")
    tags: tuple[str, ...] = Field(
        default=(), description="What needs it meets (venue, legal, contact, action)."
    )


class SlackParams(_Closed):
    """Where a Slack alert goes."""

    channel: str = Field(min_length=1, description="Channel name or id, e.g. #campaign-alerts.")


class RespondParams(_Closed):
    """What the team gets when a campaign is detected, and where."""

    slack: SlackParams | None = Field(default=None, description="Post alerts to Slack.")
    resources: tuple[Resource, ...] = Field(
        default=(), description="Ready resources to share, in order of preference."
    )
    voices: tuple[Voice, ...] = Field(
        default=(), description="Other authoritative voices to amplify."
    )
    offers: tuple[Offer, ...] = Field(
        default=(), description="Offers of support for the most active people."
    )
