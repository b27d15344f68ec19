"""Trigram index for the tool-call log's free-text search (PostgreSQL only).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The log viewer searches arguments, result and error message with ``ILIKE '%text%'``; without
an index that reads every row of the time range. A GIN trigram index (extension ``pg_trgm``,
trusted since PostgreSQL 13, so the database owner may create it) answers such patterns on
PostgreSQL. It is built on exactly the expression that
:func:`mcp_orch_app.services.tool_calls.search_document` puts in the query, or the planner
could not use it; ``tests/integration/test_tool_call_search_index.py`` checks both with EXPLAIN.

The models do not declare this index (it exists on one dialect only), so autogenerate leaves
it out of its comparison: see ``MIGRATION_ONLY_INDEXES`` in ``mcp_orch_app/migrations.py``.
SQLite has no trigram index; there the revision changes nothing.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_tool_call_logs_search"
SEARCH_DOCUMENT = (
    "coalesce(CAST(arguments AS TEXT), '') || ' ' || coalesce(CAST(result AS TEXT), '') "
    "|| ' ' || coalesce(error_message, '')"
)


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        f"CREATE INDEX {INDEX} ON tool_call_logs USING gin (({SEARCH_DOCUMENT}) gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    # The extension stays: other objects of the database may use it by now.
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
