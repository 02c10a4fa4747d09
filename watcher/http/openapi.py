"""The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`.

The request bodies' schemas are generated from the pydantic models that validate them
(`responders.delivery.records`), so the document cannot drift from what the API accepts;
the answers' schemas are written here, and the suite's schema-driven fuzzer (schemathesis)
checks every answer against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from detectors.campaign import State
from responders.delivery.records import DURATION, FeedbackRequest, RecordError, SilenceRequest

PREFIX = "/api/v1"
#: The lifecycle states a campaign's alerts carry (a campaign is never alerted `quiet`).
STATES: tuple[str, ...] = tuple(s for s in get_args(State) if s != "quiet")
_REF = "#/components/schemas/{model}"

_TIME = {"type": "string", "format": "date-time"}
_STRINGS = {"type": "array", "items": {"type": "string"}}

SILENCE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "playbook", "term", "starts_at", "ends_at", "reason", "created_by", "state"],
    "properties": {
        "id": {"type": "string"},
        "playbook": {"type": "string"},
        "term": {"type": ["string", "null"], "description": "null: all of the playbook's alerts"},
        "starts_at": _TIME,
        "ends_at": _TIME,
        "reason": {"type": "string"},
        "created_by": {"type": "string"},
        "state": {"enum": ["active", "pending", "expired"]},
    },
    "additionalProperties": False,
}

CAMPAIGN: dict[str, Any] = {
    "type": "object",
    "required": [
        "campaign_id",
        "playbook",
        "state",
        "first_fired_at",
        "last_fired_at",
        "detected_at",
        "last_recorded_at",
        "alerts",
        "posts",
        "terms",
        "acknowledged_by",
        "not_campaign_by",
        "deliveries",
    ],
    "properties": {
        "campaign_id": {"type": "string"},
        "playbook": {"type": "string"},
        "state": {"type": "string", "description": "the latest alert's lifecycle state"},
        "first_fired_at": _TIME,
        "last_fired_at": _TIME,
        "detected_at": _TIME,
        "last_recorded_at": _TIME,
        "alerts": {"type": "integer", "minimum": 1},
        "posts": {"type": "integer", "minimum": 0},
        "terms": _STRINGS,
        "acknowledged_by": _STRINGS,
        "not_campaign_by": _STRINGS,
        "deliveries": {
            "type": "object",
            "description": "outbox rows by status: sent, suppressed, pending, failed, gave_up",
            "additionalProperties": {"type": "integer"},
        },
    },
}

STORY: dict[str, Any] = {
    "allOf": [
        {"$ref": _REF.format(model="Campaign")},
        {
            "type": "object",
            "required": ["history", "brief", "sent"],
            "properties": {
                "history": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["at", "what"],
                        "properties": {
                            "at": _TIME,
                            "what": {
                                "enum": ["alert", "delivery", "ack", "snooze", "not_campaign"]
                            },
                        },
                    },
                },
                "brief": {"type": "string", "description": "the brief as the console shows it"},
                "sent": {
                    "type": "array",
                    "description": "each alert in the alerts NDJSON format",
                    "items": {"type": "object"},
                },
            },
        },
    ]
}

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


def known_states(states: Sequence[str]) -> list[str]:
    """`states`, or `RecordError` naming the first that is not a campaign state."""
    for state in states:
        if state not in STATES:
            raise RecordError(f"state {state[:40]!r} is not one of {', '.join(STATES)}")
    return list(states)


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(model: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=model)}


_ERRORS = {
    "400": _answer("a bad value", _ref("Error")),
    "401": _answer("no or the wrong bearer token", _ref("Error")),
}
_MISSING = {"404": _answer("no such id", _ref("Error"))}


def _by_id(description: str, model: str) -> dict[str, Any]:
    """The answers of a route that names one thing by its id."""
    return {"200": _answer(description, _ref(model)), **_ERRORS, **_MISSING}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _body(model: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def document() -> dict[str, Any]:
    """The OpenAPI document, built afresh (callers may change their copy)."""
    schemas = {
        "SilenceRequest": SilenceRequest.model_json_schema(ref_template=_REF),
        "FeedbackRequest": FeedbackRequest.model_json_schema(ref_template=_REF),
        "Silence": SILENCE,
        "Campaign": CAMPAIGN,
        "CampaignStory": STORY,
        "Error": ERROR,
    }
    listing = [
        {"name": "playbook", "in": "query", "schema": {"type": "string"}},
        {"name": "since", "in": "query", "schema": {"type": "string", "pattern": DURATION}},
        {
            "name": "state",
            "in": "query",
            "schema": {"type": "array", "items": {"enum": list(STATES)}},
            "style": "form",
            "explode": True,
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
    ]
    expired = {"name": "expired", "in": "query", "schema": {"type": "boolean", "default": False}}
    campaigns = {"type": "array", "items": _ref("Campaign")}
    silences = {"type": "array", "items": _ref("Silence")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Groundswell",
            "version": "1",
            "description": "Alert history, acknowledgements and silences of a running service. "
            "Every route but this document needs `Authorization: Bearer $GROUNDSWELL_API_TOKEN`.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            f"{PREFIX}/alerts": {
                "get": {
                    "summary": "Campaigns, latest activity first",
                    "parameters": listing,
                    "responses": {"200": _answer("campaigns", campaigns), **_ERRORS},
                }
            },
            f"{PREFIX}/alerts/{{campaign_id}}": {
                "get": {
                    "summary": "One campaign: the brief as sent and what happened",
                    "parameters": [_path_id("campaign_id")],
                    "responses": _by_id("the campaign", "CampaignStory"),
                }
            },
            f"{PREFIX}/alerts/{{campaign_id}}/feedback": {
                "post": {
                    "summary": "Acknowledge a campaign or mark it not one",
                    "parameters": [_path_id("campaign_id")],
                    "requestBody": _body("FeedbackRequest"),
                    "responses": _by_id("the campaign", "CampaignStory"),
                }
            },
            f"{PREFIX}/silences": {
                "get": {
                    "summary": "Active and pending silences (and ended ones with expired)",
                    "parameters": [expired],
                    "responses": {"200": _answer("silences", silences), **_ERRORS},
                },
                "post": {
                    "summary": "Add a silence",
                    "requestBody": _body("SilenceRequest"),
                    "responses": {"201": _answer("the silence", _ref("Silence")), **_ERRORS},
                },
            },
            f"{PREFIX}/silences/{{silence_id}}": {
                "get": {
                    "summary": "One silence",
                    "parameters": [_path_id("silence_id")],
                    "responses": _by_id("the silence", "Silence"),
                },
                "delete": {
                    "summary": "Expire a silence now (it is kept, as expired)",
                    "parameters": [_path_id("silence_id")],
                    "responses": _by_id("the silence", "Silence"),
                },
            },
        },
    }
