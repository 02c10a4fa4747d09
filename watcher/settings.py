"""One settings object for the running service: the config file, the environment, the flags.

`groundswell run` builds one frozen `Settings` from three layers, each overriding the one
before: the defaults declared here (each once, with a description), the service config file
(`run --config FILE`), and the command-line flags; `--source` adds to the file's sources.
The environment is read here and nowhere else (`read_environment`) into `Environment`, which
is handed down explicitly to the code that needs a token.

The config file is YAML (not a playbook); every `ServiceOptions` field may be set in it:

    sources:                               # required: one or more
      - jetstream:wss://jetstream2.us-east.bsky.network/subscribe
      - spec: rss:https://example.org/feed.xml
        interval: 600                      # seconds between polls
      - {spec: "reddit:environment", user_agent: "python:myorg-watch:1.0 (by /u/me)"}
    playbooks: [playbooks]
    http: {host: 127.0.0.1, port: 9108}
    record: posts.ndjson                   # append every admitted post here
    state: groundswell-state.sqlite        # detector state and resume cursors

Unless `state` and `outbox` are given, a service watching real feeds keeps both in its data
directory: `$GROUNDSWELL_DATA_DIR`, `./data` by default (`/data` in the Docker image, a named
volume in docker-compose.yml). `watcher/service/stores.py` creates it at start and proves it
writable, so a read-only or misplaced one is one error line, not a SQLite traceback.

Its mistakes are reported as `file:line:col: message`, in the plain words playbook errors use
(`watcher/playbooks/explain.py`), one problem per line.

Long because every option of the service is declared here once, with its default and its
description: one place to look, not one per subsystem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from responders.delivery.history import RETENTION_DAYS
from watcher.errors import GroundswellError
from watcher.http.guard import MAX_CONNECTIONS, READ_TIMEOUT
from watcher.playbooks.explain import Loc, dotted, explain
from watcher.playbooks.reload import DEBOUNCE_MS
from watcher.playbooks.yamlmarks import YamlError, load_marked
from watcher.service.record import KEEP as RECORD_KEEP
from watcher.service.record import MAX_BYTES as RECORD_BYTES
from watcher.service.supervisor import FIREHOSE_BUFFER

__all__ = [
    "API_TOKEN_VARIABLE",
    "DATA_DIR_VARIABLE",
    "DEFAULT_DATA_DIR",
    "DEFAULT_OUTBOX",
    "DEFAULT_PLAYBOOKS",
    "DEFAULT_SLACK_API",
    "DEFAULT_STATE",
    "Environment",
    "HttpSettings",
    "ServiceFile",
    "ServiceOptions",
    "Settings",
    "SettingsError",
    "SourceEntry",
    "load_service_file",
    "read_environment",
    "resolve",
]

DEFAULT_PLAYBOOKS = Path("playbooks")
#: The variable naming the data directory, and where it is when the variable is unset.
DATA_DIR_VARIABLE = "GROUNDSWELL_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")
#: The state and outbox files' names inside the data directory.
DEFAULT_STATE = Path("groundswell-state.sqlite")
DEFAULT_OUTBOX = Path("groundswell-outbox.sqlite3")
DEFAULT_SLACK_API = "https://slack.com/api/"
#: The variable holding the bearer token of the HTTP API (and of the CLI's `--url`).
API_TOKEN_VARIABLE = "GROUNDSWELL_API_TOKEN"  # noqa: S105 - a name, not a token


class SettingsError(GroundswellError, ValueError):
    """Settings that cannot be used; `problems` holds one `file:line:col: message` each."""

    what = "config"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceEntry(_Model):
    """One feed to watch: its `--source` spec and the options only the config file can give."""

    spec: str = Field(description="A --source spec, e.g. `rss:https://example.org/feed.xml`.")
    interval: float | None = Field(
        None, gt=0, description="Seconds between polls (rss: 300, reddit: 60)."
    )
    user_agent: str | None = Field(
        None, min_length=1, description="User-Agent for pollers; Reddit wants `(by /u/NAME)`."
    )
    read_timeout: float | None = Field(
        None, gt=0, description="Seconds of silence before a stream counts as stalled."
    )
    token_env: str | None = Field(
        None, min_length=1, description="Environment variable holding this source's token."
    )
    streaming_url: str | None = Field(
        None,
        min_length=1,
        description="Mastodon: the streaming API's base URL, if not the instance API's "
        "`configuration.urls.streaming`.",
    )
    local_domain: str | None = Field(
        None,
        min_length=1,
        description="Mastodon: the domain local accounts belong to, if not the instance "
        "API's `domain`.",
    )
    failover: tuple[str, ...] = Field(
        (),
        description="Jetstream: other instances (wss://HOST/subscribe) to move on to, in "
        "turn, when one fails before sending anything.",
    )
    stall_beats: int | None = Field(
        None,
        ge=1,
        description="Mastodon: heartbeat periods (15 s) without a line before the stream "
        "is reopened (3).",
    )


RECORD_MB = RECORD_BYTES / 2**20


class HttpSettings(_Model):
    host: str = Field("127.0.0.1", description="Address for /metrics, /readyz and /ingest.")
    port: int = Field(9108, ge=0, le=65535, description="Port (0: any free port).")
    read_timeout: float = Field(
        READ_TIMEOUT, gt=0, description="Seconds a client has to send a whole request."
    )
    max_connections: int = Field(
        MAX_CONNECTIONS, ge=1, description="Open HTTP connections at once; more are closed."
    )


class ServiceOptions(_Model):
    """Everything about the running service a config file or a flag may set."""

    playbooks: tuple[Path, ...] = Field(
        (DEFAULT_PLAYBOOKS,), min_length=1, description="Playbook files or directories."
    )
    http: HttpSettings = Field(default_factory=HttpSettings)
    record: Path | None = Field(None, description="Append every admitted post to this file.")
    record_max_mb: float = Field(
        RECORD_MB, gt=0, description="Megabytes a --record file reaches before it is rotated."
    )
    record_keep: int = Field(
        RECORD_KEEP, ge=0, description="Rotated --record files kept (FILE.1 is the newest)."
    )
    state: Path | None = Field(
        None,
        description="SQLite file for detector state and feed cursors, checkpointed and "
        f"restored at start. Unset: `run` uses {DEFAULT_STATE} in the data directory (the "
        "demo a throwaway one), and a service built without one keeps no state.",
    )
    outbox: Path | None = Field(
        None,
        description="SQLite file for the delivery outbox, Slack threads and button feedback. "
        f"Unset: {DEFAULT_OUTBOX} in the data directory (the demo keeps a throwaway one).",
    )
    history_days: float = Field(
        RETENTION_DAYS,
        gt=0,
        description="Days the alert history (in the outbox file) keeps a campaign after its "
        "last alert; older ones are forgotten.",
    )
    reload: bool = Field(True, description="Watch the playbooks and put valid edits live.")
    reload_debounce_ms: int = Field(
        DEBOUNCE_MS, ge=0, description="Milliseconds of quiet after an edit before reloading."
    )
    drain_seconds: float = Field(
        10.0, gt=0, description="Longest shutdown waits for queued posts and alerts."
    )
    checkpoint_seconds: float = Field(
        60.0, gt=0, description="Seconds between checkpoints of the detector state."
    )
    source_buffer: int = Field(
        FIREHOSE_BUFFER,
        ge=1,
        description="Posts a firehose may have waiting before the oldest are dropped.",
    )


class ServiceFile(ServiceOptions):
    """The service config file: the options, and the feeds to watch (at least one)."""

    sources: tuple[SourceEntry, ...] = Field(
        min_length=1, description="Feeds to watch: a spec, or a mapping with `spec:` and options."
    )


class Environment(_Model):
    """What the service takes from the environment, read once by `read_environment`.

    `variables` keeps the whole environment for the variables other settings name: a
    playbook's `respond.slack.webhook_url_env` and `respond.webhook.secret_env`, a source's
    `token_env`, and the default token variables of mastodon and ingest sources.
    """

    slack_bot_token: str = Field(
        "", repr=False, description="Slack Web API token (xoxb-…); unset: no Slack."
    )
    slack_api_url: str = Field(DEFAULT_SLACK_API, description="Base URL of Slack's Web API.")
    slack_signing_secret: str = Field(
        "", repr=False, description="Verifies button clicks sent to POST /slack/actions."
    )
    slack_app_token: str = Field(
        "", repr=False, description="Takes button clicks over Socket Mode (xapp-…)."
    )
    reddit_url: str = Field("https://www.reddit.com", description="Base URL of Reddit.")
    api_token: str = Field(
        "", repr=False, description="Bearer token of the /api/v1 routes; unset: no API."
    )
    reddit_user_agent: str | None = Field(
        None, description="User-Agent for Reddit, unless a source gives its own."
    )
    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="Directory for the state and outbox files that are not given explicitly.",
    )
    variables: Mapping[str, str] = Field(  # tokens among them: kept out of reprs and logs
        default_factory=dict,
        repr=False,
        description="The whole environment, for variables named above.",
    )

    #: The variable each field is read from; an empty variable counts as unset.
    NAMES: ClassVar[Mapping[str, str]] = {
        "slack_bot_token": "SLACK_BOT_TOKEN",
        "slack_api_url": "SLACK_API_URL",
        "slack_signing_secret": "SLACK_SIGNING_SECRET",
        "slack_app_token": "SLACK_APP_TOKEN",
        "api_token": API_TOKEN_VARIABLE,
        "reddit_url": "GROUNDSWELL_REDDIT_URL",
        "reddit_user_agent": "GROUNDSWELL_REDDIT_USER_AGENT",
        "data_dir": DATA_DIR_VARIABLE,
    }

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Environment:
        """The settings in `environ` (a test passes a plain dict)."""
        given = {field: environ[name] for field, name in cls.NAMES.items() if environ.get(name)}
        return cls.model_validate({**given, "variables": dict(environ)})

    def get(self, name: str) -> str:
        """The variable `name`, or "" when it is unset."""
        return self.variables.get(name, "")


class Settings(ServiceOptions):
    """The running service's settings, resolved: defaults, then the file, then the flags."""

    sources: tuple[SourceEntry, ...] = Field(
        (), description="Feeds to watch, `--source` ones first; none: the embedded demo."
    )
    env: Environment = Field(default_factory=Environment, description="From the environment.")

    def watched(self) -> tuple[Path, ...]:
        """The playbook paths to hot-reload from (none with `reload` off)."""
        return self.playbooks if self.reload else ()

    def in_data_dir(self) -> Settings:
        """These settings with an unset `state` and `outbox` put in the data directory."""
        folder = self.env.data_dir
        return self.model_copy(
            update={
                "state": self.state or folder / DEFAULT_STATE,
                "outbox": self.outbox or folder / DEFAULT_OUTBOX,
            }
        )


