"""The tools of a project's servers: the cached tool table, and the project's tool preferences.

``McpTool`` is a cache of what a server last answered to ``tools/list``; it is written only by
:func:`sync_tool_cache` (called by the live refresh and the background worker). Whether a tool
may be used is a ``ToolPreference`` row, kept apart from the cache so a refresh never forgets
that a tool was disabled. No function here contacts a server.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from mcp_orch_app.models import McpServer, McpTool, Role, ToolPreference
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import activity
from mcp_orch_app.services.access import parse_uuid, require_project
from mcp_orch_app.services.access_events import access_changed
from mcp_orch_app.services.errors import InvalidInput, NotFound
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ToolOut

MAX_TOOL_NAME_LENGTH = 200


def server_in_project(db: Session, project_id: uuid.UUID, server_id: str | uuid.UUID) -> McpServer:
    """The server ``server_id`` of the project, or NotFound (also for another project's)."""
    server = db.get(McpServer, parse_uuid(server_id, "server"))
    if server is None or server.project_id != project_id:
        raise NotFound(f"No server with id {server_id} in this project.")
    return server


def _preferences(db: Session, server_id: uuid.UUID) -> dict[str, ToolPreference]:
    rows = db.exec(select(ToolPreference).where(ToolPreference.server_id == server_id)).all()
    return {row.tool_name: row for row in rows}


def list_tools(
    db: Session, actor: Actor, project_id: str | uuid.UUID, server_id: str | uuid.UUID
) -> list[ToolOut]:
    """The server's cached tools by name, each with whether the project allows it."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    server = server_in_project(db, project.id, server_id)
    preferences = _preferences(db, server.id)
    tools = db.exec(
        select(McpTool).where(McpTool.server_id == server.id).order_by(col(McpTool.name))
    ).all()
    return [
        ToolOut(
            name=tool.name,
            description=tool.description or "",
            input_schema=tool.input_schema or {},
            enabled=preferences[tool.name].enabled if tool.name in preferences else True,
            call_count=tool.call_count,
            avg_duration_ms=tool.avg_duration_ms,
            updated_at=tool.updated_at,
        )
        for tool in tools
    ]


def set_tool_enabled(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    server_id: str | uuid.UUID,
    tool_name: str,
    enabled: bool,
) -> ToolOut:
    """Allow or refuse one tool of a server for every client of the project.

    A name the cache does not know is refused (404) once the server has been listed at least
    once: it is almost always a typo, and a silent preference for a tool that does not exist
    would look like protection that is not there. Before the first listing (an empty cache,
    e.g. a server that was never reachable) any name is accepted, so a tool can be disabled
    before its server first comes online.
    """
    project, _ = require_project(db, actor, project_id, Role.DEVELOPER)
    server = server_in_project(db, project.id, server_id)
    name = (tool_name or "").strip()
    if not name:
        raise InvalidInput("The tool name must not be empty.")
    if len(name) > MAX_TOOL_NAME_LENGTH:
        raise InvalidInput(f"The tool name must be at most {MAX_TOOL_NAME_LENGTH} characters.")
    cached = {
        tool.name: tool for tool in db.exec(select(McpTool).where(McpTool.server_id == server.id))
    }
    if cached and name not in cached:
        raise NotFound(
            f"The server {server.name} has no tool named {name!r} (as of its last check). "
            "Refresh the server if the tool was added since."
        )

    preference = _preferences(db, server.id).get(name)
    currently_enabled = preference.enabled if preference is not None else True
    if currently_enabled != enabled:
        if preference is None:
            preference = ToolPreference(project_id=project.id, server_id=server.id, tool_name=name)
        preference.enabled = enabled
        preference.updated_by = actor.user_id
        preference.updated_at = utcnow()
        db.add(preference)
        verb = "enabled" if enabled else "disabled"
        activity.record(
            db,
            actor,
            f"tool.{verb}",
            f"{actor.display_name} {verb} the tool {name} of the server {server.name}",
            project_id=project.id,
            target_type="server",
            target_id=server.id,
            details={"server_name": server.name, "tool_name": name},
        )
        db.flush()
        access_changed(db, project.id)

    tool = cached.get(name)
    return ToolOut(
        name=name,
        description=tool.description if tool else "",
        input_schema=tool.input_schema if tool else {},
        enabled=enabled,
        call_count=tool.call_count if tool else 0,
        avg_duration_ms=tool.avg_duration_ms if tool else 0.0,
        updated_at=tool.updated_at if tool else None,
    )


def set_tools_enabled(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    server_id: str | uuid.UUID,
    tool_names: list[str],
    enabled: bool,
) -> list[ToolOut]:
    """Allow or refuse several tools of a server in one action, all or none: one unknown name
    refuses the whole request (the caller's transaction rolls back), so a bulk action never
    leaves half the selection switched. Each changed tool gets its own activity entry."""
    if not tool_names:
        raise InvalidInput("Select at least one tool.")
    names = list(dict.fromkeys((name or "").strip() for name in tool_names))
    return [set_tool_enabled(db, actor, project_id, server_id, name, enabled) for name in names]


def _tool_fields(raw: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(name, description, input_schema) of one listed tool, or None when it has no name."""
    name = str(raw.get("name") or "").strip()[:MAX_TOOL_NAME_LENGTH]
    if not name:
        return None
    description = raw.get("description") or ""
    schema = raw.get("input_schema", raw.get("inputSchema")) or {}
    return name, str(description), schema if isinstance(schema, dict) else {}


def sync_tool_cache(db: Session, server_id: uuid.UUID, tools: list[dict[str, Any]]) -> dict:
    """Make the cached tool table of a server match a fresh ``tools/list`` answer.

    Internal (no actor): the caller has already decided the listing is authoritative. Tools
    are dicts with ``name``, ``description`` and ``inputSchema`` (or ``input_schema``), as the
    MCP SDK's ``Tool.model_dump()`` gives them. Added tools are inserted, changed ones updated
    (their call figures kept), vanished ones deleted; preferences are never touched.
    Returns ``{"added": [...], "changed": [...], "removed": [...]}`` (tool names).
    """
    server = db.get(McpServer, server_id)
    if server is None:
        raise NotFound(f"No server with id {server_id}.")
    listed: dict[str, tuple[str, dict[str, Any]]] = {}
    for raw in tools:
        fields = _tool_fields(raw)
        if fields is not None:
            name, description, schema = fields
            listed[name] = (description, schema)  # a duplicate name: the last one wins

    cached = {t.name: t for t in db.exec(select(McpTool).where(McpTool.server_id == server.id))}
    now = utcnow()
    added, changed = [], []
    for name, (description, schema) in listed.items():
        tool = cached.get(name)
        if tool is None:
            db.add(
                McpTool(
                    server_id=server.id,
                    name=name,
                    description=description,
                    input_schema=schema,
                    updated_at=now,
                )
            )
            added.append(name)
        elif tool.description != description or tool.input_schema != schema:
            tool.description = description
            tool.input_schema = schema
            tool.updated_at = now
            db.add(tool)
            changed.append(name)
    removed = sorted(set(cached) - set(listed))
    for name in removed:
        db.delete(cached[name])
    server.tools_count = len(listed)
    db.add(server)
    db.flush()
    return {"added": sorted(added), "changed": sorted(changed), "removed": removed}
