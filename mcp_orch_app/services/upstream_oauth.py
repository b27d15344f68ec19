"""OAuth toward upstream MCP servers: who may configure, connect and disconnect, and the rows.

Rules: owners and developers set a server's OAuth setting and make or drop the project's
shared connection; a reporter may do neither. In per-user mode every member (reporters too)
connects and disconnects their own account only. Tokens and client secrets are stored
encrypted (`EncryptedJSON`) and leave this module only to the gateway (gateway/upstream_oauth.py),
never in an answer: answers say connected as whom, scopes, expiry and status.

The functions without an actor (`load_*`, `save_*`, `mark_needs_reconnect`) are the token
storage of the gateway, called only for a server and owner an actor-checked call named.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mcp_orch_app.models import (
    LogLevel,
    McpServer,
    OAuthConnectionStatus,
    OAuthMode,
    Role,
    ServerLog,
    ServerLogCategory,
    ServerStatus,
    Transport,
    UpstreamOAuthConfig,
    UpstreamOAuthConnection,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.secrets import mask_secret
from mcp_orch_app.services.access import parse_uuid, require_project
from mcp_orch_app.services.errors import InvalidInput, NotFound, PermissionDenied
from mcp_orch_app.services.principal import Actor

SHARED = "shared"
MAX_SCOPES_LENGTH = 1000
MAX_CLIENT_ID_LENGTH = 500
MAX_CLIENT_SECRET_LENGTH = 2000
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class OAuthTarget:
    """One server's OAuth setting and whose connection an authorized call concerns."""

    server_id: uuid.UUID
    project_id: uuid.UUID
    server_name: str
    url: str
    mode: OAuthMode
    scopes: str
    owner_key: str
    user_id: uuid.UUID | None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    transport: Transport = Transport.STREAMABLE_HTTP


def owner_key_of(user_id: uuid.UUID | None) -> str:
    return SHARED if user_id is None else str(user_id)


def _server(
    db: Session, actor: Actor, project_id: str, server_id: str, minimum: Role
) -> tuple[McpServer, Role]:
    project, role = require_project(db, actor, project_id, minimum)
    server = db.get(McpServer, parse_uuid(server_id, "server"))
    if server is None or server.project_id != project.id:
        raise NotFound(f"No server with id {server_id} in this project.")
    return server, role


def _config(db: Session, server_id: uuid.UUID) -> UpstreamOAuthConfig | None:
    return db.exec(
        select(UpstreamOAuthConfig).where(UpstreamOAuthConfig.server_id == server_id)
    ).first()


def _connection(
    db: Session, server_id: uuid.UUID, owner_key: str
) -> UpstreamOAuthConnection | None:
    return db.exec(
        select(UpstreamOAuthConnection).where(
            UpstreamOAuthConnection.server_id == server_id,
            UpstreamOAuthConnection.owner_key == owner_key,
        )
    ).first()


