"""Every page of the web UI and its route, title and loader, registered on the app.

UI routes stay clear of the backend's: ``/api/...`` (REST) and the MCP endpoints under
``/projects/{id}/servers/{name}/...`` and ``/projects/{id}/unified/...`` are deeper than
``/projects/[project_id]``, and the backend's routes are matched first.
"""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.states.admin import AdminState
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.login import LoginState
from mcp_orch_app.ui.states.profile import ProfileState
from mcp_orch_app.ui.states.project import ProjectState
from mcp_orch_app.ui.states.projects import ProjectsState
from mcp_orch_app.ui.states.signup import SignupState
from mcp_orch_app.ui.states.team import TeamState
from mcp_orch_app.ui.states.teams import TeamsState
from mcp_orch_app.ui.views.admin import admin_page
from mcp_orch_app.ui.views.auth import home_page, login_page, signup_page
from mcp_orch_app.ui.views.profile import profile_page
from mcp_orch_app.ui.views.project import project_page
from mcp_orch_app.ui.views.projects import projects_page
from mcp_orch_app.ui.views.team import team_page
from mcp_orch_app.ui.views.teams import teams_page

APP_NAME = "mcp-orch"

# (route, page, title, loader)
PAGES = [
    ("/", home_page, APP_NAME, AuthState.open_home),
    ("/login", login_page, "Log in", LoginState.load),
    ("/signup", signup_page, "Sign up", SignupState.load),
    ("/projects", projects_page, "Projects", ProjectsState.load),
    ("/projects/[project_id]", project_page, "Project", ProjectState.load),
    ("/teams", teams_page, "Teams", TeamsState.load),
    ("/teams/[team_id]", team_page, "Team", TeamState.load),
    ("/admin", admin_page, "Administration", AdminState.load),
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
