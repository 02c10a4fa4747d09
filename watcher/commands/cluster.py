"""`groundswell ingest`, `worker` and `deliver`: the cluster on NATS JetStream.

The same engine as `groundswell run`, across processes (see `watcher/cluster`): `ingest`
publishes posts into the cluster, each `worker` takes shards of the playbooks as leases
allow, and one `deliver` moves the alerts into the outbox and the responders. Each names
its streams and buckets after `--cluster-name`, so two clusters can share one server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client.registry import Collector

from watcher.cluster.layout import Layout, Stores, connect, open_stores
from watcher.commands.common import DEFAULT_PLAYBOOKS, check_output, open_input, playbooks_or_exit
from watcher.errors import GroundswellError

if TYPE_CHECKING:
    from watcher.playbooks.model import Playbook

__all__ = ["register"]

DEFAULT_NATS = "nats://127.0.0.1:4222"


def _owner(role: str) -> str:
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"


def _layout(args: argparse.Namespace) -> Layout:
    return Layout(name=args.cluster_name, lease_ttl=args.lease_ttl)


async def with_cluster(
    args: argparse.Namespace,
    role: str,
    work: Callable[[Client, JetStreamContext, Layout, Stores], Awaitable[int]],
) -> int:
    layout = _layout(args)
    nc = await connect(args.nats, _owner(role))
    try:
        js = nc.jetstream()
        stores = await open_stores(js, layout)
        return await work(nc, js, layout, stores)
    finally:  # bounded: a connection the network cut must not keep the process alive
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(nc.close(), 5)


@contextlib.asynccontextmanager
async def _serving(
    args: argparse.Namespace,
    nc: Client,
    collector: Collector,
    faults: Callable[[], list[str]],
    routes: Sequence[web.RouteDef] = (),
) -> AsyncIterator[None]:
    """`/metrics`, `/healthz`, `/readyz` (and `routes`) on `--metrics-port` while the role
    runs."""
    if not args.metrics_port:
        yield
        return
    from watcher.cluster.metrics import broker_faults, serve

    runner = await serve(
        collector,
        lambda: [*broker_faults(nc), *faults()],
        args.metrics_host,
        args.metrics_port,
        routes,
    )
    try:
        yield
    finally:
        await runner.cleanup()


def _stop_event() -> asyncio.Event:
    from watcher.service.service import install_signal_handlers

    stop = asyncio.Event()
    install_signal_handlers(stop)
    return stop


def cmd_ingest(args: argparse.Namespace) -> int:
    from watcher.cluster.ingest import IngestError, publish_file

    if args.source == "ingest":
        return _http_ingest(args)
    kind, _, path = args.source.partition(":")
    if kind != "file" or not path:
        raise IngestError(f"--source {args.source!r}: this version reads file:PATH or ingest")
    open_input(Path(path)).close()

    async def work(nc: Client, js: JetStreamContext, layout: Layout, stores: Stores) -> int:
        from watcher.cluster.ingest import Published
        from watcher.cluster.metrics import IngestCollector

        done = Published()
        async with _serving(args, nc, IngestCollector(done), list):
            spec, owner = args.source, _owner("ingest")
            await publish_file(js, layout, stores, spec, Path(path), owner, done)
        print(
            f"ingest: {done.posts:,} posts in {done.batches:,} batches, {done.duplicates} "
            f"duplicate, {done.skipped_lines:,} lines already published, "
            f"{done.oversized} oversized",
            file=sys.stderr,
        )
        return 0

    return asyncio.run(with_cluster(args, "ingest", work))


def _http_ingest(args: argparse.Namespace) -> int:
    """`--source ingest`: serve `POST /ingest` on `--metrics-port` until SIGINT or SIGTERM."""
    from watcher.cluster.ingest import IngestError
    from watcher.sources.ingest import TOKEN_ENV

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise IngestError(f"--source ingest needs a token: set {TOKEN_ENV}")
    if not args.metrics_port:
        raise IngestError("--source ingest serves POST /ingest on --metrics-port: give one")

    async def work(nc: Client, js: JetStreamContext, layout: Layout, stores: Stores) -> int:
        from watcher.cluster.http_ingest import ClusterIngest
        from watcher.cluster.metrics import IngestCollector
        from watcher.http.ingest import ingest_route

        source = ClusterIngest(js, layout, token)
        stop = _stop_event()
        route = ingest_route(source)
        async with _serving(args, nc, IngestCollector(source.out), list, [route]):
            print(
                f"ingest: POST /ingest on {args.metrics_host}:{args.metrics_port}",
                file=sys.stderr,
            )
            await stop.wait()
        done, lines = source.out, source.outcomes
        print(
            f"ingest: {done.posts:,} posts in {done.batches:,} batches ({done.duplicates} "
            f"duplicate); lines {lines['accepted']:,} accepted, {lines['malformed']:,} "
            f"malformed, {lines['duplicate']:,} duplicate",
            file=sys.stderr,
        )
        return 0

    return asyncio.run(with_cluster(args, "ingest", work))


class _NotStarting(GroundswellError):
    """The playbooks cannot run (their problems are printed): exit with `code`."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code


