"""The consent page's handlers (ui/states/consent.py), run as forged websocket events would run
them (tests/ui_events.py), against the real database: what it offers, and that a refusal of
the services (a non-member, an answered request) is what the browser gets."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mcp.server.auth.provider import AuthorizationParams
from pydantic import AnyUrl
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import Role
from mcp_orch_app.services import oauth, projects, servers
from mcp_orch_app.services.schemas import ProjectPatch, ServerIn
from mcp_orch_app.ui.states.consent import ConsentState
from tests.ui_events import error_toasts, redirects, run_event, state_for

BASE = "http://testserver"
REDIRECT = "http://127.0.0.1:40000/cb"


@pytest.fixture
def world(engine, make_person) -> dict[str, Any]:
    owner, member, outsider = make_person("owner"), make_person("member"), make_person("outsider")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "consent")
        for name in ("alpha", "beta"):
            servers.create_server(s, owner.actor, project.id, ServerIn(name=name, command="true"))
        projects.add_member(s, owner.actor, project.id, member.email, Role.REPORTER)
    return {"project": project, "owner": owner, "member": member, "outsider": outsider}


def pending(engine, resource: str | None = None) -> str:
    """A registered client's open /authorize request: its consent token."""
    info = oauth.OrchClient(
        client_id="client-1",
        client_name="Inspector",
        redirect_uris=[AnyUrl(REDIRECT)],
        token_endpoint_auth_method="none",
    )
    with db.session_scope(engine) as s:
        if oauth.get_client(s, "client-1") is None:
            oauth.register_client(s, None, info)
        client = oauth.get_client(s, "client-1")
        url = oauth.start_authorization(
            s,
            client,
            AuthorizationParams(
                state="st",
                scopes=None,
                code_challenge="c" * 43,
                redirect_uri=AnyUrl(REDIRECT),
                redirect_uri_provided_explicitly=True,
                resource=resource,
            ),
            BASE,
            BASE + "/oauth/consent",
        )
    return parse_qs(urlsplit(url).query)["request"][0]


def page(token: str, login: str = "") -> ConsentState:
    return state_for(ConsentState, f"/oauth/consent?request={token}", login)


async def test_a_member_sees_the_client_and_picks_an_endpoint(engine, world):
    token = pending(engine)
    state = page(token, world["member"].token)
    await run_event(ConsentState.load, state)
    assert (state.client_name, state.redirect_uri, state.problem) == ("Inspector", REDIRECT, "")
    assert state.choices == [
        "consent · server alpha",
        "consent · server beta",
        "consent · unified endpoint",
    ]
    await run_event(ConsentState.pick, state, "consent · server beta")
    sent = await run_event(ConsentState.approve, state)
    (target,) = redirects(sent)
    assert target.startswith(REDIRECT + "?code=moc_") and "state=st" in target
    # Answered once: a second approval is refused and shown.
    again = page(token, world["member"].token)
    await run_event(ConsentState.load, again)
    assert "already answered" in again.problem


async def test_a_resource_limits_the_choice_and_unified_off_is_not_offered(engine, world):
    with db.session_scope(engine) as s:
        projects.update_project(
            s, world["owner"].actor, world["project"].id, ProjectPatch(unified_enabled=False)
        )
    token = pending(engine, f"{BASE}/projects/{world['project'].id}/servers/alpha/mcp")
    state = page(token, world["member"].token)
    await run_event(ConsentState.load, state)
    assert state.choices == ["consent · server alpha"]


async def test_a_non_member_is_offered_nothing_and_a_forced_approval_is_refused(engine, world):
    token = pending(engine)
    state = page(token, world["outsider"].token)
    await run_event(ConsentState.load, state)
    assert state.choices == [] and "not a member" in state.problem
    # A forged event naming the project anyway.
    state._targets = {"x": (str(world["project"].id), "alpha")}
    state.choice = "x"
    sent = await run_event(ConsentState.approve, state)
    assert redirects(sent) == []
    assert "not a member" in state.problem


async def test_without_login_the_page_sends_to_login_and_back(engine, world):
    token = pending(engine)
    state = page(token)
    sent = await run_event(ConsentState.load, state)
    (target,) = redirects(sent)
    next_path = parse_qs(urlsplit(target).query)["next"][0]
    assert target.startswith("/login?") and next_path == f"/oauth/consent?request={token}"


