"""Who may reach a project's MCP endpoints, and with what.

MCP clients authenticate with a project API key (``Authorization: Bearer mch_...``) or an
OAuth access token (``moa_...``, services/oauth.py: bound to one endpoint, acting with its
user's current membership). A key of another project, a revoked or an expired key is refused; a project or a single server may be
opened to anonymous clients by its owner (closed by default). The answer carries the servers
the client may reach and the tools the project disabled, so the gateway needs no second query.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import Session, col, select

from mcp_orch_app.models import ApiKey, McpServer, Project, ToolPreference, UnifiedNaming
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.tokens import API_KEY_PREFIX, hash_token
from mcp_orch_app.services.access import parse_uuid
from mcp_orch_app.services.errors import NotAuthenticated, NotFound
from mcp_orch_app.services.oauth import ACCESS_TOKEN_PREFIX, OAuthPrincipal, check_access

# A key's last-used time and IP are written at most this often per process (not per call).
LAST_USED_WRITE_INTERVAL = 60.0

_last_used_written: dict[uuid.UUID, tuple[float, str | None]] = {}
_last_used_lock = threading.Lock()


@dataclass(frozen=True)
class McpGrant:
    """What an authorized MCP client may reach."""

    project_id: uuid.UUID
    project_name: str
    api_key_id: uuid.UUID | None
    # Enabled servers in scope: the one named server, or every enabled one for unified.
    servers: tuple[McpServer, ...]
    disabled_tools: dict[uuid.UUID, frozenset[str]] = field(default_factory=dict)
    unified_naming: UnifiedNaming = UnifiedNaming.PREFIXED
    # An OAuth client acting for a user (services/oauth.py), instead of a key.
    oauth: OAuthPrincipal | None = None

    @property
    def anonymous(self) -> bool:
        return self.api_key_id is None and self.oauth is None


def _should_write_last_used(key_id: uuid.UUID, ip: str | None) -> bool:
    now = time.monotonic()
    with _last_used_lock:
        previous = _last_used_written.get(key_id)
        if previous and now - previous[0] < LAST_USED_WRITE_INTERVAL and previous[1] == ip:
            return False
        _last_used_written[key_id] = (now, ip)
        return True


def _check_key(db: Session, project_id: uuid.UUID, bearer: str, client_ip: str | None) -> ApiKey:
    if not bearer.startswith(API_KEY_PREFIX):
        raise NotAuthenticated("This endpoint takes a project API key (mch_...), not that token.")
    key = db.exec(select(ApiKey).where(ApiKey.key_hash == hash_token(bearer))).first()
    if key is None or key.project_id != project_id:
        raise NotAuthenticated("The API key is not valid for this project.")
    if key.revoked_at is not None:
        raise NotAuthenticated("The API key was revoked.")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise NotAuthenticated(f"The API key expired at {key.expires_at.isoformat()}.")
    if _should_write_last_used(key.id, client_ip):
        db.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == key.id)
            .values(last_used_at=utcnow(), last_used_ip=(client_ip or None) and client_ip[:64])
        )
    return key


def authorize_mcp_client(
    db: Session,
    project_id: str | uuid.UUID,
    server_name: str | None,
    bearer: str | None,
    *,
    client_ip: str | None = None,
) -> McpGrant:
    """The grant for one MCP request; ``server_name`` None means the unified endpoint.

    Raises NotFound (unknown project or server, disabled server, unified endpoint off) and
    NotAuthenticated (missing or unusable key), which the endpoints answer with 404 and
    401 + ``WWW-Authenticate: Bearer``.
    """
    project = db.get(Project, parse_uuid(project_id, "project"))
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    query = select(McpServer).where(McpServer.project_id == project.id)
    if server_name is not None:
        server = db.exec(query.where(McpServer.name == server_name)).first()
        if server is None:
            raise NotFound(f"No server named {server_name!r} in this project.")
        if not server.enabled:
            raise NotFound(f"The server {server_name!r} is disabled.")
        servers: tuple[McpServer, ...] = (server,)
        open_to_anonymous = project.allow_anonymous or server.allow_anonymous
    else:
        if not project.unified_enabled:
            raise NotFound("The unified endpoint of this project is turned off.")
        servers = tuple(db.exec(query.where(col(McpServer.enabled)).order_by(McpServer.name)))
        open_to_anonymous = project.allow_anonymous

    oauth: OAuthPrincipal | None = None
    api_key_id: uuid.UUID | None = None
    if bearer and bearer.startswith(ACCESS_TOKEN_PREFIX):
        oauth = check_access(db, project, servers[0] if server_name is not None else None, bearer)
    elif bearer:
        api_key_id = _check_key(db, project.id, bearer, client_ip).id
    elif not open_to_anonymous:
        raise NotAuthenticated(
            "This MCP endpoint needs a project API key (Authorization: Bearer mch_...) or an "
            "OAuth access token."
        )

    disabled: dict[uuid.UUID, set[str]] = {}
    if servers:
        rows = db.exec(
            select(ToolPreference.server_id, ToolPreference.tool_name).where(
                col(ToolPreference.server_id).in_([s.id for s in servers]),
                col(ToolPreference.enabled).is_(False),
            )
        ).all()
        for server_id, tool_name in rows:
            disabled.setdefault(server_id, set()).add(tool_name)
    return McpGrant(
        project_id=project.id,
        project_name=project.name,
        api_key_id=api_key_id,
        servers=servers,
        disabled_tools={k: frozenset(v) for k, v in disabled.items()},
        unified_naming=UnifiedNaming(project.unified_naming),
        oauth=oauth,
    )


def unified_catalog(db: Session, project_id: str | uuid.UUID) -> tuple[set[uuid.UUID], str]:
    """What the names of the project's unified endpoint depend on: its enabled servers and
    its naming setting (no servers and "prefixed" when the project is gone)."""
    project = db.get(Project, parse_uuid(project_id, "project"))
    naming = UnifiedNaming(project.unified_naming) if project is not None else "prefixed"
    return enabled_server_ids(db, project_id), str(naming)


def enabled_server_ids(db: Session, project_id: str | uuid.UUID) -> set[uuid.UUID]:
    """The project's servers the gateway may keep running (none if the project is gone)."""
    return set(
        db.exec(
            select(McpServer.id).where(
                McpServer.project_id == parse_uuid(project_id, "project"),
                col(McpServer.enabled),
            )
        )
    )
