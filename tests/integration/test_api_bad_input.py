"""Bad input over the REST API: a 4xx whose ``detail`` is a sentence a person can act on, and
nothing written.

Every case checks three things: the status code, that ``detail`` is a string naming the field
or the problem, and that listing afterwards shows exactly what was there before.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, select

from mcp_orch_app import db
from mcp_orch_app.models import Activity, LoginSession, McpServer
from mcp_orch_app.services import api_keys, projects, servers, teams
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn, TeamIn
from tests.helpers import ok, refused

PASSWORD = "correct horse battery"  # the password of every make_person account (conftest)


class Site:
    """One project "Apollo" of ``owner`` with the stdio server "alpha" and the key "laptop";
    the team "Core" of ``owner``; and an administrator who belongs to nothing."""

    def __init__(self, client, make_person, engine):
        self.client = client
        self.engine = engine
        self.owner = make_person("Olivia")
        self.admin = make_person("Ada", is_admin=True)
        self.other = make_person("Otto")
        # Built through the services in one transaction (the code the routes call): fast.
        o = self.owner.actor
        with db.session_scope(engine) as s:
            self.pid = str(projects.create_project(s, o, "Apollo").id)
            server = ServerIn(
                name="alpha",
                command="uvx",
                args=["mcp-server-time"],
                env={"API_TOKEN": "s3cret-token-value", "SHORT": "abc"},
            )
            self.sid = str(servers.create_server(s, o, self.pid, server).id)
            self.kid = str(api_keys.create_api_key(s, o, self.pid, ApiKeyIn(name="laptop")).id)
            self.tid = str(teams.create_team(s, o, TeamIn(name="Core")).id)

    def p(self, suffix: str = "") -> str:
        return f"/api/projects/{self.pid}{suffix}"

    def get(self, path: str, headers=None) -> Any:
        return ok(self.client.get(path, headers=headers or self.admin.headers), 200)

    def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table (only a login session's ``last_seen_at`` may move: each
        authenticated request touches it)."""
        state = {}
        with self.engine.connect() as conn:
            for table in SQLModel.metadata.sorted_tables:
                columns = [
                    c
                    for c in table.columns
                    if not (table.name == "login_sessions" and c.name == "last_seen_at")
                ]
                rows = conn.execute(sa_select(*columns))
                state[table.name] = sorted(repr(tuple(row)) for row in rows)
        return state


@pytest.fixture
def site(api_client, make_person, engine) -> Site:
    return Site(api_client, make_person, engine)


def _stored_server(engine, server_id: str) -> McpServer:
    """The row as stored, with env and headers decrypted by the column type."""
    with Session(engine) as s:
        return s.get(McpServer, uuid.UUID(server_id))


# --- sign-up and login ------------------------------------------------------------------------

SIGNUP_CASES = [
    pytest.param(
        {"email": "not-an-email", "password": "long enough pw", "name": "X"},
        422,
        ["email"],
        id="bad_email",
    ),
    pytest.param(
        {"email": "a@", "password": "long enough pw"}, 422, ["email"], id="email_without_domain"
    ),
    pytest.param(
        {"email": "new@example.com", "password": "short", "name": "X"},
        422,
        ["password", "10"],
        id="short_password",
    ),
    pytest.param({}, 422, ["email", "password", "required"], id="missing_fields"),
    pytest.param(
        {"email": "new@example.com"}, 422, ["password", "required"], id="missing_password"
    ),
    pytest.param(
        {"email": "olivia@example.com", "password": "long enough pw"},
        409,
        ["already exists"],
        id="duplicate_email",
    ),
    pytest.param(
        {"email": "  OLIVIA@Example.COM ", "password": "long enough pw"},
        409,
        ["already exists"],
        id="duplicate_email_other_case",
    ),
    pytest.param(
        {"email": 42, "password": "long enough pw"}, 422, ["email", "string"], id="email_not_text"
    ),
]


@pytest.mark.parametrize(("body", "status", "words"), SIGNUP_CASES)
def test_signup_with_bad_input_is_refused_and_creates_no_account(site, body, status, words):
    before = site.snapshot()
    refused(site.client.post("/api/auth/signup", json=body), status, *words)
    assert site.snapshot() == before


