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
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mcp_orch_app.db import get_engine
from mcp_orch_app.models import ServerLog, ToolCallLog
from mcp_orch_app.models.types import utcnow

BATCH_SIZE = 5000
_TABLES: tuple[sa.Table, ...] = (ToolCallLog.__table__, ServerLog.__table__)  # type: ignore[assignment]


def _prune(engine: Engine, table: sa.Table, cutoff: datetime, batch_size: int) -> int:
    with engine.connect() as conn:
        first_kept = conn.execute(
            sa.select(table.c.id).where(table.c.created_at >= cutoff).order_by(table.c.id).limit(1)
        ).scalar()
    old = sa.select(table.c.id).where(table.c.created_at < cutoff)
    if first_kept is not None:
        old = old.where(table.c.id < first_kept)
    batch = sa.delete(table).where(table.c.id.in_(old.order_by(table.c.id).limit(batch_size)))
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
