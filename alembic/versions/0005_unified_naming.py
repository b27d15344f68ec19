"""How each project's unified endpoint names tools and prompts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

``projects.unified_naming`` is ``prefixed`` (``{server}__{name}`` always, the behaviour before
this revision, so every existing project keeps it through the server default) or ``bare``
(the bare name when one server offers it; gateway/namespace.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column(
                "unified_naming",
                sa.String(length=32),
                nullable=False,
                server_default="prefixed",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("unified_naming")
