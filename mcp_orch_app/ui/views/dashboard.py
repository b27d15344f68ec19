"""/dashboard: servers by status, calls and failures of the last 24 hours and the latest
failed calls, across every project the person belongs to."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    call_status_badge,
    data_table,
    empty_state,
    error_callout,
    figure_card,
    once_loaded,
    page_header,
    section,
    server_and_tool,
    time_ago,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.dashboard import DashboardProjectRow, DashboardState, FailureRow


def _figures() -> rx.Component:
    s = DashboardState
    return rx.grid(
        figure_card(
            "Servers",
            s.server_count,
            "server",
            "blue",
            "dash-servers",
            s.offline.to_string()
            + " offline · "
            + s.disabled.to_string()
            + " disabled · "
            + s.unknown.to_string()
            + " unchecked",
        ),
        figure_card("Online", s.online, "circle-check", "green", "dash-online"),
        figure_card("Calls, last 24 h", s.calls, "activity", "blue", "dash-calls"),
        figure_card(
            "Failed calls, last 24 h",
            s.errors,
            "circle-x",
            "red",
            "dash-errors",
            s.error.to_string() + " servers in error",
        ),
        columns=rx.breakpoints(initial="1", sm="2", lg="4"),
        spacing="3",
        width="100%",
    )


def _count(value, color: str) -> rx.Component:
    return rx.cond(
        value > 0,
        rx.badge(value, color_scheme=color, variant="soft"),
        rx.text("0", size="2", color_scheme="gray"),
    )


def _project_row(row: DashboardProjectRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row.name, href="/projects/" + row.id, weight="medium")),
        rx.table.cell(_count(row.online, "green")),
        rx.table.cell(_count(row.offline, "orange")),
        rx.table.cell(_count(row.error, "red")),
        rx.table.cell(rx.text(row.calls, size="2")),
        rx.table.cell(_count(row.errors, "red")),
        align="center",
        class_name="dash-project",
    )


def _failure_row(row: FailureRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(time_ago(row.when, row.when_at)),
        rx.table.cell(rx.link(row.project_name, href="/projects/" + row.project_id, size="2")),
        rx.table.cell(server_and_tool(row.server_name, row.tool_name, white_space="nowrap")),
        rx.table.cell(
            rx.hstack(
                call_status_badge(row.status),
                rx.text(row.error_code, size="1", font_family="var(--code-font-family)"),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(
            rx.text(row.error_message, size="1", word_break="break-word"), max_width="360px"
        ),
        align="center",
        class_name="dash-failure",
    )


def _content() -> rx.Component:
    return rx.vstack(
        _figures(),
        section(
            "Projects",
            rx.cond(
                DashboardState.projects.length() > 0,
                rx.box(
                    data_table(
                        ["Project", "Online", "Offline", "Error", "Calls 24 h", "Failed 24 h"],
                        rx.foreach(DashboardState.projects, _project_row),
                        id="dash-projects",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                empty_state(
                    "folder-kanban",
                    "No projects yet",
                    "Create a project on the Projects page; its servers and calls show here.",
                    rx.link(rx.button("Go to projects"), href="/projects"),
                ),
            ),
            icon="folder-kanban",
        ),
        section(
            "Recent failures",
            rx.cond(
                DashboardState.failures.length() > 0,
                rx.box(
                    data_table(
                        ["When", "Project", "Server · tool", "Status", "Error"],
                        rx.foreach(DashboardState.failures, _failure_row),
                        id="dash-failures",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                empty_state("circle-check", "No failed calls", "No tool call failed in 24 hours."),
            ),
            icon="triangle-alert",
        ),
        spacing="6",
        width="100%",
    )


@protected
def dashboard_page() -> rx.Component:
    return rx.vstack(
        page_header("Dashboard", "Your projects at a glance: servers now, calls in the last day."),
        once_loaded(
            DashboardState.problem,
            error_callout(DashboardState.problem),
            DashboardState.loading,
            "Loading the dashboard…",
            _content(),
        ),
        width="100%",
        spacing="0",
    )
