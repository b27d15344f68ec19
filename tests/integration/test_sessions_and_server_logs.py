"""Client sessions and server logs as the REST API lists them (rows recorded by the real log
writer): filters, newest first, and the session list's pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn


class Site:
    def __init__(self, client, make_person, engine):
        self.client = client
        self.owner = make_person("Olivia")
        self.reporter = make_person("Rita")
        o = self.owner.actor
        with db.session_scope(engine) as s:
            self.pid = projects.create_project(s, o, "Apollo").id
            projects.add_member(s, o, self.pid, self.reporter.email, "reporter")
            self.alpha = servers.create_server(
                s, o, self.pid, ServerIn(name="alpha", command="x")
            ).id
            self.beta = servers.create_server(s, o, self.pid, ServerIn(name="beta", command="x")).id
            key = api_keys.create_api_key(s, o, self.pid, ApiKeyIn(name="laptop"))
            self.key_id, self.key_prefix = key.id, key.prefix
            other = projects.create_project(s, o, "Zeus").id
        self.other = other

    def get(self, suffix: str, **params):
        response = self.client.get(
            f"/api/projects/{self.pid}{suffix}", params=params, headers=self.reporter.headers
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def site(api_client, make_person, engine):
    return Site(api_client, make_person, engine)


@pytest.fixture
def writer(engine):
    log_writer = LogWriter(engine, flush_interval=0.05)
    yield log_writer
    log_writer.close(timeout=10)


def test_sessions_list_newest_first_with_key_endpoint_and_counts(site, writer):
    now = datetime.now(UTC)
    cursor_session = writer.open_client_session(
        project_id=site.pid,
        server_id=site.alpha,
        api_key_id=site.key_id,
        client_name="Cursor",
        client_version="1.2.3",
        ip="10.0.0.7",
        protocol_version="2025-11-25",
        started_at=now - timedelta(minutes=10),
    )
    cline_session = writer.open_client_session(
        project_id=site.pid, client_name="Cline", started_at=now - timedelta(minutes=5)
    )
    elsewhere = writer.open_client_session(project_id=site.other, client_name="Elsewhere")
    writer.touch_client_session(cursor_session, success=True)
    writer.touch_client_session(cursor_session, success=False)
    writer.end_client_session(cursor_session)
    assert writer.flush(timeout=10)

    items = site.get("/sessions")["items"]
    assert [i["client_name"] for i in items] == ["Cline", "Cursor"]
    cline, cursor = items
    assert cline["unified"] is True and cline["server_name"] is None and cline["active"] is True
    assert cursor["server_name"] == "alpha" and cursor["unified"] is False
    assert (cursor["key_name"], cursor["key_prefix"]) == ("laptop", site.key_prefix)
    assert (cursor["client_version"], cursor["ip"]) == ("1.2.3", "10.0.0.7")
    assert (cursor["total_calls"], cursor["successful_calls"], cursor["failed_calls"]) == (2, 1, 1)
    assert cursor["active"] is False and cursor["ended_at"] is not None
    assert cursor["last_activity_at"] is not None

    assert [i["id"] for i in site.get("/sessions", state="active")["items"]] == [str(cline_session)]
    assert [i["id"] for i in site.get("/sessions", state="ended")["items"]] == [str(cursor_session)]
    assert [i["id"] for i in site.get("/sessions", server_id=str(site.alpha))["items"]] == [
        str(cursor_session)
    ]
    assert [i["id"] for i in site.get("/sessions", unified="true")["items"]] == [str(cline_session)]
    one = site.get("/sessions", session_id=str(cursor_session))["items"]
    assert [i["id"] for i in one] == [str(cursor_session)]
    assert site.get("/sessions", session_id=str(cursor_session), state="active")["items"] == []
    # Another project's session is not found through this one.
    assert site.get("/sessions", session_id=str(elsewhere))["items"] == []


def test_session_pages_walk_every_session_once(site, writer):
    at = datetime.now(UTC).replace(microsecond=0)
    opened = {
        str(
            writer.open_client_session(
                project_id=site.pid, started_at=at - timedelta(seconds=n // 3)
            )
        )
        for n in range(8)
    }
    assert writer.flush(timeout=10)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = site.get("/sessions", **params)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
    assert set(seen) == opened


def test_server_logs_filter_by_server_minimum_level_and_time(site, writer):
    now = datetime.now(UTC)
    rows = [
        (site.alpha, "debug", "start", "spawning", 50),
        (site.alpha, "info", "start", "started", 40),
        (site.alpha, "warning", "stderr", "deprecated flag", 30),
        (site.beta, "error", "crash", "exited with 1", 20),
        (site.alpha, "error", "crash", "segfault", 10),
    ]
    for server, level, category, message, ago in rows:
        writer.submit_server_log(
            project_id=site.pid,
            server_id=server,
            level=level,
            category=category,
            message=message,
            created_at=now - timedelta(minutes=ago),
        )
    writer.submit_server_log(
        project_id=site.other, server_id=None, category="check", message="elsewhere"
    )
    assert writer.flush(timeout=10)

    def messages(**params):
        return [row["message"] for row in site.get("/server-logs", **params)]

    assert messages() == [
        "segfault",
        "exited with 1",
        "deprecated flag",
        "started",
        "spawning",
    ]
    assert messages(level="warning") == ["segfault", "exited with 1", "deprecated flag"]
    assert messages(level="error", server_id=str(site.alpha)) == ["segfault"]
    assert messages(since=(now - timedelta(minutes=35)).isoformat()) == [
        "segfault",
        "exited with 1",
        "deprecated flag",
    ]
    assert messages(limit=2) == ["segfault", "exited with 1"]
    first = site.get("/server-logs", limit=1)[0]
    assert first["server_name"] == "alpha"
    assert (first["level"], first["category"]) == ("error", "crash")


def test_server_logs_search_text_time_range_and_tail(site, writer):
    now = datetime.now(UTC)
    rows = [
        (site.alpha, "info", "stderr", "Listening on port 8080", 50),
        (site.alpha, "warning", "stderr", "Deprecated flag --port", 40),
        (site.alpha, "info", "stderr", "100% ready_now", 30),
        (site.beta, "error", "crash", "exited with 1", 20),
    ]
    for server, level, category, message, ago in rows:
        writer.submit_server_log(
            project_id=site.pid,
            server_id=server,
            level=level,
            category=category,
            message=message,
            created_at=now - timedelta(minutes=ago),
        )
    assert writer.flush(timeout=10)

    def messages(**params):
        return [row["message"] for row in site.get("/server-logs", **params)]

    assert messages(q="PORT") == ["Deprecated flag --port", "Listening on port 8080"]
    # % and _ are literal, not wildcards.
    assert messages(q="100%") == ["100% ready_now"]
    assert messages(q="y_n") == ["100% ready_now"]
    assert messages(q="d_f") == []
    assert messages(q="CRASH") == ["exited with 1"]  # the category counts too
    window = {
        "since": (now - timedelta(minutes=45)).isoformat(),
        "until": (now - timedelta(minutes=25)).isoformat(),
    }
    assert messages(**window) == ["100% ready_now", "Deprecated flag --port"]
    assert messages(q="port", **window) == ["Deprecated flag --port"]
    newest = site.get("/server-logs", limit=1)[0]
    assert messages(after_id=newest["id"]) == []
    writer.submit_server_log(
        project_id=site.pid, server_id=site.alpha, category="stderr", message="a new line"
    )
    assert writer.flush(timeout=10)
    assert messages(after_id=newest["id"]) == ["a new line"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 201},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"after_id": -1},
        {"until": "yesterday"},
    ],
)
def test_bad_server_log_filters_are_refused_with_a_4xx(site, params):
    response = site.client.get(
        f"/api/projects/{site.pid}/server-logs", params=params, headers=site.reporter.headers
    )
    assert 400 <= response.status_code < 500, response.text
