"""/projects/[project_id]/settings: name and description, access switches, the unified
endpoint's naming, deleting the project. Only owners may change anything; the project services
refuse everyone else."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.models import Role
from mcp_orch_app.models.enums import UnifiedNaming
from mcp_orch_app.services import oauth, projects
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ProjectOut, ProjectPatch
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ConnectedAppRow

# The project's on/off settings, by their ProjectPatch field.
SWITCHES = ("allow_anonymous", "unified_enabled")
NAMINGS = tuple(naming.value for naming in UnifiedNaming)
"""The choices of the unified endpoint's naming select."""


def delete_named_project(db: Session, actor: Actor, project_id: str, typed_name: str) -> str:
    """Deletes the project when ``typed_name`` is its name (the typed confirmation)."""
    project = projects.get_project(db, actor, project_id)
    if typed_name.strip() != project.name:
        raise InvalidInput(f"Type the project's name, {project.name}, to delete it.")
    projects.delete_project(db, actor, project_id)
    return project.name


class ProjectSettingsState(ProjectFrameState):
    loading: bool = True
    problem: str = ""
    name: str = ""
    description: str = ""
    allow_anonymous: bool = False
    unified_enabled: bool = False
    unified_naming: str = UnifiedNaming.PREFIXED.value
    saving: bool = False
    details_error: str = ""
    # The switch whose change is being saved (one of SWITCHES).
    saving_switch: str = ""
    delete_open: bool = False
    delete_typed: str = ""
    deleting: bool = False
    delete_error: str = ""
    # OAuth applications connected to the project (owners see them; services/oauth.py).
    apps: list[ConnectedAppRow] = []
    revoking: str = ""

    @rx.var
    def delete_confirmed(self) -> bool:
        return self.name != "" and self.delete_typed.strip() == self.name

    def _show(self, project: ProjectOut) -> None:
        self.name = project.name
        self.description = project.description
        self.allow_anonymous = project.allow_anonymous
        self.unified_enabled = project.unified_enabled
        self.unified_naming = project.unified_naming.value

    async def _reload(self) -> None:
        project = await self._call(projects.get_project, self.route_project_id())
        self._show(project)
        self.apps = []
        if project.my_role == Role.OWNER:
            await self._load_apps()

    async def _load_apps(self) -> None:
        apps = await self._call(oauth.list_project_connected_apps, self.route_project_id())
        self.apps = [ConnectedAppRow.of(a) for a in apps]

    @rx.event
    async def revoke_app(self, grant_id: str):
        async def revoke():
            await self._call(oauth.revoke_connected_app, str(grant_id)[:64])
            await self._load_apps()
            return rx.toast.success("The application is disconnected.")

        async for event in self._attempt("revoking", revoke, value=str(grant_id)[:64]):
            yield event

    @rx.event
    async def load(self):
        self.name = ""
        self.delete_open = False
        self.delete_typed = ""
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    async def _update(self, patch: ProjectPatch):
        project = await self._call(projects.update_project, self.route_project_id(), patch)
        self._show(project)
        # The header above the tabs shows the name and description too.
        return [rx.toast.success("Settings saved."), ProjectFrameState.load]

    @rx.event
    async def save_details(self, form: dict):
        patch = ProjectPatch(
            name=str(form.get("name", ""))[:100],
            description=str(form.get("description", ""))[:1000],
        )
        async for event in self._attempt(
            "saving", lambda: self._update(patch), error="details_error"
        ):
            yield event

    @rx.event
    async def set_switch(self, switch: str, value: bool):
        """Turns "allow_anonymous" or "unified_enabled" on or off."""
        if switch not in SWITCHES:
            return
        patch = ProjectPatch(**{switch: value is True})
        async for event in self._attempt(
            "saving_switch", lambda: self._update(patch), value=switch
        ):
            yield event

    @rx.event
    async def set_naming(self, value: str):
        """Sets how the unified endpoint names tools and prompts ("prefixed" or "bare")."""

        async def save():
            if value not in NAMINGS:
                raise InvalidInput(
                    f"The naming must be one of {', '.join(NAMINGS)}, not {str(value)[:40]!r}."
                )
            return await self._update(ProjectPatch(unified_naming=UnifiedNaming(value)))

        async for event in self._attempt("saving_switch", save, value="unified_naming"):
            yield event

    @rx.event
    def set_delete_open(self, is_open: bool):
        self.delete_open = is_open
        self.delete_typed = ""
        self.delete_error = ""

    @rx.event
    def set_delete_typed(self, value: str):
        self.delete_typed = value[:200]

    @rx.event
    async def delete_project(self):
        async def delete():
            name = await self._call(
                delete_named_project, self.route_project_id(), self.delete_typed
            )
            self.delete_open = False
            return [rx.toast.success(f"Project {name} deleted."), rx.redirect("/projects")]

        async for event in self._attempt("deleting", delete, error="delete_error"):
            yield event
