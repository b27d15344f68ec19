"""Enumerations stored as strings (see :class:`~mcp_orch_app.models.types.StrEnumType`)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A member's role in a project or a team."""

    OWNER = "owner"
    DEVELOPER = "developer"
    REPORTER = "reporter"

    @property
    def rank(self) -> int:
        return {Role.REPORTER: 1, Role.DEVELOPER: 2, Role.OWNER: 3}[self]


class UnifiedNaming(StrEnum):
    """How a project's unified endpoint names its servers' tools and prompts
    (gateway/namespace.py): always ``{server}__{name}``, or the bare name when only one server
    offers it."""

    PREFIXED = "prefixed"
    BARE = "bare"


class InvitedAs(StrEnum):
    INDIVIDUAL = "individual"
    TEAM_MEMBER = "team_member"


class Transport(StrEnum):
    STDIO = "stdio"
    SSE = "sse"
    STREAMABLE_HTTP = "streamable_http"


class ServerStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    ERROR = "error"
    DISABLED = "disabled"
    UNKNOWN = "unknown"


class ToolCallStatus(StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


class ToolCallErrorCode(StrEnum):
    """Why a tools/call failed; stored in ``ToolCallLog.error_code`` and offered as a filter."""

    INVALID_PARAMETERS = "INVALID_PARAMETERS"
    INITIALIZATION_INCOMPLETE = "INITIALIZATION_INCOMPLETE"
    TOOL_DISABLED = "TOOL_DISABLED"
    TOOL_NOT_FOUND = "TOOL_NOT_FOUND"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    PROTOCOL_ERROR = "PROTOCOL_ERROR"
    """Refused by the transport's protocol checks (e.g. an unsupported MCP-Protocol-Version)."""


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class ServerLogCategory(StrEnum):
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    START = "start"
    STOP = "stop"
    CRASH = "crash"
    RESTART = "restart"
    STATUS_CHANGE = "status_change"
    STDERR = "stderr"
    CHECK = "check"
    REQUEST = "request"
    """A resource read or prompt get made by a person from the UI or the REST API."""


class ClientTransport(StrEnum):
    SSE = "sse"
    STREAMABLE_HTTP = "streamable_http"


class WorkerRunStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class WorkerRunTrigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
