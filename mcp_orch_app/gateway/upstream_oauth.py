"""OAuth 2.1 toward upstream MCP servers, on the SDK's `OAuthClientProvider`.

Connecting (`begin_connect` / `complete_callback`): the SDK provider is driven against the
server exactly as an interactive client would be: a request answered 401 leads it through
RFC 9728 protected-resource metadata, RFC 8414 discovery of the authorization server (which
may be on another host), dynamic client registration (RFC 7591) unless the owner entered a
pre-registered client, and an authorization-code + PKCE request carrying the RFC 8707
resource. Its redirect handler hands the provider's authorize URL back to the person (the
REST answer); its callback handler waits for mcp-orch's callback route, which finds the
pending flow by its ``state``: one-time (removed on first use), bound to the server, project
and person that asked, expiring after `STATE_TTL`. The token exchange then stores the tokens,
encrypted, through `DbTokenStorage`.

Calls (`GatewayOAuth`, the `httpx.Auth` of a pooled upstream): the stored access token goes on
every request; it is refreshed shortly before expiry and once on a 401, under the provider's
lock, so concurrent calls share one refresh. No interactive flow ever starts from a call: a
failed refresh marks the connection (and, for the shared one, the server) "needs reconnect"
and the call fails with `OAuthNeedsReconnect`, naming where to reconnect.

Every request of both (metadata, registration, token, revocation) goes through the guarded
transport, so the destination policy applies to the authorization server too.

One process holds a pending connect flow; behind several replicas the callback must reach the
replica that started it (sticky sessions), or the person starts again.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthMetadata,
    OAuthToken,
    ProtectedResourceMetadata,
)
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER

from mcp_orch_app.config import get_settings
from mcp_orch_app.db import run_db
from mcp_orch_app.gateway.upstream import CLIENT_INFO, UpstreamUnavailable
from mcp_orch_app.models.enums import Transport
from mcp_orch_app.security.destinations import (
    LOOP_HEADER,
    GuardedTransport,
    loop_token,
    refused_destination,
)
from mcp_orch_app.services import upstream_oauth as store
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.upstream_oauth import OAuthTarget

logger = logging.getLogger(__name__)

STATE_TTL = 600.0
"""Seconds a started connect flow waits for its callback."""

EXCHANGE_TIMEOUT = 30.0
"""How long the callback waits for the token exchange."""

REFRESH_MARGIN = 30.0
"""A token is refreshed this many seconds before it expires (at most a tenth of its life)."""

HTTP_TIMEOUT = 15.0

calling_user: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "mcp_orch_calling_user", default=None
)
"""The mcp-orch user a call is made for (per-user OAuth servers pick their connection by it);
`ANONYMOUS` for a call without one (anonymous access, health checks)."""

ANONYMOUS = uuid.UUID(int=0)

KEY_USER_TTL = 60.0
_key_users: dict[uuid.UUID, tuple[float, uuid.UUID]] = {}


async def bind_caller(api_key_id: uuid.UUID | None) -> None:
    """Name the caller of the calls this task makes next, unless a person was named already:
    the user who created the API key the call came with."""
    if calling_user.get() is not None:
        return
    if api_key_id is None:
        calling_user.set(ANONYMOUS)
        return
    cached = _key_users.get(api_key_id)
    if cached is None or cached[0] <= time.monotonic():
        user = await run_db(store.user_of_api_key, api_key_id) or ANONYMOUS
        if len(_key_users) > 10_000:
            _key_users.clear()
        cached = _key_users[api_key_id] = (time.monotonic() + KEY_USER_TTL, user)
    calling_user.set(cached[1])


CALLER_CHECK_TTL = 5.0
_caller_checks: dict[tuple[str, uuid.UUID | None], tuple[float, OAuthTarget | None, bool]] = {}


async def check_caller(server_id: str) -> None:
    """Refuse at once a call to a per-user OAuth server by someone without a connection, so
    it never starts (and backs off) the server's pooled upstream for everyone else."""
    user = calling_user.get()
    key = (str(server_id), user)
    cached = _caller_checks.get(key)
    if cached is None or cached[0] <= time.monotonic():
        target, connected = await run_db(_caller_state, server_id, user)
        if len(_caller_checks) > 10_000:
            _caller_checks.clear()
        cached = _caller_checks[key] = (time.monotonic() + CALLER_CHECK_TTL, target, connected)
    _, target, connected = cached
    if target is not None and target.user_id is not None and not connected:
        raise OAuthNeedsReconnect(_not_connected(target))


