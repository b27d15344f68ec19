"""Who may do what over the REST API: an operation x role matrix, and authentication.

The cast of every test (fresh database each time):

* ``owner``, ``developer``, ``reporter``: members of the project "Apollo" with that role, and
  members of the team "Core" with the same team role;
* ``non_member``: a logged-in user who belongs to neither;
* ``admin``: an administrator who is a member of nothing (admins act as owners everywhere).

Every refused call must leave the database exactly as it was (every row of every table is
compared), and its effect must not be visible when read back through the API; every allowed
mutation must have its effect and show up in the activity feed under the actor's name.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select
from starlette.applications import Starlette
from starlette.routing import Mount

from mcp_orch_app import db
from mcp_orch_app.api.app import create_api
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.gateway.runtime import Gateway, gateway_lifespan
from mcp_orch_app.models import Activity, LoginSession, Role
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import api_keys, projects, servers, teams, tools
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn, TeamIn
from tests.helpers import FIXTURE_SERVER, ok

ROLES = ("non_member", "reporter", "developer", "owner", "admin")


@dataclass
class World:
    client: Any
    people: dict[str, Any]  # role -> Person
    target: Any  # a developer of the project and of the team, acted upon by member routes
    newcomer: Any  # a user who belongs to nothing yet, added by the "add member" routes
    project_id: str
    server_id: str
    key_id: str
    core_team_id: str  # the team of the team matrix
    linked_team_id: str  # a team already added to the project
    spare_team_id: str  # a team of the owner, not in the project
    live_server_id: str  # a server that really runs (the fixture MCP server), for live routes

    def headers(self, role: str) -> dict[str, str]:
        return self.people[role].headers

    @property
    def admin(self) -> dict[str, str]:
        return self.people["admin"].headers

    def p(self, suffix: str = "") -> str:
        return f"/api/projects/{self.project_id}{suffix}"

    def t(self, suffix: str = "") -> str:
        return f"/api/teams/{self.core_team_id}{suffix}"


@pytest.fixture
def world(api_client, make_person, engine) -> World:
    c = api_client
    owner = make_person("Olivia")
    developer = make_person("Dimitri")
    reporter = make_person("Rita")
    non_member = make_person("Nora")
    admin = make_person("Ada", is_admin=True)
    target = make_person("Tom")
    newcomer = make_person("Nico")
    # Built through the services in one transaction (the same code the routes call): fast.
    o = owner.actor
    with db.session_scope(engine) as s:
        pid = projects.create_project(s, o, "Apollo").id
        members = ((developer, Role.DEVELOPER), (reporter, Role.REPORTER), (target, Role.DEVELOPER))
        for person, role in members:
            projects.add_member(s, o, pid, person.email, role)
        server = ServerIn(
            name="alpha",
            command="uvx",
            args=["mcp-server-time"],
            env={"API_TOKEN": "s3cret-token-value"},
        )
        sid = servers.create_server(s, o, pid, server).id
        tools.sync_tool_cache(s, sid, [{"name": "get_current_time", "inputSchema": {}}])
        live_sid = servers.create_server(
            s,
            o,
            pid,
            ServerIn(name="live-fixture", command=sys.executable, args=[str(FIXTURE_SERVER)]),
        ).id
        key_id = api_keys.create_api_key(s, o, pid, ApiKeyIn(name="laptop")).id
        core = teams.create_team(s, o, TeamIn(name="Core")).id
        for person, role in members:
            teams.add_team_member(s, o, core, person.email, role)
        linked = teams.create_team(s, o, TeamIn(name="Linked")).id
        projects.add_team_to_project(s, o, pid, linked, Role.DEVELOPER)
        spare = teams.create_team(s, o, TeamIn(name="Spare")).id

    return World(
        client=c,
        people={
            "non_member": non_member,
            "reporter": reporter,
            "developer": developer,
            "owner": owner,
            "admin": admin,
        },
        target=target,
        newcomer=newcomer,
        project_id=str(pid),
        server_id=str(sid),
        key_id=str(key_id),
        core_team_id=str(core),
        linked_team_id=str(linked),
        spare_team_id=str(spare),
        live_server_id=str(live_sid),
    )


def db_state(engine) -> dict[str, list[str]]:
    """Every row of every table, to compare before and after a call that must change nothing.

    Only a login session's ``last_seen_at`` may move: authenticating a request touches it.
    """
    state = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = [
                c
                for c in table.columns
                if not (table.name == "login_sessions" and c.name == "last_seen_at")
            ]
            state[table.name] = sorted(
                repr(tuple(row)) for row in conn.execute(sa_select(*columns))
            )
    return state


def _last_activity_id(engine) -> int:
    with Session(engine) as s:
        ids = s.exec(select(Activity.id).order_by(col(Activity.id).desc()).limit(1)).all()
    return ids[0] if ids else 0


def _new_activity(engine, after_id: int) -> list[Activity]:
    with Session(engine) as s:
        return list(s.exec(select(Activity).where(col(Activity.id) > after_id)).all())


# --- the operations ---------------------------------------------------------------------------


def _member_roles(w: World, path: str) -> dict[str, str]:
    return {m["user_id"]: m["role"] for m in ok(w.client.get(path, headers=w.admin), 200)}


def _server_names(w: World) -> set[str]:
    return {s["name"] for s in ok(w.client.get(w.p("/servers"), headers=w.admin), 200)}


def _key_status(w: World) -> dict[str, str]:
    return {
        k["name"]: k["status"] for k in ok(w.client.get(w.p("/api-keys"), headers=w.admin), 200)
    }


def _check_project_renamed(w, _r):
    assert ok(w.client.get(w.p(), headers=w.admin), 200)["name"] == "Renamed"


def _check_project_open(w, _r):
    assert ok(w.client.get(w.p(), headers=w.admin), 200)["allow_anonymous"] is True


def _check_project_gone(w, _r):
    assert w.client.get(w.p(), headers=w.admin).status_code == 404
    assert w.client.get(w.p("/servers"), headers=w.admin).status_code == 404


def _check_newcomer_reporter(path: str):
    def check(w, _r):
        assert _member_roles(w, path(w)).get(str(w.newcomer.id)) == "reporter"

    return check


def _check_target_reporter(path: str):
    def check(w, _r):
        assert _member_roles(w, path(w))[str(w.target.id)] == "reporter"

    return check


def _check_target_gone(path: str):
    def check(w, _r):
        assert str(w.target.id) not in _member_roles(w, path(w))

    return check


def _project_team_ids(w: World) -> set[str]:
    return {t["team_id"] for t in ok(w.client.get(w.p("/teams"), headers=w.admin), 200)}


def _check_spare_added(w, _r):
    assert w.spare_team_id in _project_team_ids(w)


def _check_linked_removed(w, _r):
    assert w.linked_team_id not in _project_team_ids(w)


def _check_server_created(name: str):
    def check(w, _r):
        assert name in _server_names(w)

    return check


def _check_server_edited(w, _r):
    server = ok(w.client.get(w.p(f"/servers/{w.server_id}"), headers=w.admin), 200)
    assert server["description"] == "edited"


def _check_server_open(w, _r):
    server = ok(w.client.get(w.p(f"/servers/{w.server_id}"), headers=w.admin), 200)
    assert server["allow_anonymous"] is True


def _check_server_deleted(w, _r):
    assert w.client.get(w.p(f"/servers/{w.server_id}"), headers=w.admin).status_code == 404
    assert "alpha" not in _server_names(w)


def _check_server_disabled(w, _r):
    server = ok(w.client.get(w.p(f"/servers/{w.server_id}"), headers=w.admin), 200)
    assert server["enabled"] is False
    assert server["status"] == "disabled"


def _check_key_created(w, response):
    if response is not None:
        assert response.json()["key"].startswith("mch_")
    assert _key_status(w).get("ci") == "active"


def _check_key_revoked(w, _r):
    assert _key_status(w)["laptop"] == "revoked"


def _tool_enabled(w: World) -> dict[str, bool]:
    listed = ok(w.client.get(w.p(f"/servers/{w.server_id}/tools"), headers=w.admin), 200)
    return {t["name"]: t["enabled"] for t in listed}


def _check_tool_disabled(w, _r):
    assert _tool_enabled(w) == {"get_current_time": False}


def _check_tool_list(w, response):
    assert [t["name"] for t in response.json()] == ["get_current_time"]


def _check_page(w, response):
    assert response.json()["items"] == []


def _check_client_config(w, response):
    assert f"/projects/{w.project_id}/unified/mcp" in response.json()["content"]


def _check_export(w, response):
    entry = response.json()["mcpServers"]["alpha"]
    assert entry["command"] == "uvx"
    assert "s3cret-token-value" not in response.text  # secrets stay masked


def _check_signup_closed(w, _r):
    assert ok(w.client.get("/api/admin/settings", headers=w.admin), 200) == {"signup_open": False}


def _admin_users(w: World) -> dict[str, dict]:
    return {u["email"]: u for u in ok(w.client.get("/api/admin/users", headers=w.admin), 200)}


def _check_user_created(w, _r):
    assert "fresh@example.com" in _admin_users(w)


def _check_target_admin(w, _r):
    assert _admin_users(w)[w.target.email]["is_admin"] is True


RESET_PASSWORD = "set by the administrator 42"


def _check_target_password_reset(w, _r):
    login = w.client.post(
        "/api/auth/login", json={"email": w.target.email, "password": RESET_PASSWORD}
    )
    assert login.status_code == 200, login.text


def _live(path: Callable[[World], str], json: Any = None):
    """A POST to a live route, which needs the running gateway: sent through a client of an app
    whose lifespan runs one (stopped again, processes reaped and log rows flushed, on return)."""

    def call(w: World, headers: dict[str, str]):
        from fastapi.testclient import TestClient

        gateway = Gateway(writer=LogWriter(flush_interval=0.05))

        @asynccontextmanager
        async def lifespan(_app):
            async with gateway_lifespan(gateway):
                yield

        app = Starlette(routes=[Mount("/", app=create_api())], lifespan=lifespan)
        with TestClient(app) as client:
            return client.post(path(w), json=json, headers=headers)

    return call


def _live_server(w: World) -> dict[str, Any]:
    return ok(w.client.get(w.p(f"/servers/{w.live_server_id}"), headers=w.admin), 200)


def _check_live_server_online(w, response):
    assert _live_server(w)["status"] == "online"
    if response is not None:
        assert response.json()["status"] == "online"


def _check_all_refreshed(w, response):
    assert _live_server(w)["status"] == "online"
    if response is not None:
        assert {s["name"] for s in response.json()} == {"alpha", "live-fixture"}


def _check_live_server_restarted(w, response):
    assert _live_server(w)["restart_count"] == 1


def _check_tool_called(w, response):
    assert response.json()["content"][0]["text"] == "hi"


@dataclass(frozen=True)
class Op:
    call: Callable[[World, dict[str, str]], Any]
    feed: str | None = None  # where the activity row goes: "project", "team", "instance"
    action: str | None = None  # the activity written by an allowed call; None: a read
    # The effect of an allowed call, read back through the API (the response is None when it
    # is used to show that a refused call had no effect).
    check: Callable[[World, Any], None] | None = None


OPERATIONS: dict[str, Op] = {
    # projects
    "read_project": Op(lambda w, h: w.client.get(w.p(), headers=h)),
    "read_project_overview": Op(lambda w, h: w.client.get(w.p("/overview"), headers=h)),
    "update_project": Op(
        lambda w, h: w.client.patch(w.p(), json={"name": "Renamed"}, headers=h),
        "project",
        "project.updated",
        _check_project_renamed,
    ),
    "open_project_to_anonymous": Op(
        lambda w, h: w.client.patch(w.p(), json={"allow_anonymous": True}, headers=h),
        "project",
        "project.updated",
        _check_project_open,
    ),
    "delete_project": Op(
        lambda w, h: w.client.delete(w.p(), headers=h),
        "instance",
        "project.deleted",
        _check_project_gone,
    ),
    "list_members": Op(lambda w, h: w.client.get(w.p("/members"), headers=h)),
    "list_activity": Op(lambda w, h: w.client.get(w.p("/activity"), headers=h)),
    "list_activity_filters": Op(lambda w, h: w.client.get(w.p("/activity/filters"), headers=h)),
    "add_member": Op(
        lambda w, h: w.client.post(
            w.p("/members"), json={"email": w.newcomer.email, "role": "reporter"}, headers=h
        ),
        "project",
        "member.added",
        _check_newcomer_reporter(lambda w: w.p("/members")),
    ),
    "change_member_role": Op(
        lambda w, h: w.client.patch(
            w.p(f"/members/{w.target.id}"), json={"role": "reporter"}, headers=h
        ),
        "project",
        "member.role_changed",
        _check_target_reporter(lambda w: w.p("/members")),
    ),
    "remove_member": Op(
        lambda w, h: w.client.delete(w.p(f"/members/{w.target.id}"), headers=h),
        "project",
        "member.removed",
        _check_target_gone(lambda w: w.p("/members")),
    ),
    "list_project_teams": Op(lambda w, h: w.client.get(w.p("/teams"), headers=h)),
    "add_team_to_project": Op(
        lambda w, h: w.client.post(
            w.p("/teams"), json={"team_id": w.spare_team_id, "role": "reporter"}, headers=h
        ),
        "project",
        "team.added",
        _check_spare_added,
    ),
    "remove_team_from_project": Op(
        lambda w, h: w.client.delete(w.p(f"/teams/{w.linked_team_id}"), headers=h),
        "project",
        "team.removed",
        _check_linked_removed,
    ),
    # servers
    "list_servers": Op(lambda w, h: w.client.get(w.p("/servers"), headers=h)),
    "read_server": Op(lambda w, h: w.client.get(w.p(f"/servers/{w.server_id}"), headers=h)),
    "create_server": Op(
        lambda w, h: w.client.post(
            w.p("/servers"), json={"name": "beta", "command": "npx", "args": ["x"]}, headers=h
        ),
        "project",
        "server.created",
        _check_server_created("beta"),
    ),
    "update_server": Op(
        lambda w, h: w.client.patch(
            w.p(f"/servers/{w.server_id}"), json={"description": "edited"}, headers=h
        ),
        "project",
        "server.updated",
        _check_server_edited,
    ),
    "open_server_to_anonymous": Op(
        lambda w, h: w.client.patch(
            w.p(f"/servers/{w.server_id}"), json={"allow_anonymous": True}, headers=h
        ),
        "project",
        "server.updated",
        _check_server_open,
    ),
    "create_server_open_to_anonymous": Op(
        lambda w, h: w.client.post(
            w.p("/servers"),
            json={"name": "beta", "command": "npx", "allow_anonymous": True},
            headers=h,
        ),
        "project",
        "server.created",
        _check_server_created("beta"),
    ),
    "delete_server": Op(
        lambda w, h: w.client.delete(w.p(f"/servers/{w.server_id}"), headers=h),
        "project",
        "server.deleted",
        _check_server_deleted,
    ),
    "toggle_server": Op(
        lambda w, h: w.client.post(w.p(f"/servers/{w.server_id}/toggle"), headers=h),
        "project",
        "server.disabled",
        _check_server_disabled,
    ),
    "import_servers": Op(
        lambda w, h: w.client.post(
            w.p("/servers/import"),
            json={"mcpServers": {"imported": {"command": "uvx", "args": ["mcp-server-git"]}}},
            headers=h,
        ),
        "project",
        "server.created",
        _check_server_created("imported"),
    ),
    "export_servers": Op(
        lambda w, h: w.client.get(w.p("/servers/export"), headers=h), check=_check_export
    ),
    # tools
    "list_tools": Op(
        lambda w, h: w.client.get(w.p(f"/servers/{w.server_id}/tools"), headers=h),
        check=_check_tool_list,
    ),
    "disable_tool": Op(
        lambda w, h: w.client.put(
            w.p(f"/servers/{w.server_id}/tools/get_current_time"),
            json={"enabled": False},
            headers=h,
        ),
        "project",
        "tool.disabled",
        _check_tool_disabled,
    ),
    # live operations (they run the fixture server "live-fixture")
    "refresh_server": Op(
        _live(lambda w: w.p(f"/servers/{w.live_server_id}/refresh")),
        "project",
        "server.status_changed",
        _check_live_server_online,
    ),
    "refresh_all_servers": Op(
        _live(lambda w: w.p("/servers/refresh")),
        "project",
        "server.status_changed",
        _check_all_refreshed,
    ),
    "restart_server": Op(
        _live(lambda w: w.p(f"/servers/{w.live_server_id}/restart")),
        "project",
        "server.restarted",
        _check_live_server_restarted,
    ),
    "call_tool": Op(
        _live(
            lambda w: w.p(f"/servers/{w.live_server_id}/tools/echo/call"),
            {"arguments": {"text": "hi"}},
        ),
        check=_check_tool_called,
    ),
    # observability
    "list_tool_calls": Op(
        lambda w, h: w.client.get(w.p("/tool-calls"), headers=h), check=_check_page
    ),
    "read_tool_call_metrics": Op(lambda w, h: w.client.get(w.p("/tool-calls/metrics"), headers=h)),
    "list_sessions": Op(lambda w, h: w.client.get(w.p("/sessions"), headers=h), check=_check_page),
    "list_server_logs": Op(
        lambda w, h: w.client.get(w.p(f"/server-logs?server_id={w.server_id}"), headers=h)
    ),
    "read_client_config": Op(
        lambda w, h: w.client.get(w.p("/client-config?client=cursor&unified=true"), headers=h),
        check=_check_client_config,
    ),
    # API keys
    "list_api_keys": Op(lambda w, h: w.client.get(w.p("/api-keys"), headers=h)),
    "create_api_key": Op(
        lambda w, h: w.client.post(w.p("/api-keys"), json={"name": "ci"}, headers=h),
        "project",
        "api_key.created",
        _check_key_created,
    ),
    "revoke_api_key": Op(
        lambda w, h: w.client.delete(w.p(f"/api-keys/{w.key_id}"), headers=h),
        "project",
        "api_key.revoked",
        _check_key_revoked,
    ),
    # teams (the roles are team roles here)
    "read_team": Op(lambda w, h: w.client.get(w.t(), headers=h)),
    "list_team_members": Op(lambda w, h: w.client.get(w.t("/members"), headers=h)),
    "list_team_activity": Op(lambda w, h: w.client.get(w.t("/activity"), headers=h)),
    "list_team_projects": Op(lambda w, h: w.client.get(w.t("/projects"), headers=h)),
    "add_team_member": Op(
        lambda w, h: w.client.post(
            w.t("/members"), json={"email": w.newcomer.email, "role": "reporter"}, headers=h
        ),
        "team",
        "member.added",
        _check_newcomer_reporter(lambda w: w.t("/members")),
    ),
    "change_team_member_role": Op(
        lambda w, h: w.client.patch(
            w.t(f"/members/{w.target.id}"), json={"role": "reporter"}, headers=h
        ),
        "team",
        "member.role_changed",
        _check_target_reporter(lambda w: w.t("/members")),
    ),
    "remove_team_member": Op(
        lambda w, h: w.client.delete(w.t(f"/members/{w.target.id}"), headers=h),
        "team",
        "member.removed",
        _check_target_gone(lambda w: w.t("/members")),
    ),
    # administration (instance-level activity: in no project or team feed)
    "read_admin_settings": Op(lambda w, h: w.client.get("/api/admin/settings", headers=h)),
    "change_admin_settings": Op(
        lambda w, h: w.client.put("/api/admin/settings", json={"signup_open": False}, headers=h),
        "instance",
        "settings.signup_closed",
        _check_signup_closed,
    ),
    "list_users": Op(lambda w, h: w.client.get("/api/admin/users", headers=h)),
    "create_user": Op(
        lambda w, h: w.client.post(
            "/api/admin/users",
            json={"email": "fresh@example.com", "password": "long enough pw", "name": "Fresh"},
            headers=h,
        ),
        "instance",
        "user.created",
        _check_user_created,
    ),
    "make_user_admin": Op(
        lambda w, h: w.client.patch(
            f"/api/admin/users/{w.target.id}", json={"is_admin": True}, headers=h
        ),
        "instance",
        "user.updated",
        _check_target_admin,
    ),
    "reset_user_password": Op(
        lambda w, h: w.client.post(
            f"/api/admin/users/{w.target.id}/reset-password",
            json={"password": RESET_PASSWORD},
            headers=h,
        ),
        "instance",
        "user.updated",
        _check_target_password_reset,
    ),
}

# fmt: off
MATRIX = [
    # operation                           non_member  reporter  developer  owner  admin
    ("read_project",                            403,      200,       200,   200,   200),
    ("read_project_overview",                   403,      200,       200,   200,   200),
    ("update_project",                          403,      403,       403,   200,   200),
    ("open_project_to_anonymous",               403,      403,       403,   200,   200),
    ("delete_project",                          403,      403,       403,   204,   204),
    ("list_members",                            403,      200,       200,   200,   200),
    ("list_activity",                           403,      200,       200,   200,   200),
    ("list_activity_filters",                   403,      200,       200,   200,   200),
    ("add_member",                              403,      403,       403,   201,   201),
    ("change_member_role",                      403,      403,       403,   200,   200),
    ("remove_member",                           403,      403,       403,   204,   204),
    ("list_project_teams",                      403,      200,       200,   200,   200),
    ("add_team_to_project",                     403,      403,       403,   201,   201),
    ("remove_team_from_project",                403,      403,       403,   204,   204),
    ("list_servers",                            403,      200,       200,   200,   200),
    ("read_server",                             403,      200,       200,   200,   200),
    ("create_server",                           403,      403,       201,   201,   201),
    ("update_server",                           403,      403,       200,   200,   200),
    ("open_server_to_anonymous",                403,      403,       403,   200,   200),
    ("create_server_open_to_anonymous",         403,      403,       403,   201,   201),
    ("delete_server",                           403,      403,       204,   204,   204),
    ("toggle_server",                           403,      403,       200,   200,   200),
    ("import_servers",                          403,      403,       200,   200,   200),
    ("export_servers",                          403,      200,       200,   200,   200),
    ("list_tools",                              403,      200,       200,   200,   200),
    ("disable_tool",                            403,      403,       200,   200,   200),
    ("refresh_server",                          403,      200,       200,   200,   200),
    ("refresh_all_servers",                     403,      200,       200,   200,   200),
    ("restart_server",                          403,      403,       200,   200,   200),
    ("call_tool",                               403,      403,       200,   200,   200),
    ("list_tool_calls",                         403,      200,       200,   200,   200),
    ("read_tool_call_metrics",                  403,      200,       200,   200,   200),
    ("list_sessions",                           403,      200,       200,   200,   200),
    ("list_server_logs",                        403,      200,       200,   200,   200),
    ("read_client_config",                      403,      200,       200,   200,   200),
    ("list_api_keys",                           403,      200,       200,   200,   200),
    ("create_api_key",                          403,      403,       403,   201,   201),
    ("revoke_api_key",                          403,      403,       403,   204,   204),
    ("read_team",                               403,      200,       200,   200,   200),
    ("list_team_members",                       403,      200,       200,   200,   200),
    ("list_team_activity",                      403,      200,       200,   200,   200),
    ("list_team_projects",                      403,      200,       200,   200,   200),
    ("add_team_member",                         403,      403,       403,   201,   201),
    ("change_team_member_role",                 403,      403,       403,   200,   200),
    ("remove_team_member",                      403,      403,       403,   204,   204),
    ("read_admin_settings",                     403,      403,       403,   403,   200),
    ("change_admin_settings",                   403,      403,       403,   403,   200),
    ("list_users",                              403,      403,       403,   403,   200),
    ("create_user",                             403,      403,       403,   403,   201),
    ("make_user_admin",                         403,      403,       403,   403,   200),
    ("reset_user_password",                     403,      403,       403,   403,   200),
]
# fmt: on


def _cases():
    assert {row[0] for row in MATRIX} == set(OPERATIONS), "every operation has a matrix row"
    for operation, *statuses in MATRIX:
        for role, status in zip(ROLES, statuses, strict=True):
            verb = "can" if status < 400 else "cannot"
            yield pytest.param(operation, role, status, id=f"{role}_{verb}_{operation}")


@pytest.mark.parametrize(("operation", "role", "expected"), list(_cases()))
def test_role_matrix(world, engine, operation, role, expected):
    op = OPERATIONS[operation]
    actor = world.people[role]
    before = db_state(engine)
    last_activity = _last_activity_id(engine)

    response = op.call(world, actor.headers)

    assert response.status_code == expected, response.text
    new_activity = _new_activity(engine, last_activity)
    if expected >= 400:
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        assert any(w in detail for w in ("member", "owner", "developer", "administrator"))
        assert new_activity == []
        assert db_state(engine) == before, "a refused call changed something"
        if op.check is not None and op.action is not None:
            with pytest.raises(AssertionError):
                op.check(world, None)  # read back through the API: the effect is not there
        return

    if op.check is not None:
        op.check(world, response)
    if op.action is None:
        assert new_activity == [], "a read wrote to the activity feed"
        return
    written = [a for a in new_activity if a.action == op.action]
    assert written, f"no {op.action} activity; got {[a.action for a in new_activity]}"
    row = written[0]
    assert row.actor_id == actor.id
    assert row.actor_name == actor.actor.name
    if op.feed == "project":
        feed = ok(world.client.get(world.p("/activity"), headers=world.admin), 200)
        assert {"action": op.action, "actor_name": actor.actor.name} in [
            {"action": a["action"], "actor_name": a["actor_name"]} for a in feed
        ]
    elif op.feed == "team":
        feed = ok(world.client.get(world.t("/activity"), headers=world.admin), 200)
        assert any(a["action"] == op.action and a["actor_name"] == actor.actor.name for a in feed)
    else:  # instance-level rows: administration, and a deleted project (its own feed is gone)
        assert row.project_id is None
        assert row.team_id is None
        if operation == "delete_project":
            assert row.target_id == world.project_id


# --- limits on what lists show ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["non_member", "reporter", "owner"])
def test_non_admin_asking_for_all_projects_sees_only_their_own(world, make_person, role):
    stranger = make_person("Stranger")
    ok(world.client.post("/api/projects", json={"name": "Hidden"}, headers=stranger.headers), 201)
    names = {
        p["name"]
        for p in ok(world.client.get("/api/projects?all=true", headers=world.headers(role)), 200)
    }
    assert "Hidden" not in names
    assert ("Apollo" in names) is (role != "non_member")


def test_admin_asking_for_all_projects_sees_every_project(world, make_person):
    stranger = make_person("Stranger")
    ok(world.client.post("/api/projects", json={"name": "Hidden"}, headers=stranger.headers), 201)
    projects = ok(world.client.get("/api/projects?all=true", headers=world.admin), 200)
    assert {p["name"] for p in projects} == {"Apollo", "Hidden"}
    assert {p["my_role"] for p in projects} == {"owner"}
    assert ok(world.client.get("/api/projects", headers=world.admin), 200) == []


def test_non_admin_asking_for_all_teams_sees_only_their_own(world):
    teams = ok(world.client.get("/api/teams?all=true", headers=world.headers("reporter")), 200)
    assert [t["name"] for t in teams] == ["Core"]
    assert (
        ok(world.client.get("/api/teams?all=true", headers=world.headers("non_member")), 200) == []
    )


def test_non_admin_cannot_make_themselves_admin(world):
    me = world.people["owner"]
    response = world.client.patch(
        f"/api/admin/users/{me.id}", json={"is_admin": True}, headers=me.headers
    )
    assert response.status_code == 403
    assert ok(world.client.get("/api/auth/me", headers=me.headers), 200)["is_admin"] is False


# --- objects of another project are not reachable through your own ---------------------------


@pytest.fixture
def other_project(world, make_person):
    """A project of someone else, with a server and a key; ``world``'s owner is not in it."""
    stranger = make_person("Stranger")
    h = stranger.headers
    pid = ok(world.client.post("/api/projects", json={"name": "Zeus"}, headers=h), 201)["id"]
    sid = ok(
        world.client.post(
            f"/api/projects/{pid}/servers", json={"name": "secret", "command": "uvx"}, headers=h
        ),
        201,
    )["id"]
    kid = ok(
        world.client.post(f"/api/projects/{pid}/api-keys", json={"name": "k"}, headers=h), 201
    )["id"]
    return {"pid": pid, "sid": sid, "kid": kid, "headers": h}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "/servers/{sid}", None),
        ("PATCH", "/servers/{sid}", {"description": "pwned"}),
        ("DELETE", "/servers/{sid}", None),
        ("POST", "/servers/{sid}/toggle", None),
        ("GET", "/servers/{sid}/tools", None),
        ("PUT", "/servers/{sid}/tools/anything", {"enabled": False}),
        ("POST", "/servers/{sid}/refresh", None),
        ("POST", "/servers/{sid}/restart", None),
        ("POST", "/servers/{sid}/tools/anything/call", {"arguments": {}}),
        ("GET", "/tool-calls?server_id={sid}", None),
        ("GET", "/server-logs?server_id={sid}", None),
        ("GET", "/sessions?server_id={sid}", None),
        ("GET", "/client-config?client=cursor&server_id={sid}", None),
        ("DELETE", "/api-keys/{kid}", None),
        ("PATCH", "/members/{stranger}", {"role": "reporter"}),
        ("DELETE", "/members/{stranger}", None),
    ],
    ids=[
        "read_server",
        "update_server",
        "delete_server",
        "toggle_server",
        "list_tools",
        "disable_tool",
        "refresh_server",
        "restart_server",
        "call_tool",
        "list_tool_calls",
        "list_server_logs",
        "list_sessions",
        "read_client_config",
        "revoke_key",
        "change_member_role",
        "remove_member",
    ],
)
def test_owner_cannot_reach_another_projects_objects_through_their_own_project(
    world, engine, other_project, method, suffix, body
):
    other = other_project
    stranger_id = ok(world.client.get("/api/auth/me", headers=other["headers"]), 200)["id"]
    path = world.p(suffix.format(sid=other["sid"], kid=other["kid"], stranger=stranger_id))
    before = db_state(engine)

    response = world.client.request(method, path, json=body, headers=world.headers("owner"))

    assert response.status_code == 404, response.text
    assert isinstance(response.json()["detail"], str)
    assert db_state(engine) == before
    server = world.client.get(
        f"/api/projects/{other['pid']}/servers/{other['sid']}", headers=other["headers"]
    )
    assert ok(server, 200)["description"] == ""


