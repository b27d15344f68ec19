"""Who may reach a project's MCP endpoints (API keys, anonymous access), at the service level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from mcp_orch_app.db import session_scope
from mcp_orch_app.models import ApiKey, ToolPreference
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import api_keys, mcp_access, projects, servers
from mcp_orch_app.services.errors import NotAuthenticated, NotFound
from mcp_orch_app.services.schemas import ApiKeyIn, ProjectPatch, ServerIn, ServerPatch


@pytest.fixture
def setup(engine, make_person):
    owner = make_person("owner")
    with session_scope(engine) as db:
        project = projects.create_project(db, owner.actor, "P")
        other = projects.create_project(db, owner.actor, "Other")
        time_server = servers.create_server(
            db, owner.actor, project.id, ServerIn(name="time", command="uvx")
        )
        servers.create_server(db, owner.actor, project.id, ServerIn(name="git", command="uvx"))
        servers.create_server(
            db, owner.actor, project.id, ServerIn(name="off", command="uvx", enabled=False)
        )
        key = api_keys.create_api_key(db, owner.actor, project.id, ApiKeyIn(name="k")).key
        other_key = api_keys.create_api_key(db, owner.actor, other.id, ApiKeyIn(name="k")).key
    mcp_access._last_used_written.clear()
    return {
        "owner": owner,
        "project": project,
        "server": time_server,
        "key": key,
        "other_key": other_key,
        "engine": engine,
    }


def _authorize(setup, bearer, server_name="time", ip="10.1.2.3"):
    with session_scope(setup["engine"]) as db:
        return mcp_access.authorize_mcp_client(
            db, setup["project"].id, server_name, bearer, client_ip=ip
        )


def test_project_key_grants_the_named_server(setup):
    grant = _authorize(setup, setup["key"])
    assert [s.name for s in grant.servers] == ["time"]
    assert not grant.anonymous


def test_unified_grant_lists_only_enabled_servers(setup):
    grant = _authorize(setup, setup["key"], server_name=None)
    assert [s.name for s in grant.servers] == ["git", "time"]


@pytest.mark.parametrize(
    ("bearer", "reason"),
    [
        (None, "needs a project API key"),
        ("", "needs a project API key"),
        ("mch_not-a-real-key", "not valid for this project"),
        ("mos_a-login-token", "not that token"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "not that token"),
    ],
    ids=["no-key", "empty", "wrong-key", "login-token", "unsigned-jwt"],
)
def test_missing_or_wrong_credentials_are_refused(setup, bearer, reason):
    with pytest.raises(NotAuthenticated, match=reason):
        _authorize(setup, bearer)


def test_key_of_another_project_is_refused(setup):
    with pytest.raises(NotAuthenticated, match="not valid for this project"):
        _authorize(setup, setup["other_key"])


def test_revoked_key_is_refused(setup):
    with session_scope(setup["engine"]) as db:
        key_id = db.exec(select(ApiKey.id).where(ApiKey.name == "k")).first()
        for key in api_keys.list_api_keys(db, setup["owner"].actor, setup["project"].id):
            api_keys.revoke_api_key(db, setup["owner"].actor, setup["project"].id, key.id)
    assert key_id is not None
    with pytest.raises(NotAuthenticated, match="revoked"):
        _authorize(setup, setup["key"])


def test_expired_key_is_refused(setup):
    with session_scope(setup["engine"]) as db:
        for key in db.exec(select(ApiKey)).all():
            key.expires_at = utcnow() - timedelta(minutes=1)
            db.add(key)
    with pytest.raises(NotAuthenticated, match="expired"):
        _authorize(setup, setup["key"])


def test_anonymous_clients_need_the_owner_to_open_the_project_or_server(setup):
    owner, pid = setup["owner"].actor, setup["project"].id
    with pytest.raises(NotAuthenticated):
        _authorize(setup, None)
    with session_scope(setup["engine"]) as db:
        servers.update_server(db, owner, pid, setup["server"].id, ServerPatch(allow_anonymous=True))
    assert _authorize(setup, None).anonymous
    # Opening one server does not open the unified endpoint or the other servers.
    with pytest.raises(NotAuthenticated):
        _authorize(setup, None, server_name=None)
    with pytest.raises(NotAuthenticated):
        _authorize(setup, None, server_name="git")
    with session_scope(setup["engine"]) as db:
        projects.update_project(db, owner, pid, ProjectPatch(allow_anonymous=True))
    assert _authorize(setup, None, server_name=None).anonymous


def test_unknown_project_or_server_and_disabled_server_are_not_found(setup):
    with session_scope(setup["engine"]) as db, pytest.raises(NotFound):
        mcp_access.authorize_mcp_client(db, "not-a-uuid", "time", setup["key"])
    with pytest.raises(NotFound, match="No server named"):
        _authorize(setup, setup["key"], server_name="nope")
    with pytest.raises(NotFound, match="disabled"):
        _authorize(setup, setup["key"], server_name="off")


def test_unified_endpoint_can_be_turned_off(setup):
    with session_scope(setup["engine"]) as db:
        projects.update_project(
            db, setup["owner"].actor, setup["project"].id, ProjectPatch(unified_enabled=False)
        )
    with pytest.raises(NotFound, match="turned off"):
        _authorize(setup, setup["key"], server_name=None)


def test_disabled_tools_come_with_the_grant(setup):
    with session_scope(setup["engine"]) as db:
        db.add(
            ToolPreference(
                project_id=setup["project"].id,
                server_id=setup["server"].id,
                tool_name="get_current_time",
                enabled=False,
            )
        )
    grant = _authorize(setup, setup["key"])
    assert grant.disabled_tools == {setup["server"].id: frozenset({"get_current_time"})}


def test_last_used_is_written_once_per_interval_not_per_call(setup):
    for _ in range(5):
        _authorize(setup, setup["key"], ip="10.1.2.3")
    with session_scope(setup["engine"]) as db:
        key = db.exec(select(ApiKey).where(ApiKey.project_id == setup["project"].id)).one()
        first_used = key.last_used_at
        assert key.last_used_ip == "10.1.2.3"
        key.last_used_at = first_used - timedelta(hours=1)
        db.add(key)
    _authorize(setup, setup["key"], ip="10.1.2.3")
    with session_scope(setup["engine"]) as db:
        unchanged = db.exec(select(ApiKey).where(ApiKey.project_id == setup["project"].id)).one()
        assert unchanged.last_used_at == first_used - timedelta(hours=1)
    # A new address is worth a write at once.
    _authorize(setup, setup["key"], ip="10.9.9.9")
    with session_scope(setup["engine"]) as db:
        moved = db.exec(select(ApiKey).where(ApiKey.project_id == setup["project"].id)).one()
        assert moved.last_used_ip == "10.9.9.9"
