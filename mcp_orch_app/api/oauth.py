"""The OAuth 2.1 authorization server's HTTP endpoints (services/oauth.py says what they do).

Protocol endpoints, answered by the MCP SDK's own handlers (``mcp.server.auth.handlers``) over
our provider, with the issuer taken from MCP_ORCH_PUBLIC_URL or the request's (checked) Host:

- ``GET /.well-known/oauth-authorization-server``: RFC 8414 metadata.
- ``GET /.well-known/oauth-protected-resource/projects/{id}/servers/{name}[/mcp|/sse]`` and
  ``.../projects/{id}/unified[/mcp|/sse]``: RFC 9728 metadata of each MCP endpoint.
- ``/oauth/authorize`` (code + PKCE S256), ``/oauth/token``, ``/oauth/register`` (RFC 7591;
  when an admin closed registration, only an admin's login token may register a client),
  ``/oauth/revoke`` (RFC 7009).

REST for the consent page and the "connected apps" views (login token required):
``GET /api/oauth/consent?request=``, ``POST /api/oauth/consent/approve|deny``,
``GET /api/oauth/connected-apps``, ``GET /api/projects/{id}/connected-apps``,
``DELETE /api/oauth/connected-apps/{id}``, ``GET|PUT /api/admin/oauth-settings``.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from fastapi import APIRouter, Query, Response
from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler, ProtectedResourceMetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.routes import build_metadata
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata, ProtectedResourceMetadata
from pydantic import AnyHttpUrl, BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.openapi import refusals
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.config import get_settings
from mcp_orch_app.db import run_db
from mcp_orch_app.gateway.http_security import check_host_and_origin
from mcp_orch_app.services import auth, oauth
from mcp_orch_app.services.errors import NotAuthenticated
from mcp_orch_app.services.principal import Actor

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
REGISTER_PATH = "/oauth/register"
REVOKE_PATH = "/oauth/revoke"
CONSENT_PAGE = "/oauth/consent"

_NO_STORE = {"Cache-Control": "no-store"}
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
}

router = APIRouter(include_in_schema=False)
rest = APIRouter(tags=["oauth"], route_class=StrictJSONRoute)


class _BadHost(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def public_base_url(request: Request) -> str:
    """mcp-orch's public origin: MCP_ORCH_PUBLIC_URL, else the request's checked Host."""
    configured = get_settings().public_url
    if configured:
        return configured
    refused = check_host_and_origin(request.headers.get("host"), None)
    if refused is not None:
        raise _BadHost(*refused)
    return f"{request.url.scheme}://{request.url.netloc}"


def _provider(request: Request, actor: Actor | None = None) -> oauth.OrchOAuthProvider:
    base = public_base_url(request)
    return oauth.OrchOAuthProvider(base, base + CONSENT_PAGE, actor)


def _metadata(base: str) -> OAuthMetadata:
    defaults = build_metadata(
        AnyHttpUrl(base),
        None,
        ClientRegistrationOptions(enabled=True),
        RevocationOptions(enabled=True),
    ).model_dump(mode="json", exclude_none=True)
    methods = ["none", "client_secret_post", "client_secret_basic"]
    # Validated from strings so the issuer keeps its exact form (no added "/"): clients
    # compare it with the authorization server the resource metadata names.
    return OAuthMetadata.model_validate(
        {
            **defaults,
            "issuer": base,
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "registration_endpoint": base + REGISTER_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "token_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
        }
    )


def _error(status: int, error: str, description: str, **headers: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**_NO_STORE, **headers},
    )


def _cors(response: Response) -> Response:
    response.headers.update(_CORS)
    return response


async def _guarded(request: Request, answer) -> Response:
    try:
        return await answer()
    except _BadHost as exc:
        return _error(exc.status, "invalid_request", exc.message)


class HashedSecretAuthenticator(ClientAuthenticator):
    """The SDK's client authentication at /token and /revoke, comparing the presented secret
    with the stored hash (the SDK's own compares a plaintext secret, which we never keep)."""

    provider: oauth.OrchOAuthProvider

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        form = await request.form()
        client_id = form.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        client = await self.provider.get_client(client_id)
        if client is None:
            raise AuthenticationError("Invalid client_id")
        method = client.token_endpoint_auth_method
        secret: str | None = None
        if method == "client_secret_basic":
            header = request.headers.get("authorization", "")
            if not header.startswith("Basic "):
                raise AuthenticationError("Missing or invalid Basic authentication")
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
                basic_id, _, secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError, binascii.Error):
                raise AuthenticationError("Invalid Basic authentication header") from None
            if unquote(basic_id) != client_id:
                raise AuthenticationError("Client ID mismatch in Basic auth")
            secret = unquote(secret)
        elif method == "client_secret_post":
            value = form.get("client_secret")
            secret = value if isinstance(value, str) else None
        elif method != "none":
            raise AuthenticationError(f"Unsupported auth method: {method}")
        if method != "none":
            if not secret:
                raise AuthenticationError("Client secret is required")
            if not await run_db(oauth.client_secret_matches, client_id, secret):
                raise AuthenticationError("Invalid client_secret")
        return client


