"""mcp-orch as an OAuth 2.1 authorization server for MCP clients.

The protocol endpoints are the MCP SDK's (``mcp.server.auth.handlers``: metadata, register,
authorize, token, revoke; mounted by api/oauth.py); this module is what they call: the
``OAuthAuthorizationServerProvider`` (:class:`OrchOAuthProvider`) and the service functions
behind it, the consent step and the "connected apps" views.

- A client registers itself (RFC 7591) while registration is open (an admin setting); when it
  is closed only an admin may register one. Redirect URIs match exactly, except that a
  loopback ``http://127.0.0.1|[::1]|localhost`` URI matches with any port (RFC 8252 7.3).
- ``/authorize`` (code + PKCE S256 only) stores the request and sends the browser to the
  consent page, where the signed-in user picks a project and one of its servers or its unified
  endpoint (:func:`approve_request`); a non-member cannot consent to a project.
- The code (one use, 5 minutes) becomes a grant: an access token and a refresh token, rotated
  at every refresh. A code presented twice revokes what it was exchanged for.
- Tokens are bound (RFC 8707) to the endpoint the grant is for: one server of one project, or
  the unified endpoint of one project; anywhere else they are refused (:func:`check_access`).
- At every MCP call the grant acts with the user's current membership: a removed member's
  tokens stop working at once (the membership services announce the change to the gateway).

Only SHA-256 hashes of client secrets, codes and tokens are stored.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import InvalidRedirectUriError, OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, BaseModel
from sqlalchemy import update
from sqlmodel import Session, col, select

from mcp_orch_app.db import run_db
from mcp_orch_app.models import McpServer, Project, User
from mcp_orch_app.models.oauth import (
    OAuthAccessToken,
    OAuthAuthorizationCode,
    OAuthAuthorizationRequest,
    OAuthClient,
    OAuthGrant,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.tokens import hash_token
from mcp_orch_app.services import activity
from mcp_orch_app.services.access import parse_uuid, project_role, require_admin, require_project
from mcp_orch_app.services.access_events import access_changed
from mcp_orch_app.services.auth import system_settings
from mcp_orch_app.services.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from mcp_orch_app.services.principal import Actor

ACCESS_TOKEN_PREFIX = "moa_"
REFRESH_TOKEN_PREFIX = "mor_"
CODE_PREFIX = "moc_"
REQUEST_PREFIX = "moq_"

CODE_LIFETIME = timedelta(minutes=5)
REQUEST_LIFETIME = timedelta(minutes=15)
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
MAX_STATE_LENGTH = 500
MAX_TOKEN_LENGTH = 200
ACCESS_SECONDS_RANGE = (60, 24 * 3600)
REFRESH_SECONDS_RANGE = (3600, 365 * 24 * 3600)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "::1", "localhost"})
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob"})

# A grant's last-used time is written at most this often per process.
LAST_USED_WRITE_INTERVAL = 60.0
_last_used_written: dict[uuid.UUID, float] = {}
_last_used_lock = threading.Lock()


class OAuthRefusal(InvalidInput):
    """An OAuth error (``error`` is its RFC 6749 / 7591 code) raised inside a transaction; the
    provider turns it into the SDK's error (frozen dataclasses, which cannot cross a
    transaction's context manager)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


