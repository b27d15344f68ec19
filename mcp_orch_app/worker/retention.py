"""Deleting tool-call logs and server logs older than the retention period.

Rows go in batches of ``batch_size`` per statement, each batch its own short transaction, so the
log writer (gateway/log_writer.py), which keeps inserting new rows meanwhile, never waits long
for a lock, and the work done survives an interruption. Both tables have no index on the time
alone; rows are taken in id order, which is time order (a row's id is given when the writer
inserts it, within moments of its ``created_at``). Each pass first finds the oldest row to keep
and deletes only below its id, so a pass reads the old rows and never scans the whole table.
A row that arrived out of order (older than a row with a smaller id that is kept) waits for
the next pass in which its neighbours are old too.

The payloads of those rows are already size-capped by the writer (``payload_limit``), so a
batch stays a bounded amount of data.

The same job clears what OAuth (services/oauth.py) leaves behind, in the same batches
(`delete_expired_oauth`): expired access tokens at once; consent requests and authorization
codes once expired for ``OAUTH_GRACE`` (a used code is kept that long so that presenting it
again still revokes what it was exchanged for); dead grants (revoked, or whose refresh token
expired and which have no access token left) once dead for ``OAUTH_GRACE``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mcp_orch_app.db import get_engine
from mcp_orch_app.models import ServerLog, ToolCallLog
from mcp_orch_app.models.oauth import (
    OAuthAccessToken,
    OAuthAuthorizationCode,
    OAuthAuthorizationRequest,
    OAuthGrant,
)
from mcp_orch_app.models.types import utcnow

BATCH_SIZE = 5000
_TABLES: tuple[sa.Table, ...] = (ToolCallLog.__table__, ServerLog.__table__)  # type: ignore[assignment]
OAUTH_GRACE = timedelta(days=1)


def _prune(engine: Engine, table: sa.Table, cutoff: datetime, batch_size: int) -> int:
    with engine.connect() as conn:
        first_kept = conn.execute(
            sa.select(table.c.id).where(table.c.created_at >= cutoff).order_by(table.c.id).limit(1)
        ).scalar()
    old = sa.select(table.c.id).where(table.c.created_at < cutoff)
    if first_kept is not None:
        old = old.where(table.c.id < first_kept)
    return _delete_in_batches(engine, table, old, batch_size)


def _delete_in_batches(engine: Engine, table: sa.Table, ids: sa.Select, batch_size: int) -> int:
    """Delete the rows ``ids`` selects, ``batch_size`` per transaction, in id order."""
    batch = sa.delete(table).where(table.c.id.in_(ids.order_by(table.c.id).limit(batch_size)))
    deleted = 0
    while True:
        with engine.begin() as conn:
            count = conn.execute(batch).rowcount or 0
        deleted += count
        if count < batch_size:
            return deleted


def delete_old_logs(
    retention_days: int,
    *,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> dict[str, int]:
    """Delete what is older than ``retention_days``; returns the rows deleted per table.

    Blocks on the database: run it in a thread.
    """
    engine = engine or get_engine()
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    return {table.name: _prune(engine, table, cutoff, batch_size) for table in _TABLES}


def _delete_where(engine: Engine, table: sa.Table, condition: Any, batch_size: int) -> int:
    return _delete_in_batches(engine, table, sa.select(table.c.id).where(condition), batch_size)


def delete_expired_oauth(
    *,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> dict[str, int]:
    """Delete expired OAuth requests, codes and access tokens and dead grants (see the module
    docstring); returns the rows deleted per table. Blocks on the database: run it in a thread."""
    engine = engine or get_engine()
    now = now or utcnow()
    old = now - OAUTH_GRACE
    tokens: sa.Table = OAuthAccessToken.__table__  # type: ignore[assignment]
    grants: sa.Table = OAuthGrant.__table__  # type: ignore[assignment]
    codes: sa.Table = OAuthAuthorizationCode.__table__  # type: ignore[assignment]
    requests: sa.Table = OAuthAuthorizationRequest.__table__  # type: ignore[assignment]
    deleted = {tokens.name: _delete_where(engine, tokens, tokens.c.expires_at < now, batch_size)}
    has_token = sa.exists().where(tokens.c.grant_id == grants.c.id)
    dead = sa.or_(
        grants.c.revoked_at < old,
        sa.and_(grants.c.refresh_expires_at < old, ~has_token),
    )
    # A grant's tokens go with it (ON DELETE CASCADE).
    deleted[grants.name] = _delete_where(engine, grants, dead, batch_size)
    deleted[codes.name] = _delete_where(engine, codes, codes.c.expires_at < old, batch_size)
    deleted[requests.name] = _delete_where(
        engine, requests, requests.c.expires_at < old, batch_size
    )
    return deleted