def test_signup_with_malformed_json_is_refused(site):
    before = site.snapshot()
    response = site.client.post(
        "/api/auth/signup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    refused(response, 422, "JSON")
    assert site.snapshot() == before


def test_signup_when_closed_is_refused(site):
    ok(
        site.client.put(
            "/api/admin/settings", json={"signup_open": False}, headers=site.admin.headers
        ),
        200,
    )
    before = site.snapshot()
    body = {"email": "late@example.com", "password": "long enough pw"}
    refused(site.client.post("/api/auth/signup", json=body), 403, "closed")
    assert site.snapshot() == before


def _login_sessions(engine, user_id) -> int:
    with Session(engine) as s:
        return len(s.exec(select(LoginSession.id).where(LoginSession.user_id == user_id)).all())


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("olivia@example.com", "wrong password", id="wrong_password"),
        pytest.param("olivia@example.com", "", id="empty_password"),
        pytest.param("nobody@example.com", PASSWORD, id="unknown_email"),
        pytest.param("not an email", PASSWORD, id="malformed_email"),
    ],
)
def test_login_with_bad_credentials_is_401_without_a_session(site, engine, email, password):
    sessions = _login_sessions(engine, site.owner.id)
    response = site.client.post("/api/auth/login", json={"email": email, "password": password})
    # One message for all: it must not tell which of the two was wrong.
    assert refused(response, 401) == "Incorrect email or password."
    assert response.headers["www-authenticate"] == "Bearer"
    assert _login_sessions(engine, site.owner.id) == sessions


def test_login_without_password_field_is_422(site):
    response = site.client.post("/api/auth/login", json={"email": "olivia@example.com"})
    refused(response, 422, "password", "required")


def test_login_with_the_right_password_works(site):
    body = {"email": "Olivia@Example.com", "password": PASSWORD}
    assert ok(site.client.post("/api/auth/login", json=body), 200)["token_type"] == "bearer"


# --- own profile and password -----------------------------------------------------------------


def test_profile_with_empty_name_is_refused(site):
    refused(
        site.client.patch("/api/auth/me", json={"name": "  "}, headers=site.owner.headers),
        422,
        "name",
    )
    assert site.get("/api/auth/me", site.owner.headers)["name"] == "Olivia"


def test_password_change_with_wrong_current_password_is_refused(site):
    body = {"current_password": "not it", "new_password": "a brand new password"}
    response = site.client.post("/api/auth/password", json=body, headers=site.owner.headers)
    refused(response, 422, "current password")
    login = {"email": site.owner.email, "password": PASSWORD}
    assert site.client.post("/api/auth/login", json=login).status_code == 200


def test_password_change_to_a_short_password_is_refused(site):
    body = {"current_password": PASSWORD, "new_password": "short"}
    response = site.client.post("/api/auth/password", json=body, headers=site.owner.headers)
    refused(response, 422, "password", "10")
    login = {"email": site.owner.email, "password": PASSWORD}
    assert site.client.post("/api/auth/login", json=login).status_code == 200


# --- projects ---------------------------------------------------------------------------------

PROJECT_BODIES = [
    pytest.param({"name": ""}, ["name", "empty"], id="empty_name"),
    pytest.param({"name": "   \t "}, ["name", "empty"], id="whitespace_name"),
    pytest.param({"name": "x" * 101}, ["name", "100"], id="too_long_name"),
    pytest.param({"description": "no name"}, ["name", "required"], id="missing_name"),
    pytest.param({"name": 123}, ["name", "string"], id="name_not_text"),
    pytest.param(
        {"name": "Ok", "description": "d" * 1001}, ["description", "1000"], id="long_desc"
    ),
    pytest.param(["Apollo"], ["object"], id="body_is_a_list"),
]


@pytest.mark.parametrize(("body", "words"), PROJECT_BODIES)
def test_project_create_with_bad_body_is_422_and_creates_nothing(site, body, words):
    before = site.snapshot()
    response = site.client.post("/api/projects", json=body, headers=site.owner.headers)
    refused(response, 422, *words)
    assert site.snapshot() == before


def test_project_create_without_body_is_422_and_creates_nothing(site):
    before = site.snapshot()
    response = site.client.post("/api/projects", headers=site.owner.headers)
    refused(response, 422, "body")
    assert site.snapshot() == before