# --- members leaving, and the last owner ------------------------------------------------------


def test_reporter_can_leave_the_project_themselves(world, engine):
    reporter = world.people["reporter"]
    response = world.client.delete(world.p(f"/members/{reporter.id}"), headers=reporter.headers)
    assert response.status_code == 204
    assert str(reporter.id) not in _member_roles(world, world.p("/members"))
    assert world.client.get(world.p(), headers=reporter.headers).status_code == 403
    feed = ok(world.client.get(world.p("/activity?action=member.left"), headers=world.admin), 200)
    assert [a["actor_name"] for a in feed] == ["Rita"]


def test_last_owner_cannot_leave_or_be_demoted(world):
    owner = world.people["owner"]
    left = world.client.delete(world.p(f"/members/{owner.id}"), headers=owner.headers)
    demoted = world.client.patch(
        world.p(f"/members/{owner.id}"), json={"role": "developer"}, headers=world.admin
    )
    assert left.status_code == 409
    assert demoted.status_code == 409
    assert "owner" in left.json()["detail"]
    assert _member_roles(world, world.p("/members"))[str(owner.id)] == "owner"


def test_reporter_cannot_promote_themselves(world):
    reporter = world.people["reporter"]
    response = world.client.patch(
        world.p(f"/members/{reporter.id}"), json={"role": "owner"}, headers=reporter.headers
    )
    assert response.status_code == 403
    assert _member_roles(world, world.p("/members"))[str(reporter.id)] == "reporter"


