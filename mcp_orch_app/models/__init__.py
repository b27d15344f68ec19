"""SQLModel tables, one module per area. Importing this package registers every table."""

from mcp_orch_app.models.api_keys import ApiKey
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
    WorkerRunStatus,
    WorkerRunTrigger,
)
from mcp_orch_app.models.installation import InstallationKey
from mcp_orch_app.models.instances import GatewayInstance
from mcp_orch_app.models.logs import Activity, ClientSession, ServerLog, ToolCallLog
from mcp_orch_app.models.oauth import (
    OAuthAccessToken,
    OAuthAuthorizationCode,
    OAuthAuthorizationRequest,
    OAuthClient,
    OAuthGrant,
)
from mcp_orch_app.models.projects import Project, ProjectMember, ProjectTeam
from mcp_orch_app.models.servers import McpServer, McpTool, ToolPreference
from mcp_orch_app.models.teams import Team, TeamMember
from mcp_orch_app.models.upstream_oauth import (
    OAuthConnectionStatus,
    OAuthMode,
    UpstreamOAuthConfig,
    UpstreamOAuthConnection,
)
from mcp_orch_app.models.users import LoginSession, LoginThrottle, SystemSettings, User
from mcp_orch_app.models.worker import WorkerConfig, WorkerRun

__all__ = [
    "Activity",
    "ApiKey",
    "ClientSession",
    "ClientTransport",
    "GatewayInstance",
    "InstallationKey",
    "InvitedAs",
    "LogLevel",
    "LoginSession",
    "LoginThrottle",
    "McpServer",
    "McpTool",
    "OAuthAccessToken",
    "OAuthAuthorizationCode",
    "OAuthAuthorizationRequest",
    "OAuthClient",
    "OAuthConnectionStatus",
    "OAuthGrant",
    "OAuthMode",
    "Project",
    "ProjectMember",
    "ProjectTeam",
    "Role",
    "ServerLog",
    "ServerLogCategory",
    "ServerStatus",
    "SystemSettings",
    "Team",
    "TeamMember",
    "ToolCallLog",
    "ToolCallStatus",
    "ToolPreference",
    "Transport",
    "UnifiedNaming",
    "UpstreamOAuthConfig",
    "UpstreamOAuthConnection",
    "User",
    "WorkerConfig",
    "WorkerRun",
    "WorkerRunStatus",
    "WorkerRunTrigger",
]
