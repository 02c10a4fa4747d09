"""`groundswell run --config FILE`: the service's own settings in YAML (not a playbook).

    sources:                               # required: one or more
      - jetstream:wss://jetstream2.us-east.bsky.network/subscribe
      - spec: rss:https://example.org/feed.xml
        interval: 600                      # seconds between polls
      - {spec: "reddit:environment", user_agent: "python:myorg-watch:1.0 (by /u/me)"}
    playbooks: [playbooks]
    http: {host: 127.0.0.1, port: 9108}
    record: posts.ndjson                   # append every admitted post here
    state: groundswell-state.sqlite        # resume cursors (and other service state)

Command-line options win over the file; `--source` adds to its sources.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from watcher.sources.cursors import DEFAULT_STATE
from watcher.sources.specs import SourceOptions


class ConfigError(ValueError):
    """A service config file that cannot be used; one problem per line."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceEntry(_Model):
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

    def options(self) -> SourceOptions:
        return SourceOptions(self.interval, self.user_agent, self.read_timeout, self.token_env)


class HttpSettings(_Model):
    host: str = Field("127.0.0.1", description="Address for /metrics, /readyz and /ingest.")
    port: int = Field(9108, ge=0, le=65535, description="Port (0: any free port).")


class ServiceConfig(_Model):
    sources: list[SourceEntry] = Field(
        min_length=1, description="Feeds to watch: a spec, or a mapping with `spec:` and options."
    )
    playbooks: list[Path] | None = Field(None, description="Playbook files or directories.")
    http: HttpSettings = Field(default_factory=HttpSettings)
    record: Path | None = Field(None, description="Append every admitted post to this file.")
    state: Path = Field(DEFAULT_STATE, description="SQLite file for resume cursors.")

    def entries(self) -> list[SourceEntry]:
        return list(self.sources)


def load_config(path: Path) -> ServiceConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `sources:` at the top")
    if isinstance(raw.get("sources"), list):  # a bare string is short for {spec: ...}
        raw["sources"] = [{"spec": s} if isinstance(s, str) else s for s in raw["sources"]]
    try:
        return ServiceConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{path}: {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            + (f" (got {err['input']!r:.60})" if err["type"] != "missing" else "")
            for err in exc.errors()
        ]
        raise ConfigError("\n".join(problems)) from None
