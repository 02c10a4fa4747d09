"""The `respond:` section of a playbook, declared and validated here because responders read it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from responders.localtime import zone

#: The delivery channels a playbook can choose.
Channel = Literal["console", "slack", "webhook", "ndjson", "email"]
_ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
#: An address as SMTP takes it: no display name, no spaces, no angle brackets.
_ADDRESS = r"^[^@\s<>,;]+@[^@\s<>,;]+$"


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

    channel: str = Field(
        min_length=1,
        description="Channel name or id, e.g. #campaign-alerts. An id (C0123…) lets a restarted "
        "service check whether a message it was sending got through before posting it again.",
    )
    webhook_url_env: str | None = Field(
        default=None,
        pattern=_ENV_NAME,
        description="Post through the incoming webhook whose URL is in this environment "
        "variable instead of the bot token. Webhooks cannot thread or edit: each alert is a "
        "new message and there are no buttons.",
    )


class WebhookParams(_Closed):
    """A generic JSON webhook: each alert is POSTed as the alerts NDJSON object."""

    url: AnyHttpUrl = Field(description="Where to POST, starting with https://")
    secret_env: str | None = Field(
        default=None,
        pattern=_ENV_NAME,
        description="Environment variable holding the HMAC key; when set, each request carries "
        "`X-Groundswell-Signature: v1=<hex HMAC-SHA256 of 'v1:<timestamp>:<body>'>` and "
        "`X-Groundswell-Timestamp`.",
    )


class NdjsonParams(_Closed):
    """Append alerts to a local NDJSON file."""

    path: str = Field(min_length=1, description="File to append alert lines to.")


class EmailParams(_Closed):
    """Email the brief (plain text and HTML) over SMTP."""

    to: tuple[Annotated[str, StringConstraints(pattern=_ADDRESS)], ...] = Field(
        min_length=1, description="Addresses to send to, e.g. [campaigns@ngo.example]."
    )
    sender: str = Field(pattern=_ADDRESS, description="The From address.")
    host: str = Field(default="localhost", min_length=1, description="SMTP server.")
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="SMTP port; unset: 465 with `security: tls`, 587 with starttls, 25 with none.",
    )
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls: upgrade the connection (port 587); tls: TLS from the start "
        "(port 465); none: plain text, for a relay on this machine only.",
    )
    username_env: str | None = Field(
        default=None, pattern=_ENV_NAME, description="Environment variable with the SMTP user."
    )
    password_env: str | None = Field(
        default=None, pattern=_ENV_NAME, description="Environment variable with the SMTP password."
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the server at each step."
    )

    def smtp_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"tls": 465, "starttls": 587, "none": 25}[self.security]


class VoiceDiscovery(_Closed):
    """Finding other voices in the surge itself, under the people-safety rule."""

    enabled: bool = Field(default=True, description="Look for voices among the surge's accounts.")
    min_engagers: int = Field(
        default=2,
        ge=1,
        description="Distinct people who must have reshared or replied to an account's posts in "
        "the surge before it is considered.",
    )
    min_followers: int = Field(
        default=2_000,
        ge=0,
        description="Followers that give an account reach. Below this (and not in `voices`) it "
        "is never shown, however viral its posts went: a private person the surge is about.",
    )
    min_reshares: int = Field(
        default=200,
        ge=1,
        description="Where a source reports no follower count: distinct resharers across "
        "several posts that stand in for reach.",
    )
    min_topic_posts: int = Field(
        default=3,
        ge=1,
        description="Posts on the issue before the surge (outside any surge) an account needs: "
        "standing is a record, not one post.",
    )
    min_topic_days: float = Field(
        default=14.0,
        ge=0,
        description="Days between an account's first post on the issue and the surge's onset: "
        "it spoke on the issue for weeks, not since yesterday.",
    )
    min_account_days: float = Field(
        default=30.0,
        ge=0,
        description="An account made fewer days than this before the onset (where the source "
        "says when) is never shown.",
    )
    max_abusive: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="An account more than this share of whose own posts read as abuse is "
        "never shown.",
    )
    min_own_words: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of an account's posts that must be in its own words: one that "
        "mostly reshares others is never shown.",
    )
    max_share: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="An account writing more than this share of the surge's posts is treated as "
        "a flood account and never listed.",
    )
    max_listed: int = Field(default=3, ge=0, description="At most this many found voices.")


class RespondParams(_Closed):
    """What the team gets when a campaign is detected, and where."""

    channels: tuple[Channel, ...] | None = Field(
        default=None,
        description="Where alerts go: any of console, slack, webhook, ndjson, email. Unset "
        "means the console plus every channel that has its own section below.",
    )
    slack: SlackParams | None = Field(default=None, description="Post alerts to Slack.")
    webhook: WebhookParams | None = Field(default=None, description="POST alerts as JSON.")
    ndjson: NdjsonParams | None = Field(default=None, description="Append alerts to a file.")
    email: EmailParams | None = Field(default=None, description="Email the brief over SMTP.")
    cooldown_minutes: float = Field(
        default=30.0,
        ge=0,
        description="Per campaign: after a message, later updates in this many minutes (of "
        "event time) only edit the top message instead of replying in the thread. The end of a "
        "campaign is always posted.",
    )
    snooze_hours: float = Field(
        default=6.0, gt=0, description="How long the Snooze button silences this playbook."
    )
    timezone: str = Field(
        default="",
        description="IANA time zone of the team, e.g. Europe/London: alerts, briefs and the "
        "backtest plot show local time beside UTC, and the baselines learn its local hours "
        "and weekends. Empty: UTC only.",
    )
    link_url: str = Field(
        default="",
        description="Link back for more, with {playbook} and {campaign_id} filled in, e.g. "
        "https://dash.example/c/{campaign_id}.",
    )
    discover_voices: VoiceDiscovery = Field(
        default_factory=VoiceDiscovery, description="Voices found in the surge."
    )
    resources: tuple[Resource, ...] = Field(
        default=(), description="Ready resources to share, in order of preference."
    )
    voices: tuple[Voice, ...] = Field(
        default=(), description="Other authoritative voices to amplify."
    )
    offers: tuple[Offer, ...] = Field(
        default=(), description="Offers of support for the most active people."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        if name:
            zone(name)  # raises ValueError naming the mistake
        return name

    @model_validator(mode="after")
    def _channels_have_sections(self) -> RespondParams:
        for channel in self.channels or ():
            if channel != "console" and getattr(self, channel) is None:
                raise ValueError(
                    f"channels lists {channel!r} but there is no `{channel}:` section; "
                    f"add one or remove {channel!r}"
                )
        return self

    def selected(self) -> tuple[Channel, ...]:
        """The channels this playbook delivers to."""
        if self.channels is not None:
            return self.channels
        configured: tuple[Channel, ...] = ("slack", "webhook", "ndjson", "email")
        return ("console", *(c for c in configured if getattr(self, c) is not None))
