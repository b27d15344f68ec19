"""OAuth 2.1 toward upstream MCP servers: per-server OAuth settings and connections.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

A server with an ``upstream_oauth_configs`` row authenticates to its upstream with OAuth;
``upstream_oauth_connections`` holds the encrypted tokens of the project's shared connection
or of each user's own (see models/upstream_oauth.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "upstream_oauth_configs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=True),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("client_info", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["server_id"], ["mcp_servers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_upstream_oauth_configs_server_id", "upstream_oauth_configs", ["server_id"], unique=True
    )
    op.create_table(
        "upstream_oauth_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("owner_key", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=True),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("connected_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["server_id"], ["mcp_servers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["connected_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("server_id", "owner_key", name="uq_upstream_oauth_connections_owner"),
    )
    op.create_index(
        "ix_upstream_oauth_connections_server_id",
        "upstream_oauth_connections",
        ["server_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("upstream_oauth_connections")
    op.drop_table("upstream_oauth_configs")
