"""The outbox file's records as JSON: what the CLI and the HTTP API both read and write.

`Records` wraps an open `Outbox` and answers in the JSON shapes `/api/v1` documents, so
`groundswell alerts …` on a file and the same command with `--url` against a running service
print the same thing. Bad requests raise `RecordError` with the HTTP status that fits (400
for a bad value, 404 for an unknown id); the caller turns it into an answer or one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from responders.alert import rfc3339, utc
from responders.delivery import history, silences
from responders.delivery.feedback import Feedback
from responders.delivery.outbox import Outbox

#: A length of time as amtool writes it: a number and a unit, e.g. `90m`, `6h`, `7d`.
DURATION = r"^\d+(\.\d+)?[smhdw]$"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
#: Feedback a person can give from the CLI or the API (a snooze is `silence add`).
Said = Literal["ack", "not_campaign"]


class RecordError(ValueError):
    """A request the records cannot carry out; `status` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `6h` or `7d`, or `RecordError` saying what is wanted.

    >>> parse_duration("90m"), parse_duration("1.5h"), parse_duration("7d")
    (5400.0, 5400.0, 604800.0)
    """
    if not re.fullmatch(DURATION, text.strip()):
        raise RecordError(f"duration {text!r} is not a number and a unit (s, m, h, d, w), e.g. 6h")
    text = text.strip()
    return float(text[:-1]) * _UNITS[text[-1]]


def explain(exc: ValidationError) -> str:
    """A request model's validation errors in one line: `field: what is wrong; …`."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors()
    )


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SilenceRequest(_Closed):
    """A new silence: `POST /api/v1/silences` and `groundswell silence add`."""

    playbook: str = Field(min_length=1, max_length=200, description="The playbook to silence.")
    term: str = Field(
        "", max_length=200, description="Only its alerts with this term (default: all)."
    )
    duration: str | None = Field(
        None, pattern=DURATION, description="How long from now, e.g. 6h (or give ends_at)."
    )
    ends_at: AwareDatetime | None = Field(None, description="When it ends (or give duration).")
    reason: str = Field(min_length=1, max_length=1000, description="Why, for the record.")
    created_by: str = Field(min_length=1, max_length=200, description="Who asked for it.")

    @model_validator(mode="after")
    def _one_end(self) -> SilenceRequest:
        if (self.duration is None) == (self.ends_at is None):
            raise ValueError("give exactly one of duration and ends_at")
        return self


class FeedbackRequest(_Closed):
    """Acknowledge a campaign or mark it not one: `POST /api/v1/alerts/{id}/feedback`."""

    action: Said = Field(description="ack or not_campaign.")
    by: str = Field(min_length=1, max_length=200, description="Who says so.")


class Records:
    """The history and silences in one outbox file, as JSON."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        now: Callable[[], float],
        playbooks: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.now = now
        #: The playbooks a silence may name (the running service's); None: any.
        self.playbooks = playbooks

    def alerts(
        self,
        *,
        since: str | None = None,
        playbook: str | None = None,
        states: Sequence[str] = (),
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Campaigns active in the last `since` (a duration), newest first."""
        cutoff = None if since is None else self.now() - parse_duration(since)
        found = history.campaigns(
            self.outbox.db, since=cutoff, playbook=playbook, states=states, limit=limit
        )
        return [campaign.to_json() for campaign in found]

    def alert(self, campaign_id: str) -> dict[str, Any]:
        told = history.story(self.outbox.db, campaign_id)
        if told is None:
            raise RecordError(f"no campaign {campaign_id!r} in the history", 404)
        return told.to_json()

    def feedback(self, campaign_id: str, request: FeedbackRequest) -> dict[str, Any]:
        """Record an acknowledgement or a "not a campaign", as the Slack buttons do."""
        found = history.story(self.outbox.db, campaign_id)
        if found is None:
            raise RecordError(f"no campaign {campaign_id!r} in the history", 404)
        note = Feedback(request.action, "", request.by)
        self.outbox.add_feedback(found.campaign.playbook, campaign_id, note, now=self.now())
        return self.alert(campaign_id)

    def silences(self, *, expired: bool = False) -> list[dict[str, Any]]:
        now = self.now()
        return [
            s.to_json(now) for s in silences.list_silences(self.outbox.db, now, expired=expired)
        ]

    def silence(self, silence_id: str) -> dict[str, Any]:
        found = silences.get_silence(self.outbox.db, silence_id)
        if found is None:
            raise RecordError(f"no silence {silence_id!r}", 404)
        return found.to_json(self.now())

    def add_silence(self, request: SilenceRequest) -> dict[str, Any]:
        now = self.now()
        known = self.playbooks() if self.playbooks is not None else None
        if known is not None and request.playbook not in known:
            names = ", ".join(sorted(known)) or "none"
            raise RecordError(f"no playbook {request.playbook!r} is loaded (loaded: {names})")
        if request.duration is not None:
            ends = now + parse_duration(request.duration)
        else:
            assert request.ends_at is not None
            ends = request.ends_at.timestamp()
        if ends <= now:
            raise RecordError(
                f"the silence would end at {rfc3339(utc(ends))}, which is not in the future"
            )
        made = silences.add_silence(
            self.outbox.db,
            request.playbook,
            term=request.term,
            starts_at=now,
            ends_at=ends,
            reason=request.reason,
            created_by=request.created_by,
        )
        return made.to_json(now)

    def expire(self, silence_id: str) -> dict[str, Any]:
        now = self.now()
        gone = silences.expire_silence(self.outbox.db, silence_id, now)
        if gone is None:
            raise RecordError(f"no silence {silence_id!r}", 404)
        return gone.to_json(now)
