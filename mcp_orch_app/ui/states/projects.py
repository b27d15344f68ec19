"""/projects: the projects the user belongs to, and creating one."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.services import projects
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.create_dialog import CreateDialogMixin
from mcp_orch_app.ui.states.rows import ProjectRow


class ProjectsState(CreateDialogMixin, AuthState):
    loading: bool = True
    projects: list[ProjectRow] = []
    search: str = ""

    @rx.var
    def visible_projects(self) -> list[ProjectRow]:
        needle = self.search.strip().lower()
        if not needle:
            return self.projects
        return [
            p for p in self.projects if needle in p.name.lower() or needle in p.description.lower()
        ]

    async def _reload(self) -> None:
        self.projects = [ProjectRow.of(p) for p in await self._call(projects.list_projects)]

    @rx.event
    async def load(self):
        async for event in self._attempt("loading", self._reload):
            yield event

    @rx.event
    def set_search(self, value: str):
        self.search = value

    @rx.event
    async def create(self, form: dict):
        async def add_project():
            created = await self._call(
                projects.create_project,
                str(form.get("name", "")),
                str(form.get("description", "")),
            )
            self.create_open = False
            self.search = ""
            self.projects = sorted(
                [*self.projects, ProjectRow.of(created)], key=lambda p: p.name.lower()
            )
            return rx.toast.success(f"Project {created.name} created.")

        async for event in self._attempt(
            "creating", add_project, error="create_error", shown=InvalidInput
        ):
            yield event
