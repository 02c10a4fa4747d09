"""HTTP endpoints, and the only place that builds routes or an application.

`app` (the application: `/metrics`, `/healthz`, `/readyz`), `ingest` (`POST /ingest`),
`api` (`/api/v1`: alert history and silences, its document in `openapi`),
`slack` (Slack's signed interactivity endpoint) and `socket_mode` (the same clicks over
Slack's Socket Mode WebSocket, for installs with no public URL); `guard` runs the app with
read deadlines and a connection cap.
"""

from __future__ import annotations

__all__ = [
    "api",
    "app",
    "guard",
    "ingest",
    "openapi",
    "slack",
    "socket_mode",
]
