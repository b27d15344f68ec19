"""Projects, members and teams over the REST API, with the activity they leave behind."""

from __future__ import annotations

import pytest

from mcp_orch_app.db import session_scope
from mcp_orch_app.models import Role
from mcp_orch_app.services import projects
from mcp_orch_app.services.errors import Conflict


def _project(client, person, name="Alpha", description=""):
    response = client.post(
        "/api/projects", json={"name": name, "description": description}, headers=person.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_creator_becomes_owner_and_sees_only_own_projects(api_client, make_person):
    ada, bob = make_person("ada"), make_person("bob")
    created = _project(api_client, ada, "Alpha", "first")
    assert created["my_role"] == "owner" and created["member_count"] == 1
    _project(api_client, bob, "Beta")
    assert [p["name"] for p in api_client.get("/api/projects", headers=ada.headers).json()] == [
        "Alpha"
    ]
    assert api_client.get(f"/api/projects/{created['id']}", headers=bob.headers).status_code == 403


def test_project_search_and_admin_listing_of_all(api_client, make_person):
    ada, admin = make_person("ada"), make_person("root", is_admin=True)
    _project(api_client, ada, "Payments")
    _project(api_client, ada, "Search")
    found = api_client.get("/api/projects?q=pay", headers=ada.headers).json()
    assert [p["name"] for p in found] == ["Payments"]
    assert api_client.get("/api/projects", headers=admin.headers).json() == []
    everything = api_client.get("/api/projects?all=true", headers=admin.headers).json()
    assert {p["name"] for p in everything} == {"Payments", "Search"}


def test_member_lifecycle_is_recorded_in_the_activity_feed(api_client, make_person):
    ada, bob = make_person("ada"), make_person("bob")
    pid = _project(api_client, ada)["id"]
    added = api_client.post(
        f"/api/projects/{pid}/members",
        json={"email": bob.email, "role": "reporter"},
        headers=ada.headers,
    )
    assert added.status_code == 201 and added.json()["invited_as"] == "individual"
    assert api_client.get(f"/api/projects/{pid}", headers=bob.headers).json()["my_role"] == (
        "reporter"
    )
    api_client.patch(
        f"/api/projects/{pid}/members/{bob.id}", json={"role": "developer"}, headers=ada.headers
    )
    assert (
        api_client.delete(f"/api/projects/{pid}/members/{bob.id}", headers=ada.headers).status_code
        == 204
    )
    assert api_client.get(f"/api/projects/{pid}", headers=bob.headers).status_code == 403
    feed = api_client.get(f"/api/projects/{pid}/activity", headers=ada.headers).json()
    assert [a["action"] for a in feed] == [
        "member.removed",
        "member.role_changed",
        "member.added",
        "project.created",
    ]
    assert all(a["actor_name"] == "ada" for a in feed)
    assert "reporter to developer" in feed[1]["description"]


def test_last_owner_can_neither_be_demoted_nor_removed(api_client, make_person):
    ada = make_person("ada")
    pid = _project(api_client, ada)["id"]
    demote = api_client.patch(
        f"/api/projects/{pid}/members/{ada.id}", json={"role": "developer"}, headers=ada.headers
    )
    assert demote.status_code == 409 and "at least one owner" in demote.json()["detail"]
    leave = api_client.delete(f"/api/projects/{pid}/members/{ada.id}", headers=ada.headers)
    assert leave.status_code == 409


def test_a_member_may_leave_a_project(api_client, make_person):
    ada, bob = make_person("ada"), make_person("bob")
    pid = _project(api_client, ada)["id"]
    api_client.post(
        f"/api/projects/{pid}/members",
        json={"email": bob.email, "role": "reporter"},
        headers=ada.headers,
    )
    left = api_client.delete(f"/api/projects/{pid}/members/{bob.id}", headers=bob.headers)
    assert left.status_code == 204
    assert api_client.get("/api/projects", headers=bob.headers).json() == []


def test_project_update_and_delete(api_client, make_person):
    ada = make_person("ada")
    pid = _project(api_client, ada)["id"]
    patched = api_client.patch(
        f"/api/projects/{pid}",
        json={"name": "Renamed", "allow_anonymous": True},
        headers=ada.headers,
    ).json()
    assert patched["name"] == "Renamed" and patched["allow_anonymous"] is True
    assert api_client.delete(f"/api/projects/{pid}", headers=ada.headers).status_code == 204
    assert api_client.get(f"/api/projects/{pid}", headers=ada.headers).status_code == 404


def test_deleting_a_project_removes_its_servers_keys_and_members(api_client, make_person, engine):
    ada = make_person("ada")
    pid = _project(api_client, ada)["id"]
    api_client.post(
        f"/api/projects/{pid}/servers",
        json={"name": "t", "command": "uvx", "env": {"A": "b"}},
        headers=ada.headers,
    )
    api_client.post(f"/api/projects/{pid}/api-keys", json={"name": "ci"}, headers=ada.headers)
    api_client.delete(f"/api/projects/{pid}", headers=ada.headers)
    from sqlalchemy import text

    with engine.connect() as conn:
        for table in ("mcp_servers", "api_keys", "project_members"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_team_members_follow_the_team_into_projects(api_client, make_person):
    ada, bob, cy = make_person("ada"), make_person("bob"), make_person("cy")
    team = api_client.post("/api/teams", json={"name": "Platform"}, headers=ada.headers).json()
    assert team["my_role"] == "owner"
    api_client.post(
        f"/api/teams/{team['id']}/members",
        json={"email": bob.email, "role": "developer"},
        headers=ada.headers,
    )
    pid = _project(api_client, ada)["id"]
    linked = api_client.post(
        f"/api/projects/{pid}/teams",
        json={"team_id": team["id"], "role": "reporter"},
        headers=ada.headers,
    )
    assert linked.status_code == 201, linked.text
    members = {
        m["email"]: m
        for m in api_client.get(f"/api/projects/{pid}/members", headers=ada.headers).json()
    }
    # Ada keeps her own owner membership; Bob joins through the team.
    assert members[ada.email]["role"] == "owner"
    assert members[bob.email]["invited_as"] == "team_member"
    assert members[bob.email]["team_name"] == "Platform"
    assert members[bob.email]["role"] == "reporter"
    # A member added to the team later joins the team's projects too.
    api_client.post(
        f"/api/teams/{team['id']}/members",
        json={"email": cy.email, "role": "developer"},
        headers=ada.headers,
    )
    assert api_client.get(f"/api/projects/{pid}", headers=cy.headers).status_code == 200
    # Leaving the team ends memberships that came only through it.
    api_client.delete(f"/api/teams/{team['id']}/members/{cy.id}", headers=ada.headers)
    assert api_client.get(f"/api/projects/{pid}", headers=cy.headers).status_code == 403
    # Removing the team from the project removes the team-joined members, not the owner.
    assert (
        api_client.delete(
            f"/api/projects/{pid}/teams/{team['id']}", headers=ada.headers
        ).status_code
        == 204
    )
    assert api_client.get(f"/api/projects/{pid}", headers=bob.headers).status_code == 403
    assert api_client.get(f"/api/projects/{pid}", headers=ada.headers).status_code == 200
    team_feed = api_client.get(f"/api/teams/{team['id']}/activity", headers=ada.headers).json()
    assert "team.created" in [a["action"] for a in team_feed]
    assert "team.added_to_project" in [a["action"] for a in team_feed]


def test_team_projects_list(api_client, make_person):
    ada = make_person("ada")
    team = api_client.post("/api/teams", json={"name": "Data"}, headers=ada.headers).json()
    pid = _project(api_client, ada, "Warehouse")["id"]
    api_client.post(f"/api/projects/{pid}/teams", json={"team_id": team["id"]}, headers=ada.headers)
    listed = api_client.get(f"/api/teams/{team['id']}/projects", headers=ada.headers).json()
    assert [p["name"] for p in listed] == ["Warehouse"]


def test_overview_counts_servers_by_cached_status(api_client, make_person):
    ada = make_person("ada")
    pid = _project(api_client, ada)["id"]
    for name in ("one", "two"):
        api_client.post(
            f"/api/projects/{pid}/servers",
            json={"name": name, "command": "uvx"},
            headers=ada.headers,
        )
    sid = api_client.get(f"/api/projects/{pid}/servers", headers=ada.headers).json()[0]["id"]
    api_client.post(f"/api/projects/{pid}/servers/{sid}/toggle", headers=ada.headers)
    overview = api_client.get(f"/api/projects/{pid}/overview", headers=ada.headers).json()
    assert overview["status_counts"]["unknown"] == 1
    assert overview["status_counts"]["disabled"] == 1
    assert [m["email"] for m in overview["members"]] == [ada.email]
    assert overview["recent_activity"][0]["action"] == "server.disabled"


def test_service_refuses_removing_the_only_owner_directly(engine, make_person):
    ada = make_person("ada")
    with session_scope(engine) as db:
        project = projects.create_project(db, ada.actor, "P")
    with session_scope(engine) as db, pytest.raises(Conflict):
        projects.change_member_role(db, ada.actor, project.id, ada.id, Role.REPORTER)
