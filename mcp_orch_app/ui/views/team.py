"""/teams/[team_id]: members (owners add, change roles, remove) and the team's activity."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    ROLES,
    activity_feed,
    data_table,
    form_field,
    item_header,
    once_loaded,
    person,
    problem_page,
    role_badge,
    section,
    time_ago,
)
from mcp_orch_app.ui.dialogs import confirm_dialog, form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import MemberRow
from mcp_orch_app.ui.states.team import TeamState


def add_member_dialog() -> rx.Component:
    return form_dialog(
        rx.button(rx.icon("user-plus", size=16), "Add member", size="2", id="add-member"),
        "Add a member",
        "Add someone who already has an account. They also join every project this "
        "team belongs to.",
        form_field(
            "Email",
            rx.input(
                name="email",
                type="email",
                placeholder="colleague@example.com",
                auto_focus=True,
                width="100%",
            ),
        ),
        form_field(
            "Role",
            rx.select(ROLES, name="role", default_value="developer", width="100%"),
            "Owners manage members; developers manage servers; reporters read.",
        ),
        error=TeamState.add_error,
        submit_label="Add member",
        submitting=TeamState.adding,
        on_submit=TeamState.add_member,
        is_open=TeamState.add_open,
        on_open_change=TeamState.set_add_open,
    )


def _remove_button(member: MemberRow) -> rx.Component:
    is_me = member.email == AuthState.user_email
    return confirm_dialog(
        rx.icon_button(
            rx.icon("user-round-x", size=16),
            variant="ghost",
            color_scheme="red",
            loading=TeamState.busy_user_id == member.user_id,
            title=rx.cond(is_me, "Leave the team", "Remove from the team"),
        ),
        rx.cond(is_me, "Leave the team?", "Remove " + member.name + "?"),
        "They also lose the project memberships they had only through this team.",
        rx.cond(is_me, "Leave", "Remove"),
        TeamState.remove_member(member.user_id),
    )


def _member_row(member: MemberRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(person(member.name, member.email)),
        rx.table.cell(
            rx.cond(
                TeamState.is_owner,
                rx.select(
                    ROLES,
                    value=member.role,
                    on_change=lambda role: TeamState.change_role(member.user_id, role),
                    size="1",
                    disabled=TeamState.busy_user_id == member.user_id,
                ),
                role_badge(member.role),
            )
        ),
        rx.table.cell(time_ago(member.joined, member.joined_at)),
        rx.table.cell(
            rx.cond(
                TeamState.is_owner | (member.email == AuthState.user_email),
                _remove_button(member),
            ),
            text_align="right",
        ),
        align="center",
    )


def _details() -> rx.Component:
    return rx.box(
        item_header("Teams", "/teams", TeamState.team),
        rx.grid(
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
