"""/projects/[project_id]/members: members with role and how they joined, and the teams of the
project. Owners see the controls; everyone else sees the lists (and may leave)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    data_table,
    empty_state,
    error_callout,
    form_field,
    once_loaded,
    role_badge,
    section,
    time_ago,
)
from mcp_orch_app.ui.dialogs import confirm_dialog, form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.member_list import email_field, member_row, role_field
from mcp_orch_app.ui.states.members import MembersState
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import Choice, MemberRow, ProjectTeamRow
from mcp_orch_app.ui.views.project_frame import project_frame

ROLE_HINT = "Owners manage members, keys and settings; developers manage servers; reporters read."


def invite_dialog() -> rx.Component:
    return form_dialog(
        rx.button(rx.icon("user-plus", size=16), "Invite member", id="invite-member"),
        "Invite a member",
        "Add someone who already has an account on this instance, by their email.",
        email_field(id="invite-email"),
        role_field(ROLE_HINT),
        error=MembersState.invite_error,
        submit_label="Add member",
        submitting=MembersState.inviting,
        submit_id="invite-submit",
        on_submit=MembersState.invite,
        is_open=MembersState.invite_open,
        on_open_change=MembersState.set_invite_open,
    )


def _team_option(team: Choice) -> rx.Component:
    return rx.select.item(team.label, value=team.value)


def add_team_dialog() -> rx.Component:
    return form_dialog(
        rx.button(rx.icon("users", size=16), "Add team", variant="soft", id="add-team"),
        "Add a team",
        "Every member of the team joins the project with this role; people added to the team "
        "later join too. Members who are already in the project keep their own role.",
        form_field(
            "Team",
            rx.cond(
                MembersState.addable_teams.length() > 0,
                rx.select.root(
                    rx.select.trigger(placeholder="Choose one of your teams", width="100%"),
                    rx.select.content(rx.foreach(MembersState.addable_teams, _team_option)),
                    name="team_id",
                ),
                rx.text(
                    "None of your teams is left to add. Create teams on the Teams page.",
                    size="2",
                    color_scheme="gray",
                ),
            ),
        ),
        role_field(ROLE_HINT),
        error=MembersState.team_error,
        submit_label="Add team",
        submitting=MembersState.adding_team,
        on_submit=MembersState.add_team,
        is_open=MembersState.team_open,
        on_open_change=MembersState.set_team_open,
    )


def _joined_via(member: MemberRow) -> rx.Component:
    return rx.badge(
        rx.cond(
            member.joined_via == "Individual",
            rx.icon("user", size=12),
            rx.icon("users", size=12),
        ),
        member.joined_via,
        color_scheme="gray",
        variant="surface",
    )


def _member_row(member: MemberRow) -> rx.Component:
    return member_row(
        member,
        manages=ProjectFrameState.is_owner,
        busy=MembersState.busy_id == member.user_id,
        on_role_change=lambda role: MembersState.change_role(member.user_id, role),
        on_remove=MembersState.remove_member(member.user_id),
        place="project",
        owner_count=MembersState.owner_count,
        consequence="They lose access to the project's servers, keys and logs at once.",
        extra=(_joined_via(member),),
    )


def _members() -> rx.Component:
    return section(
        "Members",
        data_table(
            ["Member", "Role", "Joined via", "Joined", ""],
            rx.foreach(MembersState.members, _member_row),
            id="project-members-table",
        ),
        icon="users",
        actions=rx.cond(ProjectFrameState.is_owner, invite_dialog()),
    )


def _remove_team_button(team: ProjectTeamRow) -> rx.Component:
    return confirm_dialog(
        rx.icon_button(
            rx.icon("trash-2", size=16),
            variant="ghost",
            color_scheme="red",
            loading=MembersState.busy_id == team.team_id,
            aria_label="Remove the team " + team.team_name,
        ),
        "Remove the team " + team.team_name + "?",
        "Its members who joined through the team leave the project; members who were added "
        "on their own stay.",
        "Remove team",
        MembersState.remove_team(team.team_id),
    )


def _team_row(team: ProjectTeamRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(team.team_name, href="/teams/" + team.team_id, weight="medium", size="2")
        ),
        rx.table.cell(role_badge(team.role)),
        rx.table.cell(time_ago(team.added, team.added_at)),
        rx.table.cell(
            rx.cond(ProjectFrameState.is_owner, _remove_team_button(team)),
            text_align="right",
        ),
        align="center",
    )


def _teams() -> rx.Component:
    return section(
        "Teams",
        rx.cond(
            MembersState.project_teams.length() > 0,
            data_table(
                ["Team", "Role of its members", "Added", ""],
                rx.foreach(MembersState.project_teams, _team_row),
                id="project-teams-table",
            ),
            empty_state(
                "users",
                "No teams in this project",
                "Add a team to give all its members access in one step, with one role.",
            ),
        ),
        icon="users-round",
        actions=rx.cond(ProjectFrameState.is_owner, add_team_dialog()),
    )


@protected
def members_page() -> rx.Component:
    return project_frame(
        "members",
        once_loaded(
            MembersState.problem,
            error_callout(MembersState.problem),
            MembersState.loading,
            "Loading the members…",
            rx.vstack(_members(), _teams(), spacing="4", width="100%"),
        ),
    )