def _caller_state(db, server_id: str, user: uuid.UUID | None) -> tuple[OAuthTarget | None, bool]:
    try:
        target = store.target_for_call(db, server_id, user)
    except Exception:  # not a server row (a bare config): no OAuth
        return None, False
    if target is None:
        return None, False
    return target, store.load_tokens(db, target.server_id, target.owner_key) is not None


class OAuthNeedsReconnect(UpstreamUnavailable):
    """The upstream's OAuth connection cannot be used until a person connects again."""


def reconnect_url(target: OAuthTarget) -> str:
    base = get_settings().public_url or ""
    return f"{base}/projects/{target.project_id}/servers/{target.server_id}"


def _client(auth: httpx.Auth | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        auth=auth,
        headers={
            "user-agent": f"{CLIENT_INFO['name']}/{CLIENT_INFO['version']}",
            LOOP_HEADER: loop_token(),
        },
        timeout=httpx.Timeout(HTTP_TIMEOUT),
        transport=GuardedTransport(limits=httpx.Limits(max_connections=10)),
        follow_redirects=False,
    )


def client_metadata(target: OAuthTarget, redirect_uri: str) -> OAuthClientMetadata:
    return OAuthClientMetadata(
        redirect_uris=[redirect_uri],  # type: ignore[list-item]
        client_name="mcp-orch",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=target.scopes or None,
        token_endpoint_auth_method="client_secret_post" if target.client_secret else "none",
    )


class DbTokenStorage(TokenStorage):
    """The SDK's token storage, backed by the encrypted rows of services/upstream_oauth.py."""

    def __init__(
        self,
        target: OAuthTarget,
        redirect_uri: str | None = None,
        *,
        fresh: bool = False,
        connected_by: uuid.UUID | None = None,
    ) -> None:
        self.target = target
        self.redirect_uri = redirect_uri
        self.fresh = fresh  # a connect flow starts from no tokens, whatever is stored
        self.connected_by = connected_by
        self.issued_at: float | None = None

    async def get_tokens(self) -> OAuthToken | None:
        if self.fresh:
            return None
        row = await run_db(store.load_tokens, self.target.server_id, self.target.owner_key)
        if row is None:
            return None
        return OAuthToken(
            access_token=row["access_token"],
            refresh_token=row.get("refresh_token"),
            scope=row.get("scope"),
            expires_in=store.expires_in_of(row.get("expires_at")),
        )

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.issued_at = time.time()
        await run_db(
            store.save_tokens,
            self.target.server_id,
            self.target.owner_key,
            self.target.user_id,
            tokens.model_dump(mode="json", exclude_none=True),
            connected_by=self.connected_by,
        )

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        target = self.target
        if target.client_id:
            return OAuthClientInformationFull(
                client_id=target.client_id,
                client_secret=target.client_secret,
                redirect_uris=[self.redirect_uri] if self.redirect_uri else None,  # type: ignore[list-item]
                token_endpoint_auth_method="client_secret_post" if target.client_secret else "none",
                grant_types=["authorization_code", "refresh_token"],
            )
        registration = await run_db(store.load_registration, target.server_id)
        client = (registration or {}).get("client")
        return OAuthClientInformationFull.model_validate(client) if client else None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        if self.target.client_id:
            return  # pre-registered: nothing learnt to keep
        await run_db(
            store.save_registration,
            self.target.server_id,
            {"client": client_info.model_dump(mode="json", exclude_none=True)},
        )


async def _save_discovery(target: OAuthTarget, provider: OAuthClientProvider) -> None:
    """Keep what discovery found, so a later process refreshes at the right token endpoint."""
    context = provider.context
    found: dict[str, Any] = {}
    if context.oauth_metadata is not None:
        found["metadata"] = context.oauth_metadata.model_dump(mode="json", exclude_none=True)
    if context.protected_resource_metadata is not None:
        found["prm"] = context.protected_resource_metadata.model_dump(
            mode="json", exclude_none=True
        )
    if found:
        await run_db(store.save_registration, target.server_id, found)