def test_project_create_with_malformed_json_is_422_and_creates_nothing(site):
    before = site.snapshot()
    response = site.client.post(
        "/api/projects",
        content=b"{not json",
        headers={**site.owner.headers, "Content-Type": "application/json"},
    )
    refused(response, 422, "not valid JSON")
    assert site.snapshot() == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param({"name": ""}, ["name", "empty"], id="empty_name"),
        pytest.param({"name": "  "}, ["name", "empty"], id="whitespace_name"),
        pytest.param({"name": "y" * 101}, ["name", "100"], id="too_long_name"),
        pytest.param({"allow_anonymous": "perhaps"}, ["allow_anonymous"], id="not_a_boolean"),
    ],
)
def test_project_update_with_bad_body_is_422_and_changes_nothing(site, body, words):
    before = site.snapshot()
    response = site.client.patch(site.p(), json=body, headers=site.owner.headers)
    refused(response, 422, *words)
    assert site.snapshot() == before


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1000", "limit=ten", "before_id=0"], ids=lambda q: q
)
def test_activity_with_bad_query_is_422(site, query):
    field = query.split("=")[0]
    refused(site.client.get(site.p(f"/activity?{query}"), headers=site.owner.headers), 422, field)


# --- members ----------------------------------------------------------------------------------

MEMBER_CASES = [
    pytest.param(
        {"email": "ghost@example.com", "role": "developer"},
        404,
        ["ghost@example.com", "sign up"],
        id="unknown_email",
    ),
    pytest.param({"email": "otto@example.com", "role": "admin"}, 422, ["role"], id="bad_role"),
    pytest.param({"email": "not an email", "role": "developer"}, 422, ["email"], id="bad_email"),
    pytest.param({"role": "developer"}, 422, ["email", "required"], id="missing_email"),
    pytest.param(
        {"email": "olivia@example.com", "role": "developer"},
        409,
        ["already a member"],
        id="duplicate",
    ),
    pytest.param(
        {"email": "OLIVIA@example.com", "role": "reporter"},
        409,
        ["already a member"],
        id="duplicate_other_case",
    ),
]


@pytest.mark.parametrize(("body", "status", "words"), MEMBER_CASES)
def test_member_add_with_bad_input_is_refused_and_adds_nobody(site, body, status, words):
    before = site.snapshot()
    response = site.client.post(site.p("/members"), json=body, headers=site.owner.headers)
    refused(response, status, *words)
    assert site.snapshot() == before


@pytest.mark.parametrize(("body", "status", "words"), MEMBER_CASES)
def test_team_member_add_with_bad_input_is_refused_and_adds_nobody(site, body, status, words):
    before = site.snapshot()
    path = f"/api/teams/{site.tid}/members"
    refused(site.client.post(path, json=body, headers=site.owner.headers), status, *words)
    assert site.snapshot() == before


def test_member_role_change_to_unknown_role_is_422(site):
    ok(
        site.client.post(
            site.p("/members"),
            json={"email": site.other.email, "role": "reporter"},
            headers=site.owner.headers,
        ),
        201,
    )
    before = site.snapshot()
    response = site.client.patch(
        site.p(f"/members/{site.other.id}"), json={"role": "superuser"}, headers=site.owner.headers
    )
    refused(response, 422, "role")
    assert site.snapshot() == before


def test_adding_a_team_twice_is_409(site):
    body = {"team_id": site.tid, "role": "reporter"}
    ok(site.client.post(site.p("/teams"), json=body, headers=site.owner.headers), 201)
    before = site.snapshot()
    refused(
        site.client.post(site.p("/teams"), json=body, headers=site.owner.headers),
        409,
        "Core",
        "already",
    )
    assert site.snapshot() == before


def test_adding_a_team_with_a_malformed_id_is_422(site):
    before = site.snapshot()
    body = {"team_id": "abc", "role": "reporter"}
    refused(
        site.client.post(site.p("/teams"), json=body, headers=site.owner.headers), 422, "team_id"
    )
    assert site.snapshot() == before


# --- servers ----------------------------------------------------------------------------------

