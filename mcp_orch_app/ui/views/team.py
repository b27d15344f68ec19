"""/teams/[team_id]: members (owners add, change roles, remove) and the team's activity."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    ROLES,
    activity_feed,
    breadcrumbs,
    data_table,
    error_callout,
    form_field,
    loading_block,
    page_header,
    person,
    problem_page,
    role_badge,
    section,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import MemberRow
from mcp_orch_app.ui.states.team import TeamState


def add_member_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("user-plus", size=16), "Add member", size="2", id="add-member")
        ),
        rx.dialog.content(
            rx.dialog.title("Add a member"),
            rx.dialog.description(
                "Add someone who already has an account. They also join every project this "
                "team belongs to.",
                size="2",
                color_scheme="gray",
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.vstack(
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
                    error_callout(TeamState.add_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Add member", type="submit", loading=TeamState.adding),
                        justify="end",
                        spacing="3",
                        width="100%",
                        margin_top="var(--space-2)",
                    ),
                    spacing="4",
                ),
                on_submit=TeamState.add_member,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=TeamState.add_open,
        on_open_change=TeamState.set_add_open,
    )


def _remove_button(member: MemberRow) -> rx.Component:
    is_me = member.email == AuthState.user_email
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.icon_button(
                rx.icon("user-round-x", size=16),
                variant="ghost",
                color_scheme="red",
                loading=TeamState.busy_user_id == member.user_id,
                title=rx.cond(is_me, "Leave the team", "Remove from the team"),
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(rx.cond(is_me, "Leave the team?", "Remove " + member.name + "?")),
            rx.alert_dialog.description(
                "They also lose the project memberships they had only through this team.",
                size="2",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        rx.cond(is_me, "Leave", "Remove"),
                        color_scheme="red",
                        on_click=TeamState.remove_member(member.user_id),
                    )
                ),
                justify="end",
                spacing="3",
                margin_top="var(--space-4)",
            ),
            max_width="420px",
        ),
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
        rx.table.cell(
            rx.tooltip(
                rx.text(member.joined, size="2", color_scheme="gray", white_space="nowrap"),
                content=member.joined_at,
            )
        ),
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
        breadcrumbs(("Teams", "/teams"), (TeamState.team.name, None)),
        page_header(
            TeamState.team.name,
            rx.cond(
                TeamState.team.description != "", TeamState.team.description, "No description."
            ),
            badge=rx.hstack(
                rx.text("You are", size="2", color_scheme="gray"),
                role_badge(TeamState.team.role),
                align="center",
                spacing="2",
            ),
        ),
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
    return rx.cond(
        TeamState.problem != "",
        problem_page("Team not available", TeamState.problem, "Back to teams", "/teams"),
        rx.cond(TeamState.loading, loading_block("Loading the team…"), _details()),
    )
