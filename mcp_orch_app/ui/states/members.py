"""/projects/[project_id]/members: who is in the project, in which role and how they joined;
owners invite people by email, change roles, remove members and add or remove whole teams.
Every change goes through the project services, which refuse anyone but an owner (a member
may only leave)."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.services import projects, teams
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.projects import ensure_valid_role
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import Choice, MemberRow, ProjectTeamRow


def _members_page(db: Session, actor: Actor, project_id: str):
    """The members, the teams in the project and the teams the actor could add to it."""
    members = projects.list_members(db, actor, project_id)
    linked = projects.list_project_teams(db, actor, project_id)
    in_project = {link.team_id for link in linked}
    addable = [
        t for t in teams.list_teams(db, actor, all_teams=actor.is_admin) if t.id not in in_project
    ]
    return members, linked, addable


class MembersState(ProjectFrameState):
    loading: bool = True
    problem: str = ""
    members: list[MemberRow] = []

    @rx.var
    def owner_count(self) -> int:
        return sum(1 for member in self.members if member.role == "owner")

    project_teams: list[ProjectTeamRow] = []
    # Teams the user belongs to that are not in the project yet (offered by "Add team").
    addable_teams: list[Choice] = []
    invite_open: bool = False
    inviting: bool = False
    invite_error: str = ""
    team_open: bool = False
    adding_team: bool = False
    team_error: str = ""
    # The member or team whose row is being changed, to show a spinner on that row only.
    busy_id: str = ""

    async def _reload(self) -> None:
        members, linked, addable = await self._call(_members_page, self.route_project_id())
        self.members = [MemberRow.of(m) for m in members]
        self.project_teams = [ProjectTeamRow.of(link) for link in linked]
        self.addable_teams = [Choice(value=str(t.id), label=t.name) for t in addable]

    @rx.event
    async def load(self):
        self.members = []
        self.project_teams = []
        self.addable_teams = []
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    def set_invite_open(self, is_open: bool):
        self.invite_open = is_open
        self.invite_error = ""

    @rx.event
    def set_team_open(self, is_open: bool):
        self.team_open = is_open
        self.team_error = ""

    @rx.event
    async def invite(self, form: dict):
        async def add():
            role = ensure_valid_role(str(form.get("role") or "developer"))
            email = str(form.get("email", ""))[:320]
            added = await self._call(projects.add_member, self.route_project_id(), email, role)
            await self._reload()
            self.invite_open = False
            return rx.toast.success(f"{added.name or added.email} added as {added.role.value}.")

        async for event in self._attempt("inviting", add, error="invite_error"):
            yield event

    @rx.event
    async def change_role(self, user_id: str, role: str):
        async def change():
            changed = await self._call(
                projects.change_member_role,
                self.route_project_id(),
                user_id,
                ensure_valid_role(role),
            )
            await self._reload()
            done = rx.toast.success(f"{changed.name or changed.email} is now {changed.role.value}.")
            # My own role changed: the header and the owner's controls follow.
            return [done, ProjectFrameState.load] if changed.email == self.user_email else done

        async for event in self._attempt("busy_id", change, value=user_id):
            yield event

    @rx.event
    async def remove_member(self, user_id: str):
        async def remove():
            actor = await self._actor()
            await run_db(projects.remove_member, actor, self.route_project_id(), user_id)
            if str(actor.user_id) == user_id:
                return [rx.toast.success("You left the project."), rx.redirect("/projects")]
            await self._reload()
            return rx.toast.success("Member removed.")

        async for event in self._attempt("busy_id", remove, value=user_id):
            yield event

    @rx.event
    async def add_team(self, form: dict):
        async def add():
            team_id = str(form.get("team_id") or "")
            if not team_id:
                self.team_error = "Choose a team."
                return None
            role = ensure_valid_role(str(form.get("role") or "developer"))
            link = await self._call(
                projects.add_team_to_project, self.route_project_id(), team_id, role
            )
            await self._reload()
            self.team_open = False
            return rx.toast.success(f"The team {link.team_name} joined as {link.role.value}.")

        async for event in self._attempt("adding_team", add, error="team_error"):
            yield event

    @rx.event
    async def remove_team(self, team_id: str):
        async def remove():
            await self._call(projects.remove_team_from_project, self.route_project_id(), team_id)
            await self._reload()
            return rx.toast.success("Team removed, with the memberships it brought.")

        async for event in self._attempt("busy_id", remove, value=team_id):
            yield event