SERVER_CASES = [
    pytest.param(
        {"name": "beta", "transport": "stdio"}, 422, ["command"], id="stdio_without_command"
    ),
    pytest.param({"name": "beta", "command": "   "}, 422, ["command"], id="stdio_blank_command"),
    pytest.param({"name": "beta", "transport": "sse"}, 422, ["url"], id="sse_without_url"),
    pytest.param(
        {"name": "beta", "transport": "streamable_http"}, 422, ["url"], id="http_without_url"
    ),
    pytest.param(
        {"name": "beta", "transport": "sse", "url": "ftp://example.com/sse"},
        422,
        ["url", "http"],
        id="url_not_http",
    ),
    pytest.param(
        {"name": "beta", "transport": "sse", "url": "javascript:alert(1)"},
        422,
        ["url", "http"],
        id="url_javascript",
    ),
    pytest.param(
        {"name": "beta", "transport": "sse", "url": "http://"}, 422, ["url"], id="url_without_host"
    ),
    pytest.param(
        {"name": "beta", "transport": "websocket", "url": "https://example.com"},
        422,
        ["transport", "websocket", "stdio"],
        id="unknown_transport",
    ),
    pytest.param(
        {"name": "alpha", "command": "npx"}, 409, ["alpha", "already exists"], id="duplicate_name"
    ),
    pytest.param(
        {"name": "ALPHA", "command": "npx"},
        409,
        ["ALPHA", "already exists"],
        id="duplicate_name_other_case",
    ),
    pytest.param(
        {"name": "my server", "command": "npx"}, 422, ["name", "letters"], id="name_with_space"
    ),
    pytest.param(
        {"name": "my__server", "command": "npx"},
        422,
        ["name", "__"],
        id="name_with_double_underscore",
    ),
    pytest.param({"name": "-dash", "command": "npx"}, 422, ["name"], id="name_starting_with_dash"),
    pytest.param({"name": "a/b", "command": "npx"}, 422, ["name"], id="name_with_slash"),
    pytest.param({"name": "", "command": "npx"}, 422, ["name", "empty"], id="empty_name"),
    pytest.param({"name": "n" * 65, "command": "npx"}, 422, ["name", "64"], id="name_too_long"),
    pytest.param({"command": "npx"}, 422, ["name", "required"], id="missing_name"),
    pytest.param(
        {"name": "beta", "command": "npx", "env": {"1BAD": "x"}},
        422,
        ["1BAD", "environment"],
        id="env_name_starts_with_digit",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "env": {"A-B": "x"}},
        422,
        ["A-B", "environment"],
        id="env_name_with_dash",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "env": {"A=B": "x"}},
        422,
        ["A=B"],
        id="env_name_with_equals",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "env": {"A": "x\x00y"}},
        422,
        ["A", "NUL"],
        id="env_value_with_nul",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "env": {"A": 1}}, 422, ["env"], id="env_value_not_text"
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "env": ["A=1"]}, 422, ["env"], id="env_not_an_object"
    ),
    pytest.param(
        {
            "name": "beta",
            "transport": "sse",
            "url": "https://example.com/sse",
            "headers": {"X-Token": "a\r\nInjected: 1"},
        },
        422,
        ["X-Token", "single line"],
        id="header_with_newline",
    ),
    pytest.param(
        {
            "name": "beta",
            "transport": "sse",
            "url": "https://example.com/sse",
            "headers": {"X-Token": "a\nb"},
        },
        422,
        ["X-Token"],
        id="header_with_lf",
    ),
    pytest.param(
        {
            "name": "beta",
            "transport": "sse",
            "url": "https://example.com/sse",
            "headers": {"Bad Header": "x"},
        },
        422,
        ["Bad Header", "header"],
        id="header_name_with_space",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "timeout_seconds": 0},
        422,
        ["timeout_seconds"],
        id="timeout_zero",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "timeout_seconds": 99999},
        422,
        ["timeout_seconds", "3600"],
        id="timeout_99999",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "timeout_seconds": -5},
        422,
        ["timeout_seconds"],
        id="timeout_negative",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "timeout_seconds": "soon"},
        422,
        ["timeout_seconds"],
        id="timeout_not_a_number",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "args": "--port 80"}, 422, ["args"], id="args_not_a_list"
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "args": [1, 2]}, 422, ["args"], id="args_not_text"
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "colour": "red"},
        422,
        ["colour"],
        id="extra_unknown_field",
    ),
    pytest.param(
        {"name": "beta", "command": "npx", "enabled": "sometimes"},
        422,
        ["enabled"],
        id="enabled_not_boolean",
    ),
]


@pytest.mark.parametrize(("body", "status", "words"), SERVER_CASES)
def test_server_create_with_bad_input_is_refused_and_writes_nothing(site, body, status, words):
    before = site.snapshot()
    response = site.client.post(site.p("/servers"), json=body, headers=site.owner.headers)
    refused(response, status, *words)
    assert site.snapshot() == before


def test_server_create_with_malformed_json_is_422(site):
    before = site.snapshot()
    response = site.client.post(
        site.p("/servers"),
        content=b'{"name": "beta", "command": ',
        headers={**site.owner.headers, "Content-Type": "application/json"},
    )
    refused(response, 422, "not valid JSON")
    assert site.snapshot() == before


