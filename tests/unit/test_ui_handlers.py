"""The web UI's event handlers called directly, as a forged websocket event would call them.

Any browser can send any event with any arguments, so these tests skip the page entirely:
they build the state tree, put a token (or none) in it, run a handler and look at the
database and at what the handler sent back.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from reflex.istate.data import RouterData
from reflex.state import State
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


def _state(state_cls: type[AuthState], path: str, token: str = "") -> Any:
    root = State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data(
        {"pathname": path, "asPath": path, "headers": {"origin": "http://testserver"}}
    )
    state = root.get_substate(state_cls.get_full_name().split("."))
    state.token = token
    return state


async def _run(handler, state, *args) -> list:
    """Run an event handler the way Reflex does and collect the events it sends back."""
    result = handler.fn(state, *args)
    sent: list = []
    if inspect.isasyncgen(result):
        sent.extend([event async for event in result])
    elif inspect.isawaitable(result):
        sent.append(await result)
    else:
        sent.append(result)
    flat = []
    for event in sent:
        flat.extend(event if isinstance(event, list) else [event])
    return [event for event in flat if event is not None]


def _handler_name(event) -> str:
    return event.handler.fn.__qualname__


def _redirects(events: list) -> list[str]:
    return [event.args[0][1]._var_value for event in events if _handler_name(event) == "_redirect"]


def _error_toasts(events: list) -> list[str]:
    return [
        str(event.args[0][1])
        for event in events
        if _handler_name(event) == "_call_function" and '["error"]' in str(event.args[0][1])
    ]


def _project_of(engine, owner) -> str:
    with db.session_scope(engine) as s:
        return str(projects.create_project(s, owner.actor, "Hangar", "private plans").id)


async def test_a_page_load_without_a_token_loads_nothing_and_sends_to_login(engine, make_person):
    owner = make_person("owner")
    _project_of(engine, owner)
    state = _state(ProjectsState, "/projects")

    events = await _run(ProjectsState.load, state)

    assert _redirects(events) == ["/login?next=%2Fprojects"]
    assert state.projects == []
    assert state.authenticated is False


async def test_a_forged_authenticated_flag_is_not_trusted(engine, make_person):
    make_person("admin", is_admin=True)
    state = _state(AdminState, "/admin", token="not-a-session-token")
    state.authenticated = True
    state.is_admin = True

    events = await _run(AdminState.load, state)

    assert _redirects(events) == ["/login?next=%2Fadmin"]
    assert state.users == []
    assert state.authenticated is False
    assert state.is_admin is False
    assert state.token == ""


async def test_a_non_member_opening_a_project_sees_only_the_refusal(engine, make_person):
    owner, stranger = make_person("owner"), make_person("stranger")
    project_id = _project_of(engine, owner)
    state = _state(ProjectState, f"/projects/{project_id}", token=stranger.token)

    await _run(ProjectState.load, state)

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
    state = _state(TeamState, f"/teams/{team.id}", token=reporter.token)

    await _run(TeamState.add_member, state, {"email": outsider.email, "role": "owner"})
    events = await _run(TeamState.change_role, state, str(reporter.id), "owner")

    assert state.add_error == "This needs an owner of the team; you are a reporter."
    assert _error_toasts(events)
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
    state = _state(TeamState, f"/teams/{team.id}", token=owner.token)
    await _run(TeamState.load, state)
    assert state.is_owner is True

    await _run(TeamState.add_member, state, {"email": "nobody@example.com", "role": "developer"})
    assert state.add_error == "No account uses nobody@example.com; they need to sign up first."
    await _run(TeamState.add_member, state, {"email": colleague.email, "role": "reporter"})
    assert state.add_error == ""
    assert {(m.email, m.role) for m in state.members} == {
        (owner.email, "owner"),
        (colleague.email, "reporter"),
    }
    await _run(TeamState.change_role, state, str(colleague.id), "developer")
    assert {m.email: m.role for m in state.members}[colleague.email] == "developer"
    await _run(TeamState.remove_member, state, str(colleague.id))

    assert [m.email for m in state.members] == [owner.email]
    assert [a.action for a in state.activity][:3] == [
        "member.removed",
        "member.role_changed",
        "member.added",
    ]


async def test_forced_admin_events_from_a_regular_user_change_nothing(engine, make_person):
    make_person("admin", is_admin=True)
    user = make_person("user")
    state = _state(AdminState, "/admin", token=user.token)

    await _run(AdminState.load, state)
    signup_events = await _run(AdminState.set_signup_open, state, False)
    promote_events = await _run(AdminState.set_admin, state, str(user.id), True)
    await _run(
        AdminState.create_user,
        state,
        {"email": "new@example.com", "password": "long enough password", "is_admin": "on"},
    )

    assert state.problem == "Only an administrator can do this."
    assert state.users == []
    assert _error_toasts(signup_events) and _error_toasts(promote_events)
    assert state.create_error == "Only an administrator can do this."
    with db.session_scope(engine) as s:
        assert auth.signup_open(s) is True
        assert s.get(User, user.id).is_admin is False
        assert s.exec(select(User).where(User.email == "new@example.com")).first() is None


async def test_creating_a_project_from_the_page_makes_the_user_its_owner(engine, make_person):
    user = make_person("maker")
    state = _state(ProjectsState, "/projects", token=user.token)

    await _run(ProjectsState.create, state, {"name": "  ", "description": ""})
    assert state.create_error == "The project name must not be empty."
    await _run(ProjectsState.create, state, {"name": "Rocket", "description": "fast"})

    assert state.create_error == ""
    assert [(p.name, p.role) for p in state.projects] == [("Rocket", "owner")]
    with db.session_scope(engine) as s:
        assert [p.name for p in s.exec(select(Project)).all()] == ["Rocket"]
        assert s.exec(select(Team)).first() is None


async def test_logout_revokes_the_server_session_and_forgets_the_token(engine, make_person):
    user = make_person("leaver")
    state = _state(ProjectsState, "/projects", token=user.token)
    await _run(ProjectsState.load, state)
    assert state.authenticated is True

    events = await _run(AuthState.logout, state)

    assert _redirects(events) == ["/login"]
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
