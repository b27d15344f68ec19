"""/teams: the teams the user belongs to, and creating one."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.services import teams
from mcp_orch_app.services.errors import InvalidInput, ServiceError
from mcp_orch_app.services.schemas import TeamIn
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import TeamRow


class TeamsState(AuthState):
    loading: bool = True
    teams: list[TeamRow] = []
    create_open: bool = False
    creating: bool = False
    create_error: str = ""

    @rx.event
    async def load(self):
        self.loading = True
        yield
        try:
            rows = await self._call(teams.list_teams)
        except ServiceError as exc:
            self.loading = False
            yield self._failure(exc)
            return
        self.teams = [TeamRow.of(t) for t in rows]
        self.loading = False

    @rx.event
    def set_create_open(self, is_open: bool):
        self.create_open = is_open
        self.create_error = ""

    @rx.event
    async def create(self, form: dict):
        self.creating = True
        self.create_error = ""
        yield
        try:
            data = TeamIn(
                name=str(form.get("name", ""))[:100],
                description=str(form.get("description", ""))[:1000],
            )
            created = await self._call(teams.create_team, data)
        except InvalidInput as exc:
            self.creating = False
            self.create_error = exc.message
            return
        except ServiceError as exc:
            self.creating = False
            yield self._failure(exc)
            return
        self.creating = False
        self.create_open = False
        self.teams = sorted([*self.teams, TeamRow.of(created)], key=lambda t: t.name.lower())
        yield rx.toast.success(f"Team {created.name} created.")
