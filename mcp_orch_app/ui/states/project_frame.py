"""The header every project page shares: the project's name, description and the user's role,
loaded once per page from the database (``ProjectFrameState.load``, the first loader of every
``/projects/[project_id]/...`` page), and the tab links built from the URL's project id."""

from __future__ import annotations

import re

import reflex as rx

from mcp_orch_app.services import projects
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import ProjectRow

_PROJECT_PATH = re.compile(r"^/projects/([^/]+)")


class ProjectFrameState(AuthState):
    project: ProjectRow = ProjectRow()
    # Why the project cannot be shown (not a member, no such project); empty when it can.
    frame_problem: str = ""
    frame_loading: bool = True

    @rx.var
    def project_base(self) -> str:
        """``/projects/{id}`` of the page being shown (the tabs link below it)."""
        match = _PROJECT_PATH.match(self.router.url.path or "")
        return match.group(0) if match else "/projects"

    @rx.var
    def can_develop(self) -> bool:
        """Draws the buttons of developer actions (the services check the right again)."""
        return self.project.role in ("developer", "owner")

    @rx.var
    def is_owner(self) -> bool:
        """Draws the owner-only controls (the services check the right again)."""
        return self.project.role == "owner"

    def route_project_id(self) -> str:
        match = _PROJECT_PATH.match(self.router.url.path or "")
        return match.group(1) if match else ""

    async def _reload_frame(self) -> None:
        project = await self._call(projects.get_project, self.route_project_id())
        self.project = ProjectRow.of(project)

    @rx.event
    async def load(self):
        if self.project.id != self.route_project_id():
            self.project = ProjectRow()
        async for event in self._attempt(
            "frame_loading", self._reload_frame, error="frame_problem"
        ):
            yield event
