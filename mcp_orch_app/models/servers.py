"""MCP servers registered in a project, their cached tools and per-project tool preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import (
    created_at_field,
    enum_field,
    json_field,
    timestamp_field,
    uuid_pk,
)
from mcp_orch_app.models.enums import ServerStatus, Transport
from mcp_orch_app.models.types import EncryptedJSON


class McpServer(SQLModel, table=True):
    __tablename__ = "mcp_servers"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_mcp_servers_project_name"),)

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=64)
    description: str = Field(default="", max_length=1000)
    transport: Transport = enum_field(Transport, default=Transport.STDIO)
    # stdio
    command: str | None = Field(default=None, max_length=1000)
    args: list[str] = json_field(default_factory=list, nullable=False)
    env: dict[str, str] | None = Field(default=None, sa_type=EncryptedJSON)
    cwd: str | None = Field(default=None, max_length=1000)
    # sse / streamable_http
    url: str | None = Field(default=None, max_length=2000)
    headers: dict[str, str] | None = Field(default=None, sa_type=EncryptedJSON)
    timeout_seconds: int = Field(default=60)
    enabled: bool = Field(default=True)
    auto_restart: bool = Field(default=True)
    allow_anonymous: bool = Field(default=False)
    # Cached status: written by the status service only, read by lists without contacting servers.
    status: ServerStatus = enum_field(ServerStatus, default=ServerStatus.UNKNOWN)
    tools_count: int = Field(default=0)
    last_checked_at: datetime | None = timestamp_field()
    last_error: str | None = Field(default=None, max_length=4000)
    restart_count: int = Field(default=0)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class McpTool(SQLModel, table=True):
    """A tool as last listed by its server (the cache behind the tools page)."""

    __tablename__ = "mcp_tools"
    __table_args__ = (UniqueConstraint("server_id", "name", name="uq_mcp_tools_server_name"),)

    id: uuid.UUID = uuid_pk()
    server_id: uuid.UUID = Field(foreign_key="mcp_servers.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="")
    input_schema: dict[str, Any] = json_field(default_factory=dict, nullable=False)
    call_count: int = Field(default=0)
    avg_duration_ms: float = Field(default=0.0)
    updated_at: datetime = created_at_field()


class ToolPreference(SQLModel, table=True):
    """A project's choice to disable a tool; kept apart from the cache so refreshes keep it."""

    __tablename__ = "tool_preferences"
    __table_args__ = (
        UniqueConstraint("server_id", "tool_name", name="uq_tool_preferences_server_tool"),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    server_id: uuid.UUID = Field(foreign_key="mcp_servers.id", ondelete="CASCADE")
    tool_name: str = Field(max_length=200)
    enabled: bool = Field(default=True)
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    updated_at: datetime = created_at_field()
