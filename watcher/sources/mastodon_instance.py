"""Where a Mastodon instance streams from and what it calls itself, from its instance API.

Large instances serve streaming from another host (`streaming.example` beside
`example`), and an instance's `LOCAL_DOMAIN` (what local accounts' `acct` lacks) may differ
from its web host. Both come from `GET /api/v2/instance` (`configuration.urls.streaming`,
`domain`), falling back to v1 (`urls.streaming_api`, `uri`) on servers older than 4.0.
`InstanceInfo` caches the answer and forgets it when the stream fails, so a moved streaming
host is found again; `open_stream` follows a redirect only to that host, token kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import orjson

from watcher.sources.retry import TransientError

log = logging.getLogger("groundswell.sources")

#: Redirects followed on the way to the stream (web host → streaming host is one).
MAX_HOPS = 3


@dataclass(frozen=True, slots=True)
class Instance:
    """An instance's own domain and the base URL (http or https) of its streaming API."""

    domain: str
    streaming: str
    discovered: bool = True  # False: the instance API did not answer, these are guesses


def http_base(url: str) -> str:
    """The instance API gives WebSocket URLs (`wss://`); SSE is the same host over https.

    >>> http_base("wss://streaming.example/"), http_base("ws://127.0.0.1:4000")
    ('https://streaming.example', 'http://127.0.0.1:4000')
    """
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            url = http + url.removeprefix(ws)
    return url.rstrip("/")


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what must match for a token to follow a redirect.

    >>> origin("wss://s.example/x") == origin("https://S.example:443/y")
    True
    """
    parts = urlsplit(http_base(url))
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _text(raw: Any, *keys: str) -> str:
    for key in keys:
        raw = raw.get(key) if isinstance(raw, dict) else None
    return raw if isinstance(raw, str) and raw else ""


def from_v2(raw: Any) -> tuple[str, str]:
    """`(domain, streaming URL)` from a v2 Instance entity; '' for what it lacks."""
    return _text(raw, "domain"), _text(raw, "configuration", "urls", "streaming")


def from_v1(raw: Any) -> tuple[str, str]:
    """`(domain, streaming URL)` from a v1 Instance entity (`uri` is the bare domain)."""
    return _text(raw, "uri"), _text(raw, "urls", "streaming_api")


class InstanceInfo:
    """The instance's domain and streaming base, asked once and cached until `forget()`.

    `streaming` and `domain` given by the operator win over what the instance says (both
    given: the instance API is never asked).
    """

    def __init__(self, name: str, rest: str, *, streaming: str = "", domain: str = "") -> None:
        self.name = name
        self.rest = rest.rstrip("/")
        self.streaming = http_base(streaming) if streaming else ""
        self.domain = domain
        self._cached: Instance | None = None
        self.lookups = 0  # instance API round trips, for tests and logs

    def forget(self) -> None:
        """Ask the instance again next time (the stream failed: its host may have moved)."""
        self._cached = None

    async def get(self, session: aiohttp.ClientSession) -> Instance:
        if self._cached is not None:
            return self._cached
        domain, streaming = self.domain, self.streaming
        discovered = True
        if not (domain and streaming):
            found = await self._ask(session)
            discovered = found is not None
            domain = domain or (found[0] if found else "")
            streaming = streaming or (http_base(found[1]) if found and found[1] else "")
        instance = Instance(
            domain=domain or (urlsplit(self.rest).hostname or ""),  # never the port
            streaming=streaming or self.rest,
            discovered=discovered,
        )
        if discovered:
            self._cached = instance
        else:
            log.warning(
                "%s: the instance API did not answer; streaming from %s as %s until it does",
                self.name,
                instance.streaming,
                instance.domain,
            )
        return instance

    async def _ask(self, session: aiohttp.ClientSession) -> tuple[str, str] | None:
        for path, read in (("/api/v2/instance", from_v2), ("/api/v1/instance", from_v1)):
            self.lookups += 1
            try:
                async with session.get(self.rest + path) as resp:
                    if resp.status != 200:
                        continue
                    domain, streaming = read(orjson.loads(await resp.read()))
            except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
                log.warning("%s: %s: %s", self.name, path, exc)
                continue
            if domain:
                return domain, streaming
        return None


async def open_stream(
    session: aiohttp.ClientSession,
    url: str,
    info: InstanceInfo,
    instance: Instance,
    headers: dict[str, str],
) -> tuple[aiohttp.ClientResponse, Instance]:
    """GET the stream, following redirects only to the instance's streaming host.

    aiohttp drops `Authorization` on a cross-host redirect (rightly: a token must not go
    wherever a server points), so redirects are followed here, by hand, and only to the
    streaming host the instance API names; asked afresh once if the cached answer differs.
    Returns the response and the instance as last known (it may have been asked again).
    """
    for _ in range(MAX_HOPS + 1):
        resp = await session.get(url, headers=headers, allow_redirects=False)
        if resp.status not in (301, 302, 303, 307, 308):
            return resp, instance
        target = urljoin(url, resp.headers.get("Location", ""))
        resp.release()
        if origin(target) != origin(instance.streaming):
            info.forget()
            instance = await info.get(session)
        if origin(target) != origin(instance.streaming):
            raise TransientError(
                f"{info.name} stream: redirected to {target}, which the instance API does "
                f"not name as its streaming host ({instance.streaming}); not sending the "
                "token there (set `streaming_url` if this host is right)"
            )
        url = target
    raise TransientError(f"{info.name} stream: more than {MAX_HOPS} redirects")
