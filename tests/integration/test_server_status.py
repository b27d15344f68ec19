"""The one writer of a server's cached status (services/server_status.py), on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from mcp_orch_app import db
from mcp_orch_app.models import (
    Activity,
    McpServer,
    McpTool,
    ServerLog,
    ServerLogCategory,
    ServerStatus,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import projects, server_status, servers
from mcp_orch_app.services.errors import NotFound
from mcp_orch_app.services.schemas import ServerIn

TOOLS = [
    {"name": "echo", "description": "Echo", "inputSchema": {"type": "object"}},
    {"name": "add", "description": "Add", "inputSchema": {"type": "object"}},
]


@pytest.fixture
def server_id(engine, make_person):
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "status")
        server = servers.create_server(
            s, owner.actor, project.id, ServerIn(name="alpha", command="true")
        )
    return server.id


def _record(engine, server_id, **kwargs):
    kwargs.setdefault("tools", None)
    kwargs.setdefault("error", None)
    with db.session_scope(engine) as s:
        return server_status.record_check(s, server_id, **kwargs)


def _server(engine, server_id) -> McpServer:
    with Session(engine) as s:
        return s.get(McpServer, server_id)


def _status_logs(engine, server_id) -> list[ServerLog]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(ServerLog)
                .where(
                    ServerLog.server_id == server_id,
                    ServerLog.category == ServerLogCategory.STATUS_CHANGE,
                )
                .order_by(col(ServerLog.id))
            )
        )


def _status_activity(engine) -> list[Activity]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Activity)
                .where(Activity.action == "server.status_changed")
                .order_by(col(Activity.id))
            )
        )


def test_successful_check_marks_online_and_syncs_tools(engine, server_id):
    before = utcnow()
    old, new = _record(engine, server_id, ok=True, tools=TOOLS)

    assert (old, new) == (ServerStatus.UNKNOWN, ServerStatus.ONLINE)
    server = _server(engine, server_id)
    assert server.status == ServerStatus.ONLINE
    assert server.tools_count == 2
    assert server.last_error is None
    assert server.last_checked_at is not None and server.last_checked_at >= before
    with Session(engine) as s:
        names = set(s.exec(select(McpTool.name).where(McpTool.server_id == server_id)))
    assert names == {"echo", "add"}
    (log,) = _status_logs(engine, server_id)
    assert log.details["old_status"] == "unknown" and log.details["new_status"] == "online"
    (feed,) = _status_activity(engine)
    assert feed.actor_name == "system"
    assert "alpha is online" in feed.description


def test_unchanged_status_writes_no_log_or_activity(engine, server_id):
    _record(engine, server_id, ok=True, tools=TOOLS)
    old, new = _record(engine, server_id, ok=True, tools=TOOLS[:1])

    assert old == new == ServerStatus.ONLINE
    assert _server(engine, server_id).tools_count == 1  # the tool that vanished is gone
    assert len(_status_logs(engine, server_id)) == 1
    assert len(_status_activity(engine)) == 1


def test_unreachable_server_goes_offline_and_keeps_its_cached_tools(engine, server_id):
    _record(engine, server_id, ok=True, tools=TOOLS)
    old, new = _record(
        engine, server_id, ok=False, error="command not found: nope", unreachable=True
    )

    assert (old, new) == (ServerStatus.ONLINE, ServerStatus.OFFLINE)
    server = _server(engine, server_id)
    assert server.last_error == "command not found: nope"
    assert server.tools_count == 2
    logs = _status_logs(engine, server_id)
    assert logs[-1].message == "server alpha went offline: command not found: nope"
    assert _status_activity(engine)[-1].description == logs[-1].message


def test_failed_check_of_a_running_server_is_an_error(engine, server_id):
    old, new = _record(engine, server_id, ok=False, error="tools/list failed: boom")
    assert (old, new) == (ServerStatus.UNKNOWN, ServerStatus.ERROR)
    assert _server(engine, server_id).last_error == "tools/list failed: boom"


def test_success_after_failure_clears_the_last_error(engine, server_id):
    _record(engine, server_id, ok=False, error="down", unreachable=True)
    _record(engine, server_id, ok=True, tools=TOOLS)
    server = _server(engine, server_id)
    assert server.status == ServerStatus.ONLINE and server.last_error is None


def test_check_of_a_disabled_server_changes_nothing(engine, server_id):
    with db.session_scope(engine) as s:
        row = s.get(McpServer, server_id)
        row.enabled, row.status = False, ServerStatus.DISABLED
    old, new = _record(engine, server_id, ok=True, tools=TOOLS)
    assert old == new == ServerStatus.DISABLED
    assert _server(engine, server_id).last_checked_at is None
    assert _status_logs(engine, server_id) == []


def test_older_check_never_overwrites_a_newer_one(engine, server_id):
    now = utcnow()
    _record(engine, server_id, ok=True, tools=TOOLS, checked_at=now)
    old, new = _record(
        engine, server_id, ok=False, error="late", checked_at=now - timedelta(seconds=5)
    )
    assert old == new == ServerStatus.ONLINE
    assert _server(engine, server_id).last_error is None


def test_check_of_a_deleted_server_is_not_found(engine, server_id):
    with db.session_scope(engine) as s:
        s.delete(s.get(McpServer, server_id))
    with pytest.raises(NotFound):
        _record(engine, server_id, ok=True, tools=TOOLS)


def test_restart_is_counted(engine, server_id, make_person):
    someone = make_person("Rita")
    with db.session_scope(engine) as s:
        assert server_status.record_restart(s, server_id) == 1
    with db.session_scope(engine) as s:
        assert server_status.record_restart(s, server_id, actor=someone.actor) == 2
    assert _server(engine, server_id).restart_count == 2
    with Session(engine) as s:
        (row,) = s.exec(select(Activity).where(Activity.action == "server.restarted")).all()
    assert row.actor_id == someone.id
