"""The worker page's event handlers called directly, as a forged websocket event would call them
(see tests/ui_events.py): non-administrators change nothing, administrators get what the page
promises, and bad input comes back as the form's message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.gateway.runtime import Gateway, gateway_lifespan
from mcp_orch_app.models import McpServer, ServerStatus, WorkerConfig, WorkerRun, WorkerRunStatus
from mcp_orch_app.services import projects, servers
from mcp_orch_app.ui.format import duration, until
from mcp_orch_app.ui.states.worker import WorkerState
from mcp_orch_app.worker.scheduler import HealthWorker, worker_lifespan
from tests.integration.test_live_operations import fixture_server_in, rows
from tests.integration.test_worker import eventually
from tests.ui_events import error_toasts, run_event, state_for, success_toasts

# Said in the field's unit (minutes), not in the seconds the service's API takes.
INTERVAL_MESSAGE = "The interval must be a number of minutes from 1 to 60, for example 5."


def _config(engine) -> WorkerConfig | None:
    with Session(engine) as s:
        return s.get(WorkerConfig, 1)


def info_toasts(events: list) -> list[str]:
    return [str(e.args[0][1]) for e in events if '["info"]' in str(e.args[0][1])]


async def test_forced_worker_events_from_a_regular_user_change_nothing(engine, make_person):
    member = make_person("member")
    state = state_for(WorkerState, "/admin/worker", token=member.token)

    await run_event(WorkerState.load, state)
    assert state.problem == "Only an administrator can do this."
    assert state.runs == [] and state.has_last_run is False

    state.problem, state.loading = "", False  # as if the page had loaded for them
    refused = []
    for handler, args in (
        (WorkerState.stop_schedule, ()),
        (WorkerState.start_schedule, ()),
        (WorkerState.run_now, ()),
        (WorkerState.poll, ("now",)),
    ):
        refused.append(error_toasts(await run_event(handler, state, *args)))
    await run_event(WorkerState.save_interval, state, {"interval_minutes": "1"})

    assert all(refused), refused
    assert state.interval_error == "Only an administrator can do this."
    config = _config(engine)
    assert config is None or (config.enabled, config.interval_seconds) == (True, 300)
    assert state.runs == []


async def test_an_admin_changes_the_interval_in_minutes(engine, make_person):
    admin = make_person("admin", is_admin=True)
    state = state_for(WorkerState, "/admin/worker", token=admin.token)
    await run_event(WorkerState.load, state)
    assert (state.problem, state.interval_minutes, state.running) == ("", "5", True)

    await run_event(WorkerState.save_interval, state, {"interval_minutes": "2.5"})

    assert state.interval_error == ""
    assert _config(engine).interval_seconds == 150
    assert state.interval_minutes == "2.5"
    for bad in ("0.5", "61", "abc", "", "nan", "inf"):
        await run_event(WorkerState.save_interval, state, {"interval_minutes": bad})
        assert state.interval_error == INTERVAL_MESSAGE, bad
    assert _config(engine).interval_seconds == 150


async def test_an_admin_stops_and_starts_the_schedule(engine, make_person):
    admin = make_person("admin", is_admin=True)
    state = state_for(WorkerState, "/admin/worker", token=admin.token)
    await run_event(WorkerState.load, state)

    await run_event(WorkerState.stop_schedule, state)
    assert state.running is False and state.next_run == "paused"
    assert _config(engine).enabled is False

    await run_event(WorkerState.start_schedule, state)
    assert state.running is True
    assert _config(engine).enabled is True


async def test_run_now_without_a_running_worker_says_so(engine, make_person):
    admin = make_person("admin", is_admin=True)
    state = state_for(WorkerState, "/admin/worker", token=admin.token)
    await run_event(WorkerState.load, state)

    events = await run_event(WorkerState.run_now, state)

    assert any("not running" in toast for toast in error_toasts(events))
    assert state.run_in_progress is False and state.starting_run is False


async def test_run_now_checks_the_servers_and_the_page_follows_the_run(engine, make_person):
    admin, owner = make_person("admin", is_admin=True), make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "fleet")
        server = servers.create_server(s, owner.actor, project.id, fixture_server_in("good"))
    gateway = Gateway(writer=LogWriter(engine, flush_interval=0.05))
    worker = HealthWorker(gateway=gateway, poll_interval=0.05)
    state = state_for(WorkerState, "/admin/worker", token=admin.token)

    async with gateway_lifespan(gateway), worker_lifespan(worker):
        await run_event(WorkerState.load, state)
        assert state.has_last_run is False

        started = await run_event(WorkerState.run_now, state)
        assert info_toasts(started) and state.run_in_progress is True

        def finished() -> bool:
            return any(r.status != WorkerRunStatus.RUNNING for r in rows(engine, WorkerRun))

        await eventually(finished)
        polled = await run_event(WorkerState.poll, state, "now")

    assert any("1 checked, 1 changed, 0 failed" in t for t in success_toasts(polled))
    assert state.run_in_progress is False
    assert (state.last_run.checked, state.last_run.status) == (1, "success")
    assert [run.trigger for run in state.runs] == ["manual"]
    with Session(engine) as s:
        assert s.get(McpServer, server.id).status == ServerStatus.ONLINE


def test_the_next_run_and_durations_read_naturally():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert until(now - timedelta(seconds=5), now=now) == "due now"
    assert until(now + timedelta(seconds=20), now=now) == "in less than a minute"
    assert until(now + timedelta(seconds=61), now=now) == "in 1 minute"
    assert until(now + timedelta(minutes=59, seconds=59), now=now) == "in 59 minutes"
    assert until(now + timedelta(hours=2), now=now) == "in 2 hours"
    assert [duration(ms) for ms in (None, 850, 4200, 185_000)] == [
        "",
        "850 ms",
        "4.2 s",
        "3 min 5 s",
    ]
