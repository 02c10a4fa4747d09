"""Slow and excess HTTP clients: a request must arrive whole (head and body) within
`read_timeout`, and at most `max_connections` connections are open at once.

aiohttp 3.x has no read timeout for a request's head or body (its `keepalive_timeout` only
closes connections idle *between* requests), so a client that sends half a request line and
stalls holds a file descriptor for ever; at the descriptor limit the service stops
answering. `ConnectionGuard` wraps each accepted connection, gives every request a deadline,
and a sweep closes the ones past it. At the cap, the connection that has waited longest for
its client is closed to make room (so `/healthz` still answers under a flood); only when every
open connection is being answered is a new one refused. Each client closed is counted
(`on_drop`) and logged at most once a minute, with how many, never a traceback per client.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

#: Seconds a client has to send a whole request, from its connection or its first byte.
READ_TIMEOUT = 10.0
#: Open connections at once; well below the usual 1,024 descriptors, which SQLite, the
#: feeds and Slack also need.
MAX_CONNECTIONS = 256
#: Seconds an idle keep-alive connection stays open between requests (aiohttp's own timer).
KEEPALIVE = 75.0
LOG_EVERY = 60.0


@dataclass(slots=True)
class _Conn:
    transport: asyncio.BaseTransport | None = None
    deadline: float | None = None  # loop time; None while we, not the client, are due
    request: web.BaseRequest | None = None


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed as soon as it is accepted."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _Watched(asyncio.Protocol):
    """aiohttp's handler for one connection, which the guard sees open, fed and closed."""

    def __init__(self, guard: ConnectionGuard, handler: RequestHandler) -> None:
        self.guard, self.handler = guard, handler

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.guard.opened(self.handler, transport)
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.guard.fed(self.handler)
        self.handler.data_received(data)

    def eof_received(self) -> None:
        self.handler.eof_received()  # None: the transport closes itself, as aiohttp wants

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed(self.handler)
        self.handler.connection_lost(exc)

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()


class ConnectionGuard:
    """Deadlines and a cap for the connections of one server; `on_drop()` per client closed."""

    def __init__(
        self,
        on_drop: Callable[[], None] = lambda: None,
        *,
        read_timeout: float = READ_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._on_drop = on_drop
        self._conns: dict[RequestHandler, _Conn] = {}
        self._unlogged = 0
        self._logged_at = -math.inf
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def open(self) -> int:
        """Connections open now."""
        return len(self._conns)

    def protocol_factory(self, server: web.Server) -> Callable[[], asyncio.Protocol]:
        """What `loop.create_server` calls per accepted connection."""

        def make() -> asyncio.Protocol:
            if len(self._conns) >= self.max_connections and not self._evict():
                self._dropped("over the cap of open connections")
                return _Refused()
            handler = server()
            self._conns[handler] = _Conn()
            return _Watched(self, handler)

        return make

    def _evict(self) -> bool:
        """Close the connection that has waited longest for its client's request, to make
        room (so `/healthz` answers even while stalled clients fill the cap); False when
        every open connection is one we are answering."""
        waiting = [(c.deadline, h) for h, c in self._conns.items() if self._waits_on_client(c)]
        if not waiting:
            return False
        _, handler = min(waiting, key=lambda pair: pair[0] or 0.0)
        conn = self._conns.pop(handler)  # counted out now: connection_lost comes later
        assert conn.transport is not None
        conn.transport.close()
        self._dropped("closed to make room for a newer connection over the cap")
        return True

    @staticmethod
    def _waits_on_client(conn: _Conn) -> bool:
        if conn.deadline is None or conn.transport is None:
            return False
        return conn.request is None or not conn.request.content.is_eof()

    # -- what a connection reports ---------------------------------------------------------
    def opened(self, handler: RequestHandler, transport: asyncio.BaseTransport) -> None:
        conn = self._conns.setdefault(handler, _Conn())
        conn.transport = transport
        conn.deadline = asyncio.get_running_loop().time() + self.read_timeout

    def fed(self, handler: RequestHandler) -> None:
        conn = self._conns.get(handler)
        if conn is not None and conn.deadline is None and conn.request is None:
            # the first byte of the next keep-alive request starts its clock
            conn.deadline = asyncio.get_running_loop().time() + self.read_timeout

    def closed(self, handler: RequestHandler) -> None:
        self._conns.pop(handler, None)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The head has arrived; the body must follow within the same deadline."""
        conn = self._conns.get(request.protocol)
        if conn is None:
            return await handler(request)
        conn.request = request
        try:
            return await handler(request)
        except ConnectionResetError:
            transport = request.transport
            if transport is not None and not transport.is_closing():
                raise  # not this client's connection (an outbound call of the handler)
            # the client went (or was closed) mid-body: nobody to answer, and no traceback
            # per client; aiohttp drops this answer on the closed transport quietly
            raise web.HTTPRequestTimeout() from None
        finally:
            # between requests aiohttp's keep-alive timer closes an idle connection
            conn.request, conn.deadline = None, None

    # -- the sweep -------------------------------------------------------------------------
    async def start(self, _: web.Application | None = None) -> None:
        """Begin sweeping (an `on_startup` signal)."""
        self._sweeper = asyncio.create_task(self._sweep(), name="http-connection-guard")

    async def stop(self, _: web.Application | None = None) -> None:
        """Stop sweeping (an `on_cleanup` signal)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None

    async def _sweep(self) -> None:
        period = min(1.0, self.read_timeout / 4)
        while True:
            await asyncio.sleep(period)
            self.close_late(asyncio.get_running_loop().time())

    def close_late(self, now: float) -> None:
        """Close every connection whose request is not whole by its deadline."""
        for conn in list(self._conns.values()):
            if conn.deadline is None or now < conn.deadline:
                continue
            if not self._waits_on_client(conn):
                conn.deadline = None  # the whole body is in: the answer is ours to make
                continue
            conn.deadline = None
            assert conn.transport is not None
            conn.transport.close()
            self._dropped(f"no whole request within {self.read_timeout:g} s")

    def _dropped(self, why: str) -> None:
        self._on_drop()
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            log.warning(
                "closed %d slow or excess HTTP client(s) since the last such line; the latest "
                "was %s (see groundswell_http_clients_dropped_total)",
                self._unlogged,
                why,
            )
            self._unlogged, self._logged_at = 0, now


class GuardedSite(web.TCPSite):
    """`web.TCPSite` whose connections go through `guard`. It repeats `TCPSite.start` with
    the guard's protocol factory: aiohttp offers no hook between accept and its handler."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner, host, port)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.protocol_factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


async def serve(
    app: web.Application, host: str, port: int, guard: ConnectionGuard
) -> web.AppRunner:
    """Run `app` on `host:port` behind `guard`; the runner to clean up. Raises `OSError`
    (e.g. the port is taken) with nothing left running."""
    app.middlewares.append(guard.middleware)
    app.on_startup.append(guard.start)
    app.on_cleanup.append(guard.stop)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=KEEPALIVE)
    await runner.setup()
    try:
        await GuardedSite(runner, host, port, guard).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
