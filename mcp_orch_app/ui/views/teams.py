"""/teams: my teams and the "New team" dialog."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    create_first,
    data_table,
    date_text,
    icon_count,
    list_or_empty,
    name_and_description_fields,
    page_header,
    role_badge,
    with_description,
)
from mcp_orch_app.ui.dialogs import form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.rows import TeamRow
from mcp_orch_app.ui.states.teams import TeamsState


def new_team_dialog() -> rx.Component:
    return form_dialog(
        rx.button(rx.icon("plus", size=16), "New team", id="new-team"),
        "New team",
        "A team is a group of people you can add to projects in one step. You become its owner.",
        *name_and_description_fields(
            "team-name", "e.g. Platform team", "Who is in this team? (optional)"
        ),
        error=TeamsState.create_error,
        submit_label="Create team",
        submitting=TeamsState.creating,
        submit_id="team-create-submit",
        on_submit=TeamsState.create,
        is_open=TeamsState.create_open,
        on_open_change=TeamsState.set_create_open,
        max_width="480px",
    )


def _team_row(team: TeamRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            with_description(
                rx.link(team.name, href="/teams/" + team.id, weight="medium", size="2"),
                team.description,
            )
        ),
        rx.table.cell(role_badge(team.role)),
        rx.table.cell(icon_count("users", team.member_count)),
        rx.table.cell(date_text(team.created)),
        align="center",
    )


@protected
def teams_page() -> rx.Component:
    return rx.box(
        page_header("Teams", "The teams you belong to.", new_team_dialog()),
        list_or_empty(
            TeamsState.teams,
            TeamsState.loading,
            "Loading your teams…",
            data_table(
                ["Team", "My role", "Members", "Created"],
                rx.foreach(TeamsState.teams, _team_row),
                id="teams-table",
            ),
            create_first(
                "users",
                "No teams yet",
                "Create a team to add a group of people to projects at once, "
                "with one role for all of them.",
                "Create your first team",
                TeamsState.set_create_open(True),
            ),
        ),
    )