# --- metadata --------------------------------------------------------------------------------


@router.api_route("/.well-known/oauth-authorization-server", methods=["GET", "OPTIONS"])
async def authorization_server_metadata(request: Request) -> Response:
    async def answer() -> Response:
        if request.method == "OPTIONS":
            return _cors(Response(status_code=204))
        return _cors(await MetadataHandler(_metadata(public_base_url(request))).handle(request))

    return await _guarded(request, answer)


def protected_resource_metadata_url(base: str, endpoint: oauth.Endpoint) -> str:
    return f"{base}/.well-known/oauth-protected-resource{endpoint.path()}"


@router.api_route("/.well-known/oauth-protected-resource/{path:path}", methods=["GET", "OPTIONS"])
async def protected_resource_metadata(request: Request, path: str) -> Response:
    async def answer() -> Response:
        if request.method == "OPTIONS":
            return _cors(Response(status_code=204))
        endpoint = oauth.parse_endpoint_path(path)
        if endpoint is None:
            return _error(404, "invalid_request", "Not an MCP endpoint of this mcp-orch.")
        base = public_base_url(request)
        what = f"server {endpoint.server_name}" if endpoint.server_name else "unified endpoint"
        metadata = ProtectedResourceMetadata.model_validate(
            {
                "resource": endpoint.resource(base),
                "authorization_servers": [base],
                "resource_name": f"mcp-orch: {what} of project {endpoint.project_id}",
            }
        )
        return _cors(await ProtectedResourceMetadataHandler(metadata).handle(request))

    return await _guarded(request, answer)


# --- protocol endpoints ----------------------------------------------------------------------


@router.api_route(AUTHORIZE_PATH, methods=["GET", "POST"])
async def authorize(request: Request) -> Response:
    return await _guarded(request, lambda: AuthorizationHandler(_provider(request)).handle(request))


@router.api_route(TOKEN_PATH, methods=["POST", "OPTIONS"])
async def token(request: Request) -> Response:
    async def answer() -> Response:
        if request.method == "OPTIONS":
            return _cors(Response(status_code=204))
        provider = _provider(request)
        handler = TokenHandler(provider, HashedSecretAuthenticator(provider))
        return _cors(await handler.handle(request))

    return await _guarded(request, answer)


async def _revoke(provider: oauth.OrchOAuthProvider, request: Request) -> Response:
    """RFC 7009 with the SDK's client authentication and token loaders. (The SDK's own
    RevocationHandler requires a ``client_secret`` form field even from public clients, which
    RFC 7009 lets send their client_id alone.)"""
    try:
        client = await HashedSecretAuthenticator(provider).authenticate_request(request)
    except AuthenticationError as exc:
        return _error(401, "unauthorized_client", exc.message)
    form = await request.form()
    token = form.get("token")
    if not isinstance(token, str) or not token:
        return _error(400, "invalid_request", "The token to revoke is missing.")
    found = await provider.load_access_token(token) or await provider.load_refresh_token(
        client, token
    )
    if found is not None and found.client_id == client.client_id:
        await provider.revoke_token(found)
    # An unknown token is not an error (RFC 7009 2.2).
    return Response(status_code=200, headers={**_NO_STORE, "Pragma": "no-cache"})


