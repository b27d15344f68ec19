"""/teams/[team_id]: members (owners add, change roles, remove), the team's projects and its
activity."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    activity_feed,
    data_table,
    date_text,
    item_header,
    once_loaded,
    problem_page,
    role_badge,
    section,
)
from mcp_orch_app.ui.dialogs import form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.member_list import email_field, member_row, role_field
from mcp_orch_app.ui.states.rows import MemberRow, ProjectRow
from mcp_orch_app.ui.states.team import TeamState


def add_member_dialog() -> rx.Component:
    return form_dialog(
        rx.button(rx.icon("user-plus", size=16), "Add member", size="2", id="add-member"),
        "Add a member",
        "Add someone who already has an account. They also join every project this "
        "team belongs to.",
        email_field(),
        role_field("Owners manage members; developers manage servers; reporters read."),
        error=TeamState.add_error,
        submit_label="Add member",
        submitting=TeamState.adding,
        on_submit=TeamState.add_member,
        is_open=TeamState.add_open,
        on_open_change=TeamState.set_add_open,
    )


def _member_row(member: MemberRow) -> rx.Component:
    return member_row(
        member,
        manages=TeamState.is_owner,
        busy=TeamState.busy_user_id == member.user_id,
        on_role_change=lambda role: TeamState.change_role(member.user_id, role),
        on_remove=TeamState.remove_member(member.user_id),
        place="team",
        owner_count=TeamState.owner_count,
        consequence="They also lose the project memberships that came only through this team.",
    )


def _project_row(project: ProjectRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(project.name, href="/projects/" + project.id, weight="medium", size="2")
        ),
        rx.table.cell(role_badge(project.role)),
        rx.table.cell(date_text(project.created)),
        align="center",
    )


def _projects() -> rx.Component:
    return section(
        "Projects",
        rx.cond(
            TeamState.projects.length() > 0,
            data_table(
                ["Project", "Members' role", "Created"],
                rx.foreach(TeamState.projects, _project_row),
                id="team-projects-table",
            ),
            rx.text(
                "This team is in no project yet. A project owner adds it on the project's "
                "Members page.",
                size="2",
                color_scheme="gray",
            ),
        ),
        icon="folder-kanban",
    )


def _details() -> rx.Component:
    return rx.box(
        item_header("Teams", "/teams", TeamState.team),
        rx.grid(
            rx.vstack(
                section(
                    "Members",
                    data_table(
                        ["Member", "Role", "Joined", ""],
                        rx.foreach(TeamState.members, _member_row),
                        id="team-members-table",
                    ),
                    icon="users",
                    actions=rx.cond(TeamState.is_owner, add_member_dialog()),
                ),
                _projects(),
                spacing="4",
                width="100%",
            ),
            section(
                "Activity",
                activity_feed(TeamState.activity, "Nothing has happened in this team yet."),
                icon="activity",
            ),
            columns=rx.breakpoints(initial="1", lg="3fr 2fr"),
            spacing="4",
            width="100%",
        ),
    )


@protected
def team_page() -> rx.Component:
    return once_loaded(
        TeamState.problem,
        problem_page("Team not available", TeamState.problem, "Back to teams", "/teams"),
        TeamState.loading,
        "Loading the team…",
        _details(),
    )