def test_server_rename_to_an_existing_name_is_409_and_changes_nothing(site):
    ok(
        site.client.post(
            site.p("/servers"), json={"name": "beta", "command": "npx"}, headers=site.owner.headers
        ),
        201,
    )
    before = site.snapshot()
    for name in ("beta", "BETA", " Beta "):
        response = site.client.patch(
            site.p(f"/servers/{site.sid}"),
            json={"name": name, "description": "renamed"},
            headers=site.owner.headers,
        )
        refused(response, 409, "already exists")
    assert site.snapshot() == before
    assert site.get(site.p(f"/servers/{site.sid}"))["name"] == "alpha"


def test_server_rename_changing_only_the_case_of_its_own_name_is_allowed(site):
    response = site.client.patch(
        site.p(f"/servers/{site.sid}"), json={"name": "Alpha"}, headers=site.owner.headers
    )
    assert ok(response, 200)["name"] == "Alpha"


SERVER_PATCH_CASES = [
    pytest.param({"timeout_seconds": 0}, ["timeout_seconds"], id="timeout_zero"),
    pytest.param({"timeout_seconds": 99999}, ["timeout_seconds"], id="timeout_99999"),
    pytest.param({"name": "has space"}, ["name"], id="name_with_space"),
    pytest.param({"name": "a__b"}, ["__"], id="name_with_double_underscore"),
    pytest.param({"name": ""}, ["name", "empty"], id="empty_name"),
    pytest.param({"transport": "sse"}, ["url"], id="switch_to_remote_without_url"),
    pytest.param(
        {"transport": "sse", "url": "file:///etc/passwd"},
        ["url", "http"],
        id="switch_to_remote_with_file_url",
    ),
    pytest.param({"transport": "carrier-pigeon"}, ["transport"], id="unknown_transport"),
    pytest.param({"command": None}, ["command"], id="clear_the_command_of_stdio"),
    pytest.param({"command": "  "}, ["command"], id="blank_command"),
    pytest.param({"env": {"BAD NAME": "x"}}, ["BAD NAME"], id="env_name_invalid"),
    pytest.param(
        {"env": {"NEW": "••••••"}}, ["NEW", "masked"], id="masked_value_for_a_new_env_var"
    ),
    pytest.param({"colour": "red"}, ["colour"], id="extra_unknown_field"),
]


@pytest.mark.parametrize(("body", "words"), SERVER_PATCH_CASES)
def test_server_update_with_bad_input_is_422_and_changes_nothing(site, engine, body, words):
    before = site.snapshot()
    stored = _stored_server(engine, site.sid)
    response = site.client.patch(
        site.p(f"/servers/{site.sid}"), json=body, headers=site.owner.headers
    )
    refused(response, 422, *words)
    assert site.snapshot() == before
    after = _stored_server(engine, site.sid)
    assert (after.name, after.command, after.env, after.timeout_seconds, after.transport) == (
        stored.name,
        stored.command,
        stored.env,
        stored.timeout_seconds,
        stored.transport,
    )


def test_server_update_keeps_env_values_sent_back_masked(site, engine):
    shown = site.get(site.p(f"/servers/{site.sid}"), site.owner.headers)
    assert shown["env"]["API_TOKEN"] != "s3cret-token-value"
    assert "s3cret" not in str(shown)

    # The form sends back what it was shown, plus a new variable.
    env = {**shown["env"], "REGION": "eu-west-1"}
    updated = site.client.patch(
        site.p(f"/servers/{site.sid}"), json={"env": env}, headers=site.owner.headers
    )
    assert "s3cret" not in str(ok(updated, 200))
    assert _stored_server(engine, site.sid).env == {
        "API_TOKEN": "s3cret-token-value",
        "SHORT": "abc",
        "REGION": "eu-west-1",
    }

    # A second, unrelated edit that again carries the masked values changes nothing secret.
    shown = site.get(site.p(f"/servers/{site.sid}"), site.owner.headers)
    response = site.client.patch(
        site.p(f"/servers/{site.sid}"),
        json={"env": shown["env"], "description": "second edit"},
        headers=site.owner.headers,
    )
    assert ok(response, 200)["description"] == "second edit"
    stored = _stored_server(engine, site.sid)
    assert stored.env == {"API_TOKEN": "s3cret-token-value", "SHORT": "abc", "REGION": "eu-west-1"}
    export = site.get(site.p("/servers/export"), site.owner.headers)
    assert export["mcpServers"]["alpha"]["env"] == shown["env"]

    # Replacing one value and dropping another is still possible.
    response = site.client.patch(
        site.p(f"/servers/{site.sid}"),
        json={"env": {"API_TOKEN": "rotated-token-value", "REGION": shown["env"]["REGION"]}},
        headers=site.owner.headers,
    )
    ok(response, 200)
    assert _stored_server(engine, site.sid).env == {
        "API_TOKEN": "rotated-token-value",
        "REGION": "eu-west-1",
    }


