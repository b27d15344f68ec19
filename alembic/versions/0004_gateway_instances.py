"""Gateway instances, and the instance serving each client session (crash clean-up).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

A backend killed outright leaves its client sessions without ``ended_at``. Each backend
process now registers a ``gateway_instances`` row with a heartbeat and stamps the sessions it
opens with its id, so the next process to start (or a replica still running) can tell which
sessions belong to a dead process and end them: see services/instances.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_instances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("host_key", sa.String(length=128), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pid_start", sa.BigInteger(), nullable=True),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("heartbeat_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("client_sessions") as batch:
        batch.add_column(sa.Column("instance_id", sa.Uuid(), nullable=True))
        batch.create_index("ix_client_sessions_instance", ["instance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("client_sessions") as batch:
        batch.drop_index("ix_client_sessions_instance")
        batch.drop_column("instance_id")
    op.drop_table("gateway_instances")
