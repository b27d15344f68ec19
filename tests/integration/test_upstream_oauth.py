"""OAuth 2.1 toward upstream MCP servers, end to end against real loopback fixtures.

The authorization server and the OAuth-protected MCP server are tests/fixtures/oauth_upstream.py
(the SDK's `mcp.server.auth` routes and an SDK `MCPServer`, on different host names and ports).
mcp-orch runs under uvicorn with its gateway (tests/live_app.py). Consent is driven over HTTP:
the authorize URL mcp-orch answers is opened without a browser, approved at the fixture's
consent page as a named user, and its redirect is followed to mcp-orch's callback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models import (
    McpServer,
    OAuthConnectionStatus,
    ServerLog,
    UpstreamOAuthConfig,
    UpstreamOAuthConnection,
)
from mcp_orch_app.models.enums import Role
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from mcp_orch_app.ui.states.server_oauth import ServerOAuthState
from tests.fixtures.oauth_upstream import OAuthUpstream
from tests.helpers import ok
from tests.integration.test_gateway_endpoints import auto_client
from tests.live_app import LiveApp, running_app
from tests.ui_events import error_toasts, redirects, run_event, state_for


@pytest.fixture
def upstream() -> Iterator[OAuthUpstream]:
    fixture = OAuthUpstream().start()
    yield fixture
    fixture.stop()


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@dataclass
class World:
    live: LiveApp
    engine: Any
    upstream: OAuthUpstream
    project_id: uuid.UUID
    server_id: uuid.UUID
    owner: Any
    developer: Any
    reporter: Any

    def api(self, suffix: str = "") -> str:
        return (
            f"{self.live.base_url}/api/projects/{self.project_id}/servers/{self.server_id}{suffix}"
        )

    async def request(self, who: Any, method: str, suffix: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as http:
            return await http.request(method, self.api(suffix), headers=who.headers, **kwargs)

    async def configure(self, who: Any = None, **body: Any) -> dict[str, Any]:
        return ok(await self.request(who or self.owner, "PUT", "/oauth", json=body))

    async def consent(self, authorize_url: str, user: str) -> httpx.Response:
        """Open the authorize URL, approve as ``user``; answers the redirect to mcp-orch
        (not followed yet)."""
        async with httpx.AsyncClient(timeout=30) as http:
            first = await http.get(authorize_url)
            assert first.status_code == 302, first.text
            consent_url = first.headers["location"]
            assert consent_url.startswith(self.upstream.as_url)
            back = await http.get(f"{consent_url}&user={user}")
            assert back.status_code == 302, back.text
            return back

    async def connect(self, who: Any, user: str, which: str = "shared") -> httpx.Response:
        started = ok(await self.request(who, "POST", f"/oauth/connect?which={which}"))
        back = await self.consent(started["authorize_url"], user)
        async with httpx.AsyncClient(timeout=60) as http:
            return await http.get(back.headers["location"])

    def key_for(self, who: Any) -> str:
        with db.session_scope(self.engine) as s:
            if who is not self.owner:
                pass
            return api_keys.create_api_key(
                s, self.owner.actor, self.project_id, ApiKeyIn(name=f"k-{uuid.uuid4().hex[:6]}")
            ).key

    async def call_rest(self, who: Any, tool: str, arguments: dict[str, Any]) -> httpx.Response:
        return await self.request(who, "POST", f"/tools/{tool}/call", json={"arguments": arguments})


@pytest.fixture
def world(live, engine, make_person, upstream) -> World:
    owner, developer, reporter = make_person("Olivia"), make_person("Dimitri"), make_person("Rita")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "oauth")
        projects.add_member(s, owner.actor, project.id, developer.email, Role.DEVELOPER)
        projects.add_member(s, owner.actor, project.id, reporter.email, Role.REPORTER)
        server = servers.create_server(
            s,
            owner.actor,
            project.id,
            ServerIn(
                name="remote", transport="streamable_http", url=upstream.mcp_url, timeout_seconds=20
            ),
        )
    return World(live, engine, upstream, project.id, server.id, owner, developer, reporter)


def rows(engine, model, *where) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model).where(*where)))


def text_of(result: dict[str, Any]) -> str:
    return result["content"][0]["text"]


async def test_shared_connection_end_to_end_with_discovery_dcr_refresh_and_disconnect(world):
    up = world.upstream
    answer = await world.configure(auth="oauth", mode="shared", scopes="mcp:read")
    assert answer["auth"] == "oauth" and answer["shared"] is None

    # Before connecting, a call says who must authorize where.
    refused = await world.call_rest(world.developer, "whoami", {})
    assert refused.status_code == 502
    assert "needs authorization" in refused.json()["detail"]
    assert f"/projects/{world.project_id}/servers/{world.server_id}" in refused.json()["detail"]

    # The health check (refresh) reports it too, in the server's status.
    checked = ok(await world.request(world.developer, "POST", "/refresh"))
    assert checked["status"] == "offline" and "needs authorization" in checked["last_error"]

    started = ok(await world.request(world.developer, "POST", "/oauth/connect?which=shared"))
    authorize = urlsplit(started["authorize_url"])
    query = parse_qs(authorize.query)
    # Cross-host discovery: the authorize endpoint is on the authorization server's host.
    assert f"{authorize.scheme}://{authorize.netloc}" == up.as_url != up.rs_url
    assert query["code_challenge_method"] == ["S256"]
    assert query["resource"] == [up.mcp_url]  # RFC 8707
    assert query["scope"] == ["mcp:read"]
    assert query["redirect_uri"] == [world.api("/oauth/callback")]
    (client_id,) = query["client_id"]
    assert client_id in up.provider.clients  # registered dynamically (RFC 7591)

    back = await world.consent(started["authorize_url"], "alice")
    async with httpx.AsyncClient(timeout=60) as http:
        page = await http.get(back.headers["location"])
        assert page.status_code == 200 and "Connected" in page.text
        assert f'href="/projects/{world.project_id}/servers/{world.server_id}"' in page.text
        replay = await http.get(back.headers["location"])
    assert replay.status_code == 400 and "already used" in replay.text

    status = ok(await world.request(world.reporter, "GET", "/oauth"))
    assert status["shared"]["status"] == "connected"
    assert status["shared"]["scopes"] == "mcp:read"
    assert status["shared"]["connected_by"] == str(world.developer.id)
    assert status["shared"]["expires_at"]
    assert "at_" not in str(status) and "rt_" not in str(status)
    (row,) = rows(world.engine, UpstreamOAuthConnection)
    with world.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT tokens FROM upstream_oauth_connections").scalar()
    assert row.tokens["access_token"].startswith("at_") and "at_" not in raw  # encrypted

    # Calls through REST, the per-server endpoint and the unified endpoint.
    assert text_of(ok(await world.call_rest(world.developer, "whoami", {}))) == "alice"
    key = world.key_for(world.owner)
    url = world.live.url(world.project_id, "remote")
    async with auto_client(url, key) as client:
        result = await client.call_tool("echo", {"text": "hi"})
        assert result.content[0].text == "hi"
    unified = f"{world.live.base_url}/projects/{world.project_id}/unified/mcp"
    async with auto_client(unified, key) as client:
        result = await client.call_tool("remote__whoami", {})
        assert result.content[0].text == "alice"

    # Expiry: the next call refreshes silently, once for concurrent calls.
    up.provider.expire_access_tokens()
    with db.session_scope(world.engine) as s:
        connection = s.exec(select(UpstreamOAuthConnection)).one()
        from mcp_orch_app.models.types import utcnow

        connection.expires_at = utcnow()
        s.add(connection)
    from mcp_orch_app.gateway import upstream_oauth

    upstream_oauth.invalidate(world.server_id)
    answers = await asyncio.gather(
        *(world.call_rest(world.developer, "echo", {"text": str(n)}) for n in range(5))
    )
    assert [text_of(ok(a)) for a in answers] == [str(n) for n in range(5)]
    assert up.provider.refreshes == 1

    # A 401 on a token the server no longer accepts: refreshed on the 401, call succeeds.
    up.provider.access.clear()
    assert text_of(ok(await world.call_rest(world.developer, "whoami", {}))) == "alice"
    assert up.provider.refreshes == 2

    # The refresh token revoked at the provider: "needs reconnect", clearly, everywhere.
    up.provider.access.clear()
    up.provider.revoke_refresh_tokens()
    failed = await world.call_rest(world.developer, "whoami", {})
    assert failed.status_code == 502 and "needs reconnect" in failed.json()["detail"]
    status = ok(await world.request(world.owner, "GET", "/oauth"))
    assert status["shared"]["status"] == OAuthConnectionStatus.NEEDS_RECONNECT.value
    (server,) = rows(world.engine, McpServer)
    assert server.last_error.startswith("OAuth needs reconnect")
    async with httpx.AsyncClient(timeout=30) as http:
        listed = ok(
            await http.get(
                f"{world.live.base_url}/api/projects/{world.project_id}/servers",
                headers=world.owner.headers,
            )
        )
    (entry,) = listed
    assert entry["status"] == "error"
    assert entry["last_error"].startswith("OAuth needs reconnect")
    assert any("needs reconnect" in log.message for log in rows(world.engine, ServerLog))

    # Reconnect, then disconnect revokes at the provider.
    page = await world.connect(world.owner, "alice")
    assert page.status_code == 200
    assert text_of(ok(await world.call_rest(world.developer, "whoami", {}))) == "alice"
    (row,) = rows(world.engine, UpstreamOAuthConnection)
    tokens = dict(row.tokens)
    done = ok(await world.request(world.developer, "POST", "/oauth/disconnect?which=shared"))
    assert done == {"disconnected": True, "revoked": True}
    assert tokens["refresh_token"] in up.provider.revoked
    assert rows(world.engine, UpstreamOAuthConnection) == []
    again = await world.call_rest(world.developer, "whoami", {})
    assert again.status_code == 502 and "needs authorization" in again.json()["detail"]


async def test_pre_registered_client_without_dcr(live, engine, make_person):
    up = OAuthUpstream(dcr=False).start()
    try:
        owner = make_person("Owen")
        with db.session_scope(engine) as s:
            project = projects.create_project(s, owner.actor, "nodcr")
            server = servers.create_server(
                s,
                owner.actor,
                project.id,
                ServerIn(name="remote", transport="streamable_http", url=up.mcp_url),
            )
        w = World(live, engine, up, project.id, server.id, owner, owner, owner)
        up.register_client("orch-client", "s3cret-value", [w.api("/oauth/callback")])
        answer = await w.configure(
            auth="oauth", client_id="orch-client", client_secret="s3cret-value"
        )
        assert answer["client_secret"] == "••••••ue" and "s3cret" not in str(answer)
        page = await w.connect(owner, "bob")
        assert page.status_code == 200, page.text
        assert text_of(ok(await w.call_rest(owner, "whoami", {}))) == "bob"
        assert set(up.provider.clients) == {"orch-client"}
        (config,) = rows(engine, UpstreamOAuthConfig)
        assert config.client_secret == {"secret": "s3cret-value"}
    finally:
        up.stop()


async def test_refusals_state_mismatch_replay_other_server_and_reporter(world, engine):
    await world.configure(auth="oauth")
    # A reporter may neither connect nor disconnect the shared connection.
    for path in ("/oauth/connect?which=shared", "/oauth/disconnect?which=shared"):
        response = await world.request(world.reporter, "POST", path)
        assert response.status_code == 403, response.text
    response = await world.request(world.reporter, "PUT", "/oauth", json={"auth": "oauth"})
    assert response.status_code == 403

    started = ok(await world.request(world.owner, "POST", "/oauth/connect?which=shared"))
    back = await world.consent(started["authorize_url"], "alice")
    location = back.headers["location"]
    async with httpx.AsyncClient(timeout=30) as http:
        # A state nobody issued.
        forged = location.replace("state=", "state=x")
        bad = await http.get(forged)
        assert bad.status_code == 400 and "Unknown" in bad.text
        # The right state at another server's callback: refused, and the state is burnt.
        with db.session_scope(engine) as s:
            other = servers.create_server(
                s,
                world.owner.actor,
                world.project_id,
                ServerIn(name="other", transport="streamable_http", url=world.upstream.mcp_url),
            )
        elsewhere = location.replace(str(world.server_id), str(other.id))
        assert elsewhere != location
        wrong = await http.get(elsewhere)
        assert wrong.status_code == 400 and "another server" in wrong.text
        replayed = await http.get(location)
        assert replayed.status_code == 400 and "already used" in replayed.text
        # A callback without state, and a provider refusal.
        assert (await http.get(world.api("/oauth/callback?code=x"))).status_code == 400
    assert rows(engine, UpstreamOAuthConnection) == []

    started = ok(await world.request(world.owner, "POST", "/oauth/connect?which=shared"))
    async with httpx.AsyncClient(timeout=30) as http:
        first = await http.get(started["authorize_url"])
        denied = await http.get(first.headers["location"] + "&deny=1")
        page = await http.get(denied.headers["location"])
    assert page.status_code == 400 and "access_denied" in page.text

    # Bad settings are refused with a clear error.
    for body, words in (
        ({"auth": "magic"}, "auth must be"),
        ({"mode": "everyone"}, "mode must be"),
        ({"scopes": 'bad"scope'}, "not a valid OAuth scope"),
        ({"client_secret": "x"}, "needs its client_id"),
        ({"scopes": "a" * 2000}, "at most"),
        ({"extra": 1}, "Unknown field"),
    ):
        response = await world.request(world.owner, "PUT", "/oauth", json=body)
        assert response.status_code == 422 and words in response.text, (body, response.text)


async def test_per_user_mode_each_user_calls_as_their_own_upstream_identity(world, make_person):
    await world.configure(auth="oauth", mode="per_user")
    dana = make_person("Dana")
    with db.session_scope(world.engine) as s:
        projects.add_member(s, world.owner.actor, world.project_id, dana.email, Role.DEVELOPER)
    # Per-user servers have no shared connection to make.
    shared = await world.request(world.owner, "POST", "/oauth/connect?which=shared")
    assert shared.status_code == 422 and "per user" in shared.text

    assert (await world.connect(world.owner, "alice", "mine")).status_code == 200
    assert (await world.connect(world.developer, "bob", "mine")).status_code == 200
    # A reporter connects their own account too (but cannot call tools over REST).
    assert (await world.connect(world.reporter, "rita", "mine")).status_code == 200

    # Someone without a connection calling first is told where to connect, and does not
    # start (and back off) the server's pooled connection for the others.
    refused = await world.call_rest(dana, "whoami", {})
    assert refused.status_code == 502
    detail = refused.json()["detail"]
    assert "connect your account at" in detail
    assert f"/projects/{world.project_id}/servers/{world.server_id}" in detail

    assert text_of(ok(await world.call_rest(world.owner, "whoami", {}))) == "alice"
    assert text_of(ok(await world.call_rest(world.developer, "whoami", {}))) == "bob"
    assert text_of(ok(await world.call_rest(world.owner, "whoami", {}))) == "alice"
    # An API key's calls use the connection of the person who created it (the owner here).
    key = world.key_for(world.owner)
    async with auto_client(world.live.url(world.project_id, "remote"), key) as client:
        result = await client.call_tool("whoami", {})
        assert result.content[0].text == "alice"

    # Each sees only their own connection.
    mine = ok(await world.request(world.developer, "GET", "/oauth"))
    assert mine["shared"] is None and mine["mine"]["connected_by"] == str(world.developer.id)

    refused = await world.call_rest(dana, "whoami", {})
    assert refused.status_code == 502 and "connect your account at" in refused.text

    # Disconnecting one's own leaves the others connected.
    ok(await world.request(world.developer, "POST", "/oauth/disconnect?which=mine"))
    assert "connect your account" in (await world.call_rest(world.developer, "whoami", {})).text
    assert text_of(ok(await world.call_rest(world.owner, "whoami", {}))) == "alice"
    owners = {row.owner_key for row in rows(world.engine, UpstreamOAuthConnection)}
    assert owners == {str(world.owner.id), str(world.reporter.id)}


async def test_server_page_connect_and_disconnect_buttons(world):
    """The page's handlers, run as a browser's events would run them."""
    await world.configure(auth="oauth")
    path = f"/projects/{world.project_id}/servers/{world.server_id}"
    page = state_for(ServerOAuthState, path, world.developer.token)
    await run_event(ServerOAuthState.load, page)
    assert (page.auth, page.which, page.connection.label) == ("oauth", "shared", "Not connected")

    events = await run_event(ServerOAuthState.connect, page, "shared")
    (authorize_url,) = redirects(events)
    assert authorize_url.startswith(world.upstream.as_url + "/authorize?")
    back = await world.consent(authorize_url, "carol")
    callback = back.headers["location"].replace("http://testserver", world.live.base_url)
    async with httpx.AsyncClient(timeout=60) as http:
        assert (await http.get(callback)).status_code == 200
    await run_event(ServerOAuthState.load, page)
    assert page.connection.label == "Connected" and page.connection.scopes
    assert page.connection.connected_by == "Dimitri"
    assert text_of(ok(await world.call_rest(world.developer, "whoami", {}))) == "carol"

    # A reporter's forged click is refused by the service.
    reporter_page = state_for(ServerOAuthState, path, world.reporter.token)
    refused = await run_event(ServerOAuthState.disconnect, reporter_page, "shared")
    assert any("owner or developer" in toast for toast in error_toasts(refused))
    assert len(rows(world.engine, UpstreamOAuthConnection)) == 1

    await run_event(ServerOAuthState.disconnect, page, "shared")
    assert page.connection.label == "Not connected"
    assert rows(world.engine, UpstreamOAuthConnection) == []


async def test_the_destination_policy_applies_to_the_authorization_server(world, monkeypatch):
    """Discovery reaches the authorization server only where mcp-orch may connect: with its
    host name denied, connecting fails with a clear error and nothing is registered there."""
    from mcp_orch_app import config

    await world.configure(auth="oauth")
    monkeypatch.setenv("MCP_ORCH_UPSTREAM_DENY", "localhost")
    config.reset_settings_cache()
    try:
        response = await world.request(world.owner, "POST", "/oauth/connect?which=shared")
    finally:
        monkeypatch.delenv("MCP_ORCH_UPSTREAM_DENY")
        config.reset_settings_cache()
    assert response.status_code == 422, response.text
    assert "Could not start the OAuth flow" in response.text, response.text
    assert "destination policy" in response.text, response.text
    assert world.upstream.provider.clients == {}  # no registration reached it
    assert rows(world.engine, UpstreamOAuthConnection) == []


async def test_an_sse_server_behind_oauth(live, engine, make_person):
    up = OAuthUpstream(transport="sse").start()
    try:
        owner = make_person("Sam")
        with db.session_scope(engine) as s:
            project = projects.create_project(s, owner.actor, "sse")
            server = servers.create_server(
                s,
                owner.actor,
                project.id,
                ServerIn(name="remote", transport="sse", url=up.mcp_url),
            )
        w = World(live, engine, up, project.id, server.id, owner, owner, owner)
        await w.configure(auth="oauth")
        assert (await w.connect(owner, "sue")).status_code == 200
        assert text_of(ok(await w.call_rest(owner, "whoami", {}))) == "sue"
        # Expiry on the SSE transport: its stream and posts carry the refreshed token.
        up.provider.access.clear()
        ok(await w.request(owner, "POST", "/restart"))
        assert text_of(ok(await w.call_rest(owner, "echo", {"text": "ok"}))) == "ok"
        assert up.provider.refreshes == 1
    finally:
        up.stop()


async def test_settings_form_sets_the_mode_keeps_the_secret_and_refuses_bad_input(world):
    """The panel's settings form, run as a browser's events would run it."""
    path = f"/projects/{world.project_id}/servers/{world.server_id}"
    page = state_for(ServerOAuthState, path, world.developer.token)
    await run_event(ServerOAuthState.load, page)
    assert (page.form_auth, page.form_mode, page.secret_stored) == ("none", "shared", False)

    page.set_form_auth("oauth")
    page.set_form_mode("per_user")
    page.set_form_scopes('mcp:read "bad')
    await run_event(ServerOAuthState.save_settings, page)
    assert "not a valid OAuth scope" in page.settings_problem
    assert page.form_scopes == 'mcp:read "bad' and page.form_mode == "per_user"  # kept
    assert rows(world.engine, UpstreamOAuthConfig) == []

    page.set_form_scopes("  mcp:read   mcp:write ")
    page.set_form_client_id("pre-registered")
    page.set_form_client_secret("s3cret-value")
    events = await run_event(ServerOAuthState.save_settings, page)
    assert page.settings_problem == "" and error_toasts(events) == []
    (config,) = rows(world.engine, UpstreamOAuthConfig)
    assert (config.mode.value, config.scopes, config.client_id) == (
        "per_user",
        "mcp:read mcp:write",
        "pre-registered",
    )
    assert config.client_secret == {"secret": "s3cret-value"}
    # Write-only: the form never holds the stored secret, it says one is stored.
    assert page.form_client_secret == "" and page.secret_stored
    assert (page.auth, page.mode, page.which) == ("oauth", "per_user", "mine")

    # Saved again with the secret field left empty: the secret is kept.
    page.set_form_scopes("mcp:read")
    await run_event(ServerOAuthState.save_settings, page)
    (config,) = rows(world.engine, UpstreamOAuthConfig)
    assert config.scopes == "mcp:read" and config.client_secret == {"secret": "s3cret-value"}

    # A secret without a client id is refused, nothing changes.
    page.set_form_client_id("")
    page.set_form_client_secret("lonely")
    await run_event(ServerOAuthState.save_settings, page)
    assert "needs its client_id" in page.settings_problem
    (config,) = rows(world.engine, UpstreamOAuthConfig)
    assert config.client_id == "pre-registered"

    # A reporter's forged save is refused by the service; nothing changes.
    reporter_page = state_for(ServerOAuthState, path, world.reporter.token)
    await run_event(ServerOAuthState.load, reporter_page)
    reporter_page.set_form_auth("none")
    await run_event(ServerOAuthState.save_settings, reporter_page)
    assert "developer" in reporter_page.settings_problem
    assert len(rows(world.engine, UpstreamOAuthConfig)) == 1

    # Back to no auth: the OAuth setting is gone.
    page.set_form_auth("none")
    await run_event(ServerOAuthState.save_settings, page)
    assert page.settings_problem == "" and page.auth == "none"
    assert rows(world.engine, UpstreamOAuthConfig) == []


async def test_the_callback_checks_the_server_as_the_person_who_connected(world):
    await world.configure(auth="oauth", mode="shared", scopes="mcp:read")
    checked = ok(await world.request(world.developer, "POST", "/refresh"))
    assert checked["status"] == "offline" and checked["tools_count"] == 0

    assert (await world.connect(world.developer, "alice")).status_code == 200
    # No "Check now": the callback checked it, through the new connection.
    (server,) = rows(world.engine, McpServer, McpServer.id == world.server_id)
    assert server.status.value == "online" and server.last_error is None
    assert server.tools_count == 2
    logs = rows(world.engine, ServerLog, ServerLog.server_id == world.server_id)
    assert any("online" in row.message.lower() for row in logs)


async def test_per_user_callback_checks_through_that_persons_connection(world):
    await world.configure(auth="oauth", mode="per_user")
    assert (await world.connect(world.reporter, "rita", "mine")).status_code == 200
    (server,) = rows(world.engine, McpServer, McpServer.id == world.server_id)
    assert server.status.value == "online" and server.tools_count == 2


async def test_no_check_as_a_deactivated_person_or_without_a_usable_connection(world):
    from mcp_orch_app.models import User
    from mcp_orch_app.services import upstream_oauth as store

    await world.configure(auth="oauth", mode="shared")
    assert (await world.connect(world.developer, "alice")).status_code == 200
    with db.session_scope(world.engine) as s:
        target = store.authorize_connection(
            s, world.owner.actor, world.project_id, world.server_id, "shared"
        )
        actor = store.connected_actor(s, target)
        assert actor is not None and actor.user_id == world.developer.id
        s.get(User, world.developer.id).is_active = False
    with db.session_scope(world.engine) as s:
        assert store.connected_actor(s, target) is None  # deactivated: nothing runs as them
    with db.session_scope(world.engine) as s:
        s.get(User, world.developer.id).is_active = True
        store.mark_needs_reconnect(s, world.server_id, store.SHARED, "revoked")
    with db.session_scope(world.engine) as s:
        assert store.connected_actor(s, target) is None  # no usable connection


async def test_no_check_after_connecting_when_the_person_left_the_project(world):
    await world.configure(auth="oauth", mode="shared")
    started = ok(await world.request(world.developer, "POST", "/oauth/connect?which=shared"))
    back = await world.consent(started["authorize_url"], "alice")
    with db.session_scope(world.engine) as s:
        projects.remove_member(s, world.owner.actor, world.project_id, world.developer.id)
    async with httpx.AsyncClient(timeout=60) as http:
        assert (await http.get(back.headers["location"])).status_code == 200
    # Connected, but no check ran as someone who is no member any more.
    (server,) = rows(world.engine, McpServer, McpServer.id == world.server_id)
    assert server.status.value == "unknown" and server.last_checked_at is None
    assert len(rows(world.engine, UpstreamOAuthConnection)) == 1
