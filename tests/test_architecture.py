"""Dependencies point one way: watcher composes detectors and responders, never the reverse;
inside watcher, the pipeline stays pure and only watcher/http/ routes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

FORBIDDEN = {
    "detectors": {"watcher", "responders", "asyncio", "aiohttp", "prometheus_client", "slack_sdk"},
    "responders": {"watcher", "detectors", "prometheus_client"},
    "watcher/pipeline": {"asyncio", "aiohttp", "prometheus_client"},
}
#: Where aiohttp applications and routes may be built.
HTTP = REPO / "watcher" / "http"
#: `web.<name>(...)` calls that define a route (aiohttp's route definition helpers).
ROUTE_HELPERS = {"get", "post", "put", "patch", "delete", "head", "route", "view", "static"}
ROUTING_TYPES = {"Application", "RouteDef", "RouteTableDef", "StaticDef"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_inside_its_layer(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (REPO / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_detectors_read_no_clock() -> None:
    for path in (REPO / "detectors").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for banned in ("datetime.now", "time.time(", "time.monotonic("):
            assert banned not in source, f"{path.name} reads the clock via {banned}"


def routing(source: str) -> list[str]:
    """What `source` does that builds an aiohttp app or routes, as `line: call`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        on = func.value if isinstance(func, ast.Attribute) else None
        on_web = isinstance(on, ast.Name) and on.id == "web"
        on_router = isinstance(on, ast.Attribute) and on.attr == "router"
        if (
            name in ROUTING_TYPES
            or name == "add_routes"
            or (on_router and name.startswith("add_"))
            or (on_web and name in ROUTE_HELPERS)
        ):
            found.append(f"{node.lineno}: {ast.unparse(func)}")
    return found


def test_only_watcher_http_builds_applications_and_routes() -> None:
    offenders = {
        str(path.relative_to(REPO)): routing(path.read_text(encoding="utf-8"))
        for package in ("watcher", "responders", "detectors")
        for path in (REPO / package).rglob("*.py")
        if HTTP not in path.parents
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_routing_check_sees_each_way_of_routing() -> None:
    source = """
app = web.Application()
app.router.add_get("/metrics", metrics)
app.add_routes([web.post("/ingest", handle)])
table = web.RouteTableDef()
route = web.RouteDef("GET", "/x", handle, {})
def annotated(routes: Sequence[web.RouteDef]) -> web.Application: ...
"""
    assert [call.partition(": ")[2] for call in routing(source)] == [
        "web.Application",
        "app.router.add_get",
        "app.add_routes",
        "web.RouteTableDef",
        "web.RouteDef",
        "web.post",
    ]


#: Where long-lived tasks may be started: the running service owns its stages, a cluster
#: process its lease and reader tasks. `watcher/http` may start request-scoped work that the
#: handler itself awaits (a shielded Slack redraw).
TASK_OWNERS = (
    REPO / "watcher" / "service",
    REPO / "watcher" / "cluster",
    REPO / "watcher" / "http",
)


def starts_tasks(source: str) -> list[int]:
    """Lines of `source` that start an asyncio task."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"create_task", "ensure_future", "TaskGroup"}
    ]


def test_only_the_service_owns_tasks() -> None:
    offenders = {
        str(path.relative_to(REPO)): starts_tasks(path.read_text(encoding="utf-8"))
        for package in ("watcher", "responders", "detectors")
        for path in (REPO / package).rglob("*.py")
        if not any(owner in path.parents for owner in TASK_OWNERS)
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert starts_tasks("t = asyncio.create_task(f())\nasync with asyncio.TaskGroup() as g: ...")