def test_server_update_keeps_headers_sent_back_masked(site, engine):
    created = ok(
        site.client.post(
            site.p("/servers"),
            json={
                "name": "remote",
                "transport": "streamable_http",
                "url": "https://example.com/mcp",
                "headers": {"Authorization": "Bearer upstream-secret-123"},
            },
            headers=site.owner.headers,
        ),
        201,
    )
    assert "upstream-secret" not in str(created)
    response = site.client.patch(
        site.p(f"/servers/{created['id']}"),
        json={"url": "https://example.org/mcp", "headers": created["headers"]},
        headers=site.owner.headers,
    )
    assert ok(response, 200)["url"] == "https://example.org/mcp"
    assert _stored_server(engine, created["id"]).headers == {
        "Authorization": "Bearer upstream-secret-123"
    }


# --- JSON import ------------------------------------------------------------------------------


def test_import_creates_the_good_entries_and_names_each_bad_one(site, engine):
    document = {
        "mcpServers": {
            "good-one": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
            "no-command": {"args": ["--flag"]},
            "weird-type": {"type": "websocket", "url": "https://example.com/ws"},
            "alpha": {"command": "npx", "args": ["evil"]},
            "ALPHA": {"command": "npx"},
            "not-an-object": "uvx mcp-server-time",
            "bad name": {"command": "uvx"},
            "bad-env": {"command": "uvx", "env": {"1X": "y"}},
            "bad-timeout": {"command": "uvx", "timeout": 0},
            "ftp-url": {"url": "ftp://example.com/mcp"},
            "good-remote": {
                "type": "sse",
                "url": "https://example.com/sse",
                "headers": {"Authorization": "Bearer t0ken-value"},
            },
        }
    }
    servers_before = site.get(site.p("/servers"))
    response = site.client.post(
        site.p("/servers/import"), json=document, headers=site.owner.headers
    )
    result = ok(response, 200)

    assert [c["name"] for c in result["created"]] == ["good-one", "good-remote"]
    reasons = {e["name"]: e["error"] for e in result["errors"]}
    assert set(reasons) == {
        "no-command",
        "weird-type",
        "alpha",
        "ALPHA",
        "not-an-object",
        "bad name",
        "bad-env",
        "bad-timeout",
        "ftp-url",
    }
    expected_words = {
        "no-command": "command",
        "weird-type": "transport",
        "alpha": "already exists",
        "ALPHA": "already exists",
        "not-an-object": "object",
        "bad name": "name",
        "bad-env": "1X",
        "bad-timeout": "timeout",
        "ftp-url": "http",
    }
    for name, word in expected_words.items():
        assert isinstance(reasons[name], str)
        assert word in reasons[name], f"{name}: {reasons[name]!r} does not mention {word!r}"

    servers = {s["name"]: s for s in site.get(site.p("/servers"))}
    assert set(servers) == {"alpha", "good-one", "good-remote"}
    assert servers["alpha"] == next(s for s in servers_before if s["name"] == "alpha")
    assert {c["id"] for c in result["created"]} == {
        servers["good-one"]["id"],
        servers["good-remote"]["id"],
    }
    with Session(engine) as s:
        names = sorted(row.name for row in s.exec(select(McpServer)).all())
        created_feed = s.exec(select(Activity).where(Activity.action == "server.created")).all()
    assert names == ["alpha", "good-one", "good-remote"]
    assert sorted(a.target_id for a in created_feed) == sorted(
        [site.sid, servers["good-one"]["id"], servers["good-remote"]["id"]]
    )
    assert _stored_server(engine, servers["good-remote"]["id"]).headers == {
        "Authorization": "Bearer t0ken-value"
    }


def test_import_of_two_names_differing_only_in_case_creates_the_first(site):
    document = {"mcpServers": {"dup": {"command": "uvx"}, "DUP": {"command": "npx"}}}
    result = ok(
        site.client.post(site.p("/servers/import"), json=document, headers=site.owner.headers), 200
    )
    assert [c["name"] for c in result["created"]] == ["dup"]
    assert [e["name"] for e in result["errors"]] == ["DUP"]
    assert {s["name"] for s in site.get(site.p("/servers"))} == {"alpha", "dup"}


