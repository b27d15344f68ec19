"""The web UI's event handlers called directly, as a forged websocket event would call them
(see tests/ui_events.py)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import Project, Team, TeamMember, User
from mcp_orch_app.services import auth, projects, teams
from mcp_orch_app.services.errors import NotAuthenticated
from mcp_orch_app.services.schemas import TeamIn
from mcp_orch_app.ui.states.admin import AdminState
from mcp_orch_app.ui.states.auth import AuthState, safe_next
from mcp_orch_app.ui.states.project import ProjectState
from mcp_orch_app.ui.states.projects import ProjectsState
from mcp_orch_app.ui.states.team import TeamState
from tests.ui_events import error_toasts, redirects, run_event, state_for


def _project_of(engine, owner) -> str:
    with db.session_scope(engine) as s:
        return str(projects.create_project(s, owner.actor, "Hangar", "private plans").id)


async def test_a_page_load_without_a_token_loads_nothing_and_sends_to_login(engine, make_person):
    owner = make_person("owner")
    _project_of(engine, owner)
    state = state_for(ProjectsState, "/projects")

    events = await run_event(ProjectsState.load, state)

    assert redirects(events) == ["/login?next=%2Fprojects"]
    assert state.projects == []
    assert state.authenticated is False


async def test_a_forged_authenticated_flag_is_not_trusted(engine, make_person):
    make_person("admin", is_admin=True)
    state = state_for(AdminState, "/admin", token="not-a-session-token")
    state.authenticated = True
    state.is_admin = True

    events = await run_event(AdminState.load, state)

    assert redirects(events) == ["/login?next=%2Fadmin"]
    assert state.users == []
    assert state.authenticated is False
    assert state.is_admin is False
    assert state.token == ""


async def test_a_non_member_opening_a_project_sees_only_the_refusal(engine, make_person):
    owner, stranger = make_person("owner"), make_person("stranger")
    project_id = _project_of(engine, owner)
    state = state_for(ProjectState, f"/projects/{project_id}", token=stranger.token)

    await run_event(ProjectState.load, state)

    assert state.problem == "You are not a member of this project."
    assert state.project.name == ""
    assert state.members == []
    assert state.servers == []
    assert state.activity == []


async def test_a_forced_add_member_event_from_a_non_owner_changes_nothing(engine, make_person):
    owner, reporter, outsider = make_person("owner"), make_person("reporter"), make_person("out")
    with db.session_scope(engine) as s:
        team = teams.create_team(s, owner.actor, TeamIn(name="Crew"))
        teams.add_team_member(s, owner.actor, team.id, reporter.email, "reporter")
    state = state_for(TeamState, f"/teams/{team.id}", token=reporter.token)

    await run_event(TeamState.add_member, state, {"email": outsider.email, "role": "owner"})
    events = await run_event(TeamState.change_role, state, str(reporter.id), "owner")

    assert state.add_error == "This needs an owner of the team; you are a reporter."
    assert error_toasts(events)
    with db.session_scope(engine) as s:
        roles = dict(
            s.exec(
                select(TeamMember.user_id, TeamMember.role).where(TeamMember.team_id == team.id)
            ).all()
        )
    assert roles == {owner.id: "owner", reporter.id: "reporter"}


async def test_a_team_owner_adds_promotes_and_removes_a_member(engine, make_person):
    owner, colleague = make_person("owner"), make_person("colleague")
    with db.session_scope(engine) as s:
        team = teams.create_team(s, owner.actor, TeamIn(name="Crew"))
    state = state_for(TeamState, f"/teams/{team.id}", token=owner.token)
    await run_event(TeamState.load, state)
    assert state.is_owner is True

    await run_event(
        TeamState.add_member, state, {"email": "nobody@example.com", "role": "developer"}
    )
    assert state.add_error == "No account uses nobody@example.com; they need to sign up first."
    await run_event(TeamState.add_member, state, {"email": colleague.email, "role": "reporter"})
    assert state.add_error == ""
    assert {(m.email, m.role) for m in state.members} == {
        (owner.email, "owner"),
        (colleague.email, "reporter"),
    }
    await run_event(TeamState.change_role, state, str(colleague.id), "developer")
    assert {m.email: m.role for m in state.members}[colleague.email] == "developer"
    await run_event(TeamState.remove_member, state, str(colleague.id))

    assert [m.email for m in state.members] == [owner.email]
    assert [a.action for a in state.activity][:3] == [
        "member.removed",
        "member.role_changed",
        "member.added",
    ]


async def test_forced_admin_events_from_a_regular_user_change_nothing(engine, make_person):
    make_person("admin", is_admin=True)
    user = make_person("user")
    state = state_for(AdminState, "/admin", token=user.token)

    await run_event(AdminState.load, state)
    signup_events = await run_event(AdminState.set_signup_open, state, False)
    promote_events = await run_event(AdminState.set_admin, state, str(user.id), True)
    await run_event(
        AdminState.create_user,
        state,
        {"email": "new@example.com", "password": "long enough password", "is_admin": "on"},
    )

    assert state.problem == "Only an administrator can do this."
    assert state.users == []
    assert error_toasts(signup_events) and error_toasts(promote_events)
    assert state.create_error == "Only an administrator can do this."
    with db.session_scope(engine) as s:
        assert auth.signup_open(s) is True
        assert s.get(User, user.id).is_admin is False
        assert s.exec(select(User).where(User.email == "new@example.com")).first() is None


async def test_creating_a_project_from_the_page_makes_the_user_its_owner(engine, make_person):
    user = make_person("maker")
    state = state_for(ProjectsState, "/projects", token=user.token)

    await run_event(ProjectsState.create, state, {"name": "  ", "description": ""})
    assert state.create_error == "The project name must not be empty."
    await run_event(ProjectsState.create, state, {"name": "Rocket", "description": "fast"})

    assert state.create_error == ""
    assert [(p.name, p.role) for p in state.projects] == [("Rocket", "owner")]
    with db.session_scope(engine) as s:
        assert [p.name for p in s.exec(select(Project)).all()] == ["Rocket"]
        assert s.exec(select(Team)).first() is None


async def test_logout_revokes_the_server_session_and_forgets_the_token(engine, make_person):
    user = make_person("leaver")
    state = state_for(ProjectsState, "/projects", token=user.token)
    await run_event(ProjectsState.load, state)
    assert state.authenticated is True

    events = await run_event(AuthState.logout, state)

    assert redirects(events) == ["/login"]
    assert state.token == ""
    assert state.authenticated is False
    assert state.user_email == ""
    with db.session_scope(engine) as s, pytest.raises(NotAuthenticated):
        auth.authenticate(s, user.token)


@pytest.mark.parametrize(
    ("wanted", "goes_to"),
    [
        ("/projects/abc", "/projects/abc"),
        ("/teams?x=1", "/teams?x=1"),
        ("//evil.example/path", "/projects"),
        ("/\\evil.example", "/projects"),
        ("https://evil.example", "/projects"),
        ("/login", "/projects"),
        ("", "/projects"),
        (None, "/projects"),
    ],
)
def test_after_login_only_paths_of_this_site_are_followed(wanted, goes_to):
    assert safe_next(wanted) == goes_to
