"""Accounts end to end over the REST API: sign-up, login, sessions, logout, profile, admin."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import LoginSession, User
from mcp_orch_app.models.types import utcnow

PASSWORD = "a long enough password"


def _signup(client, email, password=PASSWORD, name="Someone"):
    return client.post(
        "/api/auth/signup", json={"email": email, "password": password, "name": name}
    )


def _login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_first_account_becomes_admin_and_the_next_does_not(api_client):
    first = _signup(api_client, "Ada@Example.com", name="Ada")
    second = _signup(api_client, "bob@example.com", name="Bob")
    assert first.status_code == 201, first.text
    assert first.json()["is_admin"] is True
    assert first.json()["email"] == "ada@example.com"
    assert set(first.json()) >= {"id", "email", "name", "is_admin"}
    assert second.status_code == 201
    assert second.json()["is_admin"] is False


def test_login_returns_a_bearer_token_that_identifies_the_user(api_client):
    _signup(api_client, "ada@example.com", name="Ada")
    response = _login(api_client, "ADA@example.com")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_at"]
    me = api_client.get("/api/auth/me", headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["name"] == "Ada"


def test_wrong_password_and_unknown_email_get_the_same_401(api_client):
    _signup(api_client, "ada@example.com")
    wrong = _login(api_client, "ada@example.com", "not the password")
    unknown = _login(api_client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Incorrect email or password."


def test_token_is_stored_only_as_a_hash(api_client, engine):
    _signup(api_client, "ada@example.com")
    token = _login(api_client, "ada@example.com").json()["access_token"]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM login_sessions")).scalars().all()
    assert stored and token not in stored
    assert all(len(value) == 64 for value in stored)


def test_logout_revokes_the_token_everywhere(api_client):
    _signup(api_client, "ada@example.com")
    token = _login(api_client, "ada@example.com").json()["access_token"]
    assert api_client.post("/api/auth/logout", headers=_bearer(token)).status_code == 204
    after = api_client.get("/api/auth/me", headers=_bearer(token))
    assert after.status_code == 401
    assert after.headers["www-authenticate"] == "Bearer"


def test_expired_session_is_refused(api_client, engine):
    _signup(api_client, "ada@example.com")
    token = _login(api_client, "ada@example.com").json()["access_token"]
    with db.session_scope(engine) as s:
        for row in s.exec(select(LoginSession)).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
    assert api_client.get("/api/auth/me", headers=_bearer(token)).status_code == 401


def test_deactivated_user_can_neither_use_a_session_nor_log_in(api_client, make_person):
    admin = make_person("admin", is_admin=True)
    _signup(api_client, "bob@example.com")
    token = _login(api_client, "bob@example.com").json()["access_token"]
    bob_id = api_client.get("/api/auth/me", headers=_bearer(token)).json()["id"]
    response = api_client.patch(
        f"/api/admin/users/{bob_id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert api_client.get("/api/auth/me", headers=_bearer(token)).status_code == 401
    assert _login(api_client, "bob@example.com").status_code == 401


def test_closed_signup_refuses_new_accounts_until_reopened(api_client):
    _signup(api_client, "admin@example.com")
    admin_token = _login(api_client, "admin@example.com").json()["access_token"]
    closed = api_client.put(
        "/api/admin/settings", json={"signup_open": False}, headers=_bearer(admin_token)
    )
    assert closed.json() == {"signup_open": False}
    assert api_client.get("/api/auth/signup-status").json() == {"signup_open": False}
    refused = _signup(api_client, "late@example.com")
    assert refused.status_code == 403
    assert "closed" in refused.json()["detail"]
    api_client.put("/api/admin/settings", json={"signup_open": True}, headers=_bearer(admin_token))
    assert _signup(api_client, "late@example.com").status_code == 201


def test_admin_can_create_users_even_when_signup_is_closed(api_client, make_person):
    admin = make_person("admin", is_admin=True)
    api_client.put("/api/admin/settings", json={"signup_open": False}, headers=admin.headers)
    created = api_client.post(
        "/api/admin/users",
        json={"email": "new@example.com", "password": PASSWORD, "name": "New"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert _login(api_client, "new@example.com").status_code == 200


def test_password_change_needs_the_current_password_and_ends_other_sessions(api_client):
    _signup(api_client, "ada@example.com")
    here = _login(api_client, "ada@example.com").json()["access_token"]
    elsewhere = _login(api_client, "ada@example.com").json()["access_token"]
    wrong = api_client.post(
        "/api/auth/password",
        json={"current_password": "nope", "new_password": "another long password"},
        headers=_bearer(here),
    )
    assert wrong.status_code == 422 and "current password" in wrong.json()["detail"]
    ok = api_client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long password"},
        headers=_bearer(here),
    )
    assert ok.status_code == 204
    assert api_client.get("/api/auth/me", headers=_bearer(here)).status_code == 200
    assert api_client.get("/api/auth/me", headers=_bearer(elsewhere)).status_code == 401
    assert _login(api_client, "ada@example.com").status_code == 401
    assert _login(api_client, "ada@example.com", "another long password").status_code == 200


def test_sessions_are_listed_and_logout_everywhere_ends_them(api_client):
    _signup(api_client, "ada@example.com")
    tokens = [_login(api_client, "ada@example.com").json()["access_token"] for _ in range(3)]
    listed = api_client.get("/api/auth/sessions", headers=_bearer(tokens[0])).json()
    assert len(listed) == 3
    assert sum(1 for s in listed if s["current"]) == 1
    revoked = api_client.post("/api/auth/logout-all", headers=_bearer(tokens[0])).json()
    assert revoked == {"revoked": 3}
    assert all(
        api_client.get("/api/auth/me", headers=_bearer(t)).status_code == 401 for t in tokens
    )


def test_profile_name_can_be_changed_but_not_emptied(api_client):
    _signup(api_client, "ada@example.com", name="Ada")
    token = _login(api_client, "ada@example.com").json()["access_token"]
    changed = api_client.patch("/api/auth/me", json={"name": "Ada L."}, headers=_bearer(token))
    assert changed.json()["name"] == "Ada L."
    empty = api_client.patch("/api/auth/me", json={"name": "  "}, headers=_bearer(token))
    assert empty.status_code == 422


def test_admin_cannot_remove_own_admin_rights(api_client, make_person):
    admin = make_person("admin", is_admin=True)
    response = api_client.patch(
        f"/api/admin/users/{admin.id}", json={"is_admin": False}, headers=admin.headers
    )
    assert response.status_code == 422
    with db.session_scope() as s:
        assert s.get(User, admin.id).is_admin


def test_admin_actions_leave_an_instance_level_activity(api_client, make_person, engine):
    admin = make_person("admin", is_admin=True)
    api_client.put("/api/admin/settings", json={"signup_open": False}, headers=admin.headers)
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action, actor_name FROM activities")).all()
    assert [tuple(a) for a in actions] == [("settings.signup_closed", "admin")]


def test_openapi_document_is_served_under_api(api_client):
    spec = api_client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in (
        "/api/auth/login",
        "/api/projects/{project_id}/servers/import",
        "/api/projects/{project_id}/api-keys/{key_id}",
        "/api/teams/{team_id}/members/{user_id}",
    ):
        assert path in paths
