"""The project feed filtered by person and kind, and administrators resetting passwords, over
the REST API (the same services the web UI calls)."""

from __future__ import annotations

from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import Activity, LoginSession, User
from mcp_orch_app.security.passwords import verify_password
from mcp_orch_app.services import api_keys, projects
from mcp_orch_app.services.schemas import ApiKeyIn


def _project_with_history(engine, owner, developer) -> str:
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "Hangar")
        projects.add_member(s, owner.actor, project.id, developer.email, "owner")
        api_keys.create_api_key(s, developer.actor, project.id, ApiKeyIn(name="CI"))
        api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="Laptop"))
    return str(project.id)


def test_the_feed_filters_by_person_and_by_kind(api_client, engine, make_person):
    owner, developer = make_person("owner"), make_person("dev")
    project_id = _project_with_history(engine, owner, developer)
    feed = f"/api/projects/{project_id}/activity"

    by_developer = api_client.get(
        feed, params={"actor_id": str(developer.id)}, headers=owner.headers
    )
    keys_by_owner = api_client.get(
        feed, params={"actor_id": str(owner.id), "action": "api_key"}, headers=owner.headers
    )

    assert by_developer.status_code == 200, by_developer.text
    [entry] = by_developer.json()
    assert entry["action"] == "api_key.created"
    assert entry["description"].startswith("dev created the API key CI (")
    [entry] = keys_by_owner.json()
    assert entry["description"].startswith("owner created the API key Laptop (")


def test_the_feed_names_its_kinds_and_people(api_client, engine, make_person):
    owner, developer = make_person("owner"), make_person("dev")
    project_id = _project_with_history(engine, owner, developer)

    response = api_client.get(f"/api/projects/{project_id}/activity/filters", headers=owner.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "actions": ["api_key.created", "member.added", "project.created"],
        "actors": [
            {"id": str(developer.id), "name": "dev"},
            {"id": str(owner.id), "name": "owner"},
        ],
    }


def test_a_person_filter_that_is_no_user_id_is_refused(api_client, engine, make_person):
    owner, developer = make_person("owner"), make_person("dev")
    project_id = _project_with_history(engine, owner, developer)

    response = api_client.get(
        f"/api/projects/{project_id}/activity", params={"actor_id": "x"}, headers=owner.headers
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "actor_id 'x' is not a user id."}


def test_outsiders_see_neither_the_feed_nor_its_filters(api_client, engine, make_person):
    owner, developer, outsider = make_person("owner"), make_person("dev"), make_person("out")
    project_id = _project_with_history(engine, owner, developer)

    for path in ("/activity", "/activity/filters"):
        response = api_client.get(f"/api/projects/{project_id}{path}", headers=outsider.headers)
        assert response.status_code == 403
        assert response.json() == {"detail": "You are not a member of this project."}


def _user(engine, person) -> User:
    with db.session_scope(engine) as s:
        return s.get(User, person.id)


def _live_sessions(engine, person) -> int:
    with db.session_scope(engine) as s:
        return len(
            s.exec(
                select(LoginSession).where(
                    LoginSession.user_id == person.id, LoginSession.revoked_at.is_(None)
                )
            ).all()
        )


def test_an_admin_resets_a_password_to_a_generated_one_shown_once(api_client, engine, make_person):
    admin, user = make_person("admin", is_admin=True), make_person("user")

    response = api_client.post(
        f"/api/admin/users/{user.id}/reset-password", json={}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["generated"] is True and body["user"]["email"] == user.email
    assert verify_password(body["password"], _user(engine, user).password_hash)
    assert _live_sessions(engine, user) == 0
    assert api_client.get("/api/auth/me", headers=user.headers).status_code == 401
    login = api_client.post(
        "/api/auth/login", json={"email": user.email, "password": body["password"]}
    )
    assert login.status_code == 200
    with db.session_scope(engine) as s:
        [entry] = s.exec(select(Activity).where(Activity.action == "user.updated")).all()
    assert body["password"] not in entry.description
    assert entry.description == f"admin changed {user.email}: password reset"


def test_an_admin_sets_a_typed_password(api_client, engine, make_person):
    admin, user = make_person("admin", is_admin=True), make_person("user")

    short = api_client.post(
        f"/api/admin/users/{user.id}/reset-password",
        json={"password": "short"},
        headers=admin.headers,
    )
    typed = api_client.post(
        f"/api/admin/users/{user.id}/reset-password",
        json={"password": "chosen by the admin"},
        headers=admin.headers,
    )

    assert short.status_code == 422
    assert short.json() == {"detail": "The password must be at least 10 characters long."}
    assert typed.status_code == 200
    assert typed.json()["generated"] is False
    assert verify_password("chosen by the admin", _user(engine, user).password_hash)


def test_password_resets_are_refused_to_non_admins_and_for_oneself(api_client, engine, make_person):
    admin, user, victim = make_person("admin", True), make_person("user"), make_person("victim")
    before = _user(engine, victim).password_hash

    forced = api_client.post(
        f"/api/admin/users/{victim.id}/reset-password", json={}, headers=user.headers
    )
    own = api_client.post(
        f"/api/admin/users/{admin.id}/reset-password", json={}, headers=admin.headers
    )
    unknown = api_client.post(
        "/api/admin/users/00000000-0000-0000-0000-000000000000/reset-password",
        json={},
        headers=admin.headers,
    )

    assert forced.status_code == 403
    assert forced.json() == {"detail": "Only an administrator can do this."}
    assert own.status_code == 422
    assert own.json() == {"detail": "Change your own password on your profile page."}
    assert unknown.status_code == 404
    assert _user(engine, victim).password_hash == before
    assert _live_sessions(engine, victim) == 1
    assert _live_sessions(engine, admin) == 1
