"""Project API keys used by MCP clients."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field, timestamp_field, uuid_pk


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    # Only the SHA-256 of the key is stored; the key itself is shown once at creation.
    key_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    suffix: str = Field(max_length=8)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    expires_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()
    last_used_ip: str | None = Field(default=None, max_length=64)
