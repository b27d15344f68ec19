"""/projects/[project_id]: one project's overview, read from the database (cached status)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.models.enums import ServerStatus
from mcp_orch_app.services import projects
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import ActivityRow, MemberRow, ProjectRow, ServerRow, StatusCount


class ProjectState(AuthState):
    loading: bool = True
    # Why the project cannot be shown (not a member, no such project); empty when it can.
    problem: str = ""
    project: ProjectRow = ProjectRow()
    servers: list[ServerRow] = []
    status_counts: list[StatusCount] = []
    members: list[MemberRow] = []
    activity: list[ActivityRow] = []

    @rx.var
    def members_label(self) -> str:
        count = len(self.members)
        return f"{count} member{'' if count == 1 else 's'}"

    def _route_project_id(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    async def _reload(self) -> None:
        overview = await self._call(projects.project_overview, self._route_project_id())
        self.project = ProjectRow.of(overview.project)
        self.servers = [ServerRow.of(s) for s in overview.servers]
        self.status_counts = [
            StatusCount(status=s.value, count=overview.status_counts.get(s.value, 0))
            for s in ServerStatus
        ]
        self.members = [MemberRow.of(m) for m in overview.members]
        self.activity = [ActivityRow.of(a) for a in overview.recent_activity]

    @rx.event
    async def load(self):
        self.project = ProjectRow()
        self.servers = []
        self.status_counts = []
        self.members = []
        self.activity = []
        # Not a member, or no such project: said on the page instead of a toast.
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event
