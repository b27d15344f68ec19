"""/teams: my teams and the "New team" dialog."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    ONE_LINE,
    data_table,
    empty_state,
    error_callout,
    form_field,
    loading_block,
    page_header,
    role_badge,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.rows import TeamRow
from mcp_orch_app.ui.states.teams import TeamsState


def new_team_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus", size=16), "New team", id="new-team")),
        rx.dialog.content(
            rx.dialog.title("New team"),
            rx.dialog.description(
                "A team is a group of people you can add to projects in one step. "
                "You become its owner.",
                size="2",
                color_scheme="gray",
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.vstack(
                    form_field(
                        "Name",
                        rx.input(
                            name="name",
                            id="team-name",
                            placeholder="e.g. Platform team",
                            max_length=100,
                            auto_focus=True,
                            width="100%",
                        ),
                    ),
                    form_field(
                        "Description",
                        rx.text_area(
                            name="description",
                            placeholder="Who is in this team? (optional)",
                            max_length=1000,
                            rows="3",
                            width="100%",
                        ),
                    ),
                    error_callout(TeamsState.create_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button(
                            "Create team",
                            type="submit",
                            loading=TeamsState.creating,
                            id="team-create-submit",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                        margin_top="var(--space-2)",
                    ),
                    spacing="4",
                ),
                on_submit=TeamsState.create,
                reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=TeamsState.create_open,
        on_open_change=TeamsState.set_create_open,
    )


def _team_row(team: TeamRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(team.name, href="/teams/" + team.id, weight="medium", size="2"),
                rx.cond(
                    team.description != "",
                    rx.text(team.description, size="1", color_scheme="gray", style=ONE_LINE),
                ),
                spacing="1",
                max_width="460px",
            )
        ),
        rx.table.cell(role_badge(team.role)),
        rx.table.cell(
            rx.hstack(rx.icon("users", size=14), rx.text(team.member_count), align="center")
        ),
        rx.table.cell(rx.text(team.created, size="1", color_scheme="gray", white_space="nowrap")),
        align="center",
    )


@protected
def teams_page() -> rx.Component:
    return rx.box(
        page_header("Teams", "The teams you belong to.", new_team_dialog()),
        rx.cond(
            TeamsState.loading & (TeamsState.teams.length() == 0),
            loading_block("Loading your teams…"),
            rx.cond(
                TeamsState.teams.length() > 0,
                data_table(
                    ["Team", "My role", "Members", "Created"],
                    rx.foreach(TeamsState.teams, _team_row),
                    id="teams-table",
                ),
                rx.card(
                    empty_state(
                        "users",
                        "No teams yet",
                        "Create a team to add a group of people to projects at once, "
                        "with one role for all of them.",
                        rx.button(
                            rx.icon("plus", size=16),
                            "Create your first team",
                            variant="soft",
                            on_click=TeamsState.set_create_open(True),
                        ),
                    ),
                    size="3",
                ),
            ),
        ),
    )
