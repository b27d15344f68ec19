"""The client sessions of a project as people read them: who connected, with which key, when.

Rows are written by the gateway through the log writer; this module only reads them. A session
is active until the client closes it or the gateway ends it (``ended_at``).
"""

from __future__ import annotations

import uuid
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mcp_orch_app.models import ApiKey, ClientSession, McpServer, OAuthClient, Role, User
from mcp_orch_app.services.access import require_project
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.paging import (
    check_limit,
    decode_cursor,
    encode_cursor,
    filter_uuid,
)
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ClientSessionOut, ClientSessionPage
from mcp_orch_app.services.tools import server_in_project

SessionState = Literal["active", "ended"]


def list_client_sessions(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    *,
    state: str | None = None,
    server_id: str | uuid.UUID | None = None,
    unified: bool | None = None,
    session_id: str | uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> ClientSessionPage:
    """The project's client sessions, newest first, paged by ``(started_at, id)``.

    ``state`` is ``active`` or ``ended``; ``server_id`` keeps the sessions of one server's
    endpoint, ``unified=True`` those of the unified endpoint; ``session_id`` one session.
    """
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    limit = check_limit(limit)
    if state not in (None, "", "active", "ended"):
        raise InvalidInput(f"Unknown state {state!r}; use active or ended.")
    sessions = ClientSession.__table__.c
    where = [sessions.project_id == project.id]
    if state == "active":
        where.append(sessions.ended_at.is_(None))
    elif state == "ended":
        where.append(sessions.ended_at.is_not(None))
    if server_id:
        where.append(sessions.server_id == server_in_project(db, project.id, server_id).id)
    if unified:
        where.append(sessions.server_id.is_(None))
    if session_id:
        where.append(sessions.id == filter_uuid(session_id, "session_id", "session"))
    if cursor:
        at, key, _ = decode_cursor(cursor)
        try:
            last_id = uuid.UUID(key)
        except ValueError:
            raise InvalidInput("The cursor is not valid for the session list.") from None
        where.append(sessions.started_at <= at)
        where.append(sa.or_(sessions.started_at < at, sessions.id < last_id))

    rows = db.exec(
        select(
            ClientSession,
            McpServer.name,
            ApiKey.name,
            ApiKey.prefix,
            OAuthClient.client_name,
            User.email,
        )
        .outerjoin(McpServer, col(McpServer.id) == ClientSession.server_id)
        .outerjoin(ApiKey, col(ApiKey.id) == ClientSession.api_key_id)
        .outerjoin(OAuthClient, col(OAuthClient.id) == ClientSession.oauth_client_id)
        .outerjoin(User, col(User.id) == ClientSession.user_id)
        .where(*where)
        .order_by(col(ClientSession.started_at).desc(), col(ClientSession.id).desc())
        .limit(limit + 1)
    ).all()
    items = [
        ClientSessionOut(
            id=row.id,
            server_id=row.server_id,
            server_name=server_name,
            unified=row.server_id is None,
            transport=row.transport,
            client_name=row.client_name,
            client_version=row.client_version,
            user_agent=row.user_agent,
            ip=row.ip,
            protocol_version=row.protocol_version,
            api_key_id=row.api_key_id,
            key_name=key_name,
            key_prefix=key_prefix,
            oauth_client_id=row.oauth_client_id,
            oauth_client_name=oauth_client_name,
            user_id=row.user_id,
            user_email=user_email,
            started_at=row.started_at,
            last_activity_at=row.last_activity_at,
            ended_at=row.ended_at,
            active=row.ended_at is None,
            total_calls=row.total_calls,
            successful_calls=row.successful_calls,
            failed_calls=row.failed_calls,
        )
        for row, server_name, key_name, key_prefix, oauth_client_name, user_email in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = encode_cursor(last.started_at, last.id)
    return ClientSessionPage(items=items, next_cursor=next_cursor)
