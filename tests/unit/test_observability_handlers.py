"""The handlers of the tool-call, metrics, sessions and server-log pages, run directly as a
forged websocket event would run them (see tests/ui_events.py): a non-member gets nothing, a
member gets exactly what the services return."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.services import projects, servers, tool_calls
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.schemas import ServerIn
from mcp_orch_app.ui.states import tool_calls as tool_calls_state
from mcp_orch_app.ui.states.metrics import MetricsState
from mcp_orch_app.ui.states.server_logs import ServerLogsState
from mcp_orch_app.ui.states.sessions import SessionsState
from mcp_orch_app.ui.states.time_range import resolve_range
from mcp_orch_app.ui.states.tool_calls import ToolCallsState
from tests.ui_events import error_toasts, run_event, state_for

NOT_A_MEMBER = "You are not a member of this project."


@dataclass
class Seeded:
    owner: object
    project_id: str
    alpha: str
    other_server: str
    session_id: str
    other_session_id: str
    writer: LogWriter

    def page(self, name: str, query: str = "") -> str:
        return f"/projects/{self.project_id}/{name}{query}"

    def call(self, label: str, *, status: str = "success", minutes_ago: float = 1, **fields):
        self.writer.submit_tool_call(
            project_id=self.project_id,
            server_id=self.alpha,
            server_name="alpha",
            tool_name=fields.pop("tool_name", "get_time"),
            status=status,
            arguments={"label": label, **fields.pop("arguments", {})},
            created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
            **fields,
        )


@pytest.fixture
def seeded(engine, make_person):
    """A project with calls, sessions and server logs, and another project with its own."""
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        pid = projects.create_project(s, owner.actor, "Apollo").id
        alpha = servers.create_server(s, owner.actor, pid, ServerIn(name="alpha", command="x")).id
        other = projects.create_project(s, owner.actor, "Zeus").id
        zeus = servers.create_server(s, owner.actor, other, ServerIn(name="zeus", command="x")).id
    writer = LogWriter(engine, flush_interval=0.05)
    session = writer.open_client_session(project_id=pid, server_id=alpha, client_name="Cursor")
    other_session = writer.open_client_session(project_id=other, client_name="Elsewhere")
    data = Seeded(owner, str(pid), str(alpha), str(zeus), str(session), str(other_session), writer)
    data.call("paris", arguments={"city": "Paris"}, result={"text": "noon"}, session_id=session)
    data.call(
        "boom",
        status="error",
        minutes_ago=2,
        error_code="UPSTREAM_ERROR",
        error_message="upstream exploded",
        duration_ms=40,
    )
    data.call("old", minutes_ago=90)
    writer.submit_tool_call(
        project_id=other, server_name="zeus", tool_name="get_time", arguments={"label": "zeus"}
    )
    writer.submit_server_log(
        project_id=pid, server_id=alpha, level="info", category="start", message="started"
    )
    writer.submit_server_log(
        project_id=pid, server_id=alpha, level="error", category="crash", message="segfault"
    )
    assert writer.flush(timeout=10)
    yield data
    writer.close(timeout=10)


def _labels(state) -> list[str]:
    return [json.loads(row.arguments_preview)["label"] for row in state.rows]


async def test_a_non_member_sees_nothing_on_any_observability_page(seeded, make_person):
    stranger = make_person("stranger")
    pages = [
        (ToolCallsState, "tool-calls", "rows"),
        (MetricsState, "metrics", "timeline"),
        (SessionsState, "sessions", "sessions"),
        (ServerLogsState, "logs", "logs"),
    ]
    for state_cls, name, rows in pages:
        state = state_for(state_cls, seeded.page(name), token=stranger.token)
        await run_event(state_cls.load, state)
        assert state.problem == NOT_A_MEMBER, name
        assert getattr(state, rows) == [], name
    metrics = state_for(MetricsState, seeded.page("metrics"), token=stranger.token)
    await run_event(MetricsState.load, metrics)
    assert metrics.total == 0


async def test_forced_tool_call_events_from_a_non_member_show_nothing(seeded, make_person):
    stranger = make_person("stranger")
    with db.session_scope() as s:
        call_id = tool_calls.list_tool_calls(s, seeded.owner.actor, seeded.project_id).items[0].id
    state = state_for(ToolCallsState, seeded.page("tool-calls"), token=stranger.token)

    await run_event(ToolCallsState.load, state)
    state.problem = ""  # as if the page had not been refused: the handlers must refuse anyway
    toggled = await run_event(ToolCallsState.toggle_row, state, call_id)
    await run_event(ToolCallsState.apply_filters, state, {"q": "paris"})
    await run_event(ToolCallsState.refresh, state)
    await run_event(ToolCallsState.choose_range, state, "7d")

    assert state.rows == []
    assert toggled == []  # no row of that id on the page: nothing is read
    assert state.filter_problem == NOT_A_MEMBER
    assert state.refresh_problem == NOT_A_MEMBER

    # Even a row forged into the state is not read for someone outside the project.
    owner_view = state_for(ToolCallsState, seeded.page("tool-calls"), token=seeded.owner.token)
    await run_event(ToolCallsState.load, owner_view)
    state.rows = owner_view.rows
    refused = await run_event(ToolCallsState.toggle_row, state, call_id)
    assert error_toasts(refused)
    assert not any(row.expanded or row.arguments_json for row in state.rows)


async def test_the_viewer_filters_expands_and_merges_new_calls_in(seeded):
    state = state_for(ToolCallsState, seeded.page("tool-calls"), token=seeded.owner.token)
    await run_event(ToolCallsState.load, state)
    assert _labels(state) == ["paris", "boom"]  # the last 30 minutes of this project, newest first
    assert [c.label for c in state.servers] == ["alpha"]

    await run_event(ToolCallsState.set_status, state, "error")
    assert _labels(state) == ["boom"]
    await run_event(ToolCallsState.set_status, state, "all")
    await run_event(ToolCallsState.apply_filters, state, {"q": "PARIS"})
    assert _labels(state) == ["paris"]
    await run_event(ToolCallsState.clear_filters, state)
    await run_event(ToolCallsState.choose_range, state, "24h")
    assert _labels(state) == ["paris", "boom", "old"]

    paris = state.rows[0]
    await run_event(ToolCallsState.toggle_row, state, paris.id)
    expanded = state.rows[0]
    assert expanded.expanded
    assert json.loads(expanded.arguments_json) == {"label": "paris", "city": "Paris"}
    assert json.loads(expanded.result_json) == {"text": "noon"}
    assert "\n  " in expanded.arguments_json  # indented

    seeded.call("fresh", minutes_ago=0)
    assert seeded.writer.flush(timeout=10)
    state._refreshed_epoch = 0.0  # the 30 seconds have passed
    await run_event(ToolCallsState.tick, state, "")
    assert _labels(state) == ["fresh", "paris", "boom", "old"]
    assert state.rows[1].expanded and state.rows[1].arguments_json == expanded.arguments_json

    await run_event(ToolCallsState.toggle_row, state, paris.id)
    assert not state.rows[1].expanded and state.rows[1].arguments_json == ""


async def test_load_more_follows_the_cursor_of_the_range_shown(seeded, monkeypatch):
    monkeypatch.setattr(tool_calls_state, "PAGE_SIZE", 2)
    state = state_for(ToolCallsState, seeded.page("tool-calls", "?range=24h"), seeded.owner.token)
    await run_event(ToolCallsState.load, state)
    assert _labels(state) == ["paris", "boom"] and state.next_cursor

    await run_event(ToolCallsState.load_more, state)
    assert _labels(state) == ["paris", "boom", "old"]
    assert state.next_cursor == ""
    assert await run_event(ToolCallsState.load_more, state) == []


async def test_the_timer_does_not_refresh_right_after_a_load_or_when_switched_off(seeded):
    state = state_for(ToolCallsState, seeded.page("tool-calls"), token=seeded.owner.token)
    await run_event(ToolCallsState.load, state)
    seeded.call("fresh", minutes_ago=0)
    assert seeded.writer.flush(timeout=10)

    await run_event(ToolCallsState.tick, state, "")
    assert "fresh" not in _labels(state)
    await run_event(ToolCallsState.set_auto_refresh, state, False)
    state._refreshed_epoch = 0.0
    await run_event(ToolCallsState.tick, state, "")
    assert "fresh" not in _labels(state)
    await run_event(ToolCallsState.refresh, state)
    assert _labels(state)[0] == "fresh"


async def test_bad_filters_are_explained_and_the_rows_stay(seeded):
    state = state_for(ToolCallsState, seeded.page("tool-calls"), token=seeded.owner.token)
    await run_event(ToolCallsState.load, state)
    shown = list(state.rows)

    await run_event(ToolCallsState.apply_filters, state, {"min_ms": "fast"})
    assert state.filter_problem == "The minimum duration must be a whole number of milliseconds."
    await run_event(ToolCallsState.apply_filters, state, {"min_ms": "50", "max_ms": "10"})
    assert "must not be greater" in state.filter_problem
    await run_event(ToolCallsState.apply_filters, state, {"session_id": "session-7"})
    assert "is not a session id" in state.filter_problem
    assert state.rows == shown
    # The refused filters are not kept: refreshing still works with the ones shown.
    assert (state.min_ms, state.max_ms, state.session_id) == ("", "", "")
    await run_event(ToolCallsState.refresh, state)
    assert state.refresh_problem == ""

    await run_event(ToolCallsState.apply_custom_range, state, {"since": "", "until": ""})
    assert state.range_problem == "Choose when the custom range starts."
    await run_event(
        ToolCallsState.apply_custom_range,
        state,
        {"since": "2026-01-02T10:00", "until": "2026-01-01T10:00"},
    )
    assert state.range_problem == "The custom range must end after it starts."
    assert state.range_key == "30m"
    # Unknown choices are ignored rather than sent on.
    await run_event(ToolCallsState.set_server, state, seeded.other_server)
    await run_event(ToolCallsState.choose_range, state, "1y")
    assert (state.server_id, state.range_key) == ("all", "30m")


async def test_a_session_link_opens_the_calls_of_that_session(seeded):
    path = seeded.page("tool-calls", f"?session={seeded.session_id}&range=1h")
    state = state_for(ToolCallsState, path, token=seeded.owner.token)
    await run_event(ToolCallsState.load, state)
    assert (state.session_id, state.range_key) == (seeded.session_id, "1h")
    assert _labels(state) == ["paris"]
    assert state.rows[0].session_id == seeded.session_id

    sessions = state_for(
        SessionsState, seeded.page("sessions", f"?session={seeded.session_id}"), seeded.owner.token
    )
    await run_event(SessionsState.load, sessions)
    assert [s.id for s in sessions.sessions] == [seeded.session_id]
    assert sessions.sessions[0].endpoint == "alpha"
    other = state_for(
        SessionsState,
        seeded.page("sessions", f"?session={seeded.other_session_id}"),
        seeded.owner.token,
    )
    await run_event(SessionsState.load, other)
    assert other.sessions == [] and other.problem == ""


async def test_sessions_filter_by_state(seeded):
    seeded.writer.end_client_session(seeded.session_id)
    assert seeded.writer.flush(timeout=10)
    state = state_for(SessionsState, seeded.page("sessions"), token=seeded.owner.token)
    await run_event(SessionsState.load, state)
    assert [s.id for s in state.sessions] == [seeded.session_id]
    await run_event(SessionsState.set_state_filter, state, "active")
    assert state.sessions == []
    await run_event(SessionsState.set_state_filter, state, "ended")
    assert [s.id for s in state.sessions] == [seeded.session_id]
    assert state.sessions[0].ended_at.endswith("UTC")


async def test_metrics_show_the_services_figures(seeded):
    state = state_for(MetricsState, seeded.page("metrics"), token=seeded.owner.token)
    await run_event(MetricsState.load, state)
    with db.session_scope() as s:
        since = datetime.now(UTC) - timedelta(minutes=30)
        expected = tool_calls.tool_call_metrics(
            s, seeded.owner.actor, seeded.project_id, since=since
        )
    assert (state.total, state.success, state.failed) == (expected.total, 1, 1) == (2, 1, 1)
    assert state.success_rate == "50.0 %"
    assert [(t.tool, t.total, t.failed) for t in state.top_tools] == [("get_time", 2, 1)]
    assert [(e.error_code, e.count) for e in state.error_codes] == [("UPSTREAM_ERROR", 1)]
    assert sum(point["success"] + point["error"] for point in state.timeline) == 2

    await run_event(MetricsState.choose_range, state, "24h")
    assert state.total == 3


async def test_server_logs_filter_by_level_and_server(seeded):
    state = state_for(ServerLogsState, seeded.page("logs"), token=seeded.owner.token)
    await run_event(ServerLogsState.load, state)
    assert [log.message for log in state.logs] == ["segfault", "started"]
    assert state.logs[0].server_name == "alpha"
    await run_event(ServerLogsState.set_level, state, "error")
    assert [log.message for log in state.logs] == ["segfault"]
    await run_event(ServerLogsState.set_server, state, seeded.alpha)
    assert state.server_id == seeded.alpha
    assert [log.message for log in state.logs] == ["segfault"]
    # Another project's server is not one of the choices: the filter falls back to all.
    await run_event(ServerLogsState.set_server, state, seeded.other_server)
    assert state.server_id == "all"


def test_custom_ranges_are_read_as_utc():
    since, until = resolve_range("custom", "2026-03-01T10:00", "2026-03-01T12:30")
    assert (since, until) == (
        datetime(2026, 3, 1, 10, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    )
    since, until = resolve_range("custom", "2026-03-01T10:00+02:00")
    assert (since, until) == (datetime(2026, 3, 1, 8, tzinfo=UTC), None)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert resolve_range("15m", now=now) == (now - timedelta(minutes=15), None)
    for key, since_text, until_text in (
        ("custom", "yesterday", ""),
        ("custom", "2026-03-01T10:00", "2026-03-01T10:00"),
        ("forever", "", ""),
    ):
        with pytest.raises(InvalidInput):
            resolve_range(key, since_text, until_text)