async def test_deny_answers_access_denied(engine, world):
    token = pending(engine)
    state = page(token, world["member"].token)
    await run_event(ConsentState.load, state)
    (target,) = redirects(await run_event(ConsentState.deny, state))
    query = parse_qs(urlsplit(target).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st"]


async def test_an_unknown_request_says_so(engine, world):
    state = page("moq_nope", world["member"].token)
    await run_event(ConsentState.load, state)
    assert "No such authorization request" in state.problem


def connect(engine, world) -> str:
    """The member connects the client to the server alpha: the grant's access token."""
    token = pending(engine)
    with db.session_scope(engine) as s:
        url = oauth.approve_request(s, world["member"].actor, token, world["project"].id, "alpha")
    code = parse_qs(urlsplit(url).query)["code"][0]
    with db.session_scope(engine) as s:
        client = oauth.get_client(s, "client-1")
        tokens = oauth.exchange_code(s, client, oauth.load_code(s, client, code))
    return tokens.access_token


async def test_connected_apps_on_the_profile_and_the_project_settings(engine, world):
    from mcp_orch_app.models import OAuthGrant
    from mcp_orch_app.ui.states.profile import ProfileState
    from mcp_orch_app.ui.states.project_settings import ProjectSettingsState

    connect(engine, world)
    pid = world["project"].id
    settings_path = f"/projects/{pid}/settings"
    owner_view = state_for(ProjectSettingsState, settings_path, world["owner"].token)
    await run_event(ProjectSettingsState.load, owner_view)
    assert [(a.client_name, a.user_email, a.endpoint) for a in owner_view.apps] == [
        ("Inspector", world["member"].email, "server alpha")
    ]
    # A reporter sees no one's apps on the settings page.
    member_view = state_for(ProjectSettingsState, settings_path, world["member"].token)
    await run_event(ProjectSettingsState.load, member_view)
    assert member_view.apps == []

    profile = state_for(ProfileState, "/profile", world["member"].token)
    await run_event(ProfileState.load, profile)
    (app,) = profile.apps
    # Someone else's forged revoke changes nothing.
    stranger = state_for(ProfileState, "/profile", world["outsider"].token)
    sent = await run_event(ProfileState.revoke_app, stranger, app.id)
    assert error_toasts(sent)
    await run_event(ProfileState.revoke_app, profile, app.id)
    assert profile.apps == []
    with db.session_scope(engine) as s:
        (grant,) = s.exec(select(OAuthGrant)).all()
        assert grant.revoked_at is not None


async def test_the_admin_page_switches_client_registration(engine, make_person):
    from mcp_orch_app.ui.states.admin import AdminState

    admin, user = make_person("boss", is_admin=True), make_person("pleb")
    state = state_for(AdminState, "/admin", admin.token)
    await run_event(AdminState.load, state)
    assert state.oauth_registration_open is True
    await run_event(AdminState.set_oauth_registration_open, state, False)
    with db.session_scope(engine) as s:
        assert oauth.registration_open(s) is False
    forged = state_for(AdminState, "/admin", user.token)
    assert error_toasts(await run_event(AdminState.set_oauth_registration_open, forged, True))
    with db.session_scope(engine) as s:
        assert oauth.registration_open(s) is False


def test_session_and_call_rows_name_the_oauth_application_and_user():
    import uuid
    from datetime import UTC, datetime

    from mcp_orch_app.services.schemas import ClientSessionOut, ToolCallOut
    from mcp_orch_app.ui.states.rows import ClientSessionRow, ToolCallRow

    now = datetime.now(UTC)
    session = {
        "id": uuid.uuid4(),
        "server_id": None,
        "server_name": None,
        "unified": True,
        "transport": "streamable_http",
        "client_name": "claude",
        "client_version": None,
        "user_agent": None,
        "ip": None,
        "protocol_version": None,
        "api_key_id": None,
        "key_name": None,
        "key_prefix": None,
        "started_at": now,
        "last_activity_at": None,
        "ended_at": None,
        "active": True,
        "total_calls": 0,
        "successful_calls": 0,
        "failed_calls": 0,
    }
    oauth_fields = {
        "oauth_client_id": uuid.uuid4(),
        "oauth_client_name": "Claude",
        "user_id": uuid.uuid4(),
        "user_email": "m@example.com",
    }
    assert ClientSessionRow.of(ClientSessionOut(**session)).key == "anonymous"
    row = ClientSessionRow.of(ClientSessionOut(**session, **oauth_fields))
    assert row.key == "OAuth: Claude for m@example.com"
    call = ToolCallOut(
        id=1,
        created_at=now,
        server_id=None,
        server_name="alpha",
        tool_name="echo",
        status="success",
        error_code=None,
        error_message=None,
        duration_ms=1,
        arguments=None,
        result=None,
        session_id=None,
        client_name="claude",
        **oauth_fields,
    )
    assert ToolCallRow.of(call).client_name == "claude (OAuth, m@example.com)"
