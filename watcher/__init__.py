"""Groundswell's composition root: feeds, the pipeline, the running service, HTTP, the CLI.

Each subpackage is a room with one concern; a file's folder says what it may touch:

- `playbooks/`: the playbook model, loading with line marks, plain-words errors, lint, reload.
- `pipeline/`: pure and synchronous: decode, match, event-time windows, buckets, surge
  assembly, the engine. It imports no asyncio.
- `sources/`: one module per feed behind the small `Source` protocol, one reconnect loop.
- `service/`: the running service: named async stages, composition from settings,
  checkpoints, metrics (a Collector), delivery composition.
- `cluster/`: the same engine across processes on NATS JetStream: ingest, workers owning
  shards of playbooks, delivery (`groundswell ingest`, `worker`, `deliver`).
- `http/`: the only place that routes: `/healthz`, `/readyz`, `/metrics`, `/ingest`, Slack.
- `simulation/`: generated streams, the scenario suite, backtest and its plot.
- `commands/`: one module per subcommand; `cli` joins them.

`post` (the normalised post and the posts NDJSON contract), `settings` (one settings object)
and `errors` (the `GroundswellError` root) are shared by every room.
"""

from __future__ import annotations

__all__ = [
    "cli",
    "cluster",
    "commands",
    "errors",
    "http",
    "pipeline",
    "playbooks",
    "post",
    "service",
    "settings",
    "simulation",
    "sources",
]