def cmd_worker(args: argparse.Namespace) -> int:
    from watcher.cluster.worker import Worker

    checked: list[bool] = []  # whether the playbooks were checked (and printed) yet

    def load() -> Sequence[Playbook]:
        checked.append(True)
        try:
            return playbooks_or_exit(args.playbooks, strict=args.strict).playbooks
        except SystemExit as exc:  # in the worker's thread: an exception asyncio passes on
            raise _NotStarting(exc.code) from None

    async def work(nc: Client, js: JetStreamContext, layout: Layout, stores: Stores) -> int:
        worker = Worker(
            nc,
            js,
            layout,
            stores,
            (),
            _owner("worker"),
            shards=args.shards,
            checkpoint_batches=args.checkpoint_batches,
            checkpoint_seconds=args.checkpoint_seconds,
        )
        from watcher.cluster.metrics import WorkerCollector

        async with _serving(args, nc, WorkerCollector(worker), worker.faults):
            # the playbooks load while the worker announces itself (`watcher.cluster.worker`:
            # so workers started together split the shards at once)
            code = await worker.run(_stop_event(), load=load)
        print(
            f"worker: {worker.emitted} alerts emitted, {worker.published} stored "
            f"({worker.emitted - worker.published} duplicate), exit {code}",
            file=sys.stderr,
        )
        return code

    try:
        try:
            return asyncio.run(with_cluster(args, "worker", work))
        except _NotStarting:
            raise
        except Exception:
            if not checked:  # a playbook error is the one to report first (and exits 1)
                load()
            raise
    except _NotStarting as exc:  # the playbooks' problems are printed
        raise SystemExit(exc.code) from None


def cmd_deliver(args: argparse.Namespace) -> int:
    from watcher.cluster.deliver import AlertsFile, Deliverer
    from watcher.service.delivery import DeliveryConfig, build_delivery
    from watcher.settings import read_environment

    playbooks = playbooks_or_exit(args.playbooks).playbooks
    env = read_environment()
    outbox = args.outbox or env.data_dir / "outbox.sqlite3"
    check_output(outbox)
    if args.alerts_out:
        check_output(args.alerts_out)

    async def work(nc: Client, js: JetStreamContext, layout: Layout, stores: Stores) -> int:
        config = DeliveryConfig.from_environment(env, outbox, sys.stderr if args.console else None)
        stack = build_delivery(playbooks, config)
        alerts_out = AlertsFile(args.alerts_out) if args.alerts_out else None
        try:
            deliverer = Deliverer(
                js,
                layout,
                stores,
                stack.dispatcher,
                alerts_out,
                _owner("deliver"),
                outbox=stack.outbox,
            )
            from watcher.cluster.metrics import DelivererCollector

            async with _serving(args, nc, DelivererCollector(deliverer), deliverer.faults):
                await deliverer.run(_stop_event())
        finally:
            if alerts_out is not None:
                alerts_out.close()
            await stack.aclose()
        return 0

    return asyncio.run(with_cluster(args, "deliver", work))


def common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats", default=DEFAULT_NATS, metavar="URL", help=f"({DEFAULT_NATS})")
    parser.add_argument(
        "--cluster-name",
        default="groundswell",
        metavar="NAME",
        help="prefix of this cluster's streams and buckets, so clusters can share a server "
        "(groundswell)",
    )
    parser.add_argument(
        "--lease-ttl",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long a lease outlives its last renewal; the same in every process (10)",
    )


def _playbooks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--playbooks",
        type=Path,
        nargs="+",
        default=[DEFAULT_PLAYBOOKS],
        help=f"playbook files or folders ({DEFAULT_PLAYBOOKS}); the same in every process",
    )


def _metrics(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve /metrics (leases held, shard lag, checkpoint age), /healthz and /readyz "
        "here (off)",
    )
    parser.add_argument("--metrics-host", default="127.0.0.1", help="(127.0.0.1)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ingest = sub.add_parser("ingest", help="publish posts into the cluster")
    ingest.add_argument(
        "--source",
        required=True,
        metavar="SPEC",
        help="file:PATH publishes a recorded posts file as fast as the broker takes it, "
        "then a flush, and exits; a re-run resumes after what was published. ingest serves "
        "POST /ingest on --metrics-port (token in $GROUNDSWELL_INGEST_TOKEN) and answers "
        "once the broker has the posts",
    )
    common_args(ingest)
    _metrics(ingest)
    ingest.set_defaults(func=cmd_ingest)

    worker = sub.add_parser("worker", help="run the engine for the shards this worker leases")
    common_args(worker)
    _playbooks(worker)
    worker.add_argument(
        "--shards", type=int, default=8, help="shards of playbooks; the same everywhere (8)"
    )
    worker.add_argument(
        "--checkpoint-batches",
        type=int,
        default=200,
        metavar="N",
        help="commit a shard's checkpoint every N batches or when idle (both at most every "
        "--checkpoint-seconds), and at a flush (200)",
    )
    worker.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=10.0,
        metavar="S",
        help="at least this long between checkpoints but a flush's (10)",
    )
    worker.add_argument("--strict", action="store_true", help="refuse playbooks with warnings")
    _metrics(worker)
    worker.set_defaults(func=cmd_worker)

    deliver = sub.add_parser("deliver", help="move the cluster's alerts into the outbox")
    common_args(deliver)
    _playbooks(deliver)
    deliver.add_argument("--alerts-out", type=Path, help="also write each alert once here")
    deliver.add_argument(
        "--outbox", type=Path, help="SQLite outbox ($GROUNDSWELL_DATA_DIR/outbox.sqlite3)"
    )
    deliver.add_argument("--console", action="store_true", help="print alerts on stderr too")
    _metrics(deliver)
    deliver.set_defaults(func=cmd_deliver)
