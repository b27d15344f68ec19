"""Server events as people read them: start, stop, crash, status changes and stderr lines.

Rows are written by the gateway and the worker through the log writer; this module only reads.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mcp_orch_app.models import LogLevel, McpServer, Role, ServerLog, ServerLogCategory
from mcp_orch_app.services.access import require_project
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.paging import as_utc, check_limit, check_range
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ServerLogOut
from mcp_orch_app.services.tool_calls import MAX_QUERY_LENGTH, like_pattern
from mcp_orch_app.services.tools import server_in_project

LEVEL_ORDER = (LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR)


def levels_from(minimum: str | LogLevel | None) -> list[LogLevel]:
    """The levels at or above ``minimum`` (``warning`` -> warning and error)."""
    if minimum is None or minimum == "":
        return list(LEVEL_ORDER)
    try:
        level = LogLevel(str(minimum).strip().lower())
    except ValueError:
        valid = ", ".join(level.value for level in LEVEL_ORDER)
        raise InvalidInput(f"Unknown level {minimum!r}; use {valid}.") from None
    return list(LEVEL_ORDER[LEVEL_ORDER.index(level) :])


def list_server_logs(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    *,
    server_id: str | uuid.UUID | None = None,
    level: str | LogLevel | None = None,
    category: ServerLogCategory | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[ServerLogOut]:
    """The newest server log rows of the project (or of one server), at ``level`` or above,
    of one ``category`` when given (``status_change`` rows make a server's status history),
    in ``[since, until)``, whose message or category contains ``q`` (any case, literally).

    ``after_id`` keeps the rows written after that row: what a live tail that shows it as its
    newest line has not seen yet.
    """
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    limit = check_limit(limit, default=100)
    since, until = as_utc(since), as_utc(until)
    if since is not None and until is not None:
        check_range(since, until)
    text = (q or "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"The search text must be at most {MAX_QUERY_LENGTH} characters.")
    if after_id is not None and after_id < 0:
        raise InvalidInput("after_id must not be negative.")
    logs = ServerLog.__table__.c
    where = [logs.project_id == project.id]
    if server_id:
        where.append(logs.server_id == server_in_project(db, project.id, server_id).id)
    levels = levels_from(level)
    if len(levels) < len(LEVEL_ORDER):
        where.append(logs.level.in_(levels))
    if category is not None:
        where.append(logs.category == category)
    if since is not None:
        where.append(logs.created_at >= since)
    if until is not None:
        where.append(logs.created_at < until)
    if text:
        pattern = like_pattern(text)
        where.append(
            sa.or_(
                logs.message.ilike(pattern, escape="\\"),
                sa.cast(logs.category, sa.String).ilike(pattern, escape="\\"),
            )
        )
    if after_id is not None:
        where.append(logs.id > after_id)
    rows = db.exec(
        select(ServerLog, McpServer.name)
        .outerjoin(McpServer, col(McpServer.id) == ServerLog.server_id)
        .where(*where)
        .order_by(col(ServerLog.created_at).desc(), col(ServerLog.id).desc())
        .limit(limit)
    ).all()
    return [
        ServerLogOut(
            id=row.id,
            server_id=row.server_id,
            server_name=server_name,
            level=row.level,
            category=row.category,
            message=row.message,
            details=row.details,
            created_at=row.created_at,
        )
        for row, server_name in rows
    ]