def _explained(exc: ValidationError, root: type[BaseModel]) -> list[tuple[Loc, bool, str]]:
    """`explain`, without the "too short" pydantic adds to a tuple whose item is wrong."""
    errors = exc.errors()
    short = {tuple(e["loc"]) for e in errors if e["type"] == "too_short"}
    deeper = [tuple(e["loc"]) for e in errors if e["type"] != "too_short"]

    def inner(loc: Loc) -> bool:  # the tuple is short only because an item in it is wrong
        return loc in short and any(len(d) > len(loc) and d[: len(loc)] == loc for d in deeper)

    return [found for found in explain(exc, root) if not inner(found[0])]


def read_environment() -> Environment:
    """The process environment: the one place the service reads it."""
    return Environment.read(os.environ)


def load_service_file(path: Path) -> ServiceFile:
    """Validate a service config file; raise `SettingsError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise SettingsError([f"{path}: cannot read: {exc}"]) from None
    try:
        marked = load_marked(text)
    except YamlError as exc:
        raise SettingsError([f"{path}:{exc.mark.line}:{exc.mark.col}: {exc.message}"]) from None
    problems = [(m.line, m.col, f"duplicate key `{dotted(p)}`") for p, m in marked.duplicate_keys]
    raw = marked.data
    if not isinstance(raw, dict):
        raise SettingsError([f"{path}:1:1: expected a mapping with `sources:` at the top"])
    if isinstance(raw.get("sources"), list):  # a bare string is short for {spec: ...}
        raw["sources"] = [{"spec": s} if isinstance(s, str) else s for s in raw["sources"]]
    config: ServiceFile | None = None
    try:
        config = ServiceFile.model_validate(raw)
    except ValidationError as exc:
        for loc, is_key, message in _explained(exc, ServiceFile):
            mark = marked.mark_for(loc, key=is_key)
            problems.append((mark.line, mark.col, message))
    if problems or config is None:
        raise SettingsError([f"{path}:{line}:{col}: {msg}" for line, col, msg in sorted(problems)])
    return config


def resolve(
    file: ServiceFile | None,
    *,
    sources: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
    env: Environment | None = None,
) -> Settings:
    """Settings from the config file (if any) overridden by the flags given.

    `flags` maps `ServiceOptions` field names to the values given on the command line
    (`http` to a mapping of the `HttpSettings` fields given); leave out what was not given.
    """
    data: dict[str, Any] = {}
    entries = [SourceEntry(spec=spec) for spec in sources]
    if file is not None:
        data = file.model_dump(exclude_unset=True, exclude={"sources"})
        entries.extend(file.sources)
    for key, value in (flags or {}).items():
        data[key] = {**data.get(key, {}), **value} if key == "http" else value
    try:
        return Settings.model_validate({**data, "sources": entries, "env": env or Environment()})
    except ValidationError as exc:
        problems = [f"command line: {message}" for _, _, message in _explained(exc, Settings)]
        raise SettingsError(problems) from None