def test_demoted_developer_loses_server_rights_at_once(world):
    developer = world.people["developer"]
    ok(
        world.client.patch(
            world.p(f"/members/{developer.id}"),
            json={"role": "reporter"},
            headers=world.headers("owner"),
        ),
        200,
    )
    response = world.client.delete(
        world.p(f"/servers/{world.server_id}"), headers=developer.headers
    )
    assert response.status_code == 403
    assert "alpha" in _server_names(world)


def test_removed_member_loses_access_at_once(world):
    developer = world.people["developer"]
    ok(
        world.client.delete(world.p(f"/members/{developer.id}"), headers=world.headers("owner")),
        204,
    )
    assert world.client.get(world.p("/servers"), headers=developer.headers).status_code == 403


def test_developer_can_edit_and_close_a_server_an_owner_opened(world):
    server = world.p(f"/servers/{world.server_id}")
    owner, developer = world.headers("owner"), world.headers("developer")
    ok(world.client.patch(server, json={"allow_anonymous": True}, headers=owner), 200)

    edited = world.client.patch(server, json={"description": "still open"}, headers=developer)
    assert ok(edited, 200)["allow_anonymous"] is True
    closed = world.client.patch(server, json={"allow_anonymous": False}, headers=developer)
    assert ok(closed, 200)["allow_anonymous"] is False


