"""mcp-orch as an OAuth 2.1 authorization server, end to end against the running app.

The SDK's own OAuth client (`mcp.client.auth.OAuthClientProvider`) discovers everything from
the 401 of an MCP endpoint (RFC 9728 resource metadata -> RFC 8414 server metadata), registers
itself (RFC 7591), and sends the "browser" to /oauth/authorize; the browser step is done
headless with the calls the consent page makes (the user is signed in with a real login token
and approves one endpoint of one project). Then tools/list and tools/call through the real
fixture server, per server and unified, streamable HTTP (both eras) and SSE.

The refusals are driven at the HTTP level with the same endpoints: wrong PKCE verifier, reused
code, another client's code, redirect URI mismatch, a token used at another endpoint or
project, expired token, refresh of a revoked grant, a non-member's consent, a removed member's
token, closed registration.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from sqlalchemy import update
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models import Role, SystemSettings
from mcp_orch_app.models.logs import ClientSession as ClientSessionRow
from mcp_orch_app.models.logs import ToolCallLog
from mcp_orch_app.models.oauth import OAuthAccessToken, OAuthClient, OAuthGrant
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import api_keys, oauth, projects, servers
from mcp_orch_app.services.errors import InvalidInput, PermissionDenied
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.integration.test_gateway_endpoints import fixture_server_in, flushed, rows
from tests.live_app import LiveApp, running_app

REDIRECT = "http://127.0.0.1:33418/callback"


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@dataclass
class World:
    project_id: uuid.UUID
    other_project_id: uuid.UUID
    owner: Any
    member: Any
    outsider: Any
    key: str


@pytest.fixture
def world(engine, make_person, tmp_path) -> World:
    owner, member, outsider = make_person("owner"), make_person("member"), make_person("outsider")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "oauth")
        for name in ("alpha", "beta"):
            servers.create_server(
                s, owner.actor, project.id, fixture_server_in(name, tmp_path / f"{name}.log")
            )
        projects.add_member(s, owner.actor, project.id, member.email, Role.DEVELOPER)
        other = projects.create_project(s, owner.actor, "other")
        servers.create_server(
            s, owner.actor, other.id, fixture_server_in("alpha", tmp_path / "other.log")
        )
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="ci")).key
    return World(project.id, other.id, owner, member, outsider, key)


def server_url(live: LiveApp, project_id: Any, server: str | None, path: str = "mcp") -> str:
    if server is None:
        return f"{live.base_url}/projects/{project_id}/unified/{path}"
    return f"{live.base_url}/projects/{project_id}/servers/{server}/{path}"


# --- the browser step, headless ---------------------------------------------------------------


@dataclass
class Browser:
    """Follows /oauth/authorize to the consent page and approves, as the signed-in user does
    on the consent page (the same REST calls)."""

    live: LiveApp
    person: Any
    project_id: Any
    server: str | None
    results: list[AuthorizationCodeResult] = field(default_factory=list)
    visits: int = 0

    async def redirect(self, authorization_url: str) -> None:
        self.visits += 1
        async with httpx2.AsyncClient(timeout=30) as http:
            consent = await http.get(authorization_url)
            assert consent.status_code == 302, consent.text
            location = consent.headers["location"]
            assert location.startswith(f"{self.live.base_url}/oauth/consent?request=")
            request = parse_qs(urlsplit(location).query)["request"][0]
            shown = await http.get(
                f"{self.live.base_url}/api/oauth/consent",
                params={"request": request},
                headers=self.person.headers,
            )
            assert shown.status_code == 200, shown.text
            assert shown.json()["redirect_uri"] == REDIRECT
            approved = await http.post(
                f"{self.live.base_url}/api/oauth/consent/approve",
                json={
                    "request": request,
                    "project_id": str(self.project_id),
                    "server_name": self.server,
                },
                headers=self.person.headers,
            )
            assert approved.status_code == 200, approved.text
        query = parse_qs(urlsplit(approved.json()["redirect_to"]).query)
        self.results.append(AuthorizationCodeResult(code=query["code"][0], state=query["state"][0]))

    async def callback(self) -> AuthorizationCodeResult:
        return self.results[-1]


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def sdk_auth(url: str, browser: Browser, storage: MemoryStorage) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="SDK test client",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )


@asynccontextmanager
async def oauth_session(url: str, browser: Browser, storage: MemoryStorage, transport: str):
    auth_flow = sdk_auth(url, browser, storage)
    if transport == "sse":
        async with (
            sse_client(url, auth=auth_flow) as (r, w),
            ClientSession(r, w) as session,
        ):
            await session.initialize()
            yield session
        return
    async with httpx2.AsyncClient(auth=auth_flow, timeout=30) as http:
        if transport == "auto":
            async with Client(streamable_http_client(url, http_client=http)) as client:
                yield client
            return
        async with (
            streamable_http_client(url, http_client=http) as (r, w),
            ClientSession(r, w) as session,
        ):
            await session.initialize()
            yield session


# --- the whole flow with the SDK client --------------------------------------------------------


@pytest.mark.parametrize("transport", ["streamable", "sse", "auto"])
@pytest.mark.parametrize("server", ["alpha", None], ids=["server", "unified"])
async def test_sdk_client_signs_in_consents_and_works(live, world, engine, transport, server):
    path = "sse" if transport == "sse" else "mcp"
    url = server_url(live, world.project_id, server, path)
    browser = Browser(live, world.member, world.project_id, server)
    storage = MemoryStorage()
    echo = "echo" if server else "alpha__echo"
    async with oauth_session(url, browser, storage, transport) as client:
        tools = await client.list_tools()
        names = {tool.name for tool in tools.tools}
        assert echo in names
        if server is None:
            assert "beta__echo" in names
        result = await client.call_tool(echo, {"text": "oauth"})
        assert result.content[0].text == "oauth"
    assert browser.visits == 1
    assert storage.tokens.access_token.startswith("moa_")
    assert storage.tokens.refresh_token.startswith("mor_")

    await flushed(live)
    (client_row,) = rows(engine, OAuthClient)
    assert client_row.client_name == "SDK test client"
    assert client_row.client_secret_hash is None  # a public client (PKCE)
    (grant,) = rows(engine, OAuthGrant)
    assert grant.user_id == world.member.id
    assert grant.resource == (
        f"{live.base_url}/projects/{world.project_id}/"
        + (f"servers/{server}" if server else "unified")
    )
    (call,) = rows(engine, ToolCallLog)
    assert (call.oauth_client_id, call.user_id, call.api_key_id) == (
        client_row.id,
        world.member.id,
        None,
    )
    sessions = rows(engine, ClientSessionRow)
    assert sessions and all(
        (s.oauth_client_id, s.user_id) == (client_row.id, world.member.id) for s in sessions
    )
    # The log viewer's and the sessions page's API name the application and the user.
    async with httpx2.AsyncClient(base_url=live.base_url, headers=world.owner.headers) as http:
        base = f"/api/projects/{world.project_id}"
        (logged,) = (await http.get(f"{base}/tool-calls")).json()["items"]
        listed = (await http.get(f"{base}/sessions")).json()["items"]
    assert (logged["oauth_client_name"], logged["user_email"]) == (
        "SDK test client",
        world.member.email,
    )
    assert {(s["oauth_client_name"], s["user_email"]) for s in listed} == {
        ("SDK test client", world.member.email)
    }
    # Nothing secret is stored in the clear.
    with Session(engine) as s:
        stored = s.exec(select(OAuthAccessToken.token_hash)).all()
    assert storage.tokens.access_token not in stored
    assert hashlib.sha256(storage.tokens.access_token.encode()).hexdigest() in stored


async def test_keys_keep_working_beside_oauth(live, world):
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {world.key}"}, timeout=30) as http,
        streamable_http_client(server_url(live, world.project_id, "alpha"), http_client=http) as (
            r,
            w,
        ),
        ClientSession(r, w) as session,
    ):
        await session.initialize()
        assert (await session.call_tool("echo", {"text": "key"})).content[0].text == "key"


async def test_refresh_after_expiry_rotates_and_the_session_goes_on(live, world, engine):
    with Session(engine) as s:
        s.exec(select(SystemSettings)).first() or s.add(SystemSettings(id=1))
        s.commit()
        s.execute(update(SystemSettings).values(oauth_access_token_seconds=2))
        s.commit()
    url = server_url(live, world.project_id, "alpha")
    browser = Browser(live, world.member, world.project_id, "alpha")
    storage = MemoryStorage()
    async with oauth_session(url, browser, storage, "streamable") as session:
        await session.call_tool("echo", {"text": "one"})
        first = storage.tokens
        await asyncio.sleep(2.5)
        # The SDK sees its token expired, refreshes, and the same session carries on.
        assert (await session.call_tool("echo", {"text": "two"})).content[0].text == "two"
        second = storage.tokens
    assert browser.visits == 1
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    async with httpx2.AsyncClient(timeout=30) as http:
        old = await _mcp_post(http, url, first.access_token)
        assert old.status_code == 401
        assert "expired" in old.headers["www-authenticate"]
        reused = await refresh(http, live, storage.client.client_id, first.refresh_token)
        assert reused.status_code == 400
        assert reused.json()["error"] == "invalid_grant"


# --- HTTP-level helpers ------------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


async def register(http: httpx2.AsyncClient, live: LiveApp, **metadata: Any) -> dict[str, Any]:
    body = {
        "client_name": "raw client",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    response = await http.post(f"{live.base_url}/oauth/register", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def authorize_request(
    http: httpx2.AsyncClient, live: LiveApp, client: dict[str, Any], challenge: str, **params: str
) -> httpx2.Response:
    """GET /oauth/authorize with these parameters over the usual ones."""
    usual = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
    }
    return await http.get(f"{live.base_url}/oauth/authorize", params={**usual, **params})


async def start(
    http: httpx2.AsyncClient, live: LiveApp, client: dict[str, Any], challenge: str, **params: str
) -> str:
    """GET /oauth/authorize; the consent request token."""
    response = await authorize_request(http, live, client, challenge, **params)
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["request"][0]


async def approve(
    http: httpx2.AsyncClient, live: LiveApp, person: Any, request: str, project_id: Any, server
) -> httpx2.Response:
    return await http.post(
        f"{live.base_url}/api/oauth/consent/approve",
        json={"request": request, "project_id": str(project_id), "server_name": server},
        headers=person.headers,
    )


async def get_code(
    http, live, client, person, project_id, server, challenge, **options: Any
) -> str:
    request = await start(http, live, client, challenge, **options)
    approved = await approve(http, live, person, request, project_id, server)
    assert approved.status_code == 200, approved.text
    query = parse_qs(urlsplit(approved.json()["redirect_to"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


async def token_request(http, live: LiveApp, grant_type: str, **form: str) -> httpx2.Response:
    return await http.post(f"{live.base_url}/oauth/token", data={"grant_type": grant_type, **form})


async def exchange(
    http, live, client, code, verifier, redirect_uri: str = REDIRECT, **extra: str
) -> httpx2.Response:
    return await token_request(
        http,
        live,
        "authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        client_id=client["client_id"],
        code_verifier=verifier,
        **extra,
    )


async def new_code(http, live, world, person=None, server: str | None = "alpha", **options):
    """A registered public client, a PKCE verifier and a code approved by the member."""
    client = await register(http, live)
    verifier, challenge = pkce()
    code = await get_code(
        http, live, client, person or world.member, world.project_id, server, challenge, **options
    )
    return client, verifier, code


async def tokens_for(http, live, world, person=None, server: str | None = "alpha", **options):
    client, verifier, code = await new_code(http, live, world, person, server, **options)
    response = await exchange(http, live, client, code, verifier)
    assert response.status_code == 200, response.text
    return client, response.json()


async def refresh(http, live: LiveApp, client_id: str, refresh_token: str) -> httpx2.Response:
    return await token_request(
        http, live, "refresh_token", refresh_token=refresh_token, client_id=client_id
    )


async def _mcp_post(http: httpx2.AsyncClient, url: str, token: str) -> httpx2.Response:
    return await http.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        },
    )


# --- discovery ---------------------------------------------------------------------------------


async def test_a_401_names_the_endpoints_resource_metadata(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        for server, tail in (("alpha", "servers/alpha"), (None, "unified")):
            for path in ("mcp", "sse"):
                url = server_url(live, world.project_id, server, path)
                response = await (http.get(url) if path == "sse" else http.post(url, json={}))
                assert response.status_code == 401
                challenge = response.headers["www-authenticate"]
                metadata_url = (
                    f"{live.base_url}/.well-known/oauth-protected-resource/projects/"
                    f"{world.project_id}/{tail}"
                )
                assert f'resource_metadata="{metadata_url}"' in challenge
                metadata = (await http.get(metadata_url)).json()
                assert metadata["resource"] == f"{live.base_url}/projects/{world.project_id}/{tail}"
                assert metadata["authorization_servers"] == [live.base_url]
        server_metadata = (
            await http.get(f"{live.base_url}/.well-known/oauth-authorization-server")
        ).json()
        assert server_metadata["issuer"] == live.base_url
        assert server_metadata["code_challenge_methods_supported"] == ["S256"]
        assert server_metadata["token_endpoint"] == f"{live.base_url}/oauth/token"
        assert server_metadata["registration_endpoint"] == f"{live.base_url}/oauth/register"
        assert server_metadata["revocation_endpoint"] == f"{live.base_url}/oauth/revoke"
        unknown = await http.get(f"{live.base_url}/.well-known/oauth-protected-resource/nope")
        assert unknown.status_code == 404
        foreign = await http.get(
            f"{live.base_url}/.well-known/oauth-authorization-server",
            headers={"Host": "evil.example"},
        )
        assert foreign.status_code == 421


# --- refusals ----------------------------------------------------------------------------------


async def test_wrong_pkce_verifier_is_refused(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client, _verifier, code = await new_code(http, live, world)
        wrong = await exchange(http, live, client, code, pkce()[0])
        assert wrong.status_code == 400
        assert wrong.json() == {
            "error": "invalid_grant",
            "error_description": "incorrect code_verifier",
        }


async def test_plain_pkce_is_refused(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client = await register(http, live)
        response = await authorize_request(
            http, live, client, "x" * 43, code_challenge_method="plain"
        )
        assert response.status_code == 302
        assert "error=invalid_request" in response.headers["location"]


async def test_a_reused_code_is_refused_and_revokes_its_tokens(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client, verifier, code = await new_code(http, live, world)
        first = await exchange(http, live, client, code, verifier)
        assert first.status_code == 200
        again = await exchange(http, live, client, code, verifier)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"
        # The tokens the code gave are revoked: the code may have leaked.
        token = first.json()["access_token"]
        refused = await _mcp_post(http, server_url(live, world.project_id, "alpha"), token)
        assert refused.status_code == 401


async def test_a_code_of_another_client_is_refused(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client = await register(http, live)
        thief = await register(http, live, client_name="thief")
        verifier, challenge = pkce()
        code = await get_code(
            http, live, client, world.member, world.project_id, "alpha", challenge
        )
        stolen = await exchange(http, live, thief, code, verifier)
        assert stolen.status_code == 400
        assert stolen.json()["error"] == "invalid_grant"
        # ... and the code stays usable by the client it was issued to.
        assert (await exchange(http, live, client, code, verifier)).status_code == 200


async def test_redirect_uri_mismatch_is_refused(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client = await register(http, live, redirect_uris=[REDIRECT, "https://app.example/cb"])
        verifier, challenge = pkce()
        # At /authorize: an unregistered URI gets no redirect, an error page.
        for bad in ("https://evil.example/cb", "https://app.example/cb/x", "http://10.0.0.1/cb"):
            response = await authorize_request(http, live, client, challenge, redirect_uri=bad)
            assert response.status_code == 400, bad
            assert "not registered" in response.json()["error_description"]
        # A loopback URI matches on any port (RFC 8252), the path must be the same.
        other_port = "http://127.0.0.1:55555/callback"
        code = await get_code(
            http,
            live,
            client,
            world.member,
            world.project_id,
            "alpha",
            challenge,
            redirect_uri=other_port,
        )
        # At /token: the redirect URI must be the one the code was issued for.
        mismatch = await exchange(http, live, client, code, verifier, "https://app.example/cb")
        assert mismatch.status_code == 400
        assert "redirect_uri" in mismatch.json()["error_description"]


async def test_registration_refuses_unsafe_redirect_uris(live):
    async with httpx2.AsyncClient(timeout=30) as http:
        for uri in ("http://app.example/cb", "javascript:alert(1)", "https://a.example/#f"):
            response = await http.post(
                f"{live.base_url}/oauth/register",
                json={"redirect_uris": [uri], "token_endpoint_auth_method": "none"},
            )
            assert response.status_code == 400, uri
            assert response.json()["error"] in {"invalid_redirect_uri", "invalid_client_metadata"}
        too_many = await http.post(
            f"{live.base_url}/oauth/register",
            json={"redirect_uris": [f"https://a.example/{i}" for i in range(11)]},
        )
        assert too_many.status_code == 400
        garbage = await http.post(f"{live.base_url}/oauth/register", content=b"\xff{")
        assert garbage.status_code == 400


async def test_a_token_is_refused_at_another_endpoint_or_project(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        _client, alpha = await tokens_for(http, live, world, server="alpha")
        _client, unified = await tokens_for(http, live, world, server=None)
        token = alpha["access_token"]
        assert (
            await _mcp_post(http, server_url(live, world.project_id, "alpha"), token)
        ).status_code == 200
        for url in (
            server_url(live, world.project_id, "beta"),
            server_url(live, world.project_id, None),
            server_url(live, world.other_project_id, "alpha"),
        ):
            refused = await _mcp_post(http, url, token)
            assert refused.status_code == 401, url
            assert "another endpoint" in refused.headers["www-authenticate"]
        # A unified token is not a token for each server.
        refused = await _mcp_post(
            http, server_url(live, world.project_id, "alpha"), unified["access_token"]
        )
        assert refused.status_code == 401


async def test_a_resource_naming_another_endpoint_cannot_be_granted_elsewhere(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client = await register(http, live)
        _verifier, challenge = pkce()
        resource = f"{live.base_url}/projects/{world.project_id}/servers/beta"
        request = await start(http, live, client, challenge, resource=resource)
        shown = await http.get(
            f"{live.base_url}/api/oauth/consent",
            params={"request": request},
            headers=world.member.headers,
        )
        assert (shown.json()["project_id"], shown.json()["server_name"]) == (
            str(world.project_id),
            "beta",
        )
        wrong = await approve(http, live, world.member, request, world.project_id, "alpha")
        assert wrong.status_code == 422
        assert "another endpoint" in wrong.json()["detail"]
        # A resource that is not one of mcp-orch's endpoints is refused at /authorize.
        response = await authorize_request(
            http, live, client, challenge, resource="https://elsewhere.example/mcp"
        )
        assert response.status_code == 302
        assert "error=invalid_target" in response.headers["location"]


async def test_an_expired_token_is_refused(live, world, engine):
    async with httpx2.AsyncClient(timeout=30) as http:
        _client, tokens = await tokens_for(http, live, world)
        url = server_url(live, world.project_id, "alpha")
        assert (await _mcp_post(http, url, tokens["access_token"])).status_code == 200
        with Session(engine) as s:
            s.execute(update(OAuthAccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
            s.commit()
        live.gateway._grants.clear()  # the gateway's few-second cache is not what is tested
        refused = await _mcp_post(http, url, tokens["access_token"])
        assert refused.status_code == 401
        assert "expired" in refused.headers["www-authenticate"]


async def test_revocation_stops_the_next_call_and_the_refresh(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client, tokens = await tokens_for(http, live, world)
        url = server_url(live, world.project_id, "alpha")
        assert (await _mcp_post(http, url, tokens["access_token"])).status_code == 200
        revoked = await http.post(
            f"{live.base_url}/oauth/revoke",
            data={"token": tokens["refresh_token"], "client_id": client["client_id"]},
        )
        assert revoked.status_code == 200
        # No cache clearing: revocation is announced to the gateway at once.
        refused = await _mcp_post(http, url, tokens["access_token"])
        assert refused.status_code == 401
        refreshed = await refresh(http, live, client["client_id"], tokens["refresh_token"])
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"


async def test_a_non_member_cannot_consent_to_a_project(live, world):
    async with httpx2.AsyncClient(timeout=30) as http:
        client = await register(http, live)
        _verifier, challenge = pkce()
        request = await start(http, live, client, challenge)
        shown = await http.get(
            f"{live.base_url}/api/oauth/consent",
            params={"request": request},
            headers=world.outsider.headers,
        )
        assert shown.status_code == 200
        assert shown.json()["projects"] == []  # nothing to pick
        refused = await approve(http, live, world.outsider, request, world.project_id, "alpha")
        assert refused.status_code == 403
        anonymous = await http.post(
            f"{live.base_url}/api/oauth/consent/approve",
            json={"request": request, "project_id": str(world.project_id)},
        )
        assert anonymous.status_code == 401
        # The request is still open for someone who may answer it; answered once only.
        assert (
            await approve(http, live, world.member, request, world.project_id, "alpha")
        ).status_code == 200
        again = await approve(http, live, world.member, request, world.project_id, "alpha")
        assert again.status_code == 409


async def test_a_removed_members_token_stops_at_once(live, world, engine):
    async with httpx2.AsyncClient(timeout=30) as http:
        client, tokens = await tokens_for(http, live, world)
        url = server_url(live, world.project_id, "alpha")
        assert (await _mcp_post(http, url, tokens["access_token"])).status_code == 200
        with db.session_scope(engine) as s:
            projects.remove_member(s, world.owner.actor, world.project_id, world.member.id)
        refused = await _mcp_post(http, url, tokens["access_token"])
        assert refused.status_code == 401
        assert "left the project" in refused.headers["www-authenticate"]
        refreshed = await refresh(http, live, client["client_id"], tokens["refresh_token"])
        assert refreshed.json()["error"] == "invalid_grant"


async def test_closed_registration_needs_an_admin(live, world, engine, make_person):
    admin = make_person("admin", is_admin=True)
    with db.session_scope(engine) as s:
        oauth.set_oauth_settings(s, admin.actor, registration_open=False)
    async with httpx2.AsyncClient(timeout=30) as http:
        body = {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
        refused = await http.post(f"{live.base_url}/oauth/register", json=body)
        assert refused.status_code == 403
        member = await http.post(
            f"{live.base_url}/oauth/register", json=body, headers=world.member.headers
        )
        assert member.status_code == 403
        allowed = await http.post(
            f"{live.base_url}/oauth/register", json=body, headers=admin.headers
        )
        assert allowed.status_code == 201


async def test_a_confidential_clients_secret_is_checked_against_its_hash(live, world, engine):
    async with httpx2.AsyncClient(timeout=30) as http:
        client = await register(http, live, token_endpoint_auth_method="client_secret_post")
        secret = client["client_secret"]
        (row,) = rows(engine, OAuthClient)
        assert row.client_secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        verifier, challenge = pkce()
        code = await get_code(
            http, live, client, world.member, world.project_id, "alpha", challenge
        )
        wrong = await exchange(http, live, client, code, verifier, client_secret="nope")
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
        right = await exchange(http, live, client, code, verifier, client_secret=secret)
        assert right.status_code == 200


async def test_connected_apps_are_listed_and_revoked(live, world, engine):
    async with httpx2.AsyncClient(timeout=30) as http:
        _client, tokens = await tokens_for(http, live, world)
        mine = (
            await http.get(
                f"{live.base_url}/api/oauth/connected-apps", headers=world.member.headers
            )
        ).json()
        assert [(a["client_name"], a["server_name"]) for a in mine] == [("raw client", "alpha")]
        owners = await http.get(
            f"{live.base_url}/api/projects/{world.project_id}/connected-apps",
            headers=world.owner.headers,
        )
        assert [a["user_email"] for a in owners.json()] == [world.member.email]
        not_owner = await http.get(
            f"{live.base_url}/api/projects/{world.project_id}/connected-apps",
            headers=world.member.headers,
        )
        assert not_owner.status_code == 403
        outsider = await http.delete(
            f"{live.base_url}/api/oauth/connected-apps/{mine[0]['id']}",
            headers=world.outsider.headers,
        )
        assert outsider.status_code == 404
        done = await http.delete(
            f"{live.base_url}/api/oauth/connected-apps/{mine[0]['id']}",
            headers=world.owner.headers,
        )
        assert done.status_code == 204
        url = server_url(live, world.project_id, "alpha")
        assert (await _mcp_post(http, url, tokens["access_token"])).status_code == 401


def test_settings_bounds(engine, make_person):
    admin = make_person("admin", is_admin=True)
    user = make_person("user")
    with db.session_scope(engine) as s, pytest.raises(PermissionDenied):
        oauth.set_oauth_settings(s, user.actor, registration_open=False)
    with db.session_scope(engine) as s:
        for bad in (0, 59, 10**9):
            with pytest.raises(InvalidInput, match="between"):
                oauth.set_oauth_settings(s, admin.actor, access_token_seconds=bad)
        out = oauth.set_oauth_settings(s, admin.actor, access_token_seconds=600)
        assert out.access_token_seconds == 600


def test_resource_parsing():
    base = "https://orch.example"
    pid = uuid.uuid4()
    assert oauth.parse_resource(f"{base}/projects/{pid}/servers/a", base) == oauth.Endpoint(
        pid, "a"
    )
    assert oauth.parse_resource(f"{base}/projects/{pid}/servers/a/mcp", base) == oauth.Endpoint(
        pid, "a"
    )
    assert oauth.parse_resource(f"{base}/projects/{pid}/unified", base) == oauth.Endpoint(pid, None)
    for bad in (
        f"https://other.example/projects/{pid}/unified",
        f"{base}/projects/not-a-uuid/unified",
        f"{base}/projects/{pid}/servers/",
        f"{base}/projects/{pid}/unified#x",
        "::::",
    ):
        assert oauth.parse_resource(bad, base) is None, bad
    assert oauth.redirect_uri_matches("http://127.0.0.1:1/cb", "http://127.0.0.1:9999/cb")
    assert oauth.redirect_uri_matches("http://[::1]/cb", "http://[::1]:8080/cb")
    assert not oauth.redirect_uri_matches("http://127.0.0.1:1/cb", "http://127.0.0.1:1/cb2")
    assert not oauth.redirect_uri_matches("https://a.example/cb", "https://a.example:444/cb")
