"""/teams: the teams the user belongs to, and creating one."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.services import teams
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.schemas import TeamIn
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.create_dialog import CreateDialogMixin
from mcp_orch_app.ui.states.rows import TeamRow


class TeamsState(CreateDialogMixin, AuthState):
    loading: bool = True
    teams: list[TeamRow] = []

    async def _reload(self) -> None:
        self.teams = [TeamRow.of(t) for t in await self._call(teams.list_teams)]

    @rx.event
    async def load(self):
        async for event in self._attempt("loading", self._reload):
            yield event

    @rx.event
    async def create(self, form: dict):
        async def add_team():
            data = TeamIn(
                name=str(form.get("name", ""))[:100],
                description=str(form.get("description", ""))[:1000],
            )
            created = await self._call(teams.create_team, data)
            self.create_open = False
            self.teams = sorted([*self.teams, TeamRow.of(created)], key=lambda t: t.name.lower())
            return rx.toast.success(f"Team {created.name} created.")

        async for event in self._attempt(
            "creating", add_team, error="create_error", shown=InvalidInput
        ):
            yield event