# -- connecting -----------------------------------------------------------------------------


@dataclass
class _Pending:
    target: OAuthTarget
    actor_id: uuid.UUID
    expires_at: float
    callback: asyncio.Future[AuthorizationCodeResult]
    task: asyncio.Task[None] | None = None
    provider: OAuthClientProvider | None = field(default=None, repr=False)


_pending: dict[str, _Pending] = {}


def _forget_expired() -> None:
    now = time.monotonic()
    for state, pending in list(_pending.items()):
        if pending.expires_at <= now:
            _pending.pop(state, None)
            if pending.task is not None:
                pending.task.cancel()


def _probe_body() -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()


async def begin_connect(target: OAuthTarget, actor_id: uuid.UUID, redirect_uri: str) -> str:
    """Start a connect flow; answers the provider's authorize URL for the person to open."""
    _forget_expired()
    loop = asyncio.get_running_loop()
    authorize_url: asyncio.Future[str] = loop.create_future()
    callback: asyncio.Future[AuthorizationCodeResult] = loop.create_future()

    async def redirect_handler(url: str) -> None:
        if not authorize_url.done():
            authorize_url.set_result(url)

    async def callback_handler() -> AuthorizationCodeResult:
        return await asyncio.wait_for(asyncio.shield(callback), STATE_TTL)

    storage = DbTokenStorage(target, redirect_uri, fresh=True, connected_by=actor_id)
    provider = OAuthClientProvider(
        target.url,
        client_metadata(target, redirect_uri),
        storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )

    async def run() -> None:
        async with _client(provider) as client:
            if target.transport is Transport.SSE:
                # The SSE endpoint is a GET stream: its headers are all the probe needs.
                probe = client.stream("GET", target.url, headers={"accept": "text/event-stream"})
            else:
                probe = client.stream(
                    "POST",
                    target.url,
                    content=_probe_body(),
                    headers={
                        "content-type": "application/json",
                        "accept": "application/json, text/event-stream",
                    },
                )
            async with probe as response:
                if response.status_code == 401:
                    raise InvalidInput("The server refused the new token (HTTP 401).")
        await _save_discovery(target, provider)
        invalidate(target.server_id)

    task = asyncio.create_task(run())
    done, _ = await asyncio.wait(
        {task, authorize_url}, timeout=HTTP_TIMEOUT * 2, return_when=asyncio.FIRST_COMPLETED
    )
    if authorize_url not in done:
        task.cancel()
        if task in done and task.exception() is not None:
            raise InvalidInput(f"Could not start the OAuth flow: {_describe(task.exception())}")
        if task in done:
            raise InvalidInput("The server did not ask for OAuth authorization (no HTTP 401).")
        raise InvalidInput("The server or its authorization server did not answer in time.")
    url = authorize_url.result()
    state = (parse_qs(urlsplit(url).query).get("state") or [""])[0]
    if not state:
        task.cancel()
        raise InvalidInput("The OAuth flow produced no state.")
    _pending[state] = _Pending(
        target=target,
        actor_id=actor_id,
        expires_at=time.monotonic() + STATE_TTL,
        callback=callback,
        task=task,
        provider=provider,
    )
    return url


def _describe(exc: BaseException | None) -> str:
    """What a person is told about a failed flow: the policy refusal named as such, network
    failures alike (no port probing through this), the SDK's OAuth errors bounded."""
    refused = refused_destination(exc) if exc is not None else None
    if refused is not None:
        logger.warning("OAuth flow: connection refused by the destination policy: %s", refused)
        return (
            "mcp-orch may not connect there: the destination policy refuses it "
            "(MCP_ORCH_UPSTREAM_ALLOW / MCP_ORCH_UPSTREAM_DENY; the server log of mcp-orch "
            "says why)"
        )
    if isinstance(exc, httpx.HTTPError):
        logger.info("OAuth flow: %s: %s", type(exc).__name__, exc)
        return "the server or its authorization server could not be reached"
    text = str(exc) or type(exc).__name__
    return text[:300]