def _clean_scopes(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidInput("scopes must be a space-separated string.")
    scopes = " ".join(raw.split())
    if len(scopes) > MAX_SCOPES_LENGTH:
        raise InvalidInput(f"scopes must be at most {MAX_SCOPES_LENGTH} characters.")
    for scope in scopes.split():
        if not _SCOPE_TOKEN.match(scope):
            raise InvalidInput(f"{scope[:40]!r} is not a valid OAuth scope.")
    return scopes


def _clean_credential(raw: Any, what: str, limit: int) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > limit or not _PRINTABLE.match(raw):
        raise InvalidInput(f"{what} must be printable ASCII without spaces, at most {limit} chars.")
    return raw


def _summary(db: Session, connection: UpstreamOAuthConnection | None) -> dict[str, Any] | None:
    if connection is None:
        return None
    from mcp_orch_app.models import User

    person = db.get(User, connection.connected_by) if connection.connected_by else None
    return {
        "connected_by_name": (person.name or person.email) if person is not None else None,
        "status": connection.status.value,
        "subject": connection.subject,
        "scopes": connection.scopes,
        "expires_at": connection.expires_at.isoformat() if connection.expires_at else None,
        "connected_by": str(connection.connected_by) if connection.connected_by else None,
        "updated_at": connection.updated_at.isoformat(),
        "last_error": connection.last_error,
    }


def get_oauth(db: Session, actor: Actor, project_id: str, server_id: str) -> dict[str, Any]:
    """The server's auth mode and, for OAuth, the shared connection and the actor's own."""
    server, _ = _server(db, actor, project_id, server_id, Role.REPORTER)
    config = _config(db, server.id)
    if config is None:
        mode = "headers" if server.headers else "none"
        return {"auth": mode, "mode": None, "scopes": "", "shared": None, "mine": None}
    secret = (config.client_secret or {}).get("secret")
    return {
        "auth": "oauth",
        "mode": config.mode.value,
        "scopes": config.scopes,
        "client_id": config.client_id,
        "client_secret": mask_secret(secret) if secret else None,
        "registered": bool(config.client_info and config.client_info.get("client")),
        "shared": _summary(db, _connection(db, server.id, SHARED)),
        "mine": _summary(db, _connection(db, server.id, str(actor.user_id))),
    }


def set_oauth(
    db: Session, actor: Actor, project_id: str, server_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Owner or developer: ``{"auth": "oauth"|"headers"|"none", "mode", "scopes",
    "client_id", "client_secret"}``. Switching away from OAuth drops every connection."""
    server, _ = _server(db, actor, project_id, server_id, Role.DEVELOPER)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.")
    unknown = set(body) - {"auth", "mode", "scopes", "client_id", "client_secret"}
    if unknown:
        raise InvalidInput(f"Unknown field(s): {', '.join(sorted(unknown))[:200]}.")
    auth = body.get("auth", "oauth")
    if auth not in ("oauth", "headers", "none"):
        raise InvalidInput("auth must be one of: none, headers, oauth.")
    config = _config(db, server.id)
    if auth != "oauth":
        if config is not None:
            for row in db.exec(
                select(UpstreamOAuthConnection).where(
                    UpstreamOAuthConnection.server_id == server.id
                )
            ):
                db.delete(row)
            db.delete(config)
        if auth == "none":
            server.headers = None
        server.updated_at = utcnow()
        db.add(server)
        db.flush()
        return get_oauth(db, actor, project_id, server_id)
    if server.transport is Transport.STDIO:
        raise InvalidInput("OAuth is for SSE and streamable-HTTP servers, not stdio ones.")
    try:
        mode = OAuthMode(body.get("mode") or OAuthMode.SHARED)
    except ValueError:
        raise InvalidInput("mode must be 'shared' or 'per_user'.") from None
    scopes = _clean_scopes(body.get("scopes"))
    client_id = _clean_credential(body.get("client_id"), "client_id", MAX_CLIENT_ID_LENGTH)
    secret_raw = body.get("client_secret")
    keep_secret = isinstance(secret_raw, str) and secret_raw.startswith("••••••")
    client_secret = (
        None
        if keep_secret
        else _clean_credential(secret_raw, "client_secret", MAX_CLIENT_SECRET_LENGTH)
    )
    if client_secret and not client_id:
        raise InvalidInput("A client_secret needs its client_id.")
    if config is None:
        config = UpstreamOAuthConfig(server_id=server.id)
    registration_changed = config.client_id != client_id or (
        not keep_secret and (config.client_secret or {}).get("secret") != client_secret
    )
    if registration_changed or config.mode != mode:
        config.client_info = None  # a new registration: the old one (and its grants) is void
        for row in db.exec(
            select(UpstreamOAuthConnection).where(UpstreamOAuthConnection.server_id == server.id)
        ):
            db.delete(row)
    config.mode, config.scopes, config.client_id = mode, scopes, client_id
    if not keep_secret:
        config.client_secret = {"secret": client_secret} if client_secret else None
    config.updated_at = utcnow()
    db.add(config)
    db.flush()
    return get_oauth(db, actor, project_id, server_id)


def authorize_connection(
    db: Session, actor: Actor, project_id: str, server_id: str, which: str
) -> OAuthTarget:
    """The connection ``which`` ("shared" or "mine") the actor may make or drop, or why not."""
    server, role = _server(db, actor, project_id, server_id, Role.REPORTER)
    config = _config(db, server.id)
    if config is None:
        raise InvalidInput(f"The server '{server.name}' does not use OAuth.")
    if which not in ("shared", "mine"):
        raise InvalidInput("Use which=shared or which=mine.")
    if which == "shared":
        if config.mode is not OAuthMode.SHARED:
            raise InvalidInput(
                f"The server '{server.name}' uses a connection per user: connect your own."
            )
        if role.rank < Role.DEVELOPER.rank:
            raise PermissionDenied(
                "Only an owner or developer can connect or disconnect the project's shared "
                f"account; you are a {role.value}."
            )
        user_id = None
    else:
        if config.mode is not OAuthMode.PER_USER:
            raise InvalidInput(f"The server '{server.name}' uses one shared connection.")
        user_id = actor.user_id
    return _target(server, config, user_id)


def _target(
    server: McpServer, config: UpstreamOAuthConfig, user_id: uuid.UUID | None
) -> OAuthTarget:
    return OAuthTarget(
        server_id=server.id,
        project_id=server.project_id,
        server_name=server.name,
        url=server.url or "",
        mode=config.mode,
        scopes=config.scopes,
        owner_key=owner_key_of(user_id),
        user_id=user_id,
        client_id=config.client_id,
        client_secret=(config.client_secret or {}).get("secret"),
        transport=Transport(server.transport),
    )


def target_for_call(db: Session, server_id: str, user_id: uuid.UUID | None) -> OAuthTarget | None:
    """The OAuth target a call to this server uses, None when the server has no OAuth."""
    server = db.get(McpServer, parse_uuid(server_id, "server"))
    config = _config(db, server.id) if server is not None else None
    if config is None:
        return None
    owner = None if config.mode is OAuthMode.SHARED else user_id
    return _target(server, config, owner)


def connected_actor(db: Session, target: OAuthTarget) -> Actor | None:
    """The person who made ``target``'s connection, as the actor the first check after
    connecting runs as; None when the connection is gone (or not usable) or that person no
    longer exists or is deactivated. What that actor may do is checked by the operation."""
    from mcp_orch_app.models import User
    from mcp_orch_app.services.auth import actor_for_user

    connection = _connection(db, target.server_id, target.owner_key)
    if connection is None or connection.connected_by is None:
        return None
    if connection.status is not OAuthConnectionStatus.CONNECTED:
        return None
    user = db.get(User, connection.connected_by)
    if user is None or not user.is_active:
        return None
    return actor_for_user(user)


# -- the gateway's token storage ----------------------------------------------------------


def load_registration(db: Session, server_id: uuid.UUID) -> dict[str, Any] | None:
    config = _config(db, server_id)
    return dict(config.client_info) if config is not None and config.client_info else None


def save_registration(db: Session, server_id: uuid.UUID, registration: dict[str, Any]) -> None:
    config = _config(db, server_id)
    if config is None:
        return  # OAuth was turned off meanwhile
    config.client_info = {**(config.client_info or {}), **registration}
    config.updated_at = utcnow()
    db.add(config)


def load_tokens(db: Session, server_id: uuid.UUID, owner_key: str) -> dict[str, Any] | None:
    connection = _connection(db, server_id, owner_key)
    if connection is None or connection.status is not OAuthConnectionStatus.CONNECTED:
        return None
    if not connection.tokens:
        return None
    return {**connection.tokens, "expires_at": connection.expires_at}


def save_tokens(
    db: Session,
    server_id: uuid.UUID,
    owner_key: str,
    user_id: uuid.UUID | None,
    tokens: dict[str, Any],
    *,
    subject: str | None = None,
    connected_by: uuid.UUID | None = None,
) -> None:
    """Store a grant's tokens (a new connection, or a refresh of an existing one)."""
    if _config(db, server_id) is None:
        return
    connection = _connection(db, server_id, owner_key)
    if connection is None:
        connection = UpstreamOAuthConnection(
            server_id=server_id, user_id=user_id, owner_key=owner_key
        )
    expires_in = tokens.get("expires_in")
    connection.tokens = {k: v for k, v in tokens.items() if k != "expires_in"}
    connection.expires_at = (
        utcnow() + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int) else None
    )
    connection.scopes = str(tokens.get("scope") or "")[:MAX_SCOPES_LENGTH]
    connection.status = OAuthConnectionStatus.CONNECTED
    connection.last_error = None
    if subject is not None:
        connection.subject = subject[:500]
    if connected_by is not None:
        connection.connected_by = connected_by
    connection.updated_at = utcnow()
    db.add(connection)
    server = db.get(McpServer, server_id)
    if server is not None and owner_key == SHARED and (server.last_error or "").startswith("OAuth"):
        server.last_error = None
        db.add(server)


def delete_connection(db: Session, server_id: uuid.UUID, owner_key: str) -> dict[str, Any] | None:
    """Forget a connection; answers its tokens (to revoke them at the provider)."""
    connection = _connection(db, server_id, owner_key)
    if connection is None:
        return None
    tokens = dict(connection.tokens or {})
    db.delete(connection)
    server = db.get(McpServer, server_id)
    if server is not None:
        db.add(
            ServerLog(
                project_id=server.project_id,
                server_id=server.id,
                level=LogLevel.INFO,
                category=ServerLogCategory.DISCONNECT,
                message=f"OAuth connection ({_owner_label(owner_key)}) disconnected",
            )
        )
    return tokens


def _owner_label(owner_key: str) -> str:
    return "shared" if owner_key == SHARED else f"user {owner_key}"


def mark_needs_reconnect(db: Session, server_id: uuid.UUID, owner_key: str, reason: str) -> None:
    """A refresh failed: the connection needs the person to connect again."""
    connection = _connection(db, server_id, owner_key)
    if connection is not None:
        connection.status = OAuthConnectionStatus.NEEDS_RECONNECT
        connection.last_error = reason[:2000]
        connection.tokens = None
        connection.updated_at = utcnow()
        db.add(connection)
    server = db.get(McpServer, server_id)
    if server is None:
        return
    message = f"OAuth needs reconnect ({_owner_label(owner_key)}): {reason}"[:4000]
    if owner_key == SHARED:
        server.status = ServerStatus.ERROR
        server.last_error = message
        server.last_checked_at = utcnow()
        db.add(server)
    db.add(
        ServerLog(
            project_id=server.project_id,
            server_id=server.id,
            level=LogLevel.ERROR,
            category=ServerLogCategory.STATUS_CHANGE,
            message=message,
            details={"oauth": "needs_reconnect", "owner": _owner_label(owner_key)},
        )
    )


def user_of_api_key(db: Session, api_key_id: uuid.UUID | None) -> uuid.UUID | None:
    from mcp_orch_app.models import ApiKey

    if api_key_id is None:
        return None
    key = db.get(ApiKey, api_key_id)
    return key.created_by if key is not None else None


def expires_in_of(expires_at: datetime | None) -> int | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        from datetime import UTC

        expires_at = expires_at.replace(tzinfo=UTC)
    return int((expires_at - utcnow()).total_seconds())
