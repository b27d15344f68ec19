"""Failed-login throttling: one row per account or client address with recent failures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

See mcp_orch_app/services/login_throttle.py. The table lives in the database (not in process
memory) so that every backend process sees the same counters.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTC_DATETIME, nullable=False),
        sa.Column("locked_until", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "ix_login_throttles_last_failure_at", "login_throttles", ["last_failure_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_login_throttles_last_failure_at", table_name="login_throttles")
    op.drop_table("login_throttles")