# --- authentication ---------------------------------------------------------------------------

# One GET and one mutation (or two) per route family; {pid}, {sid}, {kid}, {tid}, {uid} are real.
PROTECTED = [
    ("GET", "/api/auth/me", None),
    ("PATCH", "/api/auth/me", {"name": "x"}),
    ("GET", "/api/auth/sessions", None),
    ("POST", "/api/auth/logout", None),
    ("POST", "/api/auth/logout-all", None),
    ("POST", "/api/auth/password", {"current_password": "a", "new_password": "b" * 12}),
    ("GET", "/api/projects", None),
    ("POST", "/api/projects", {"name": "Sneaky"}),
    ("GET", "/api/projects/{pid}", None),
    ("PATCH", "/api/projects/{pid}", {"name": "Sneaky"}),
    ("DELETE", "/api/projects/{pid}", None),
    ("GET", "/api/projects/{pid}/overview", None),
    ("GET", "/api/projects/{pid}/members", None),
    ("POST", "/api/projects/{pid}/members", {"email": "nico@example.com", "role": "owner"}),
    ("PATCH", "/api/projects/{pid}/members/{uid}", {"role": "owner"}),
    ("DELETE", "/api/projects/{pid}/members/{uid}", None),
    ("GET", "/api/projects/{pid}/teams", None),
    ("POST", "/api/projects/{pid}/teams", {"team_id": "{tid}", "role": "owner"}),
    ("DELETE", "/api/projects/{pid}/teams/{tid}", None),
    ("GET", "/api/projects/{pid}/activity", None),
    ("GET", "/api/projects/{pid}/servers", None),
    ("POST", "/api/projects/{pid}/servers", {"name": "sneaky", "command": "sh"}),
    ("GET", "/api/projects/{pid}/servers/{sid}", None),
    ("PATCH", "/api/projects/{pid}/servers/{sid}", {"command": "sh"}),
    ("DELETE", "/api/projects/{pid}/servers/{sid}", None),
    ("POST", "/api/projects/{pid}/servers/{sid}/toggle", None),
    ("POST", "/api/projects/{pid}/servers/import", {"mcpServers": {"s": {"command": "sh"}}}),
    ("GET", "/api/projects/{pid}/servers/export", None),
    ("GET", "/api/projects/{pid}/servers/{sid}/tools", None),
    ("PUT", "/api/projects/{pid}/servers/{sid}/tools/get_current_time", {"enabled": False}),
    ("POST", "/api/projects/{pid}/servers/refresh", None),
    ("POST", "/api/projects/{pid}/servers/{sid}/refresh", None),
    ("POST", "/api/projects/{pid}/servers/{sid}/restart", None),
    ("POST", "/api/projects/{pid}/servers/{sid}/tools/get_current_time/call", {"arguments": {}}),
    ("GET", "/api/projects/{pid}/tool-calls", None),
    ("GET", "/api/projects/{pid}/tool-calls/metrics", None),
    ("GET", "/api/projects/{pid}/sessions", None),
    ("GET", "/api/projects/{pid}/server-logs", None),
    ("GET", "/api/projects/{pid}/client-config?client=cursor&unified=true", None),
    ("GET", "/api/projects/{pid}/api-keys", None),
    ("POST", "/api/projects/{pid}/api-keys", {"name": "stolen"}),
    ("DELETE", "/api/projects/{pid}/api-keys/{kid}", None),
    ("GET", "/api/teams", None),
    ("POST", "/api/teams", {"name": "Sneaky"}),
    ("GET", "/api/teams/{tid}", None),
    ("GET", "/api/teams/{tid}/members", None),
    ("POST", "/api/teams/{tid}/members", {"email": "nico@example.com", "role": "owner"}),
    ("PATCH", "/api/teams/{tid}/members/{uid}", {"role": "owner"}),
    ("DELETE", "/api/teams/{tid}/members/{uid}", None),
    ("GET", "/api/teams/{tid}/projects", None),
    ("GET", "/api/teams/{tid}/activity", None),
    ("GET", "/api/admin/settings", None),
    ("PUT", "/api/admin/settings", {"signup_open": False}),
    ("GET", "/api/admin/users", None),
    ("POST", "/api/admin/users", {"email": "x@example.com", "password": "long enough pw"}),
    ("PATCH", "/api/admin/users/{uid}", {"is_admin": True}),
]


