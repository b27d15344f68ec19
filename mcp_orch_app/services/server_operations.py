"""Who may run the live operations on a server (refresh, restart, tool call), and on what.

The gateway's operations (gateway/operations.py) ask here first, in one short transaction, and
get a detached copy of what they need: the server row (env and headers decrypted by the column
type) and the tools the project disabled. No function here contacts a server.

Rights: a live check changes no configuration, so any member (reporter and up) may refresh;
a restart interrupts every client of the server and a tool may have side effects, so both need
a developer. A disabled server is refused with Conflict (409): checking, restarting or calling
it would start a process the owner switched off.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, col, func, select

from mcp_orch_app.models import McpServer, Role, ToolPreference
from mcp_orch_app.services.access import require_project
from mcp_orch_app.services.errors import Conflict, NotFound
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ServerOut
from mcp_orch_app.services.servers import server_out
from mcp_orch_app.services.tools import server_in_project


@dataclass(frozen=True)
class LiveTarget:
    """One server a live operation may use, detached from the session that loaded it."""

    project_id: uuid.UUID
    server: McpServer
    disabled_tools: frozenset[str] = field(default_factory=frozenset)


def _enabled(server: McpServer) -> McpServer:
    if not server.enabled:
        raise Conflict(f"The server {server.name} is disabled; enable it first.")
    return server


def server_to_refresh(
    db: Session, actor: Actor, project_id: str | uuid.UUID, server_id: str | uuid.UUID
) -> LiveTarget:
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    return LiveTarget(project.id, _enabled(server_in_project(db, project.id, server_id)))


def servers_to_refresh(db: Session, actor: Actor, project_id: str | uuid.UUID) -> list[LiveTarget]:
    """Every enabled server of the project (disabled ones are left as they are)."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    rows = db.exec(
        select(McpServer)
        .where(McpServer.project_id == project.id, col(McpServer.enabled))
        .order_by(func.lower(McpServer.name))
    ).all()
    return [LiveTarget(project.id, row) for row in rows]


def server_to_restart(
    db: Session, actor: Actor, project_id: str | uuid.UUID, server_id: str | uuid.UUID
) -> LiveTarget:
    project, _ = require_project(db, actor, project_id, Role.DEVELOPER)
    return LiveTarget(project.id, _enabled(server_in_project(db, project.id, server_id)))


def server_to_call(
    db: Session, actor: Actor, project_id: str | uuid.UUID, server_id: str | uuid.UUID
) -> LiveTarget:
    """The server and the project's disabled tools of it (a disabled tool is refused later,
    and logged, exactly like a call from an MCP client)."""
    project, _ = require_project(db, actor, project_id, Role.DEVELOPER)
    server = _enabled(server_in_project(db, project.id, server_id))
    disabled = db.exec(
        select(ToolPreference.tool_name).where(
            ToolPreference.server_id == server.id, col(ToolPreference.enabled).is_(False)
        )
    ).all()
    return LiveTarget(project.id, server, frozenset(disabled))


def read_server(db: Session, server_id: uuid.UUID) -> ServerOut:
    """The server as the API shows it, after an operation the caller was allowed to run."""
    server = db.get(McpServer, server_id)
    if server is None:
        raise NotFound(f"No server with id {server_id}; it was deleted meanwhile.")
    return server_out(server)