def _new(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _usable_string(value: Any, limit: int = MAX_TOKEN_LENGTH) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


# --- endpoints as resources (RFC 8707) -------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """An MCP endpoint of mcp-orch as an OAuth resource: a server, or a unified endpoint."""

    project_id: uuid.UUID
    server_name: str | None  # None: the project's unified endpoint

    def path(self) -> str:
        if self.server_name is None:
            return f"/projects/{self.project_id}/unified"
        return f"/projects/{self.project_id}/servers/{self.server_name}"

    def resource(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path()


def parse_endpoint_path(path: str) -> Endpoint | None:
    """The endpoint a resource path names (``/projects/P/servers/S`` or ``/projects/P/unified``,
    optionally followed by ``/mcp``, ``/sse`` or ``/messages``), else None."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts and parts[-1] in {"mcp", "sse", "messages"}:
        parts = parts[:-1]
    if len(parts) == 3 and parts[0] == "projects" and parts[2] == "unified":
        name = None
    elif len(parts) == 4 and parts[0] == "projects" and parts[2] == "servers" and parts[3]:
        name = parts[3]
    else:
        return None
    try:
        project_id = uuid.UUID(parts[1])
    except ValueError:
        return None
    return Endpoint(project_id, name)


def parse_resource(resource: str, base_url: str) -> Endpoint | None:
    """The endpoint an RFC 8707 resource names, if it is one of this mcp-orch's."""
    try:
        parts = urlsplit(resource)
        base = urlsplit(base_url)
    except ValueError:
        return None
    if parts.fragment or (parts.scheme.lower(), parts.netloc.lower()) != (
        base.scheme.lower(),
        base.netloc.lower(),
    ):
        return None
    path = parts.path
    prefix = base.path.rstrip("/")
    if prefix:
        if not path.startswith(prefix + "/"):
            return None
        path = path[len(prefix) :]
    return parse_endpoint_path(path)


def _is_base_resource(resource: str, base_url: str) -> bool:
    return resource.rstrip("/").lower() == base_url.rstrip("/").lower()


# --- clients (RFC 7591) ----------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _without_port(uri: str) -> tuple[str, str, str, str, str] | None:
    parts = urlsplit(uri)
    if parts.scheme != "http" or not _is_loopback(parts.hostname):
        return None
    return (parts.scheme, (parts.hostname or "").lower(), parts.path, parts.query, parts.fragment)


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Exact match; a loopback http URI also matches on any port (RFC 8252 7.3)."""
    if registered == presented:
        return True
    try:
        loop = _without_port(registered)
        return loop is not None and loop == _without_port(presented)
    except ValueError:
        return False


class OrchClient(OAuthClientInformationFull):
    """A registered client as the SDK's handlers see it; the secret stays a hash in our table
    (checked by api/oauth.py's client authenticator), so ``client_secret`` is never set."""

    row_id: uuid.UUID | None = None

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is None:
            return super().validate_redirect_uri(None)
        presented = str(redirect_uri)
        if len(presented) <= MAX_URI_LENGTH and any(
            redirect_uri_matches(str(uri), presented) for uri in self.redirect_uris or ()
        ):
            return redirect_uri
        raise InvalidRedirectUriError(f"Redirect URI '{presented}' not registered for client")


def _check_redirect_uri(uri: str) -> None:
    if len(uri) > MAX_URI_LENGTH:
        raise OAuthRefusal("invalid_redirect_uri", "A redirect URI is too long.")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if parts.fragment:
        raise OAuthRefusal("invalid_redirect_uri", "A redirect URI must not have a fragment.")
    if scheme in _FORBIDDEN_SCHEMES or not scheme:
        raise OAuthRefusal("invalid_redirect_uri", f"Redirect URIs may not use {scheme}:.")
    if scheme == "http" and not _is_loopback(parts.hostname):
        raise OAuthRefusal(
            "invalid_redirect_uri",
            "An http:// redirect URI must be a loopback address (127.0.0.1, [::1], localhost); "
            "use https:// otherwise.",
        )


def registration_open(db: Session) -> bool:
    return system_settings(db).oauth_registration_open


def register_client(db: Session, actor: Actor | None, info: OAuthClientInformationFull) -> None:
    """Store a client that registered itself (RFC 7591); ``actor`` is the signed-in user who
    registered it, if any (needed while registration is closed: then only an admin may)."""
    if not registration_open(db) and (actor is None or not actor.is_admin):
        raise PermissionDenied("Client registration is closed on this mcp-orch; ask an admin.")
    uris = [str(uri) for uri in info.redirect_uris or ()]
    if not uris or len(uris) > MAX_REDIRECT_URIS:
        raise OAuthRefusal(
            "invalid_redirect_uri", f"Register between 1 and {MAX_REDIRECT_URIS} redirect URIs."
        )
    for uri in uris:
        _check_redirect_uri(uri)
    name = info.client_name
    if name is not None and len(name) > 200:
        raise OAuthRefusal("invalid_client_metadata", "client_name is over 200 characters.")
    method = info.token_endpoint_auth_method or "client_secret_post"
    if method not in {"none", "client_secret_post", "client_secret_basic"}:
        raise OAuthRefusal(
            "invalid_client_metadata", f"token_endpoint_auth_method {method!r} is not supported."
        )
    metadata = info.model_dump(mode="json", exclude={"client_secret"}, exclude_none=True)
    db.add(
        OAuthClient(
            client_id=info.client_id,
            client_secret_hash=hash_token(info.client_secret) if info.client_secret else None,
            client_name=name,
            redirect_uris=uris,
            token_endpoint_auth_method=method,
            client_metadata=metadata,
            registered_by=actor.user_id if actor else None,
        )
    )
    db.flush()


def _client_row(db: Session, client_id: str) -> OAuthClient | None:
    if _usable_string(client_id, 64) is None:
        return None
    return db.exec(select(OAuthClient).where(OAuthClient.client_id == client_id)).first()


def get_client(db: Session, client_id: str) -> OrchClient | None:
    row = _client_row(db, client_id)
    if row is None:
        return None
    data = {k: v for k, v in dict(row.client_metadata or {}).items() if k != "client_secret"}
    data.update(
        client_id=row.client_id,
        redirect_uris=list(row.redirect_uris),
        token_endpoint_auth_method=row.token_endpoint_auth_method,
    )
    client = OrchClient.model_validate(data)
    client.row_id = row.id
    return client


def client_secret_matches(db: Session, client_id: str, secret: str) -> bool:
    row = _client_row(db, client_id)
    if row is None or row.client_secret_hash is None or not secret or len(secret) > 500:
        return False
    return secrets.compare_digest(row.client_secret_hash, hash_token(secret))


# --- authorization requests and consent ------------------------------------------------------


def start_authorization(
    db: Session, client: OrchClient, params: AuthorizationParams, base_url: str, consent_url: str
) -> str:
    """Store an /authorize request; the URL of the consent page the browser goes to."""
    if params.resource is not None and not (
        _is_base_resource(params.resource, base_url) or parse_resource(params.resource, base_url)
    ):
        raise OAuthRefusal(
            "invalid_target", "The resource is not an MCP endpoint of this mcp-orch."
        )
    if params.state is not None and len(params.state) > MAX_STATE_LENGTH:
        raise OAuthRefusal("invalid_request", "state is too long.")
    if not 43 <= len(params.code_challenge) <= 128:
        raise OAuthRefusal("invalid_request", "code_challenge must be a PKCE S256 challenge.")
    token = _new(REQUEST_PREFIX)
    db.add(
        OAuthAuthorizationRequest(
            request_hash=hash_token(token),
            client_id=client.row_id,
            redirect_uri=str(params.redirect_uri),
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            state=params.state,
            code_challenge=params.code_challenge,
            scopes=list(params.scopes or []),
            resource=params.resource,
            issuer=base_url,
            expires_at=utcnow() + REQUEST_LIFETIME,
        )
    )
    db.flush()
    return construct_redirect_uri(consent_url, request=token)


class ConsentProject(BaseModel):
    id: str
    name: str
    role: str
    servers: list[str]
    unified_enabled: bool


class ConsentOut(BaseModel):
    """What the consent page shows: who asks, where the answer goes, what can be picked."""

    client_id: str
    client_name: str
    redirect_uri: str
    resource: str | None
    # Set when the client asked for one endpoint: the user can only grant (or deny) that one.
    project_id: str | None
    server_name: str | None
    unified: bool
    projects: list[ConsentProject]


def _pending_request(
    db: Session, request_token: str
) -> tuple[OAuthAuthorizationRequest, OAuthClient]:
    if _usable_string(request_token) is None:
        raise NotFound("No such authorization request.")
    row = db.exec(
        select(OAuthAuthorizationRequest, OAuthClient)
        .join(OAuthClient, col(OAuthClient.id) == OAuthAuthorizationRequest.client_id)
        .where(OAuthAuthorizationRequest.request_hash == hash_token(request_token))
    ).first()
    if row is None:
        raise NotFound("No such authorization request: start again from your MCP client.")
    request, client = row
    if request.answered_at is not None:
        raise Conflict("This authorization request was already answered.")
    if request.expires_at <= utcnow():
        raise InvalidInput("This authorization request expired: start again from your client.")
    return request, client


def _requested_endpoint(request: OAuthAuthorizationRequest) -> Endpoint | None:
    return parse_resource(request.resource, request.issuer) if request.resource else None


def describe_request(db: Session, actor: Actor, request_token: str) -> ConsentOut:
    """The consent page's content for the signed-in ``actor``."""
    request, client = _pending_request(db, request_token)
    wanted = _requested_endpoint(request)
    from mcp_orch_app.models import ProjectMember

    if actor.is_admin:
        rows = [(p, "owner") for p in db.exec(select(Project).order_by(Project.name))]
    else:
        rows = [
            (p, str(getattr(role, "value", role)))
            for p, role in db.exec(
                select(Project, ProjectMember.role)
                .join(ProjectMember, col(ProjectMember.project_id) == Project.id)
                .where(ProjectMember.user_id == actor.user_id)
                .order_by(Project.name)
            )
        ]
    if wanted is not None:
        rows = [(p, r) for p, r in rows if p.id == wanted.project_id]
    projects = []
    for project, role in rows[:200]:
        names = list(
            db.exec(
                select(McpServer.name)
                .where(McpServer.project_id == project.id, col(McpServer.enabled))
                .order_by(McpServer.name)
            )
        )
        projects.append(
            ConsentProject(
                id=str(project.id),
                name=project.name,
                role=role,
                servers=names,
                unified_enabled=project.unified_enabled,
            )
        )
    return ConsentOut(
        client_id=client.client_id,
        client_name=client.client_name or "An unnamed application",
        redirect_uri=request.redirect_uri,
        resource=request.resource,
        project_id=str(wanted.project_id) if wanted else None,
        server_name=wanted.server_name if wanted else None,
        unified=wanted is not None and wanted.server_name is None,
        projects=projects,
    )


def _claim(db: Session, request: OAuthAuthorizationRequest) -> None:
    claimed = db.execute(
        update(OAuthAuthorizationRequest)
        .where(
            col(OAuthAuthorizationRequest.id) == request.id,
            col(OAuthAuthorizationRequest.answered_at).is_(None),
        )
        .values(answered_at=utcnow())
    )
    if claimed.rowcount != 1:
        raise Conflict("This authorization request was already answered.")


def _endpoint_server(db: Session, project: Project, server_name: str | None) -> McpServer | None:
    if server_name is None:
        if not project.unified_enabled:
            raise InvalidInput("The unified endpoint of this project is turned off.")
        return None
    server = db.exec(
        select(McpServer).where(McpServer.project_id == project.id, McpServer.name == server_name)
    ).first()
    if server is None or not server.enabled:
        raise NotFound(f"No enabled server named {server_name!r} in this project.")
    return server


def approve_request(
    db: Session,
    actor: Actor,
    request_token: str,
    project_id: str | uuid.UUID,
    server_name: str | None,
) -> str:
    """The user grants the client one endpoint of one of their projects: a server
    (``server_name``) or the unified endpoint (None). Returns the client's redirect URL with
    the code."""
    request, client = _pending_request(db, request_token)
    project, _role = require_project(db, actor, project_id)
    server = _endpoint_server(db, project, server_name)
    chosen = Endpoint(project.id, server.name if server else None)
    wanted = _requested_endpoint(request)
    if wanted is not None and wanted != chosen:
        raise InvalidInput(
            f"The application asked for another endpoint than the one picked: {request.resource}."
        )
    _claim(db, request)
    code = _new(CODE_PREFIX)
    db.add(
        OAuthAuthorizationCode(
            code_hash=hash_token(code),
            client_id=client.id,
            user_id=actor.user_id,
            project_id=project.id,
            server_id=server.id if server else None,
            resource=chosen.resource(request.issuer),
            redirect_uri=request.redirect_uri,
            redirect_uri_provided_explicitly=request.redirect_uri_provided_explicitly,
            code_challenge=request.code_challenge,
            scopes=list(request.scopes or []),
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )
    activity.record(
        db,
        actor,
        "oauth.granted",
        f"{actor.display_name} connected {client.client_name or 'an application'} to "
        + (f"the server {server.name}" if server else "the unified endpoint"),
        project_id=project.id,
        target_type="oauth_client",
        target_id=client.id,
    )
    db.flush()
    return construct_redirect_uri(request.redirect_uri, code=code, state=request.state)


def deny_request(db: Session, actor: Actor, request_token: str) -> str:
    """The user refuses: the client's redirect URL with ``error=access_denied``."""
    request, _client = _pending_request(db, request_token)
    _claim(db, request)
    return construct_redirect_uri(
        request.redirect_uri,
        error="access_denied",
        error_description="The user refused access.",
        state=request.state,
    )


# --- codes and tokens ------------------------------------------------------------------------


class OrchAuthorizationCode(AuthorizationCode):
    row_id: uuid.UUID


class OrchRefreshToken(RefreshToken):
    grant_id: uuid.UUID


class OrchAccessToken(AccessToken):
    grant_id: uuid.UUID


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _revoke_grant(db: Session, grant_id: uuid.UUID) -> uuid.UUID | None:
    grant = db.get(OAuthGrant, grant_id)
    if grant is None or grant.revoked_at is not None:
        return None
    grant.revoked_at = utcnow()
    grant.refresh_token_hash = None
    db.add(grant)
    db.flush()
    db.execute(
        OAuthAccessToken.__table__.delete().where(OAuthAccessToken.grant_id == grant_id)  # type: ignore[attr-defined]
    )
    access_changed(db, grant.project_id)
    return grant.project_id


def load_code(db: Session, client: OrchClient, code: str) -> OrchAuthorizationCode | None:
    if _usable_string(code) is None or client.row_id is None:
        return None
    row = db.exec(
        select(OAuthAuthorizationCode).where(OAuthAuthorizationCode.code_hash == hash_token(code))
    ).first()
    if row is None or row.client_id != client.row_id:
        return None  # unknown, or another client's code (which stays usable by its own)
    if row.used_at is not None:
        # Presented again: someone else may hold it; what it was exchanged for goes too.
        if row.grant_id is not None:
            _revoke_grant(db, row.grant_id)
        return None
    return OrchAuthorizationCode(
        row_id=row.id,
        code=code,
        scopes=list(row.scopes or []),
        expires_at=row.expires_at.timestamp(),
        client_id=client.client_id,
        code_challenge=row.code_challenge,
        redirect_uri=AnyUrl(row.redirect_uri),
        redirect_uri_provided_explicitly=row.redirect_uri_provided_explicitly,
        resource=row.resource,
        subject=str(row.user_id),
    )


def _still_member(db: Session, user_id: uuid.UUID, project_id: uuid.UUID) -> Any:
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return project_role(db, Actor(user.id, user.email, user.name, user.is_admin), project_id)


def _issue(db: Session, grant: OAuthGrant) -> OAuthToken:
    settings = system_settings(db)
    access = _new(ACCESS_TOKEN_PREFIX)
    refresh = _new(REFRESH_TOKEN_PREFIX)
    now = utcnow()
    db.add(
        OAuthAccessToken(
            token_hash=hash_token(access),
            grant_id=grant.id,
            expires_at=now + timedelta(seconds=settings.oauth_access_token_seconds),
        )
    )
    grant.refresh_token_hash = hash_token(refresh)
    grant.refresh_expires_at = now + timedelta(seconds=settings.oauth_refresh_token_seconds)
    db.add(grant)
    db.flush()
    return OAuthToken(
        access_token=access,
        expires_in=settings.oauth_access_token_seconds,
        scope=" ".join(grant.scopes) if grant.scopes else None,
        refresh_token=refresh,
    )


def exchange_code(db: Session, client: OrchClient, code: OrchAuthorizationCode) -> OAuthToken:
    used = db.execute(
        update(OAuthAuthorizationCode)
        .where(
            col(OAuthAuthorizationCode.id) == code.row_id,
            col(OAuthAuthorizationCode.used_at).is_(None),
        )
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:
        raise OAuthRefusal("invalid_grant", "authorization code was already used")
    row = db.get(OAuthAuthorizationCode, code.row_id)
    if row is None:
        raise OAuthRefusal("invalid_grant", "authorization code does not exist")
    if _still_member(db, row.user_id, row.project_id) is None:
        raise OAuthRefusal("invalid_grant", "the user is no longer a member of the project")
    grant = OAuthGrant(
        client_id=row.client_id,
        user_id=row.user_id,
        project_id=row.project_id,
        server_id=row.server_id,
        resource=row.resource,
        scopes=list(row.scopes or []),
    )
    db.add(grant)
    db.flush()
    row.grant_id = grant.id
    db.add(row)
    return _issue(db, grant)


def load_refresh(db: Session, client: OrchClient, token: str) -> OrchRefreshToken | None:
    if _usable_string(token) is None or client.row_id is None:
        return None
    grant = db.exec(
        select(OAuthGrant).where(OAuthGrant.refresh_token_hash == hash_token(token))
    ).first()
    if grant is None or grant.client_id != client.row_id or grant.revoked_at is not None:
        return None
    return OrchRefreshToken(
        grant_id=grant.id,
        token=token,
        client_id=client.client_id,
        scopes=list(grant.scopes or []),
        expires_at=_epoch(grant.refresh_expires_at),
        resource=grant.resource,
        subject=str(grant.user_id),
    )


def exchange_refresh(db: Session, client: OrchClient, token: OrchRefreshToken) -> OAuthToken:
    grant = db.get(OAuthGrant, token.grant_id)
    if grant is None or grant.revoked_at is not None:
        raise OAuthRefusal("invalid_grant", "refresh token does not exist")
    if _still_member(db, grant.user_id, grant.project_id) is None:
        raise OAuthRefusal("invalid_grant", "the user is no longer a member of the project")
    rotated = db.execute(
        update(OAuthGrant)
        .where(
            col(OAuthGrant.id) == grant.id,
            col(OAuthGrant.refresh_token_hash) == hash_token(token.token),
        )
        .values(refresh_token_hash=None)
    )
    if rotated.rowcount != 1:
        raise OAuthRefusal("invalid_grant", "refresh token was already used")
    db.refresh(grant)
    return _issue(db, grant)


def load_access_token(db: Session, token: str) -> OrchAccessToken | None:
    if _usable_string(token) is None or not token.startswith(ACCESS_TOKEN_PREFIX):
        return None
    row = db.exec(
        select(OAuthAccessToken, OAuthGrant, OAuthClient)
        .join(OAuthGrant, col(OAuthGrant.id) == OAuthAccessToken.grant_id)
        .join(OAuthClient, col(OAuthClient.id) == OAuthGrant.client_id)
        .where(OAuthAccessToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    access, grant, client = row
    if grant.revoked_at is not None:
        return None
    return OrchAccessToken(
        grant_id=grant.id,
        token=token,
        client_id=client.client_id,
        scopes=list(grant.scopes or []),
        expires_at=_epoch(access.expires_at),
        resource=grant.resource,
        subject=str(grant.user_id),
    )


def revoke_token(db: Session, grant_id: uuid.UUID) -> None:
    """RFC 7009: revoking either token of a grant revokes the grant (both tokens)."""
    _revoke_grant(db, grant_id)


# --- MCP calls -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthPrincipal:
    """The OAuth client and the user an MCP request acts for."""

    grant_id: uuid.UUID
    client_id: uuid.UUID  # the oauth_clients row
    user_id: uuid.UUID
    role: str
    expires_at: datetime


def _should_write_last_used(grant_id: uuid.UUID) -> bool:
    now = time.monotonic()
    with _last_used_lock:
        if now - _last_used_written.get(grant_id, -1e9) < LAST_USED_WRITE_INTERVAL:
            return False
        if len(_last_used_written) > 10_000:
            _last_used_written.clear()
        _last_used_written[grant_id] = now
        return True


def check_access(
    db: Session, project: Project, server: McpServer | None, bearer: str
) -> OAuthPrincipal:
    """The principal of an OAuth access token used at one endpoint (``server`` None: the
    unified endpoint), or NotAuthenticated saying why not."""
    if len(bearer) > MAX_TOKEN_LENGTH:
        raise NotAuthenticated("The access token is not valid.")
    row = db.exec(
        select(OAuthAccessToken, OAuthGrant)
        .join(OAuthGrant, col(OAuthGrant.id) == OAuthAccessToken.grant_id)
        .where(OAuthAccessToken.token_hash == hash_token(bearer))
    ).first()
    if row is None:
        raise NotAuthenticated("The access token is not valid.")
    access, grant = row
    if grant.revoked_at is not None:
        raise NotAuthenticated("The access was revoked.")
    if access.expires_at <= utcnow():
        raise NotAuthenticated("The access token expired; refresh it.")
    if grant.project_id != project.id or grant.server_id != (server.id if server else None):
        raise NotAuthenticated(
            f"This access token was issued for another endpoint ({grant.resource})."
        )
    role = _still_member(db, grant.user_id, grant.project_id)
    if role is None:
        raise NotAuthenticated("The user who connected this application left the project.")
    if _should_write_last_used(grant.id):
        db.execute(
            update(OAuthGrant).where(col(OAuthGrant.id) == grant.id).values(last_used_at=utcnow())
        )
    return OAuthPrincipal(
        grant_id=grant.id,
        client_id=grant.client_id,
        user_id=grant.user_id,
        role=str(getattr(role, "value", role)),
        expires_at=access.expires_at,
    )


# --- connected apps and settings -------------------------------------------------------------


class ConnectedAppOut(BaseModel):
    id: str
    client_name: str
    client_id: str
    user_id: str
    user_email: str | None
    project_id: str
    project_name: str
    server_name: str | None
    resource: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


def _connected(db: Session, *where: Any) -> list[ConnectedAppOut]:
    rows = db.exec(
        select(OAuthGrant, OAuthClient, Project, User)
        .join(OAuthClient, col(OAuthClient.id) == OAuthGrant.client_id)
        .join(Project, col(Project.id) == OAuthGrant.project_id)
        .join(User, col(User.id) == OAuthGrant.user_id)
        .where(col(OAuthGrant.revoked_at).is_(None), *where)
        .order_by(col(OAuthGrant.created_at).desc())
        .limit(500)
    ).all()
    server_names = {
        s.id: s.name
        for s in db.exec(
            select(McpServer).where(
                col(McpServer.id).in_([g.server_id for g, *_ in rows if g.server_id])
            )
        )
    }
    return [
        ConnectedAppOut(
            id=str(grant.id),
            client_name=client.client_name or "An unnamed application",
            client_id=client.client_id,
            user_id=str(user.id),
            user_email=user.email,
            project_id=str(project.id),
            project_name=project.name,
            server_name=server_names.get(grant.server_id) if grant.server_id else None,
            resource=grant.resource,
            scopes=list(grant.scopes or []),
            created_at=grant.created_at,
            last_used_at=grant.last_used_at,
        )
        for grant, client, project, user in rows
    ]


def list_my_connected_apps(db: Session, actor: Actor) -> list[ConnectedAppOut]:
    return _connected(db, OAuthGrant.user_id == actor.user_id)


def list_project_connected_apps(
    db: Session, actor: Actor, project_id: str | uuid.UUID
) -> list[ConnectedAppOut]:
    from mcp_orch_app.models import Role

    project, _ = require_project(db, actor, project_id, Role.OWNER)
    return _connected(db, OAuthGrant.project_id == project.id)


def revoke_connected_app(db: Session, actor: Actor, grant_id: str | uuid.UUID) -> None:
    """The user who granted it, or an owner of its project, revokes a connected app."""
    from mcp_orch_app.models import Role

    grant = db.get(OAuthGrant, parse_uuid(grant_id, "connected app"))
    if grant is None or grant.revoked_at is not None:
        raise NotFound("No such connected app.")
    if grant.user_id != actor.user_id:
        try:
            require_project(db, actor, grant.project_id, Role.OWNER)
        except PermissionDenied:
            raise NotFound("No such connected app.") from None
    _revoke_grant(db, grant.id)
    activity.record(
        db,
        actor,
        "oauth.revoked",
        f"{actor.display_name} disconnected an application",
        project_id=grant.project_id,
        target_type="oauth_grant",
        target_id=grant.id,
    )


class OAuthSettingsOut(BaseModel):
    registration_open: bool
    access_token_seconds: int
    refresh_token_seconds: int


def get_oauth_settings(db: Session, actor: Actor) -> OAuthSettingsOut:
    require_admin(actor)
    row = system_settings(db)
    return OAuthSettingsOut(
        registration_open=row.oauth_registration_open,
        access_token_seconds=row.oauth_access_token_seconds,
        refresh_token_seconds=row.oauth_refresh_token_seconds,
    )


def set_oauth_settings(
    db: Session,
    actor: Actor,
    *,
    registration_open: bool | None = None,
    access_token_seconds: int | None = None,
    refresh_token_seconds: int | None = None,
) -> OAuthSettingsOut:
    require_admin(actor)
    row = system_settings(db)
    for value, (low, high), what in (
        (access_token_seconds, ACCESS_SECONDS_RANGE, "The access token lifetime"),
        (refresh_token_seconds, REFRESH_SECONDS_RANGE, "The refresh token lifetime"),
    ):
        if value is not None and not (isinstance(value, int) and low <= value <= high):
            raise InvalidInput(f"{what} must be between {low} and {high} seconds.")
    if registration_open is not None:
        row.oauth_registration_open = registration_open
    if access_token_seconds is not None:
        row.oauth_access_token_seconds = access_token_seconds
    if refresh_token_seconds is not None:
        row.oauth_refresh_token_seconds = refresh_token_seconds
    row.updated_at = utcnow()
    row.updated_by = actor.user_id
    db.add(row)
    activity.record(
        db, actor, "settings.oauth_changed", f"{actor.display_name} changed OAuth settings"
    )
    db.flush()
    return get_oauth_settings(db, actor)


# --- the provider the SDK's handlers call ------------------------------------------------------


class OrchOAuthProvider:
    """``OAuthAuthorizationServerProvider`` over the functions above, for one request:
    ``base_url`` is mcp-orch's public origin (the issuer), ``consent_url`` the consent page;
    ``actor`` the signed-in user behind a registration request, if any."""

    def __init__(self, base_url: str, consent_url: str, actor: Actor | None = None) -> None:
        self.base_url = base_url
        self.consent_url = consent_url
        self.actor = actor

    async def get_client(self, client_id: str) -> OrchClient | None:
        return await run_db(get_client, client_id)

    @staticmethod
    async def _call(error_class: type, fn: Any, *args: Any) -> Any:
        try:
            return await run_db(fn, *args)
        except OAuthRefusal as exc:
            raise error_class(exc.error, exc.message) from None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        try:
            await self._call(RegistrationError, register_client, self.actor, client_info)
        except PermissionDenied as exc:
            raise RegistrationError("invalid_client_metadata", exc.message) from None

    async def authorize(self, client: OrchClient, params: AuthorizationParams) -> str:
        return await self._call(
            AuthorizeError, start_authorization, client, params, self.base_url, self.consent_url
        )

    async def load_authorization_code(
        self, client: OrchClient, authorization_code: str
    ) -> OrchAuthorizationCode | None:
        return await run_db(load_code, client, authorization_code)

    async def exchange_authorization_code(
        self, client: OrchClient, authorization_code: OrchAuthorizationCode
    ) -> OAuthToken:
        return await self._call(TokenError, exchange_code, client, authorization_code)

    async def load_refresh_token(
        self, client: OrchClient, refresh_token: str
    ) -> OrchRefreshToken | None:
        return await run_db(load_refresh, client, refresh_token)

    async def exchange_refresh_token(
        self, client: OrchClient, refresh_token: OrchRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        return await self._call(TokenError, exchange_refresh, client, refresh_token)

    async def load_access_token(self, token: str) -> OrchAccessToken | None:
        return await run_db(load_access_token, token)

    async def revoke_token(self, token: OrchAccessToken | OrchRefreshToken) -> None:
        await run_db(revoke_token, token.grant_id)

    async def exchange_identity_assertion(self, client: Any, params: Any) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "The JWT bearer grant is not supported.")