@pytest.mark.parametrize(
    ("document", "words"),
    [
        pytest.param({"foo": 1}, ["mcpServers"], id="no_mcpServers"),
        pytest.param([], ["mcpServers"], id="a_list"),
        pytest.param({"mcpServers": {}}, ["mcpServers", "empty"], id="empty_mcpServers"),
        pytest.param({"mcpServers": []}, ["mcpServers"], id="mcpServers_is_a_list"),
        pytest.param({"mcpServers": "time"}, ["mcpServers"], id="mcpServers_is_text"),
        pytest.param("mcpServers", ["mcpServers"], id="a_string"),
    ],
)
def test_import_of_a_document_without_servers_is_422_and_writes_nothing(site, document, words):
    before = site.snapshot()
    response = site.client.post(
        site.p("/servers/import"), json=document, headers=site.owner.headers
    )
    refused(response, 422, *words)
    assert site.snapshot() == before


def test_import_of_malformed_json_is_422_and_writes_nothing(site):
    before = site.snapshot()
    response = site.client.post(
        site.p("/servers/import"),
        content=b'{"mcpServers": {"time": {"command": "uvx",}}',
        headers={**site.owner.headers, "Content-Type": "application/json"},
    )
    refused(response, 422, "not valid JSON")
    assert site.snapshot() == before


def test_import_without_body_is_422(site):
    before = site.snapshot()
    refused(site.client.post(site.p("/servers/import"), headers=site.owner.headers), 422, "body")
    assert site.snapshot() == before


# --- API keys ---------------------------------------------------------------------------------

_PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
_PAST_NAIVE = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        pytest.param(
            {"name": "ci", "expires_at": _PAST}, 422, ["expiry", "future"], id="expiry_in_the_past"
        ),
        pytest.param(
            {"name": "ci", "expires_at": _PAST_NAIVE},
            422,
            ["future"],
            id="naive_expiry_in_the_past",
        ),
        pytest.param(
            {"name": "ci", "expires_at": "next tuesday"},
            422,
            ["expires_at"],
            id="expiry_not_a_date",
        ),
        pytest.param({"name": ""}, 422, ["name", "empty"], id="empty_name"),
        pytest.param({"name": "   "}, 422, ["name", "empty"], id="whitespace_name"),
        pytest.param({"name": "k" * 101}, 422, ["name", "100"], id="name_too_long"),
        pytest.param({}, 422, ["name", "required"], id="missing_name"),
        pytest.param(
            {"name": "laptop"}, 409, ["laptop", "already exists"], id="duplicate_active_name"
        ),
    ],
)
def test_api_key_create_with_bad_input_is_refused_and_creates_no_key(site, body, status, words):
    before = site.snapshot()
    response = site.client.post(site.p("/api-keys"), json=body, headers=site.owner.headers)
    refused(response, status, *words)
    assert "key" not in response.json()
    assert site.snapshot() == before


# --- teams ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param({"name": ""}, ["name", "empty"], id="empty_name"),
        pytest.param({"name": "  "}, ["name", "empty"], id="whitespace_name"),
        pytest.param({"name": "t" * 101}, ["name", "100"], id="name_too_long"),
        pytest.param({}, ["name", "required"], id="missing_name"),
    ],
)
def test_team_create_with_bad_name_is_422_and_creates_no_team(site, body, words):
    before = site.snapshot()
    refused(site.client.post("/api/teams", json=body, headers=site.owner.headers), 422, *words)
    assert site.snapshot() == before


# --- administration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        pytest.param(
            {"email": "bad", "password": "long enough pw"}, 422, ["email"], id="bad_email"
        ),
        pytest.param(
            {"email": "x@example.com", "password": "short"}, 422, ["password"], id="short_password"
        ),
        pytest.param(
            {"email": "otto@example.com", "password": "long enough pw"},
            409,
            ["already exists"],
            id="duplicate",
        ),
        pytest.param(
            {"email": "x@example.com"}, 422, ["password", "required"], id="missing_password"
        ),
    ],
)
def test_admin_user_create_with_bad_input_is_refused(site, body, status, words):
    before = site.snapshot()
    refused(
        site.client.post("/api/admin/users", json=body, headers=site.admin.headers), status, *words
    )
    assert site.snapshot() == before


def test_admin_cannot_remove_their_own_admin_rights(site):
    before = site.snapshot()
    response = site.client.patch(
        f"/api/admin/users/{site.admin.id}", json={"is_admin": False}, headers=site.admin.headers
    )
    refused(response, 422, "your own")
    assert site.snapshot() == before


