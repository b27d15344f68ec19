"""The OAuth parts of the admin page and of a server's Overview, by their event handlers: the
token lifetimes next to the registration switch (administrators only, bounds checked), and the
snippets' switch between the key form and the OAuth form (the URL only)."""

from __future__ import annotations

import sys

import pytest

from mcp_orch_app import db
from mcp_orch_app.services import oauth, projects, servers
from mcp_orch_app.services.schemas import ServerIn
from mcp_orch_app.ui.states.admin import AdminState
from mcp_orch_app.ui.states.server_detail import ServerDetailState
from tests.ui_events import error_toasts, run_event, state_for, success_toasts


def _settings(engine, admin) -> oauth.OAuthSettingsOut:
    with db.session_scope(engine) as s:
        return oauth.get_oauth_settings(s, admin.actor)


async def test_an_admin_sets_the_token_lifetimes_in_minutes_and_days(engine, make_person):
    admin = make_person("admin", is_admin=True)
    state = state_for(AdminState, "/admin", token=admin.token)
    await run_event(AdminState.load, state)
    before = _settings(engine, admin)
    assert state.oauth_access_minutes == str(before.access_token_seconds // 60)

    await run_event(AdminState.set_oauth_access_minutes, state, "30")
    await run_event(AdminState.set_oauth_refresh_days, state, "7")
    events = await run_event(AdminState.save_oauth_lifetimes, state)

    assert success_toasts(events) and state.lifetimes_error == ""
    saved = _settings(engine, admin)
    assert (saved.access_token_seconds, saved.refresh_token_seconds) == (1800, 7 * 24 * 3600)
    assert saved.registration_open == before.registration_open
    # A lifetime set through REST that is not whole minutes shows as it is.
    with db.session_scope(engine) as s:
        oauth.set_oauth_settings(s, admin.actor, access_token_seconds=90)
    await run_event(AdminState.load, state)
    assert (state.oauth_access_minutes, state.oauth_refresh_days) == ("1.5", "7")


@pytest.mark.parametrize(
    ("minutes", "days", "message"),
    [
        ("abc", "7", "positive numbers"),
        ("-5", "7", "positive numbers"),
        ("nan", "7", "positive numbers"),
        ("1e300", "7", "positive numbers"),
        ("0.5", "7", "access token lifetime must be between 60"),
        ("30", "400", "refresh token lifetime must be between 3600"),
    ],
)
async def test_bad_lifetimes_are_refused_and_nothing_changes(
    engine, make_person, minutes, days, message
):
    admin = make_person("admin", is_admin=True)
    state = state_for(AdminState, "/admin", token=admin.token)
    await run_event(AdminState.load, state)
    before = _settings(engine, admin)

    await run_event(AdminState.set_oauth_access_minutes, state, minutes)
    await run_event(AdminState.set_oauth_refresh_days, state, days)
    await run_event(AdminState.save_oauth_lifetimes, state)

    assert message in state.lifetimes_error.lower() or message in state.lifetimes_error
    assert state.saving_lifetimes is False
    assert _settings(engine, admin) == before


async def test_a_forced_lifetimes_event_from_a_non_admin_changes_nothing(engine, make_person):
    admin = make_person("admin", is_admin=True)
    user = make_person("user")
    before = _settings(engine, admin)
    state = state_for(AdminState, "/admin", token=user.token)

    await run_event(AdminState.set_oauth_access_minutes, state, "5")
    await run_event(AdminState.set_oauth_refresh_days, state, "2")
    await run_event(AdminState.save_oauth_lifetimes, state)

    assert state.lifetimes_error == "Only an administrator can do this."
    assert _settings(engine, admin) == before


async def test_the_overview_switches_the_snippets_between_key_and_oauth(engine, make_person):
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "snippets")
        server = servers.create_server(
            s, owner.actor, project.id, ServerIn(name="fixture", command=sys.executable, args=[])
        )
    page = state_for(
        ServerDetailState, f"/projects/{project.id}/servers/{server.id}", token=owner.token
    )
    await run_event(ServerDetailState.load, page)
    assert page.problem == "" and page.snippet_auth == "key"

    keyed = page.shown_snippets
    assert {s.scope for s in keyed} == {"server", "unified"}
    assert all(s.auth == "key" and "Authorization" in s.content for s in keyed)

    await run_event(ServerDetailState.set_snippet_auth, page, "oauth")
    signed_in = page.shown_snippets
    assert {s.scope for s in signed_in} == {"server", "unified"}
    assert all(s.auth == "oauth" and "Authorization" not in s.content for s in signed_in)
    assert {s.url for s in signed_in} == {s.url for s in keyed}

    # Cline has no OAuth form: its key form shows whatever the switch says.
    await run_event(ServerDetailState.set_snippet_client, page, "cline")
    assert page.snippet_oauth_available is False
    assert [s.auth for s in page.shown_snippets] == ["key", "key"]

    # A forged value is ignored.
    await run_event(ServerDetailState.set_snippet_auth, page, "password")
    await run_event(ServerDetailState.set_snippet_auth, page, ["key"])
    assert page.snippet_auth == "oauth"
    assert not error_toasts(await run_event(ServerDetailState.set_snippet_client, page, "cursor"))
    assert all(s.auth == "oauth" for s in page.shown_snippets)
