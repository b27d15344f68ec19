"""What happened: client sessions, tool calls, server events and the human activity feed.

Log tables have integer keys so the viewer can page by keyset (newest first) cheaply, and
indexes that match the viewer's filters (project + time, status, tool, session).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import (
    created_at_field,
    enum_field,
    json_field,
    timestamp_field,
    uuid_pk,
)
from mcp_orch_app.models.enums import ClientTransport, LogLevel, ServerLogCategory, ToolCallStatus
from mcp_orch_app.models.types import BigIntKey


def _bigint_pk() -> Any:
    return Field(
        default=None,
        sa_column=Column("id", BigIntKey, primary_key=True, autoincrement=True),
    )


class ClientSession(SQLModel, table=True):
    """One MCP client connection to a server endpoint or to the unified endpoint."""

    __tablename__ = "client_sessions"
    __table_args__ = (
        Index("ix_client_sessions_project_started", "project_id", "started_at"),
        Index("ix_client_sessions_instance", "instance_id"),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    # None means the unified endpoint.
    server_id: uuid.UUID | None = Field(
        default=None, foreign_key="mcp_servers.id", ondelete="SET NULL"
    )
    api_key_id: uuid.UUID | None = Field(
        default=None, foreign_key="api_keys.id", ondelete="SET NULL"
    )
    # An OAuth client acting for a user (services/oauth.py), instead of a key.
    oauth_client_id: uuid.UUID | None = Field(
        default=None, foreign_key="oauth_clients.id", ondelete="SET NULL"
    )
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    transport: ClientTransport = enum_field(
        ClientTransport, default=ClientTransport.STREAMABLE_HTTP
    )
    client_name: str | None = Field(default=None, max_length=200)
    client_version: str | None = Field(default=None, max_length=100)
    user_agent: str | None = Field(default=None, max_length=512)
    ip: str | None = Field(default=None, max_length=64)
    protocol_version: str | None = Field(default=None, max_length=32)
    started_at: datetime = created_at_field()
    last_activity_at: datetime | None = timestamp_field()
    ended_at: datetime | None = timestamp_field()
    total_calls: int = Field(default=0)
    successful_calls: int = Field(default=0)
    failed_calls: int = Field(default=0)
    # The backend process serving the session (a GatewayInstance id; no foreign key: the
    # instance row goes when the process is found dead, the session row stays).
    instance_id: uuid.UUID | None = Field(default=None)


class ToolCallLog(SQLModel, table=True):
    __tablename__ = "tool_call_logs"
    __table_args__ = (
        Index("ix_tool_call_logs_project_created", "project_id", "created_at"),
        Index("ix_tool_call_logs_project_status_created", "project_id", "status", "created_at"),
        Index("ix_tool_call_logs_project_tool_created", "project_id", "tool_name", "created_at"),
        Index("ix_tool_call_logs_project_server_created", "project_id", "server_id", "created_at"),
        Index("ix_tool_call_logs_session", "session_id"),
    )

    id: int | None = _bigint_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    server_id: uuid.UUID | None = Field(
        default=None, foreign_key="mcp_servers.id", ondelete="SET NULL"
    )
    # Kept by value so a row still reads right after its server is renamed or deleted.
    server_name: str = Field(max_length=64)
    tool_name: str = Field(max_length=200)
    session_id: uuid.UUID | None = Field(
        default=None, foreign_key="client_sessions.id", ondelete="SET NULL"
    )
    api_key_id: uuid.UUID | None = Field(
        default=None, foreign_key="api_keys.id", ondelete="SET NULL"
    )
    # An OAuth client acting for a user (services/oauth.py), instead of a key.
    oauth_client_id: uuid.UUID | None = Field(
        default=None, foreign_key="oauth_clients.id", ondelete="SET NULL"
    )
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    client_name: str | None = Field(default=None, max_length=200)
    arguments: Any | None = json_field()
    result: Any | None = json_field()
    status: ToolCallStatus = enum_field(ToolCallStatus, default=ToolCallStatus.SUCCESS)
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None)
    duration_ms: int = Field(default=0)
    created_at: datetime = created_at_field()


class ServerLog(SQLModel, table=True):
    __tablename__ = "server_logs"
    __table_args__ = (
        Index("ix_server_logs_project_created", "project_id", "created_at"),
        Index("ix_server_logs_server_created", "server_id", "created_at"),
    )

    id: int | None = _bigint_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    server_id: uuid.UUID | None = Field(
        default=None, foreign_key="mcp_servers.id", ondelete="CASCADE"
    )
    level: LogLevel = enum_field(LogLevel, default=LogLevel.INFO)
    category: ServerLogCategory = enum_field(ServerLogCategory, default=ServerLogCategory.CHECK)
    message: str = Field(default="")
    details: Any | None = json_field()
    created_at: datetime = created_at_field()


class Activity(SQLModel, table=True):
    """The human-readable feed, written by every mutating service."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_project_created", "project_id", "created_at"),
        Index("ix_activities_team_created", "team_id", "created_at"),
    )

    id: int | None = _bigint_pk()
    project_id: uuid.UUID | None = Field(
        default=None, foreign_key="projects.id", ondelete="CASCADE"
    )
    team_id: uuid.UUID | None = Field(default=None, foreign_key="teams.id", ondelete="CASCADE")
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    # Kept by value: the feed still says who did it after the account is gone.
    actor_name: str | None = Field(default=None, max_length=200)
    action: str = Field(max_length=64)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=1000)
    details: Any | None = json_field()
    created_at: datetime = created_at_field()