@router.api_route(REVOKE_PATH, methods=["POST", "OPTIONS"])
async def revoke(request: Request) -> Response:
    async def answer() -> Response:
        if request.method == "OPTIONS":
            return _cors(Response(status_code=204))
        return _cors(await _revoke(_provider(request), request))

    return await _guarded(request, answer)


async def _registering_actor(request: Request) -> Actor | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    try:
        return await run_db(auth.authenticate, value.strip())
    except NotAuthenticated:
        return None


@router.api_route(REGISTER_PATH, methods=["POST", "OPTIONS"])
async def register(request: Request) -> Response:
    async def answer() -> Response:
        if request.method == "OPTIONS":
            return _cors(Response(status_code=204))
        provider = _provider(request, await _registering_actor(request))
        if not await run_db(oauth.registration_open) and not (
            provider.actor and provider.actor.is_admin
        ):
            return _cors(
                _error(
                    403,
                    "access_denied",
                    "Client registration is closed on this mcp-orch; an admin can register "
                    "the client (POST /oauth/register with an admin's login token).",
                )
            )
        handler = RegistrationHandler(provider, ClientRegistrationOptions(enabled=True))
        return _cors(await handler.handle(request))

    return await _guarded(request, answer)


# --- consent and connected apps (REST) -------------------------------------------------------


class ConsentAnswerIn(BaseModel):
    request: str = Field(min_length=1, max_length=200)


class ConsentApproveIn(ConsentAnswerIn):
    project_id: str = Field(min_length=1, max_length=64)
    # None: the project's unified endpoint.
    server_name: str | None = Field(default=None, min_length=1, max_length=64)


class RedirectOut(BaseModel):
    redirect_to: str


class OAuthSettingsIn(BaseModel):
    registration_open: bool | None = None
    access_token_seconds: int | None = None
    refresh_token_seconds: int | None = None


@rest.get("/api/oauth/consent", response_model=oauth.ConsentOut, responses=refusals(404, 409, 422))
def consent(actor: CurrentActor, token: str = Query(alias="request", max_length=200)):
    return run(oauth.describe_request, actor, token)


@rest.post(
    "/api/oauth/consent/approve",
    response_model=RedirectOut,
    responses=refusals(403, 404, 409, 422),
)
def approve(body: ConsentApproveIn, actor: CurrentActor):
    url = run(oauth.approve_request, actor, body.request, body.project_id, body.server_name)
    return RedirectOut(redirect_to=url)


@rest.post("/api/oauth/consent/deny", response_model=RedirectOut, responses=refusals(404, 409, 422))
def deny(body: ConsentAnswerIn, actor: CurrentActor):
    return RedirectOut(redirect_to=run(oauth.deny_request, actor, body.request))


@rest.get("/api/oauth/connected-apps", response_model=list[oauth.ConnectedAppOut])
def my_connected_apps(actor: CurrentActor):
    return run(oauth.list_my_connected_apps, actor)


@rest.get("/api/projects/{project_id}/connected-apps", response_model=list[oauth.ConnectedAppOut])
def project_connected_apps(project_id: str, actor: CurrentActor):
    return run(oauth.list_project_connected_apps, actor, project_id)


@rest.delete("/api/oauth/connected-apps/{grant_id}", status_code=204)
def revoke_connected_app(grant_id: str, actor: CurrentActor) -> Response:
    run(oauth.revoke_connected_app, actor, grant_id)
    return Response(status_code=204)


@rest.get("/api/admin/oauth-settings", response_model=oauth.OAuthSettingsOut)
def get_oauth_settings(actor: CurrentActor):
    return run(oauth.get_oauth_settings, actor)


@rest.put("/api/admin/oauth-settings", response_model=oauth.OAuthSettingsOut)
def put_oauth_settings(body: OAuthSettingsIn, actor: CurrentActor):
    return run(oauth.set_oauth_settings, actor, **body.model_dump(exclude_none=True))
