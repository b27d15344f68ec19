"""OAuth 2.1 toward upstream MCP servers: a server's OAuth setting and its connections.

A server with an `UpstreamOAuthConfig` row authenticates with OAuth (its static headers still
go along); without one it uses its static headers only, as before. The client registration
(pre-registered by the owner, or obtained by dynamic client registration) is kept encrypted in
`client_info`. A connection holds the tokens of one grant: the project's shared one
(``user_id`` None) or one user's (per-user mode), encrypted at rest and never shown.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field, enum_field, timestamp_field, uuid_pk
from mcp_orch_app.models.types import EncryptedJSON


class OAuthMode(StrEnum):
    SHARED = "shared"
    """One connection for the whole project, made by an owner or developer."""
    PER_USER = "per_user"
    """Each user connects their own account; calls use the calling user's connection."""


class OAuthConnectionStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"


class UpstreamOAuthConfig(SQLModel, table=True):
    __tablename__ = "upstream_oauth_configs"

    id: uuid.UUID = uuid_pk()
    server_id: uuid.UUID = Field(
        foreign_key="mcp_servers.id", ondelete="CASCADE", unique=True, index=True
    )
    mode: OAuthMode = enum_field(OAuthMode, default=OAuthMode.SHARED)
    scopes: str = Field(default="", max_length=1000)
    client_id: str | None = Field(default=None, max_length=500)
    client_secret: dict[str, Any] | None = Field(default=None, sa_type=EncryptedJSON)
    """``{"secret": ...}`` for a pre-registered confidential client."""
    client_info: dict[str, Any] | None = Field(default=None, sa_type=EncryptedJSON)
    """The registration the SDK keeps (dynamic or pre-registered), as the SDK's JSON."""
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class UpstreamOAuthConnection(SQLModel, table=True):
    __tablename__ = "upstream_oauth_connections"
    __table_args__ = (
        UniqueConstraint("server_id", "owner_key", name="uq_upstream_oauth_connections_owner"),
    )

    id: uuid.UUID = uuid_pk()
    server_id: uuid.UUID = Field(foreign_key="mcp_servers.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    owner_key: str = Field(max_length=64)
    """``"shared"`` or the user's id: unique per server (NULLs are never equal in SQL)."""
    tokens: dict[str, Any] | None = Field(default=None, sa_type=EncryptedJSON)
    expires_at: datetime | None = timestamp_field()
    scopes: str = Field(default="", max_length=1000)
    subject: str | None = Field(default=None, max_length=500)
    status: OAuthConnectionStatus = enum_field(
        OAuthConnectionStatus, default=OAuthConnectionStatus.CONNECTED
    )
    last_error: str | None = Field(default=None, max_length=2000)
    connected_by: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