async def complete_callback(project_id: str, server_id: str, params: dict[str, str]) -> OAuthTarget:
    """Finish a connect flow from the provider's redirect; refuses what does not match."""
    state = params.get("state") or ""
    pending = _pending.pop(state, None) if state else None
    if pending is None:
        raise InvalidInput(
            "Unknown, expired or already used OAuth state: start the connection again."
        )
    task = pending.task
    try:
        if pending.expires_at <= time.monotonic():
            raise InvalidInput("This OAuth connection attempt expired: start it again.")
        target = pending.target
        if str(target.server_id) != str(server_id) or str(target.project_id) != str(project_id):
            raise InvalidInput("This OAuth callback belongs to another server or project.")
        if params.get("error"):
            error = str(params.get("error"))[:100]
            raise InvalidInput(f"The provider did not grant access ({error}).")
        code = params.get("code")
        if not code:
            raise InvalidInput("The OAuth callback carries no code.")
        pending.callback.set_result(
            AuthorizationCodeResult(code=code, state=state, iss=params.get("iss"))
        )
        try:
            await asyncio.wait_for(asyncio.shield(task), EXCHANGE_TIMEOUT)
        except TimeoutError:
            raise InvalidInput("The token exchange did not finish in time.") from None
        except InvalidInput:
            raise
        except Exception as exc:
            raise InvalidInput(f"The token exchange failed: {_describe(exc)}") from None
        return target
    finally:
        if task is not None and not task.done():
            task.cancel()


async def disconnect(target: OAuthTarget) -> bool:
    """Forget the connection and revoke its tokens at the provider when it offers revocation.
    Answers whether the provider acknowledged a revocation."""
    tokens = await run_db(store.delete_connection, target.server_id, target.owner_key)
    invalidate(target.server_id)
    if not tokens:
        return False
    registration = await run_db(store.load_registration, target.server_id) or {}
    endpoint = (registration.get("metadata") or {}).get("revocation_endpoint")
    if not endpoint:
        return False
    storage = DbTokenStorage(target)
    client_info = await storage.get_client_info()
    revoked = False
    async with _client() as client:
        for kind in ("refresh_token", "access_token"):
            token = tokens.get(kind)
            if not token:
                continue
            data = {"token": token, "token_type_hint": kind}
            if client_info is not None:
                data["client_id"] = client_info.client_id
                # A public client sends an empty secret: the SDK's revocation endpoint (and
                # some others) reject a form without the field.
                data["client_secret"] = client_info.client_secret or ""
            try:
                response = await client.post(endpoint, data=data)
                revoked = revoked or response.status_code == 200
                if response.status_code != 200:
                    logger.warning(
                        "%s: revocation answered HTTP %d %s",
                        target.server_name,
                        response.status_code,
                        response.text[:200],
                    )
            except httpx.HTTPError as exc:
                logger.warning("revoking a token of %s failed: %s", target.server_name, exc)
    return revoked


# -- calls ----------------------------------------------------------------------------------