def test_admin_settings_with_a_non_boolean_is_422(site):
    before = site.snapshot()
    response = site.client.put(
        "/api/admin/settings", json={"signup_open": "maybe"}, headers=site.admin.headers
    )
    refused(response, 422, "signup_open")
    assert site.snapshot() == before


# --- unknown ids ------------------------------------------------------------------------------

# (method, path, body, who, the kind of object the detail must name). {x} is the unknown id.
UNKNOWN_ID_ROUTES = [
    ("GET", "/api/projects/{x}", None, "owner", "project"),
    ("PATCH", "/api/projects/{x}", {"name": "Renamed"}, "owner", "project"),
    ("DELETE", "/api/projects/{x}", None, "owner", "project"),
    ("GET", "/api/projects/{x}/members", None, "owner", "project"),
    ("POST", "/api/projects/{x}/members", {"email": "otto@example.com"}, "owner", "project"),
    ("GET", "/api/projects/{x}/servers", None, "owner", "project"),
    ("POST", "/api/projects/{x}/servers", {"name": "beta", "command": "npx"}, "owner", "project"),
    (
        "POST",
        "/api/projects/{x}/servers/import",
        {"mcpServers": {"b": {"command": "x"}}},
        "owner",
        "project",
    ),
    ("GET", "/api/projects/{x}/api-keys", None, "owner", "project"),
    ("POST", "/api/projects/{x}/api-keys", {"name": "ci"}, "owner", "project"),
    ("GET", "/api/projects/{x}/activity", None, "owner", "project"),
    ("GET", "/api/projects/{pid}/servers/{x}", None, "owner", "server"),
    ("PATCH", "/api/projects/{pid}/servers/{x}", {"description": "d"}, "owner", "server"),
    ("DELETE", "/api/projects/{pid}/servers/{x}", None, "owner", "server"),
    ("POST", "/api/projects/{pid}/servers/{x}/toggle", None, "owner", "server"),
    ("DELETE", "/api/projects/{pid}/api-keys/{x}", None, "owner", "key"),
    ("PATCH", "/api/projects/{pid}/members/{x}", {"role": "reporter"}, "owner", "member"),
    ("DELETE", "/api/projects/{pid}/members/{x}", None, "owner", "member"),
    ("DELETE", "/api/projects/{pid}/teams/{x}", None, "owner", "team"),
    ("GET", "/api/teams/{x}", None, "owner", "team"),
    ("GET", "/api/teams/{x}/members", None, "owner", "team"),
    ("POST", "/api/teams/{x}/members", {"email": "otto@example.com"}, "owner", "team"),
    ("GET", "/api/teams/{x}/activity", None, "owner", "team"),
    ("GET", "/api/teams/{x}/projects", None, "owner", "team"),
    ("PATCH", "/api/teams/{tid}/members/{x}", {"role": "reporter"}, "owner", "member"),
    ("DELETE", "/api/teams/{tid}/members/{x}", None, "owner", "member"),
    ("PATCH", "/api/admin/users/{x}", {"is_admin": True}, "admin", "user"),
]


def _unknown_id_cases():
    for method, path, body, who, kind in UNKNOWN_ID_ROUTES:
        for label, make_id in (
            ("random_uuid", lambda: str(uuid.uuid4())),
            ("not_a_uuid", lambda: "abc"),
        ):
            name = f"{method}_{path.removeprefix('/api/')}_{label}"
            yield pytest.param(method, path, body, who, kind, make_id, id=name)


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "kind", "make_id"), list(_unknown_id_cases())
)
def test_unknown_id_is_404_and_changes_nothing(site, method, path, body, who, kind, make_id):
    before = site.snapshot()
    person = site.owner if who == "owner" else site.admin
    url = path.format(x=make_id(), pid=site.pid, tid=site.tid)
    response = site.client.request(method, url, json=body, headers=person.headers)
    refused(response, 404, kind)
    assert site.snapshot() == before


def test_adding_an_unknown_team_to_a_project_is_404(site):
    before = site.snapshot()
    body = {"team_id": str(uuid.uuid4()), "role": "reporter"}
    refused(site.client.post(site.p("/teams"), json=body, headers=site.owner.headers), 404, "team")
    assert site.snapshot() == before


def test_removing_a_user_who_is_not_a_member_is_404(site):
    before = site.snapshot()
    response = site.client.delete(site.p(f"/members/{site.other.id}"), headers=site.owner.headers)
    refused(response, 404, "not a member")
    assert site.snapshot() == before
