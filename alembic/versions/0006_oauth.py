"""OAuth 2.1 authorization server: clients, consent requests, codes, grants, access tokens.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

mcp-orch issues tokens to MCP clients for one endpoint of one project (services/oauth.py).
Only SHA-256 hashes of client secrets, codes and tokens are stored. Sessions and tool calls
record the OAuth client and the user they acted for; system settings gain the registration
switch and the token lifetimes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)


def _fk(column: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_secret_hash", sa.String(length=64), nullable=True),
        sa.Column("client_name", sa.String(length=200), nullable=True),
        sa.Column("redirect_uris", JSON_DOCUMENT, nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=32), nullable=False),
        sa.Column("client_metadata", JSON_DOCUMENT, nullable=False),
        sa.Column("registered_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("client_secret_expires_at", UTC_DATETIME, nullable=True),
        _fk("registered_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_oauth_clients_client_id", "oauth_clients", ["client_id"], unique=True)

    op.create_table(
        "oauth_authorization_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("redirect_uri_provided_explicitly", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=500), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("scopes", JSON_DOCUMENT, nullable=False),
        sa.Column("resource", sa.String(length=2000), nullable=True),
        sa.Column("issuer", sa.String(length=2000), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("answered_at", UTC_DATETIME, nullable=True),
        _fk("client_id", "oauth_clients", "CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_oauth_authorization_requests_request_hash",
        "oauth_authorization_requests",
        ["request_hash"],
        unique=True,
    )
    op.create_index(
        "ix_oauth_authorization_requests_client_id", "oauth_authorization_requests", ["client_id"]
    )

    op.create_table(
        "oauth_authorization_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("resource", sa.String(length=2000), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("redirect_uri_provided_explicitly", sa.Boolean(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("scopes", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        _fk("client_id", "oauth_clients", "CASCADE"),
        _fk("user_id", "users", "CASCADE"),
        _fk("project_id", "projects", "CASCADE"),
        _fk("server_id", "mcp_servers", "CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_oauth_authorization_codes_code_hash",
        "oauth_authorization_codes",
        ["code_hash"],
        unique=True,
    )
    op.create_index(
        "ix_oauth_authorization_codes_client_id", "oauth_authorization_codes", ["client_id"]
    )

    op.create_table(
        "oauth_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("resource", sa.String(length=2000), nullable=False),
        sa.Column("scopes", JSON_DOCUMENT, nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("refresh_expires_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        _fk("client_id", "oauth_clients", "CASCADE"),
        _fk("user_id", "users", "CASCADE"),
        _fk("project_id", "projects", "CASCADE"),
        _fk("server_id", "mcp_servers", "CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_oauth_grants_refresh_token_hash", "oauth_grants", ["refresh_token_hash"], unique=True
    )
    op.create_index("ix_oauth_grants_client_id", "oauth_grants", ["client_id"])
    op.create_index("ix_oauth_grants_user_id", "oauth_grants", ["user_id"])
    op.create_index("ix_oauth_grants_project_id", "oauth_grants", ["project_id"])

    op.create_table(
        "oauth_access_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        _fk("grant_id", "oauth_grants", "CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_oauth_access_tokens_token_hash", "oauth_access_tokens", ["token_hash"], unique=True
    )
    op.create_index("ix_oauth_access_tokens_grant_id", "oauth_access_tokens", ["grant_id"])

    for table in ("client_sessions", "tool_call_logs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("oauth_client_id", sa.Uuid(), nullable=True))
            batch.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_oauth_client_id",
                "oauth_clients",
                ["oauth_client_id"],
                ["id"],
                ondelete="SET NULL",
            )
            batch.create_foreign_key(
                f"fk_{table}_user_id", "users", ["user_id"], ["id"], ondelete="SET NULL"
            )

    with op.batch_alter_table("system_settings") as batch:
        batch.add_column(
            sa.Column(
                "oauth_registration_open", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        batch.add_column(
            sa.Column(
                "oauth_access_token_seconds", sa.Integer(), nullable=False, server_default="3600"
            )
        )
        batch.add_column(
            sa.Column(
                "oauth_refresh_token_seconds",
                sa.Integer(),
                nullable=False,
                server_default=str(30 * 24 * 3600),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("system_settings") as batch:
        batch.drop_column("oauth_refresh_token_seconds")
        batch.drop_column("oauth_access_token_seconds")
        batch.drop_column("oauth_registration_open")
    for table in ("tool_call_logs", "client_sessions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_user_id", type_="foreignkey")
            batch.drop_constraint(f"fk_{table}_oauth_client_id", type_="foreignkey")
            batch.drop_column("user_id")
            batch.drop_column("oauth_client_id")
    op.drop_table("oauth_access_tokens")
    op.drop_table("oauth_grants")
    op.drop_table("oauth_authorization_codes")
    op.drop_table("oauth_authorization_requests")
    op.drop_table("oauth_clients")
