"""The home dashboard: real figures from the database across the caller's projects only
(SQLite and PostgreSQL), over the service and GET /api/dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.models import McpServer
from mcp_orch_app.services import dashboard, projects, servers
from mcp_orch_app.services.schemas import ServerIn


@pytest.fixture
def writer(engine):
    log_writer = LogWriter(engine, flush_interval=0.05)
    yield log_writer
    log_writer.close(timeout=10)


@pytest.fixture
def site(engine, make_person, writer):
    owner = make_person("Olivia")
    stranger = make_person("Sam")
    with db.session_scope(engine) as s:
        apollo = projects.create_project(s, owner.actor, "Apollo").id
        gemini = projects.create_project(s, owner.actor, "Gemini").id
        alien = projects.create_project(s, stranger.actor, "Alien").id
        made = {}
        for pid, name in ((apollo, "alpha"), (apollo, "beta"), (gemini, "gamma"), (alien, "x")):
            made[name] = servers.create_server(
                s,
                owner.actor if pid != alien else stranger.actor,
                pid,
                ServerIn(name=name, command="uvx"),
            ).id
        for name, status in (("alpha", "online"), ("beta", "error"), ("gamma", "online")):
            s.exec(update(McpServer).where(McpServer.id == made[name]).values(status=status))
    now = datetime.now(UTC)
    rows = [
        (apollo, "alpha", "success", None, 1),
        (apollo, "alpha", "error", "UPSTREAM_ERROR", 2),
        (apollo, "beta", "timeout", "TIMEOUT", 3),
        (gemini, "gamma", "success", None, 4),
        (gemini, "gamma", "error", "TOOL_NOT_FOUND", 60 * 30),  # older than 24 h
        (alien, "x", "error", "UPSTREAM_ERROR", 1),  # not the owner's project
    ]
    for pid, server, status, code, minutes in rows:
        writer.submit_tool_call(
            project_id=pid,
            server_id=made[server],
            server_name=server,
            tool_name="echo",
            status=status,
            error_code=code,
            error_message=f"{code} happened" if code else None,
            created_at=now - timedelta(minutes=minutes),
        )
    assert writer.flush(timeout=10)
    return owner, stranger


def test_dashboard_counts_the_callers_projects_over_the_last_24_hours(engine, site):
    owner = site[0]
    with db.session_scope(engine) as s:
        out = dashboard.dashboard(s, owner.actor)
    assert [p.project_name for p in out.projects] == ["Apollo", "Gemini"]
    assert (out.server_count, out.calls_24h, out.errors_24h) == (3, 4, 2)
    assert out.servers_by_status["online"] == 2 and out.servers_by_status["error"] == 1
    first, second = out.projects
    assert (first.calls_24h, first.errors_24h, second.calls_24h, second.errors_24h) == (3, 2, 1, 0)
    assert [(f.project_name, f.server_name, f.error_code) for f in out.recent_failures] == [
        ("Apollo", "alpha", "UPSTREAM_ERROR"),
        ("Apollo", "beta", "TIMEOUT"),
    ]


def test_a_person_without_projects_gets_zeros(engine, make_person):
    with db.session_scope(engine) as s:
        out = dashboard.dashboard(s, make_person("Nobody").actor)
    assert (out.projects, out.server_count, out.calls_24h, out.recent_failures) == ([], 0, 0, [])


def test_rest_dashboard_answers_the_signed_in_persons_figures(api_client, site):
    stranger = site[1]
    response = api_client.get("/api/dashboard", headers=stranger.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["project_name"] for p in body["projects"]] == ["Alien"]
    assert (body["calls_24h"], body["errors_24h"]) == (1, 1)
    assert api_client.get("/api/dashboard").status_code == 401
