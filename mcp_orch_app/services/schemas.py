"""What services accept and return: Pydantic models, never ORM rows.

The REST API uses them as request bodies and response models; the UI states keep their JSON
dumps. Server secrets only ever leave the services masked (:class:`ServerOut`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcp_orch_app.models.enums import (
    ClientTransport,
    InvitedAs,
    LogLevel,
    Role,
    ServerLogCategory,
    ServerStatus,
    ToolCallStatus,
    Transport,
    UnifiedNaming,
)
from mcp_orch_app.services.bounds import Timestamp


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- accounts -------------------------------------------------------------------------------


class SignupIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    name: str = Field(default="", max_length=200)


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class UserOut(_Out):
    id: uuid.UUID
    email: str
    name: str
    is_admin: bool
    is_active: bool = True
    created_at: datetime | None = None
    last_login_at: datetime | None = None


class LoginOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


class LoginSessionOut(_Out):
    id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None
    ip: str | None
    user_agent: str | None
    current: bool = False


class ProfileIn(BaseModel):
    name: str = Field(max_length=200)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class AdminUserCreateIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    name: str = Field(default="", max_length=200)
    is_admin: bool = False


class AdminUserUpdateIn(BaseModel):
    is_admin: bool | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


class PasswordResetIn(BaseModel):
    # Empty or missing: a temporary password is generated.
    password: str | None = Field(default=None, max_length=1024)


class PasswordResetOut(BaseModel):
    user: UserOut
    # Shown once to the administrator who reset it; never stored in clear.
    password: str
    generated: bool


class SystemSettingsOut(BaseModel):
    signup_open: bool


class SystemSettingsIn(BaseModel):
    signup_open: bool


# --- projects and members -------------------------------------------------------------------


class ProjectIn(BaseModel):
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)


class ProjectPatch(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    allow_anonymous: bool | None = None
    unified_enabled: bool | None = None
    unified_naming: UnifiedNaming | None = None
    """How the unified endpoint names tools and prompts: "prefixed" or "bare"."""


class ProjectOut(_Out):
    id: uuid.UUID
    name: str
    description: str
    allow_anonymous: bool
    unified_enabled: bool
    unified_naming: UnifiedNaming = UnifiedNaming.PREFIXED
    created_at: datetime
    updated_at: datetime
    my_role: Role | None = None
    member_count: int = 0
    server_count: int = 0


class MemberIn(BaseModel):
    email: str = Field(max_length=320)
    role: Role = Role.DEVELOPER


class RoleIn(BaseModel):
    role: Role


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    invited_as: InvitedAs | None = None
    team_id: uuid.UUID | None = None
    team_name: str | None = None
    joined_at: datetime


class ProjectTeamIn(BaseModel):
    team_id: uuid.UUID
    role: Role = Role.DEVELOPER


class ProjectTeamOut(BaseModel):
    team_id: uuid.UUID
    team_name: str
    role: Role
    added_at: datetime


# --- teams ----------------------------------------------------------------------------------


class TeamIn(BaseModel):
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)


class TeamOut(_Out):
    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    my_role: Role | None = None
    member_count: int = 0


# --- servers --------------------------------------------------------------------------------


class ServerIn(BaseModel):
    """A server's configuration as submitted by a form, the REST API or a JSON import."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)
    transport: str = "stdio"
    command: str | None = Field(default=None, max_length=1000)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    # Checked by services/servers.py (1..3600, with a message); declared for the OpenAPI document.
    timeout_seconds: int = Field(default=60, json_schema_extra={"minimum": 1, "maximum": 3600})
    enabled: bool = True
    auto_restart: bool = True
    allow_anonymous: bool = False


class ServerPatch(BaseModel):
    """A partial update. A masked secret value sent back unchanged keeps the stored value."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    transport: str | None = None
    command: str | None = Field(default=None, max_length=1000)
    args: list[str] | None = None
    env: dict[str, str] | None = None
    cwd: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2000)
    headers: dict[str, str] | None = None
    timeout_seconds: int | None = Field(
        default=None, json_schema_extra={"minimum": 1, "maximum": 3600}
    )
    enabled: bool | None = None
    auto_restart: bool | None = None
    allow_anonymous: bool | None = None


class ServerOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    description: str
    transport: Transport
    command: str | None
    args: list[str]
    env: dict[str, str]
    cwd: str | None
    url: str | None
    headers: dict[str, str]
    timeout_seconds: int
    enabled: bool
    auto_restart: bool
    allow_anonymous: bool
    status: ServerStatus
    tools_count: int
    last_checked_at: datetime | None
    last_error: str | None
    restart_count: int
    created_at: datetime
    updated_at: datetime


class ImportCreated(BaseModel):
    name: str
    id: uuid.UUID


class ImportError_(BaseModel):
    name: str
    error: str


class ImportOut(BaseModel):
    created: list[ImportCreated]
    errors: list[ImportError_]


class SealedExportIn(BaseModel):
    passphrase: str = Field(max_length=1024)


class SealedImportIn(BaseModel):
    """An encrypted export (the envelope JSON as the export gave it) and its passphrase."""

    envelope: dict[str, Any]
    passphrase: str = Field(max_length=1024)


# --- API keys -------------------------------------------------------------------------------


class ApiKeyIn(BaseModel):
    name: str = Field(max_length=100)
    expires_at: Timestamp | None = None


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    suffix: str
    created_by: uuid.UUID | None
    created_by_name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    status: Literal["active", "expired", "revoked"]


class ApiKeyCreatedOut(BaseModel):
    id: uuid.UUID
    name: str
    key: str
    prefix: str
    suffix: str
    expires_at: datetime | None
    created_at: datetime


# --- activity -------------------------------------------------------------------------------


class ActivityOut(_Out):
    id: int
    project_id: uuid.UUID | None
    team_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    actor_name: str | None
    action: str
    target_type: str | None
    target_id: str | None
    description: str
    details: Any | None
    created_at: datetime


class ActivityActorOut(BaseModel):
    id: uuid.UUID
    name: str


class ActivityFiltersOut(BaseModel):
    actions: list[str]
    actors: list[ActivityActorOut]


class ProjectOverviewOut(BaseModel):
    project: ProjectOut
    servers: list[ServerOut]
    members: list[MemberOut]
    status_counts: dict[str, int]
    recent_activity: list[ActivityOut]


# --- tools ----------------------------------------------------------------------------------


class ToolOut(BaseModel):
    """A tool as last listed by its server, with the project's preference and call figures."""

    name: str
    description: str
    input_schema: dict[str, Any]
    enabled: bool
    call_count: int
    avg_duration_ms: float
    updated_at: datetime | None = None