class _CallProvider(OAuthClientProvider):
    """The SDK provider for calls: tokens from the database, refresh only, no consent."""

    def __init__(self, target: OAuthTarget) -> None:
        storage = DbTokenStorage(target)
        super().__init__(target.url, client_metadata(target, "http://unused.invalid/"), storage)
        self.target = target
        self.storage = storage

    async def _initialize(self) -> None:
        await super()._initialize()
        registration = await run_db(store.load_registration, self.target.server_id) or {}
        if registration.get("metadata"):
            self.context.oauth_metadata = OAuthMetadata.model_validate(registration["metadata"])
        if registration.get("prm"):
            prm = ProtectedResourceMetadata.model_validate(registration["prm"])
            self.context.protected_resource_metadata = prm
            if prm.authorization_servers:
                self.context.auth_server_url = str(prm.authorization_servers[0])
        self._set_expiry(self.context.current_tokens)

    def _set_expiry(self, tokens: OAuthToken | None) -> None:
        if tokens is None or tokens.expires_in is None:
            self.context.token_expiry_time = None
            return
        margin = min(REFRESH_MARGIN, max(tokens.expires_in, 0) / 10)
        self.context.token_expiry_time = time.time() + tokens.expires_in - margin

    async def _give_up(self, reason: str) -> None:
        self.context.clear_tokens()
        self._initialized = False
        await run_db(
            store.mark_needs_reconnect, self.target.server_id, self.target.owner_key, reason
        )
        raise OAuthNeedsReconnect(
            f"MCP server '{self.target.server_name}': the OAuth connection needs reconnect "
            f"({reason}); reconnect it at {reconnect_url(self.target)}"
        )

    async def _refresh(self):  # an async generator: yields the refresh request
        if not self.context.can_refresh_token():
            await self._give_up("the access token expired and there is no refresh token")
        response = yield await self._refresh_token()
        if not await self._handle_refresh_response(response):
            await self._give_up(f"the token refresh was refused (HTTP {response.status_code})")
        self._set_expiry(self.context.current_tokens)

    async def _auth_flow(self, request: httpx.Request):
        async with self.context.lock:
            if not self._initialized:
                await self._initialize()
            self.context.protocol_version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
            if self.context.current_tokens is None:
                raise OAuthNeedsReconnect(_not_connected(self.target))
            if not self.context.is_token_valid():
                refresh = self._refresh()
                response = yield await refresh.__anext__()
                await _finish(refresh, response)
            sent = self.context.current_tokens.access_token
            self._add_auth_header(request)
        response = yield request
        if response.status_code != 401:
            return
        async with self.context.lock:
            current = self.context.current_tokens
            if current is None:
                raise OAuthNeedsReconnect(_not_connected(self.target))
            if current.access_token == sent:  # nobody refreshed meanwhile: this call does
                refresh = self._refresh()
                refresh_response = yield await refresh.__anext__()
                await _finish(refresh, refresh_response)
            self._add_auth_header(request)
        response = yield request
        if response.status_code == 401:
            async with self.context.lock:
                await self._give_up("the server refused the refreshed token (HTTP 401)")


async def _finish(generator, response: httpx.Response) -> None:
    try:
        await generator.asend(response)
    except StopAsyncIteration:
        return
    raise RuntimeError("the refresh flow yielded twice")


def _not_connected(target: OAuthTarget) -> str:
    if target.user_id is not None:
        return (
            f"MCP server '{target.server_name}' uses a connection per user and yours is not "
            f"connected: connect your account at {reconnect_url(target)}"
        )
    return (
        f"MCP server '{target.server_name}' needs authorization: an owner or developer must "
        f"connect it at {reconnect_url(target)}"
    )


class GatewayOAuth(httpx.Auth):
    """The auth of one pooled upstream: the shared connection, or per call the calling user's
    (per-user mode, by `calling_user`). Providers are kept per owner so each has its own lock
    (single-flight refresh) and keeps its tokens in memory between calls."""

    def __init__(self, server_id: uuid.UUID) -> None:
        self.server_id = server_id
        self._providers: dict[str, _CallProvider] = {}

    def invalidate(self) -> None:
        for provider in self._providers.values():
            provider._initialized = False

    async def _provider(self) -> _CallProvider:
        target = await run_db(store.target_for_call, str(self.server_id), calling_user.get())
        if target is None:
            raise UpstreamUnavailable("OAuth was turned off for this server; restart it")
        provider = self._providers.get(target.owner_key)
        if provider is None:
            provider = self._providers[target.owner_key] = _CallProvider(target)
        return provider

    async def async_auth_flow(self, request: httpx.Request):
        provider = await self._provider()
        flow = provider.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()


_live: dict[str, list[GatewayOAuth]] = {}


def invalidate(server_id: uuid.UUID | str) -> None:
    """New tokens were stored: running upstreams read them on their next request."""
    for auth in _live.get(str(server_id), ()):
        auth.invalidate()
    for key in [key for key in _caller_checks if key[0] == str(server_id)]:
        _caller_checks.pop(key, None)


async def auth_for(server_id: str) -> httpx.Auth | None:
    """The auth a new upstream of this server uses, None when it has no OAuth setting."""
    try:
        target = await run_db(store.target_for_call, server_id, None)
    except Exception:  # the server row is gone (a test's bare config): no OAuth
        return None
    if target is None:
        return None
    auth = GatewayOAuth(target.server_id)
    _live.setdefault(str(server_id), []).append(auth)
    if len(_live[str(server_id)]) > 8:
        del _live[str(server_id)][0]
    return auth


def new_state_token() -> str:
    return secrets.token_urlsafe(32)
