"""Every page of the web UI and its route, title and loader, registered on the app.

UI routes stay clear of the backend's: ``/api/...`` (REST) and the MCP endpoints under
``/projects/{id}/servers/{name}/...`` and ``/projects/{id}/unified/...`` are deeper than
``/projects/[project_id]``, and the backend's routes are matched first.
"""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.states.admin import AdminState
from mcp_orch_app.ui.states.api_keys import ApiKeysState
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.consent import ConsentState
from mcp_orch_app.ui.states.dashboard import DashboardState
from mcp_orch_app.ui.states.login import LoginState
from mcp_orch_app.ui.states.members import MembersState
from mcp_orch_app.ui.states.metrics import MetricsState
from mcp_orch_app.ui.states.profile import ProfileState
from mcp_orch_app.ui.states.project import ProjectState
from mcp_orch_app.ui.states.project_activity import ProjectActivityState
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.project_settings import ProjectSettingsState
from mcp_orch_app.ui.states.projects import ProjectsState
from mcp_orch_app.ui.states.server_detail import ServerDetailState
from mcp_orch_app.ui.states.server_logs import ServerLogsState
from mcp_orch_app.ui.states.servers import ServersState
from mcp_orch_app.ui.states.sessions import SessionsState
from mcp_orch_app.ui.states.signup import SignupState
from mcp_orch_app.ui.states.team import TeamState
from mcp_orch_app.ui.states.teams import TeamsState
from mcp_orch_app.ui.states.tool_calls import ToolCallsState
from mcp_orch_app.ui.states.worker import WorkerState
from mcp_orch_app.ui.views.admin import admin_page
from mcp_orch_app.ui.views.api_keys import api_keys_page
from mcp_orch_app.ui.views.auth import home_page, login_page, signup_page
from mcp_orch_app.ui.views.consent import consent_page
from mcp_orch_app.ui.views.dashboard import dashboard_page
from mcp_orch_app.ui.views.members import members_page
from mcp_orch_app.ui.views.metrics import metrics_page
from mcp_orch_app.ui.views.profile import profile_page
from mcp_orch_app.ui.views.project import project_page
from mcp_orch_app.ui.views.project_activity import project_activity_page
from mcp_orch_app.ui.views.project_settings import project_settings_page
from mcp_orch_app.ui.views.projects import projects_page
from mcp_orch_app.ui.views.server_detail import server_detail_page
from mcp_orch_app.ui.views.server_logs import server_logs_page
from mcp_orch_app.ui.views.servers import servers_page
from mcp_orch_app.ui.views.sessions import sessions_page
from mcp_orch_app.ui.views.team import team_page
from mcp_orch_app.ui.views.teams import teams_page
from mcp_orch_app.ui.views.tool_calls import tool_calls_page
from mcp_orch_app.ui.views.worker import worker_page

APP_NAME = "mcp-orch"

# (route, page, title, loader)
PAGES = [
    ("/", home_page, APP_NAME, AuthState.open_home),
    ("/login", login_page, "Log in", LoginState.load),
    ("/signup", signup_page, "Sign up", SignupState.load),
    ("/oauth/consent", consent_page, "Connect an application", ConsentState.load),
    ("/dashboard", dashboard_page, "Dashboard", DashboardState.load),
    ("/projects", projects_page, "Projects", ProjectsState.load),
    (
        "/projects/[project_id]",
        project_page,
        "Project",
        [ProjectFrameState.load, ProjectState.load],
    ),
    (
        "/projects/[project_id]/servers",
        servers_page,
        "Servers",
        [ProjectFrameState.load, ServersState.load],
    ),
    (
        "/projects/[project_id]/servers/[server_id]",
        server_detail_page,
        "Server",
        [ProjectFrameState.load, ServerDetailState.load],
    ),
    (
        "/projects/[project_id]/members",
        members_page,
        "Members",
        [ProjectFrameState.load, MembersState.load],
    ),
    (
        "/projects/[project_id]/keys",
        api_keys_page,
        "API keys",
        [ProjectFrameState.load, ApiKeysState.load],
    ),
    (
        "/projects/[project_id]/activity",
        project_activity_page,
        "Activity",
        [ProjectFrameState.load, ProjectActivityState.load],
    ),
    (
        "/projects/[project_id]/settings",
        project_settings_page,
        "Settings",
        [ProjectFrameState.load, ProjectSettingsState.load],
    ),
    (
        "/projects/[project_id]/tool-calls",
        tool_calls_page,
        "Tool calls",
        [ProjectFrameState.load, ToolCallsState.load],
    ),
    (
        "/projects/[project_id]/metrics",
        metrics_page,
        "Metrics",
        [ProjectFrameState.load, MetricsState.load],
    ),
    (
        "/projects/[project_id]/sessions",
        sessions_page,
        "Sessions",
        [ProjectFrameState.load, SessionsState.load],
    ),
    (
        "/projects/[project_id]/logs",
        server_logs_page,
        "Server logs",
        [ProjectFrameState.load, ServerLogsState.load],
    ),
    ("/teams", teams_page, "Teams", TeamsState.load),
    ("/teams/[team_id]", team_page, "Team", TeamState.load),
    ("/admin", admin_page, "Administration", AdminState.load),
    ("/admin/worker", worker_page, "Background worker", WorkerState.load),
    ("/profile", profile_page, "Profile", ProfileState.load),
]


def register_pages(app: rx.App) -> None:
    for route, page, title, loader in PAGES:
        app.add_page(
            page,
            route=route,
            title=title if title == APP_NAME else f"{title} · {APP_NAME}",
            on_load=loader,
        )