class ToolEnabledIn(BaseModel):
    enabled: bool


MAX_BULK_TOOLS = 500


class ToolsEnabledIn(BaseModel):
    """Several tools of one server switched on or off in one action."""

    names: list[str] = Field(min_length=1, max_length=MAX_BULK_TOOLS)
    enabled: bool


# --- observability --------------------------------------------------------------------------


class ToolCallOut(BaseModel):
    id: int
    created_at: datetime
    server_id: uuid.UUID | None
    server_name: str
    tool_name: str
    status: ToolCallStatus
    error_code: str | None
    error_message: str | None
    duration_ms: int
    arguments: Any | None
    result: Any | None
    session_id: uuid.UUID | None
    client_name: str | None
    # An OAuth client acting for a user (services/oauth.py) instead of a key.
    oauth_client_id: uuid.UUID | None = None
    oauth_client_name: str | None = None
    user_id: uuid.UUID | None = None
    user_email: str | None = None


class ToolCallPage(BaseModel):
    items: list[ToolCallOut]
    next_cursor: str | None


class ToolUsageOut(BaseModel):
    server_name: str
    tool_name: str
    total: int
    success: int
    error: int
    timeout: int
    avg_ms: float | None


class ErrorCodeCountOut(BaseModel):
    error_code: str
    count: int


class TimelineBucketOut(BaseModel):
    start: datetime
    total: int
    success: int
    error: int
    timeout: int


class ToolCallMetricsOut(BaseModel):
    since: datetime
    until: datetime
    bucket_seconds: int
    total: int
    success: int
    error: int
    timeout: int
    cancelled: int
    # None when there were no calls in the range (a rate of nothing is not 0 %).
    success_rate: float | None
    avg_ms: float | None
    p95_ms: float | None
    by_tool: list[ToolUsageOut]
    by_error_code: list[ErrorCodeCountOut]
    timeline: list[TimelineBucketOut]


class ClientSessionOut(BaseModel):
    id: uuid.UUID
    server_id: uuid.UUID | None
    # The server's current name, or None for the unified endpoint (or a deleted server).
    server_name: str | None
    unified: bool
    transport: ClientTransport
    client_name: str | None
    client_version: str | None
    user_agent: str | None
    ip: str | None
    protocol_version: str | None
    api_key_id: uuid.UUID | None
    key_name: str | None
    key_prefix: str | None
    # An OAuth client acting for a user (services/oauth.py) instead of a key.
    oauth_client_id: uuid.UUID | None = None
    oauth_client_name: str | None = None
    user_id: uuid.UUID | None = None
    user_email: str | None = None
    started_at: datetime
    last_activity_at: datetime | None
    ended_at: datetime | None
    active: bool
    total_calls: int
    successful_calls: int
    failed_calls: int


class ClientSessionPage(BaseModel):
    items: list[ClientSessionOut]
    next_cursor: str | None


class ServerLogOut(BaseModel):
    id: int
    server_id: uuid.UUID | None
    server_name: str | None
    level: LogLevel
    category: ServerLogCategory
    message: str
    details: Any | None
    created_at: datetime


class ClientConfigOut(BaseModel):
    client: str
    format: Literal["json", "shell"]
    filename_hint: str | None
    content: str
    instructions: str
    url: str
    entry_name: str


# --- dashboard ------------------------------------------------------------------------------


class DashboardProjectOut(BaseModel):
    project_id: uuid.UUID
    project_name: str
    servers_by_status: dict[str, int]
    calls_24h: int
    errors_24h: int


class RecentFailureOut(BaseModel):
    id: int
    created_at: datetime
    project_id: uuid.UUID
    project_name: str
    server_id: uuid.UUID | None
    server_name: str
    tool_name: str
    status: ToolCallStatus
    error_code: str | None
    error_message: str | None


class DashboardOut(BaseModel):
    """``errors_24h`` counts failed calls (error and timeout) since ``since``."""

    since: datetime
    projects: list[DashboardProjectOut]
    servers_by_status: dict[str, int]
    server_count: int
    calls_24h: int
    errors_24h: int
    recent_failures: list[RecentFailureOut]