def _fill(w: World, value):
    ids = {
        "pid": w.project_id,
        "sid": w.server_id,
        "kid": w.key_id,
        "tid": w.core_team_id,
        "uid": str(w.target.id),
    }
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(w, v) for k, v in value.items()}
    return value


def _assert_401(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate") == "Bearer"
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "log" in detail.lower()  # "Not logged in." / "... log in again."


@pytest.mark.parametrize(
    ("method", "path", "body"),
    PROTECTED,
    ids=[f"{m}_{p.removeprefix('/api/')}" for m, p, _ in PROTECTED],
)
def test_request_without_token_is_refused_with_401_and_changes_nothing(
    world, engine, method, path, body
):
    before = db_state(engine)
    response = world.client.request(method, _fill(world, path), json=_fill(world, body))
    _assert_401(response)
    assert db_state(engine) == before


def test_request_without_token_and_with_a_bad_body_is_401_not_422(world):
    response = world.client.post("/api/projects", content=b"{not json")
    _assert_401(response)


def _forged_random(world, api_client, make_person):
    return {"Authorization": f"Bearer {uuid.uuid4().hex}{uuid.uuid4().hex}"}


def _forged_alg_none(world, api_client, make_person):
    return {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."}


def _forged_alg_none_admin_claims(world, api_client, make_person):
    # {"alg":"none","typ":"JWT"} . {"sub": "<the admin's id>", "is_admin": true}
    import base64
    import json

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    admin_id = str(world.people["admin"].id)
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'sub': admin_id, 'is_admin': True})}."
    return {"Authorization": f"Bearer {token}"}


