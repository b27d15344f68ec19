"""Bad input to the tool, log and client-config routes: a 4xx whose ``detail`` is a sentence
naming the problem, and nothing written (these routes read, except the tool switch)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import Activity, ToolPreference
from mcp_orch_app.services import projects, servers, tools
from mcp_orch_app.services.schemas import ServerIn
from tests.helpers import refused


class Site:
    def __init__(self, client, make_person, engine):
        self.client = client
        self.engine = engine
        self.owner = make_person("Olivia")
        o = self.owner.actor
        with db.session_scope(engine) as s:
            self.pid = str(projects.create_project(s, o, "Apollo").id)
            self.sid = str(
                servers.create_server(s, o, self.pid, ServerIn(name="alpha", command="uvx")).id
            )
            tools.sync_tool_cache(s, uuid.UUID(self.sid), [{"name": "get_current_time"}])

    def get(self, suffix: str, **params: Any):
        return self.client.get(
            f"/api/projects/{self.pid}{suffix}", params=params, headers=self.owner.headers
        )

    def put_tool(self, name: str, body: Any):
        return self.client.put(
            f"/api/projects/{self.pid}/servers/{self.sid}/tools/{name}",
            json=body,
            headers=self.owner.headers,
        )

    def written(self) -> tuple[int, int]:
        with db.session_scope(self.engine) as s:
            tool_activity = [
                a for a in s.exec(select(Activity)).all() if a.action.startswith("tool.")
            ]
            return len(tool_activity), len(s.exec(select(ToolPreference)).all())


@pytest.fixture
def site(api_client, make_person, engine) -> Site:
    return Site(api_client, make_person, engine)


# --- tool-calls --------------------------------------------------------------------------------

TOOL_CALL_CASES = [
    ({"cursor": "garbage!"}, ["cursor"]),
    ({"cursor": "eyJ0Ijoibm90IGEgdGltZSJ9"}, ["cursor"]),  # valid base64, not a cursor
    ({"status": "exploded"}, ["status", "exploded", "success"]),
    ({"status": "error,nope"}, ["nope"]),
    (
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        ["since", "earlier", "until"],
    ),
    ({"limit": 0}, ["limit", "200"]),
    ({"limit": 500}, ["limit", "200"]),
    ({"limit": "many"}, ["limit"]),
    ({"min_ms": 100, "max_ms": 10}, ["min_ms", "max_ms"]),
    ({"min_ms": -1}, ["min_ms"]),
    ({"since": "yesterday"}, ["since"]),
    ({"session_id": "not-a-session"}, ["session_id"]),
    ({"q": "x" * 201}, ["search", "200"]),
    ({"newer_than": -1}, ["newer_than", "between 0 and"]),
    ({"newer_than": 2**63}, ["newer_than", "between 0 and"]),
    ({"newer_than": "latest"}, ["newer_than"]),
]


@pytest.mark.parametrize(
    ("params", "words"),
    TOOL_CALL_CASES,
    ids=[
        "bad_cursor",
        "cursor_of_nothing",
        "unknown_status",
        "one_unknown_status",
        "since_after_until",
        "limit_0",
        "limit_500",
        "limit_not_a_number",
        "min_over_max",
        "negative_duration",
        "since_not_a_time",
        "bad_session_id",
        "search_too_long",
        "newer_than_negative",
        "newer_than_too_big",
        "newer_than_not_a_number",
    ],
)
def test_bad_tool_call_query_is_422(site, params, words):
    refused(site.get("/tool-calls", **params), 422, *words)


def test_tool_calls_of_an_unknown_server_is_404(site):
    refused(site.get("/tool-calls", server_id=str(uuid.uuid4())), 404, "server")
    refused(site.get("/tool-calls", server_id="alpha"), 404, "server")


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "2026-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    ],
    ids=["since_after_until", "empty_range"],
)
def test_metrics_refuse_a_backwards_or_empty_range(site, params):
    refused(site.get("/tool-calls/metrics", **params), 422, "since", "until")


def test_metrics_refuse_a_time_that_is_not_one(site):
    refused(site.get("/tool-calls/metrics", until="tomorrow-ish"), 422, "until")


# --- sessions and server logs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"state": "sleeping"}, 422, ["state", "active", "ended"]),
        ({"limit": 0}, 422, ["limit"]),
        ({"limit": 500}, 422, ["limit"]),
        ({"cursor": "%%%"}, 422, ["cursor"]),
        ({"server_id": str(uuid.uuid4())}, 404, ["server"]),
        ({"session_id": "session-7"}, 422, ["session_id", "session-7"]),
    ],
    ids=[
        "unknown_state",
        "limit_0",
        "limit_500",
        "bad_cursor",
        "unknown_server",
        "bad_session_id",
    ],
)
def test_bad_session_query_is_refused(site, params, status, words):
    refused(site.get("/sessions", **params), status, *words)


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"level": "loud"}, 422, ["level", "warning"]),
        ({"limit": 0}, 422, ["limit"]),
        ({"limit": 500}, 422, ["limit"]),
        ({"since": "last week"}, 422, ["since"]),
        ({"server_id": str(uuid.uuid4())}, 404, ["server"]),
    ],
    ids=["unknown_level", "limit_0", "limit_500", "since_not_a_time", "unknown_server"],
)
def test_bad_server_log_query_is_refused(site, params, status, words):
    refused(site.get("/server-logs", **params), status, *words)


# --- client-config -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"client": "emacs", "unified": "true"}, 422, ["emacs", "cursor", "vscode"]),
        ({"unified": "true"}, 422, ["client"]),
        ({"client": "cursor"}, 422, ["server_id", "unified"]),
        ({"client": "cursor", "unified": "true", "server_id": "{sid}"}, 422, ["not both"]),
        ({"client": "cursor", "unified": "true", "transport": "carrier-pigeon"}, 422, ["http"]),
        ({"client": "cursor", "server_id": str(uuid.uuid4())}, 404, ["server"]),
    ],
    ids=[
        "unknown_client",
        "no_client",
        "neither_server_nor_unified",
        "both_server_and_unified",
        "unknown_transport",
        "unknown_server",
    ],
)
def test_bad_client_config_request_is_refused(site, params, status, words):
    params = {k: v.format(sid=site.sid) for k, v in params.items()}
    refused(site.get("/client-config", **params), status, *words)


# --- tools -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["enabled", "required"]),
        ({"enabled": "sometimes"}, ["enabled"]),
        (None, ["body"]),
    ],
    ids=["missing_enabled", "not_a_boolean", "no_body"],
)
def test_bad_tool_switch_body_is_422_and_changes_nothing(site, body, words):
    refused(site.put_tool("get_current_time", body), 422, *words)
    assert site.written() == (0, 0)


def test_switching_an_unknown_tool_is_404_and_changes_nothing(site):
    detail = refused(site.put_tool("get_curent_time", {"enabled": False}), 404, "alpha")
    assert "get_curent_time" in detail
    assert site.written() == (0, 0)


def test_tools_of_an_unknown_server_are_404(site):
    response = site.client.get(
        f"/api/projects/{site.pid}/servers/{uuid.uuid4()}/tools", headers=site.owner.headers
    )
    refused(response, 404, "server")
