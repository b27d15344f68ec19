"""The project pages' handlers (overview, members, API keys, activity, settings), the team page
and the admin page, run as forged websocket events would run them (see tests/ui_events.py):
someone without the right changes nothing, bad input gets a message and loses nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import (
    Activity,
    ApiKey,
    LoginSession,
    McpServer,
    Project,
    ProjectMember,
    ProjectTeam,
    ToolCallLog,
    ToolCallStatus,
    User,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.tokens import hash_token
from mcp_orch_app.services import api_keys, auth, projects, servers, teams
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn, TeamIn
from mcp_orch_app.ui.states.admin import AdminState
from mcp_orch_app.ui.states.api_keys import ApiKeysState, expiry_from_form
from mcp_orch_app.ui.states.members import MembersState
from mcp_orch_app.ui.states.project import SERVERS_SHOWN, ProjectState
from mcp_orch_app.ui.states.project_activity import PAGE_SIZE, ProjectActivityState
from mcp_orch_app.ui.states.project_settings import ProjectSettingsState
from mcp_orch_app.ui.states.team import TeamState
from tests.ui_events import client_pushes, error_toasts, redirects, run_event, state_for


@pytest.fixture
def crew(engine, make_person):
    """A project with an owner and a reporter, and someone outside it."""
    owner, reporter, outsider = make_person("owner"), make_person("reporter"), make_person("out")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "Hangar", "private plans")
        projects.add_member(s, owner.actor, project.id, reporter.email, "reporter")
    return owner, reporter, outsider, project.id


def _roles(engine, project_id: uuid.UUID) -> dict[str, str]:
    with db.session_scope(engine) as s:
        rows = s.exec(
            select(User.email, ProjectMember.role)
            .join(ProjectMember, ProjectMember.user_id == User.id)
            .where(ProjectMember.project_id == project_id)
        ).all()
    return {email: role.value for email, role in rows}


# --- overview -------------------------------------------------------------------------------


async def test_the_overview_lists_the_latest_calls_and_the_unified_endpoint(engine, crew):
    _, reporter, _, project_id = crew
    now = utcnow()
    with db.session_scope(engine) as s:
        for n in range(12):
            s.add(
                ToolCallLog(
                    project_id=project_id,
                    server_name="files",
                    tool_name=f"tool{n}",
                    status=ToolCallStatus.ERROR if n == 11 else ToolCallStatus.SUCCESS,
                    error_message="disk full" if n == 11 else None,
                    duration_ms=n,
                    created_at=now - timedelta(hours=5, minutes=12 - n),
                )
            )
    state = state_for(ProjectState, f"/projects/{project_id}", token=reporter.token)

    await run_event(ProjectState.load, state)

    assert state.problem == ""
    # The ten newest, newest first, although they are older than the log viewer's 30 minutes.
    assert [c.tool_name for c in state.recent_calls] == [f"tool{n}" for n in range(11, 1, -1)]
    assert (state.recent_calls[0].status, state.recent_calls[0].error) == ("error", "disk full")
    assert state.recent_calls[1].duration == "10 ms"
    assert state.unified_http_url == f"http://testserver/projects/{project_id}/unified/mcp"
    assert state.unified_sse_url == f"http://testserver/projects/{project_id}/unified/sse"
    assert state.unified_enabled is True


async def test_the_overview_shows_the_servers_needing_attention_first(engine, crew):
    owner, _, _, project_id = crew
    statuses = ["online"] * 9 + ["error", "offline", "disabled"]
    with db.session_scope(engine) as s:
        for n, status in enumerate(statuses):
            data = ServerIn(name=f"s{n:02}", transport="sse", url="http://127.0.0.1:9/sse")
            created = servers.create_server(s, owner.actor, project_id, data)
            s.get(McpServer, created.id).status = status
    state = state_for(ProjectState, f"/projects/{project_id}", token=owner.token)

    await run_event(ProjectState.load, state)

    assert state.server_total == 12 and state.all_servers_label == "All 12 servers"
    assert [(r.name, r.status) for r in state.servers[:3]] == [
        ("s09", "error"),
        ("s10", "offline"),
        ("s00", "online"),
    ]
    assert len(state.servers) == SERVERS_SHOWN
    assert {c.status: c.count for c in state.status_counts}["online"] == 9


async def test_a_non_member_gets_no_calls_and_no_endpoint(engine, crew):
    _, _, outsider, project_id = crew
    state = state_for(ProjectState, f"/projects/{project_id}", token=outsider.token)

    await run_event(ProjectState.load, state)

    assert state.problem == "You are not a member of this project."
    assert state.recent_calls == [] and state.unified_http_url == ""


# --- members --------------------------------------------------------------------------------


async def test_forced_member_events_from_a_reporter_or_outsider_change_nothing(engine, crew):
    owner, reporter, outsider, project_id = crew
    with db.session_scope(engine) as s:
        team = teams.create_team(s, reporter.actor, TeamIn(name="Reporters' own"))
    before = _roles(engine, project_id)

    for person in (reporter, outsider):
        state = state_for(MembersState, f"/projects/{project_id}/members", token=person.token)
        await run_event(MembersState.invite, state, {"email": outsider.email, "role": "owner"})
        assert state.invite_error.startswith(("This needs an owner", "You are not a member")), (
            state.invite_error
        )
        events = await run_event(MembersState.change_role, state, str(reporter.id), "owner")
        events += await run_event(MembersState.remove_member, state, str(owner.id))
        events += await run_event(MembersState.remove_team, state, str(team.id))
        assert len(error_toasts(events)) == 3
        await run_event(MembersState.add_team, state, {"team_id": str(team.id), "role": "owner"})
        assert state.team_error

    assert _roles(engine, project_id) == before
    with db.session_scope(engine) as s:
        assert s.exec(select(ProjectTeam)).first() is None


async def test_inviting_bad_or_unknown_addresses_says_why_and_adds_nobody(engine, crew):
    owner, _, _, project_id = crew
    state = state_for(MembersState, f"/projects/{project_id}/members", token=owner.token)
    await run_event(MembersState.load, state)
    state.invite_open = True
    before = _roles(engine, project_id)

    await run_event(MembersState.invite, state, {"email": "not an address", "role": "developer"})
    assert state.invite_error.startswith("That is not a valid email address")
    await run_event(MembersState.invite, state, {"email": "ghost@example.com", "role": "owner"})
    assert state.invite_error == "No account uses ghost@example.com; they need to sign up first."
    await run_event(MembersState.invite, state, {"email": "ghost@example.com", "role": "king"})
    assert state.invite_error.startswith("Unknown role 'king'")

    assert state.invite_open is True  # the dialog stays open with what was typed
    assert _roles(engine, project_id) == before


async def test_an_owner_invites_promotes_and_removes_a_member(engine, crew, make_person):
    owner, reporter, _, project_id = crew
    newcomer = make_person("newcomer")
    state = state_for(MembersState, f"/projects/{project_id}/members", token=owner.token)
    await run_event(MembersState.load, state)

    await run_event(MembersState.invite, state, {"email": newcomer.email, "role": "reporter"})
    assert state.invite_error == ""
    assert {m.email: (m.role, m.joined_via) for m in state.members}[newcomer.email] == (
        "reporter",
        "Individual",
    )
    await run_event(MembersState.change_role, state, str(newcomer.id), "developer")
    await run_event(MembersState.remove_member, state, str(reporter.id))

    assert _roles(engine, project_id) == {owner.email: "owner", newcomer.email: "developer"}
    # The last owner can neither be demoted nor removed.
    events = await run_event(MembersState.change_role, state, str(owner.id), "reporter")
    assert error_toasts(events)
    assert _roles(engine, project_id)[owner.email] == "owner"


async def test_a_team_added_to_a_project_brings_its_members_and_takes_them_away(
    engine, crew, make_person
):
    owner, _, _, project_id = crew
    teammate = make_person("teammate")
    with db.session_scope(engine) as s:
        team = teams.create_team(s, owner.actor, TeamIn(name="Night shift"))
        teams.add_team_member(s, owner.actor, team.id, teammate.email, "developer")
    state = state_for(MembersState, f"/projects/{project_id}/members", token=owner.token)
    await run_event(MembersState.load, state)
    assert [(t.value, t.label) for t in state.addable_teams] == [(str(team.id), "Night shift")]

    await run_event(MembersState.add_team, state, {"team_id": "", "role": "reporter"})
    assert state.team_error == "Choose a team."
    await run_event(MembersState.add_team, state, {"team_id": str(team.id), "role": "reporter"})

    assert state.team_error == ""
    assert [(t.team_name, t.role) for t in state.project_teams] == [("Night shift", "reporter")]
    assert state.addable_teams == []
    joined = {m.email: m.joined_via for m in state.members}
    assert joined[teammate.email] == "Team Night shift"

    await run_event(MembersState.remove_team, state, str(team.id))
    assert state.project_teams == []
    assert teammate.email not in _roles(engine, project_id)


async def test_a_reporter_may_leave_and_is_sent_to_the_projects(engine, crew):
    _, reporter, _, project_id = crew
    state = state_for(MembersState, f"/projects/{project_id}/members", token=reporter.token)

    events = await run_event(MembersState.remove_member, state, str(reporter.id))

    assert redirects(events) == ["/projects"]
    assert reporter.email not in _roles(engine, project_id)


# --- API keys -------------------------------------------------------------------------------


def _keys(engine, project_id: uuid.UUID) -> list[ApiKey]:
    with db.session_scope(engine) as s:
        return list(s.exec(select(ApiKey).where(ApiKey.project_id == project_id)).all())


async def test_a_new_key_goes_to_the_browser_once_and_only_its_hash_is_kept(engine, crew):
    owner, _, _, project_id = crew
    state = state_for(ApiKeysState, f"/projects/{project_id}/keys", token=owner.token)
    await run_event(ApiKeysState.load, state)

    events = await run_event(ApiKeysState.create, state, {"name": "Cursor", "expires": ""})

    [key] = client_pushes(events, "new_api_key")
    assert key.startswith("mch_") and state.new_key_name == "Cursor"
    # Nothing of the page's state (kept server-side between events) holds the key.
    assert key not in str(state.dict())
    [stored] = _keys(engine, project_id)
    assert stored.key_hash == hash_token(key) and key not in (stored.prefix + stored.suffix)
    [row] = state.keys
    assert (row.name, row.status, row.expires, row.last_used) == (
        "Cursor",
        "active",
        "never",
        "never",
    )
    assert row.masked == f"{stored.prefix}…{stored.suffix}" and key not in row.masked

    # Loading the page again clears the key from the browser; the list has only its parts.
    events = await run_event(ApiKeysState.load, state)
    assert client_pushes(events, "new_api_key") == [""]
    assert [k.name for k in state.keys] == ["Cursor"]


async def test_bad_key_input_says_why_and_creates_nothing(engine, crew):
    owner, _, _, project_id = crew
    state = state_for(ApiKeysState, f"/projects/{project_id}/keys", token=owner.token)
    yesterday = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()

    await run_event(ApiKeysState.create, state, {"name": "  ", "expires": ""})
    assert state.create_error == "The API key name must not be empty."
    await run_event(ApiKeysState.create, state, {"name": "CI", "expires": "31/12/2030"})
    assert state.create_error == "'31/12/2030' is not a date; pick one or leave the field empty."
    await run_event(ApiKeysState.create, state, {"name": "CI", "expires": yesterday})
    assert state.create_error == "The expiry date must be in the future."

    assert _keys(engine, project_id) == []


def test_a_picked_expiry_date_lasts_until_the_end_of_that_day():
    assert expiry_from_form("2030-06-01") == datetime(2030, 6, 2, tzinfo=UTC)
    assert expiry_from_form(" ") is None
    with pytest.raises(InvalidInput):
        expiry_from_form("tomorrow")


async def test_forced_key_events_from_a_reporter_change_nothing(engine, crew):
    owner, reporter, _, project_id = crew
    with db.session_scope(engine) as s:
        created = api_keys.create_api_key(s, owner.actor, project_id, ApiKeyIn(name="Prod"))
    state = state_for(ApiKeysState, f"/projects/{project_id}/keys", token=reporter.token)
    await run_event(ApiKeysState.load, state)
    assert [k.name for k in state.keys] == ["Prod"]  # reporters may read the list

    events = await run_event(ApiKeysState.create, state, {"name": "Mine", "expires": ""})
    assert client_pushes(events, "new_api_key") == []
    events = await run_event(ApiKeysState.revoke, state, str(created.id))

    assert state.create_error == "This needs an owner of the project; you are a reporter."
    assert error_toasts(events)
    [key] = _keys(engine, project_id)
    assert key.name == "Prod" and key.revoked_at is None


async def test_an_owner_revokes_a_key(engine, crew):
    owner, _, _, project_id = crew
    with db.session_scope(engine) as s:
        created = api_keys.create_api_key(s, owner.actor, project_id, ApiKeyIn(name="Old"))
    state = state_for(ApiKeysState, f"/projects/{project_id}/keys", token=owner.token)

    await run_event(ApiKeysState.revoke, state, str(created.id))

    assert [(k.name, k.status) for k in state.keys] == [("Old", "revoked")]
    assert state.active_count == 0
    assert _keys(engine, project_id)[0].revoked_at is not None


# --- activity -------------------------------------------------------------------------------


async def test_the_feed_filters_by_kind_and_person_and_pages(engine, crew, make_person):
    owner, reporter, _, project_id = crew
    with db.session_scope(engine) as s:
        for n in range(PAGE_SIZE + 5):
            api_keys.create_api_key(s, owner.actor, project_id, ApiKeyIn(name=f"key {n}"))
        projects.remove_member(s, reporter.actor, project_id, reporter.id)
    state = state_for(ProjectActivityState, f"/projects/{project_id}/activity", owner.token)

    await run_event(ProjectActivityState.load, state)
    assert {k.value for k in state.kinds} == {
        "api_key.created",
        "member.added",
        "member.left",
        "project.created",
    }
    assert {p.label for p in state.people} == {"owner", "reporter"}
    assert len(state.entries) == PAGE_SIZE and state.has_older
    first_page = [e.id for e in state.entries]

    await run_event(ProjectActivityState.older, state)
    assert state.page_number == 2 and not state.has_older
    assert len(state.entries) == 33 - PAGE_SIZE  # 30 keys, the project, one added, one left
    assert max(e.id for e in state.entries) < min(first_page)
    await run_event(ProjectActivityState.newer, state)
    assert [e.id for e in state.entries] == first_page and state.page_number == 1

    await run_event(ProjectActivityState.filter_actor, state, str(reporter.id))
    assert [e.action for e in state.entries] == ["member.left"]
    await run_event(ProjectActivityState.filter_action, state, "member.added")
    assert state.entries == [] and state.filtered
    await run_event(ProjectActivityState.clear_filters, state)
    assert len(state.entries) == PAGE_SIZE and not state.filtered


async def test_a_forged_person_filter_is_refused_and_keeps_the_page(engine, crew):
    owner, _, outsider, project_id = crew
    state = state_for(ProjectActivityState, f"/projects/{project_id}/activity", owner.token)
    await run_event(ProjectActivityState.load, state)
    shown = list(state.entries)

    events = await run_event(ProjectActivityState.filter_actor, state, "'; drop table users")

    assert error_toasts(events)
    assert state.entries == shown

    stranger = state_for(ProjectActivityState, f"/projects/{project_id}/activity", outsider.token)
    await run_event(ProjectActivityState.load, stranger)
    assert stranger.problem == "You are not a member of this project."
    assert stranger.entries == [] and stranger.kinds == []


# --- settings -------------------------------------------------------------------------------


def _project(engine, project_id: uuid.UUID) -> Project | None:
    with db.session_scope(engine) as s:
        return s.get(Project, project_id)


async def test_forced_settings_events_from_a_reporter_change_nothing(engine, crew):
    _, reporter, _, project_id = crew
    state = state_for(ProjectSettingsState, f"/projects/{project_id}/settings", reporter.token)
    await run_event(ProjectSettingsState.load, state)
    assert state.name == "Hangar"  # reporters read the settings

    await run_event(ProjectSettingsState.save_details, state, {"name": "Mine", "description": ""})
    events = await run_event(ProjectSettingsState.set_switch, state, "allow_anonymous", True)
    events += await run_event(ProjectSettingsState.set_switch, state, "unified_enabled", False)
    state.delete_typed = "Hangar"
    await run_event(ProjectSettingsState.delete_project, state)

    assert state.details_error == "This needs an owner of the project; you are a reporter."
    assert len(error_toasts(events)) == 2
    assert state.delete_error == "This needs an owner of the project; you are a reporter."
    project = _project(engine, project_id)
    assert (project.name, project.allow_anonymous, project.unified_enabled) == (
        "Hangar",
        False,
        True,
    )


async def test_an_owner_changes_the_settings_and_bad_input_loses_nothing(engine, crew):
    owner, _, _, project_id = crew
    state = state_for(ProjectSettingsState, f"/projects/{project_id}/settings", owner.token)
    await run_event(ProjectSettingsState.load, state)

    await run_event(ProjectSettingsState.save_details, state, {"name": " ", "description": "x"})
    assert state.details_error == "The project name must not be empty."
    assert (_project(engine, project_id).name, _project(engine, project_id).description) == (
        "Hangar",
        "private plans",
    )

    await run_event(ProjectSettingsState.set_switch, state, "name", True)  # not a switch
    assert _project(engine, project_id).name == "Hangar"
    await run_event(
        ProjectSettingsState.save_details, state, {"name": "Hangar 2", "description": "new"}
    )
    await run_event(ProjectSettingsState.set_switch, state, "allow_anonymous", True)
    await run_event(ProjectSettingsState.set_switch, state, "unified_enabled", False)

    assert state.details_error == "" and state.saving_switch == ""
    project = _project(engine, project_id)
    assert (project.name, project.description) == ("Hangar 2", "new")
    assert (project.allow_anonymous, project.unified_enabled) == (True, False)
    assert (state.allow_anonymous, state.unified_enabled) == (True, False)


async def test_deleting_needs_the_typed_name(engine, crew):
    owner, _, _, project_id = crew
    state = state_for(ProjectSettingsState, f"/projects/{project_id}/settings", owner.token)
    await run_event(ProjectSettingsState.load, state)

    await run_event(ProjectSettingsState.set_delete_typed, state, "hangar")
    assert state.delete_confirmed is False
    await run_event(ProjectSettingsState.delete_project, state)  # forced despite the button
    assert state.delete_error == "Type the project's name, Hangar, to delete it."
    assert _project(engine, project_id) is not None

    await run_event(ProjectSettingsState.set_delete_typed, state, "Hangar")
    assert state.delete_confirmed is True
    events = await run_event(ProjectSettingsState.delete_project, state)

    assert redirects(events) == ["/projects"]
    assert _project(engine, project_id) is None


# --- team -----------------------------------------------------------------------------------


async def test_the_team_page_lists_the_projects_the_team_is_in(engine, crew):
    owner, _, _, project_id = crew
    with db.session_scope(engine) as s:
        team = teams.create_team(s, owner.actor, TeamIn(name="Crew"))
        projects.add_team_to_project(s, owner.actor, project_id, team.id, "developer")
    state = state_for(TeamState, f"/teams/{team.id}", token=owner.token)

    await run_event(TeamState.load, state)

    assert [(p.id, p.name, p.role) for p in state.projects] == [
        (str(project_id), "Hangar", "developer")
    ]


# --- admin ----------------------------------------------------------------------------------


def _password_hash(engine, user) -> str:
    with db.session_scope(engine) as s:
        return s.get(User, user.id).password_hash


def _live_sessions(engine, user) -> int:
    with db.session_scope(engine) as s:
        rows = s.exec(
            select(LoginSession).where(
                LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
            )
        ).all()
    return len(rows)


async def test_an_admin_resets_a_password_and_sees_the_generated_one_once(engine, make_person):
    admin, user = make_person("admin", is_admin=True), make_person("user")
    old_hash = _password_hash(engine, user)
    state = state_for(AdminState, "/admin", token=admin.token)
    await run_event(AdminState.load, state)
    await run_event(AdminState.open_reset, state, str(user.id), user.email)

    await run_event(AdminState.reset_password, state, {"password": "short"})
    assert state.reset_error == "The password must be at least 10 characters long."
    assert _password_hash(engine, user) == old_hash

    events = await run_event(AdminState.reset_password, state, {"password": ""})
    [temporary] = client_pushes(events, "temporary_password")
    assert len(temporary) >= 12 and state.reset_error == ""
    assert temporary not in str(state.dict())
    assert _live_sessions(engine, user) == 0
    assert auth.login(user.email, temporary).user.email == user.email

    events = await run_event(AdminState.close_reset, state, False)
    assert client_pushes(events, "temporary_password") == [""]
    assert state.reset_user_id == ""

    await run_event(AdminState.open_reset, state, str(user.id), user.email)
    events = await run_event(AdminState.reset_password, state, {"password": "typed by the admin"})
    # Closed at once: nothing to show but a toast.
    assert client_pushes(events, "temporary_password") == [""]
    assert state.reset_user_id == ""
    assert not error_toasts(events)
    assert auth.login(user.email, "typed by the admin")


async def test_forced_admin_resets_from_a_regular_user_change_nothing(engine, make_person):
    make_person("admin", is_admin=True)
    user, victim = make_person("user"), make_person("victim")
    old_hash = _password_hash(engine, victim)
    state = state_for(AdminState, "/admin", token=user.token)
    state.reset_user_id = str(victim.id)

    events = await run_event(AdminState.reset_password, state, {"password": ""})
    assert client_pushes(events, "temporary_password") == []
    events = await run_event(AdminState.set_active, state, str(victim.id), False)

    assert state.reset_error == "Only an administrator can do this."
    assert error_toasts(events)
    assert _password_hash(engine, victim) == old_hash
    assert _live_sessions(engine, victim) == 1
    with db.session_scope(engine) as s:
        assert s.get(User, victim.id).is_active is True


async def test_the_admin_page_lists_every_project_and_deactivates_after_asking(
    engine, crew, make_person
):
    owner, _, _, _ = crew
    admin = make_person("admin", is_admin=True)
    state = state_for(AdminState, "/admin", token=admin.token)
    await run_event(AdminState.load, state)
    assert [(p.name, p.member_count) for p in state.projects] == [("Hangar", 2)]

    await run_event(AdminState.ask_deactivate, state, str(owner.id), owner.email)
    assert state.deactivate_user_email == owner.email
    await run_event(AdminState.close_deactivate, state, False)
    assert state.deactivate_user_id == ""
    with db.session_scope(engine) as s:
        assert s.get(User, owner.id).is_active is True

    await run_event(AdminState.set_active, state, str(owner.id), False)
    with db.session_scope(engine) as s:
        assert s.get(User, owner.id).is_active is False
        assert s.exec(select(Activity).where(Activity.action == "user.updated")).first()
