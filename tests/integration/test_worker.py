"""The background worker end to end, on both databases: runs against real MCP servers (the
fixture server over stdio, a command that crashes, a process that never answers), the
concurrency bound, one run at a time, leader election, the schedule and its lifespan, log
retention, and /api/workers for administrators only.

The gateway and the worker run with their real lifespans in the test's event loop; the REST API
is called in-process (httpx's ASGI transport) and finds them the way the app's routes do.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, col

from mcp_orch_app import db
from mcp_orch_app.api.app import create_api
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.gateway.runtime import Gateway, gateway_lifespan
from mcp_orch_app.models import (
    Activity,
    McpServer,
    ServerLog,
    ServerStatus,
    ToolCallLog,
    WorkerConfig,
    WorkerRun,
    WorkerRunStatus,
    WorkerRunTrigger,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import projects, servers
from mcp_orch_app.services import worker as worker_service
from mcp_orch_app.services.errors import Conflict, PermissionDenied
from mcp_orch_app.services.schemas import ServerIn
from mcp_orch_app.services.worker import WorkerConfigIn
from mcp_orch_app.worker import checks, control
from mcp_orch_app.worker.locks import AdvisoryLock
from mcp_orch_app.worker.retention import delete_old_logs
from mcp_orch_app.worker.scheduler import (
    LEADER_LOCK,
    HealthWorker,
    current_worker,
    worker_lifespan,
)
from tests.integration.test_live_operations import fixture_server_in, rows

HANG_TIMEOUT = 2
POLL = 0.05


def hanging_server(name: str, timeout: int = HANG_TIMEOUT) -> ServerIn:
    """A process that never answers the MCP handshake."""
    return ServerIn(name=name, command="sleep", args=["600"], timeout_seconds=timeout)


def crashing_server(name: str) -> ServerIn:
    return ServerIn(
        name=name, command=sys.executable, args=["-c", "import sys; sys.exit(3)"], timeout_seconds=5
    )


async def eventually(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        await asyncio.sleep(POLL)


@dataclass
class World:
    engine: Any
    gateway: Gateway
    worker: HealthWorker
    http: httpx.AsyncClient
    admin: Any
    owner: Any
    project_id: uuid.UUID

    def add(self, data: ServerIn) -> uuid.UUID:
        with db.session_scope(self.engine) as s:
            return servers.create_server(s, self.owner.actor, self.project_id, data).id

    def status_of(self, server_id: uuid.UUID) -> McpServer:
        with Session(self.engine) as s:
            return s.get(McpServer, server_id)

    def config(self) -> WorkerConfig:
        """The saved settings (the defaults while none were saved yet)."""
        with db.session_scope(self.engine) as s:
            return worker_service.worker_config(s)

    def configure(self, **fields: Any) -> None:
        fields.setdefault("interval_seconds", 300)
        with db.session_scope(self.engine) as s:
            worker_service.update_config(s, self.admin.actor, WorkerConfigIn(**fields))

    async def api(
        self, method: str, path: str, who: Any = None, json: Any = None, **params: Any
    ) -> httpx.Response:
        headers = who.headers if who is not None else {}
        return await self.http.request(
            method, f"/api/workers{path}", headers=headers, json=json, params=params
        )


@pytest.fixture
async def world(engine, make_person) -> AsyncIterator[World]:
    admin, owner = make_person("Ada", is_admin=True), make_person("Olivia")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "fleet")
    writer = LogWriter(engine, flush_interval=0.05)
    gateway = Gateway(writer=writer, backoff_initial=0.05, backoff_max=0.1)
    worker = HealthWorker(gateway=gateway, poll_interval=POLL)
    transport = httpx.ASGITransport(app=create_api())
    async with (
        gateway_lifespan(gateway),
        worker_lifespan(worker),
        httpx.AsyncClient(transport=transport, base_url="http://mcp-orch.test", timeout=60) as http,
    ):
        await eventually(lambda: worker.is_leader)
        yield World(engine, gateway, worker, http, admin, owner, project.id)


# --- runs against real servers ----------------------------------------------------------------


async def test_a_run_records_each_servers_status_and_counts_them(world):
    good = world.add(fixture_server_in("good"))
    crashing = world.add(crashing_server("crashing"))
    hanging = world.add(hanging_server("hanging"))
    off = world.add(fixture_server_in("switched-off", enabled=False))

    run = await world.worker.run()

    assert world.status_of(good).status == ServerStatus.ONLINE
    assert world.status_of(good).tools_count > 0
    assert world.status_of(crashing).status == ServerStatus.OFFLINE
    assert world.status_of(hanging).status == ServerStatus.OFFLINE
    assert f"{HANG_TIMEOUT}s" in world.status_of(hanging).last_error
    assert world.status_of(off).status == ServerStatus.DISABLED
    assert world.status_of(off).last_checked_at is None
    assert (run.trigger, run.status) == (WorkerRunTrigger.SCHEDULE, WorkerRunStatus.SUCCESS)
    assert (run.checked, run.changed, run.failed) == (3, 3, 2)
    assert {f.server_name for f in run.failures} == {"crashing", "hanging"}
    assert all(f.status == ServerStatus.OFFLINE and f.error for f in run.failures)
    (stored,) = rows(world.engine, WorkerRun)
    assert stored.status == WorkerRunStatus.SUCCESS
    assert stored.finished_at is not None and stored.duration_ms >= 0
    assert (stored.checked, stored.changed, stored.failed) == (3, 3, 2)
    feed = rows(world.engine, Activity, Activity.action == "server.status_changed")
    assert len(feed) == 3 and {a.actor_name for a in feed} == {"system"}

    # The same servers again, by hand: nothing changes, the same two fail.
    response = await world.api("POST", "/check-now", world.admin)

    assert response.status_code == 200, response.text
    again = response.json()
    assert again["trigger"] == "manual" and again["status"] == "success"
    assert (again["checked"], again["changed"], again["failed"]) == (3, 0, 2)
    assert world.status_of(good).status == ServerStatus.ONLINE
    assert len(rows(world.engine, WorkerRun)) == 2


async def test_checks_run_concurrently_never_more_than_the_bound(world, monkeypatch):
    hanging = {world.add(hanging_server(f"hang-{n}", timeout=1)) for n in range(7)}
    world.configure(concurrency=3)
    in_flight, peak, checked = 0, 0, []
    real_check = checks.check_server

    async def counted(gateway, access, **options):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        checked.append(uuid.UUID(access.server_id))
        try:
            return await real_check(gateway, access, **options)
        finally:
            in_flight -= 1

    monkeypatch.setattr(checks, "check_server", counted)

    run = await world.worker.run()

    assert peak == 3
    assert sorted(checked) == sorted(hanging)
    assert (run.checked, run.failed) == (7, 7)
    assert all(world.status_of(sid).status == ServerStatus.OFFLINE for sid in hanging)


async def test_the_worker_check_timeout_bounds_a_server_with_a_longer_one(world):
    slow = world.add(hanging_server("patient", timeout=60))
    world.configure(check_timeout_seconds=1)

    started = time.monotonic()
    run = await world.worker.run()

    assert time.monotonic() - started < 30
    assert run.failed == 1
    server = world.status_of(slow)
    assert server.status == ServerStatus.OFFLINE
    assert server.last_error.endswith("within 1s (the worker's check timeout)")
    assert world.gateway.pool.running(str(slow)) is None


async def test_a_second_run_while_one_is_in_progress_is_refused(world):
    world.add(hanging_server("hanging"))
    first = asyncio.create_task(world.worker.run())
    await eventually(lambda: bool(rows(world.engine, WorkerRun)))

    response = await world.api("POST", "/check-now", world.admin)
    with pytest.raises(Conflict, match="already in progress"):
        await world.worker.run()

    assert response.status_code == 409
    assert "already in progress" in response.json()["detail"]
    finished = await first
    assert finished.status == WorkerRunStatus.SUCCESS
    assert len(rows(world.engine, WorkerRun)) == 1


async def test_a_run_left_running_by_a_dead_process_is_closed_as_failed(world):
    with db.session_scope(world.engine) as s:
        s.add(WorkerRun(status=WorkerRunStatus.RUNNING, started_at=utcnow() - timedelta(hours=1)))
    world.add(fixture_server_in("good"))

    run = await world.worker.run()

    assert run.status == WorkerRunStatus.SUCCESS
    runs = rows(world.engine, WorkerRun)
    (leftover,) = [r for r in runs if r.id != run.id]
    assert leftover.status == WorkerRunStatus.FAILED
    assert leftover.error == worker_service.INTERRUPTED
    assert leftover.finished_at is not None


# --- the schedule -----------------------------------------------------------------------------


async def test_the_schedule_starts_and_stops_with_the_lifespan(engine):
    worker = HealthWorker(poll_interval=POLL)

    async with worker_lifespan(worker):
        assert current_worker() is worker
        await eventually(lambda: worker.next_run_at() is not None)
        delay = (worker.next_run_at() - utcnow()).total_seconds()
        assert 0 < delay <= worker_service.FIRST_RUN_DELAY.total_seconds()

    assert current_worker() is None
    assert worker.next_run_at() is None
    assert not worker.is_leader
    successor = AdvisoryLock(LEADER_LOCK)
    assert successor.try_acquire()  # the leader lock was given back
    successor.release()


async def test_start_stop_and_interval_apply_to_the_live_schedule(world):
    await eventually(lambda: world.worker.next_run_at() is not None)
    with db.session_scope(world.engine) as s:  # the last scheduled run began 10 s ago
        s.add(
            WorkerRun(status=WorkerRunStatus.SUCCESS, started_at=utcnow() - timedelta(seconds=10))
        )

    stopped = await control.stop_worker(world.admin.actor)
    assert stopped.running is False and stopped.next_run_at is None
    assert world.worker.next_run_at() is None
    assert world.config().enabled is False

    started = await control.start_worker(world.admin.actor)
    assert started.running is True
    assert world.config().enabled is True
    # One interval (300 s) after the last scheduled run.
    assert 280 < (world.worker.next_run_at() - utcnow()).total_seconds() <= 290

    changed = await control.configure_worker(
        world.admin.actor, WorkerConfigIn(interval_seconds=900)
    )
    assert changed.interval_seconds == 900 == world.config().interval_seconds
    assert changed.next_run_at == world.worker.next_run_at()
    assert 880 < (changed.next_run_at - utcnow()).total_seconds() <= 890
    actions = [
        a.action for a in rows(world.engine, Activity, col(Activity.action).startswith("worker."))
    ]
    assert sorted(actions) == ["worker.configured", "worker.started", "worker.stopped"]


async def test_the_scheduled_job_runs_the_checks(world, monkeypatch):
    good = world.add(fixture_server_in("good"))
    monkeypatch.setattr(worker_service, "FIRST_RUN_DELAY", timedelta(seconds=0.2))

    # A new interval re-plans the schedule: its first run is due at once now.
    await control.configure_worker(world.admin.actor, WorkerConfigIn(interval_seconds=60))

    def finished_scheduled_runs() -> list[WorkerRun]:
        return rows(
            world.engine,
            WorkerRun,
            WorkerRun.trigger == WorkerRunTrigger.SCHEDULE,
            WorkerRun.status == WorkerRunStatus.SUCCESS,
        )

    await eventually(lambda: bool(finished_scheduled_runs()), timeout=30)
    (run,) = finished_scheduled_runs()
    assert run.checked == 1
    assert world.status_of(good).status == ServerStatus.ONLINE


async def test_only_one_process_leads_and_another_takes_over_when_it_stops(world):
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves a single process: its worker always leads, there is no election")
    world.add(hanging_server("hanging"))
    second = HealthWorker(gateway=world.gateway, poll_interval=POLL)
    await second.start()
    try:
        await asyncio.sleep(POLL * 10)  # several attempts to take the lead
        assert world.worker.is_leader and not second.is_leader
        assert world.worker.next_run_at() is not None and second.next_run_at() is None

        # A run anywhere in the installation excludes a run in another process.
        first_run = asyncio.create_task(world.worker.run())
        await eventually(lambda: bool(rows(world.engine, WorkerRun)))
        with pytest.raises(Conflict, match="already in progress"):
            await second.run()
        await first_run

        await world.worker.stop()  # the leader's process stops
        await eventually(lambda: second.is_leader, timeout=10)
        await eventually(lambda: second.next_run_at() is not None)
        assert len(rows(world.engine, WorkerRun)) == 1
    finally:
        await second.stop()


def test_a_lock_has_one_holder_at_a_time(engine):
    first, second = AdvisoryLock("mcp-orch:test:lock"), AdvisoryLock("mcp-orch:test:lock")
    assert first.try_acquire()
    try:
        assert not first.try_acquire()  # not twice, not even by its holder
        assert not second.try_acquire()
    finally:
        first.release()
    assert second.try_acquire() and second.held
    second.release()
    assert not second.held


def test_a_lock_whose_connection_dies_is_given_up(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite locks live in the process: there is no connection to lose")
    lock = AdvisoryLock("mcp-orch:test:lock")
    assert lock.try_acquire()
    high, low = (lock.key >> 32) & 0xFFFFFFFF, lock.key & 0xFFFFFFFF
    with engine.connect() as conn:
        (terminated,) = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = :high AND objid = :low AND objsubid = 1"
            ),
            {"high": high, "low": low},
        ).one()
    assert terminated

    assert lock.still_held() is False
    assert not lock.held
    successor = AdvisoryLock("mcp-orch:test:lock")
    assert successor.try_acquire()
    successor.release()


# --- retention --------------------------------------------------------------------------------


def test_retention_deletes_exactly_the_rows_older_than_the_retention(engine, make_person):
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "logs")
    now = utcnow()
    ages = [timedelta(days=d) for d in (45, 40, 35, 33, 32, 31, 30, 29)] + [timedelta(0)] * 3
    cutoff = now - timedelta(days=30)
    with db.session_scope(engine) as s:  # oldest first, the way the log writer inserts them
        for age in ages:
            at = now - age + timedelta(seconds=1)  # "30 days" is one second young enough
            s.add(ToolCallLog(project_id=project.id, server_name="s", tool_name="t", created_at=at))
            s.add(ServerLog(project_id=project.id, message="m", created_at=at))

    deleted = delete_old_logs(30, batch_size=2, now=now)

    assert deleted == {"tool_call_logs": 6, "server_logs": 6}
    for model in (ToolCallLog, ServerLog):
        kept = rows(engine, model)
        assert len(kept) == len(ages) - 6
        assert all(row.created_at >= cutoff for row in kept)
    assert delete_old_logs(30, now=now) == {"tool_call_logs": 0, "server_logs": 0}


# --- /api/workers -----------------------------------------------------------------------------

ROUTES = [
    ("GET", "/status", None),
    ("POST", "/start", None),
    ("POST", "/stop", None),
    ("PUT", "/config", {"interval_seconds": 120}),
    ("GET", "/history", None),
    ("POST", "/check-now", None),
]


async def test_every_worker_route_refuses_non_admins_and_changes_nothing(world, make_person):
    good = world.add(fixture_server_in("good"))
    member = make_person("Mallory")
    world.configure(interval_seconds=600)

    for method, path, body in ROUTES:
        anonymous = await world.api(method, path, json=body)
        refused = await world.api(method, path, world.owner, json=body)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["detail"] == "Only an administrator can do this."
        assert (await world.api(method, path, member, json=body)).status_code == 403

    assert (world.config().enabled, world.config().interval_seconds) == (True, 600)
    assert rows(world.engine, WorkerRun) == []
    assert world.status_of(good).status == ServerStatus.UNKNOWN
    for operation in (control.worker_status, control.stop_worker, control.check_now):
        with pytest.raises(PermissionDenied):
            await operation(member.actor)


async def test_an_admin_reads_the_status_and_the_history(world):
    world.add(fixture_server_in("good"))
    before = (await world.api("GET", "/status", world.admin)).json()
    assert before["running"] is True and before["last_run"] is None
    assert before["run_in_progress"] is False
    for _ in range(3):
        assert (await world.api("POST", "/check-now", world.admin)).status_code == 200

    status = (await world.api("GET", "/status", world.admin)).json()
    history = await world.api("GET", "/history", world.admin, limit=2)

    assert status["interval_seconds"] == 300
    assert status["next_run_at"] is not None
    assert status["last_run"]["checked"] == 1 and status["last_run"]["failed"] == 0
    assert history.status_code == 200
    listed = history.json()
    assert len(listed) == 2
    assert listed[0]["id"] == status["last_run"]["id"] > listed[1]["id"]
    for key in ("started_at", "finished_at", "duration_ms", "checked", "changed", "failed"):
        assert key in listed[0]
    for limit in (0, 201, "many"):
        assert (await world.api("GET", "/history", world.admin, limit=limit)).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"interval_seconds": 59},
        {"interval_seconds": 3601},
        {"interval_seconds": -60},
        {"interval_seconds": "soon"},
        {"interval_seconds": 90.5},
        {"interval_seconds": None},
        {},
        {"interval_seconds": 120, "concurrency": 0},
        {"interval_seconds": 120, "retention_days": 0},
        {"interval_seconds": 120, "check_timeout_seconds": 601},
    ],
)
async def test_bad_worker_settings_are_refused_with_422_and_change_nothing(world, body):
    response = await world.api("PUT", "/config", world.admin, json=body)

    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    config = world.config()
    assert (config.interval_seconds, config.concurrency, config.retention_days) == (300, 50, 30)
    assert rows(world.engine, Activity, Activity.action == "worker.configured") == []


@pytest.mark.parametrize("seconds", [60, 3600])
async def test_the_interval_bounds_are_accepted(world, seconds):
    response = await world.api("PUT", "/config", world.admin, json={"interval_seconds": seconds})

    assert response.status_code == 200, response.text
    assert response.json()["interval_seconds"] == seconds == world.config().interval_seconds


async def test_the_interval_message_says_what_is_allowed(world):
    response = await world.api("PUT", "/config", world.admin, json={"interval_seconds": 30})
    assert response.json()["detail"] == (
        "The interval must be a whole number of seconds from 60 to 3600 (1 to 60 minutes)."
    )
