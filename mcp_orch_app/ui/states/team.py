"""/teams/[team_id]: a team's members (owners manage them) and its activity."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.services import activity, teams
from mcp_orch_app.services.errors import NotAuthenticated, ServiceError
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.projects import ensure_valid_role
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import ActivityRow, MemberRow, TeamRow

ACTIVITY_SHOWN = 30


def _team_page(db: Session, actor: Actor, team_id: str):
    """The team, its members and its feed, read in one transaction."""
    return (
        teams.get_team(db, actor, team_id),
        teams.list_team_members(db, actor, team_id),
        activity.list_team_activity(db, actor, team_id, limit=ACTIVITY_SHOWN),
    )


class TeamState(AuthState):
    loading: bool = True
    # Why the team cannot be shown (not a member, no such team); empty when it can.
    problem: str = ""
    team: TeamRow = TeamRow()
    members: list[MemberRow] = []
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
        team, members, feed = await self._call(_team_page, self._route_team_id())
        self.team = TeamRow.of(team)
        self.members = [MemberRow.of(m) for m in members]
        self.activity = [ActivityRow.of(a) for a in feed]

    @rx.event
    async def load(self):
        self.loading = True
        self.problem = ""
        self.team = TeamRow()
        self.members = []
        self.activity = []
        yield
        try:
            await self._reload()
        except NotAuthenticated as exc:
            yield self._failure(exc)
            return
        except ServiceError as exc:
            self.problem = exc.message
        self.loading = False

    @rx.event
    def set_add_open(self, is_open: bool):
        self.add_open = is_open
        self.add_error = ""

    @rx.event
    async def add_member(self, form: dict):
        self.adding = True
        self.add_error = ""
        yield
        try:
            role = ensure_valid_role(str(form.get("role") or "developer"))
            added = await self._call(
                teams.add_team_member, self._route_team_id(), str(form.get("email", "")), role
            )
            await self._reload()
        except NotAuthenticated as exc:
            yield self._failure(exc)
            return
        except ServiceError as exc:
            self.adding = False
            self.add_error = exc.message
            return
        self.adding = False
        self.add_open = False
        yield rx.toast.success(f"{added.name or added.email} added as {added.role.value}.")

    @rx.event
    async def change_role(self, user_id: str, role: str):
        self.busy_user_id = user_id
        yield
        try:
            changed = await self._call(
                teams.change_team_member_role,
                self._route_team_id(),
                user_id,
                ensure_valid_role(role),
            )
            await self._reload()
        except ServiceError as exc:
            self.busy_user_id = ""
            yield self._failure(exc)
            return
        self.busy_user_id = ""
        yield rx.toast.success(f"{changed.name or changed.email} is now {changed.role.value}.")

    @rx.event
    async def remove_member(self, user_id: str):
        self.busy_user_id = user_id
        yield
        try:
            actor = await self._actor()
            leaving = str(actor.user_id) == user_id
            await run_db(teams.remove_team_member, actor, self._route_team_id(), user_id)
            if not leaving:
                await self._reload()
        except ServiceError as exc:
            self.busy_user_id = ""
            yield self._failure(exc)
            return
        self.busy_user_id = ""
        if leaving:
            yield rx.toast.success("You left the team.")
            yield rx.redirect("/teams")
            return
        yield rx.toast.success("Member removed.")
