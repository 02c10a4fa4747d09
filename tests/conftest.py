from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from watcher.playbooks.model import Playbook, parse_playbook

# These machines are shared and noisy: no deadlines, no "too slow" health checks.
settings.register_profile(
    "groundswell", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=200
)
settings.load_profile("groundswell")

REPO = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO / "playbooks"
SHARED_DATA = REPO.parent / "shared" / "data"
T0 = datetime(2024, 3, 4, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


MINI_PLAYBOOK = """\
name: waste
watch:
  terms: [toxic waste, gag order, "#dumpgate"]
  exclude: [video game]
  own_accounts: [ngo@example.org]
  own_domains: [ngo.example]
detect:
  warmup_hours: 2
respond:
  slack: {channel: "#alerts"}
  resources:
    - {title: Our dumping report, url: "https://ngo.example/report", tags: [toxic waste]}
  voices:
    - {name: Jo Reporter, handle: "@jo@news.example", why: broke the story}
  offers:
    - {title: Meeting room, detail: Central office, tags: [venue]}
"""


@pytest.fixture
def mini_playbook() -> Playbook:
    return parse_playbook(MINI_PLAYBOOK, "mini.yaml")


PostFactory = Callable[..., dict[str, object]]


@pytest.fixture
def make_post() -> PostFactory:
    counter = iter(range(10**9))

    def make(ts: float, text: str, author: str = "someone", **extra: object) -> dict[str, object]:
        return {
            "id": f"p{next(counter)}",
            "author": author,
            "text": text,
            "created_at": rfc3339(ts),
            **extra,
        }

    return make
