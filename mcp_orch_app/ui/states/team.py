"""/teams/[team_id]: a team's members (owners manage them), its projects and its activity."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.services import activity, teams
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.projects import ensure_valid_role
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import ActivityRow, MemberRow, ProjectRow, TeamRow

ACTIVITY_SHOWN = 30


def _team_page(db: Session, actor: Actor, team_id: str):
    """The team, its members, its projects and its feed, read in one transaction."""
    return (
        teams.get_team(db, actor, team_id),
        teams.list_team_members(db, actor, team_id),
        teams.list_team_projects(db, actor, team_id),
        activity.list_team_activity(db, actor, team_id, limit=ACTIVITY_SHOWN),
    )


class TeamState(AuthState):
    loading: bool = True
    # Why the team cannot be shown (not a member, no such team); empty when it can.
    problem: str = ""
    team: TeamRow = TeamRow()
    members: list[MemberRow] = []

    @rx.var
    def owner_count(self) -> int:
        return sum(1 for member in self.members if member.role == "owner")

    # The projects the team was added to, each with the role the team's members have there.
    projects: list[ProjectRow] = []
    activity: list[ActivityRow] = []
    add_open: bool = False
    adding: bool = False
    add_error: str = ""
    # The member whose row is being changed, to show a spinner on that row only.
    busy_user_id: str = ""

    @rx.var
    def is_owner(self) -> bool:
        """Shows the owner's controls; the services refuse non-owners whatever the page shows."""
        return self.team.role == "owner"

    def _route_team_id(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    async def _reload(self) -> None:
        team, members, team_projects, feed = await self._call(_team_page, self._route_team_id())
        self.team = TeamRow.of(team)
        self.members = [MemberRow.of(m) for m in members]
        self.projects = [ProjectRow.of(p) for p in team_projects]
        self.activity = [ActivityRow.of(a) for a in feed]

    @rx.event
    async def load(self):
        self.team = TeamRow()
        self.members = []
        self.projects = []
        self.activity = []
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    def set_add_open(self, is_open: bool):
        self.add_open = is_open
        self.add_error = ""

    @rx.event
    async def add_member(self, form: dict):
        async def add():
            role = ensure_valid_role(str(form.get("role") or "developer"))
            added = await self._call(
                teams.add_team_member, self._route_team_id(), str(form.get("email", "")), role
            )
            await self._reload()
            self.add_open = False
            return rx.toast.success(f"{added.name or added.email} added as {added.role.value}.")

        async for event in self._attempt("adding", add, error="add_error"):
            yield event

    @rx.event
    async def change_role(self, user_id: str, role: str):
        async def change():
            changed = await self._call(
                teams.change_team_member_role,
                self._route_team_id(),
                user_id,
                ensure_valid_role(role),
            )
            await self._reload()
            return rx.toast.success(f"{changed.name or changed.email} is now {changed.role.value}.")

        async for event in self._attempt("busy_user_id", change, value=user_id):
            yield event

    @rx.event
    async def remove_member(self, user_id: str):
        async def remove():
            actor = await self._actor()
            await run_db(teams.remove_team_member, actor, self._route_team_id(), user_id)
            if str(actor.user_id) == user_id:
                return [rx.toast.success("You left the team."), rx.redirect("/teams")]
            await self._reload()
            return rx.toast.success("Member removed.")

        async for event in self._attempt("busy_user_id", remove, value=user_id):
            yield event
