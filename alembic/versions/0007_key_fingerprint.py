"""The fingerprint of the installation's secret key, so replicas cannot disagree on it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

One row (``id`` 1) with an HMAC of a fixed label under the key, written by the first start
and compared by every later one (security/key_fingerprint.py). A replica started with another
``MCP_ORCH_SECRET_KEY`` or its own data directory's ``secret.key`` refuses to start instead of
answering "cannot be decrypted" for every server with secrets.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installation_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("installation_key")