def _revoked_by_logout(world, api_client, make_person):
    person = make_person("Leaver")
    assert api_client.get("/api/auth/me", headers=person.headers).status_code == 200
    assert api_client.post("/api/auth/logout", headers=person.headers).status_code == 204
    return person.headers


def _revoked_by_logout_everywhere(world, api_client, make_person):
    person = make_person("Leaver")
    ok(api_client.post("/api/auth/logout-all", headers=person.headers), 200)
    return person.headers


def _expired_session(world, api_client, make_person):
    person = make_person("Sleeper")
    with db.session_scope() as s:
        s.execute(
            update(LoginSession)
            .where(col(LoginSession.user_id) == person.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    return person.headers


def _deactivated_user(world, api_client, make_person):
    person = make_person("Gone")
    ok(
        api_client.patch(
            f"/api/admin/users/{person.id}", json={"is_active": False}, headers=world.admin
        ),
        200,
    )
    return person.headers


def _token_hash_as_token(world, api_client, make_person):
    # What is stored is the hash of the token; presenting a stored value must not work.
    from mcp_orch_app.security.tokens import hash_token

    return {"Authorization": f"Bearer {hash_token(world.people['admin'].token)}"}


def _basic_scheme(world, api_client, make_person):
    return {"Authorization": f"Basic {world.people['admin'].token}"}


def _empty_bearer(world, api_client, make_person):
    return {"Authorization": "Bearer "}


FORGED = {
    "random_string": _forged_random,
    "alg_none_jwt": _forged_alg_none,
    "alg_none_jwt_claiming_admin": _forged_alg_none_admin_claims,
    "token_revoked_by_logout": _revoked_by_logout,
    "token_revoked_by_logout_everywhere": _revoked_by_logout_everywhere,
    "expired_session": _expired_session,
    "session_of_deactivated_user": _deactivated_user,
    "stored_token_hash": _token_hash_as_token,
    "valid_token_with_basic_scheme": _basic_scheme,
    "empty_bearer": _empty_bearer,
}


@pytest.mark.parametrize("kind", list(FORGED))
def test_forged_or_dead_token_is_refused_with_401(world, engine, api_client, make_person, kind):
    headers = FORGED[kind](world, api_client, make_person)
    before = db_state(engine)

    _assert_401(api_client.get("/api/auth/me", headers=headers))
    _assert_401(api_client.get(world.p("/servers"), headers=headers))
    _assert_401(api_client.post("/api/projects", json={"name": "Forged"}, headers=headers))
    _assert_401(api_client.put("/api/admin/settings", json={"signup_open": False}, headers=headers))
    _assert_401(api_client.delete(world.p(f"/servers/{world.server_id}"), headers=headers))

    assert db_state(engine) == before


def test_logout_revokes_only_that_token(world, api_client):
    owner = world.people["owner"]
    login = ok(
        api_client.post(
            "/api/auth/login", json={"email": owner.email, "password": "correct horse battery"}
        ),
        200,
    )
    second = {"Authorization": f"Bearer {login['access_token']}"}
    assert api_client.post("/api/auth/logout", headers=second).status_code == 204
    _assert_401(api_client.get("/api/auth/me", headers=second))
    assert api_client.get("/api/auth/me", headers=owner.headers).status_code == 200
