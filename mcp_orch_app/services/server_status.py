"""The cached status of a server: the one place that writes what its last live check found.

``McpServer.status``, ``tools_count``, ``last_checked_at``, ``last_error`` and ``restart_count``
are written here and nowhere else (``tools_count`` through ``tools.sync_tool_cache``, which
only a check calls; services/servers.py asks :func:`apply_enabled` when a server is switched on
or off). The live refresh (gateway/operations.py) and the background worker both record through
:func:`record_check`, so a status change is logged the same way whoever noticed it.

Internal: no function here checks rights; the caller already did. Nothing here contacts a server.

How a check becomes a status:

- ``ok`` -> ``online`` (and the tool cache is synced from the listed tools);
- not ok and ``unreachable`` -> ``offline``: the server could not be reached at all (its command
  does not exist or exited, the connection was refused, it did not complete the MCP handshake in
  time, or it is backing off after a crash). The gateway passes ``unreachable=True`` for its
  ``UpstreamUnavailable`` errors;
- not ok otherwise -> ``error``: the server is up but the check failed (``tools/list`` answered
  with an error, timed out, or answered something that is not a tool list).

A check of a disabled server changes nothing (its status stays ``disabled``), and a check older
than the last one recorded is ignored, so two concurrent checks cannot move the status backwards.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from mcp_orch_app.models import LogLevel, McpServer, ServerLog, ServerLogCategory, ServerStatus
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.redaction import redactor_for
from mcp_orch_app.services import activity
from mcp_orch_app.services.access import parse_uuid
from mcp_orch_app.services.errors import NotFound
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.tools import sync_tool_cache

MAX_ERROR_LENGTH = 4000


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _server(db: Session, server_id: str | uuid.UUID) -> McpServer:
    server = db.get(McpServer, parse_uuid(server_id, "server"))
    if server is None:
        raise NotFound(f"No server with id {server_id}.")
    return server


def status_for(*, ok: bool, unreachable: bool = False) -> ServerStatus:
    """The status a check result means (see the module docstring)."""
    if ok:
        return ServerStatus.ONLINE
    return ServerStatus.OFFLINE if unreachable else ServerStatus.ERROR


def record_check(
    db: Session,
    server_id: str | uuid.UUID,
    *,
    ok: bool,
    tools: list[dict[str, Any]] | None,
    error: str | None,
    checked_at: datetime | None = None,
    unreachable: bool = False,
    actor: Actor | None = None,
) -> tuple[ServerStatus, ServerStatus]:
    """Store the outcome of one live check of a server; returns (old status, new status).

    ``tools`` (the full ``tools/list`` answer, every page) syncs the cached tool table and
    ``tools_count`` when given; ``None`` leaves the cache as it was (a failed check does not
    forget the tools a server had). ``actor`` is who asked for the check, for the activity
    feed (``None``: the background worker, shown as "system"); it grants nothing.
    On a status change a ``status_change`` ServerLog row and a ``server.status_changed``
    Activity are written. Raises NotFound when the server was deleted meanwhile.
    """
    server = _server(db, server_id)
    old = ServerStatus(server.status)
    checked_at = _as_utc(checked_at or utcnow())
    if not server.enabled:
        return old, old
    if server.last_checked_at is not None and _as_utc(server.last_checked_at) > checked_at:
        return old, old  # a newer check already landed

    new = status_for(ok=ok, unreachable=unreachable)
    if error:
        # The status, its ServerLog and Activity are read by reporters: never the secrets.
        error = redactor_for(server.env, server.headers).redact(error)
    if ok and tools is not None:
        sync_tool_cache(db, server.id, tools)  # also sets tools_count
    server.status = new
    server.last_checked_at = checked_at
    server.last_error = None if ok else (error or "The check failed.")[:MAX_ERROR_LENGTH]
    db.add(server)
    if new != old:
        _record_status_change(db, server, old, new, actor)
    db.flush()
    return old, new


def _record_status_change(
    db: Session, server: McpServer, old: ServerStatus, new: ServerStatus, actor: Actor | None
) -> None:
    if new is ServerStatus.ONLINE:
        message = f"server {server.name} is online ({server.tools_count} tools)"
        level = LogLevel.INFO
    else:
        message = f"server {server.name} went {new.value}: {server.last_error}"
        level = LogLevel.WARNING if new is ServerStatus.ERROR else LogLevel.ERROR
    details = {"old_status": old.value, "new_status": new.value, "error": server.last_error}
    db.add(
        ServerLog(
            project_id=server.project_id,
            server_id=server.id,
            level=level,
            category=ServerLogCategory.STATUS_CHANGE,
            message=message,
            details=details,
        )
    )
    activity.record(
        db,
        actor,
        "server.status_changed",
        message,
        project_id=server.project_id,
        target_type="server",
        target_id=server.id,
        details={"server_name": server.name, **details},
    )


def apply_enabled(server: McpServer) -> None:
    """The status that follows switching a server on or off (services/servers.py calls this):
    ``disabled``, or ``unknown`` until its next check."""
    server.status = ServerStatus.UNKNOWN if server.enabled else ServerStatus.DISABLED


def record_restart(db: Session, server_id: str | uuid.UUID, *, actor: Actor | None = None) -> int:
    """Count one restart of the server (asked for by ``actor``); returns the new count.

    The pool writes the restart's own ServerLog rows (stop, start) as they happen; this adds the
    counter and, when a person asked for it, the activity row.
    """
    server = _server(db, server_id)
    db.execute(
        update(McpServer)
        .where(col(McpServer.id) == server.id)
        .values(restart_count=McpServer.restart_count + 1)
    )
    db.refresh(server)
    if actor is not None:
        activity.record(
            db,
            actor,
            "server.restarted",
            f"{actor.display_name} restarted the server {server.name}",
            project_id=server.project_id,
            target_type="server",
            target_id=server.id,
        )
    db.flush()
    return server.restart_count
