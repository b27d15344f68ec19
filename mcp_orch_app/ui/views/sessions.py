"""/projects/[project_id]/sessions: who connected to the project's MCP endpoints, with which
key, from where, for how long, and how their calls went."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    data_table,
    empty_state,
    error_callout,
    load_more_button,
    once_loaded,
    section,
    time_ago,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ProjectSessionRow
from mcp_orch_app.ui.states.sessions import SessionsState
from mcp_orch_app.ui.views.project_frame import project_frame
from mcp_orch_app.ui.views.server_editor import CODE_FONT

COLUMNS = ["Client", "Endpoint", "API key", "Connection", "Activity", "State", "Calls", ""]


def _client(row: ProjectSessionRow) -> rx.Component:
    name = rx.text(row.client, size="2", weight="medium", white_space="nowrap")
    return rx.vstack(
        rx.cond(row.user_agent != "", rx.tooltip(name, content=row.user_agent), name),
        rx.tooltip(
            rx.text(row.id[:8], size="1", color_scheme="gray", font_family=CODE_FONT),
            content="Session " + row.id,
        ),
        spacing="1",
    )


def _connection(row: ProjectSessionRow) -> rx.Component:
    return rx.vstack(
        rx.text(row.transport, size="2", white_space="nowrap"),
        rx.text(row.ip, size="1", color_scheme="gray", font_family=CODE_FONT),
        spacing="1",
    )


def _activity(row: ProjectSessionRow) -> rx.Component:
    def line(label: str, text, exact) -> rx.Component:
        return rx.hstack(
            rx.text(label, size="1", color_scheme="gray", width="64px"),
            time_ago(text, exact),
            align="center",
            spacing="2",
        )

    return rx.vstack(
        line("started", row.started, row.started_at),
        line("last call", row.last_activity, row.last_activity_at),
        spacing="1",
    )


def _key(row: ProjectSessionRow) -> rx.Component:
    return rx.vstack(
        rx.text(row.key, size="2", white_space="nowrap"),
        rx.cond(
            row.key_prefix != "",
            rx.code(row.key_prefix + "…", size="1", variant="soft", color_scheme="gray"),
        ),
        spacing="1",
    )


def _calls(row: ProjectSessionRow) -> rx.Component:
    return rx.hstack(
        rx.text(row.total_calls, size="2", weight="medium"),
        rx.badge(row.successful_calls.to_string() + " ok", color_scheme="green", variant="soft"),
        rx.cond(
            row.failed_calls > 0,
            rx.badge(row.failed_calls.to_string() + " failed", color_scheme="red", variant="soft"),
        ),
        align="center",
        spacing="2",
        white_space="nowrap",
    )


def _row(row: ProjectSessionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_client(row)),
        rx.table.cell(
            rx.cond(
                row.endpoint == "unified",
                rx.badge("unified", color_scheme="violet", variant="soft"),
                rx.text(row.endpoint, size="2", font_family=CODE_FONT),
            )
        ),
        rx.table.cell(_key(row)),
        rx.table.cell(_connection(row)),
        rx.table.cell(_activity(row)),
        rx.table.cell(
            rx.cond(
                row.active,
                rx.badge("active", color_scheme="green", variant="soft"),
                rx.vstack(
                    rx.badge("ended", color_scheme="gray", variant="soft"),
                    time_ago(row.ended, row.ended_at),
                    spacing="1",
                ),
            )
        ),
        rx.table.cell(_calls(row)),
        rx.table.cell(
            rx.link(
                rx.hstack(rx.icon("list-checks", size=14), "Calls", align="center", spacing="1"),
                href=ProjectFrameState.project_base + "/tool-calls?range=7d&session=" + row.id,
                size="2",
                white_space="nowrap",
                class_name="session-calls-link",
            )
        ),
        align="center",
        class_name="session-row",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.segmented_control.root(
            rx.segmented_control.item("All", value="all"),
            rx.segmented_control.item("Active", value="active"),
            rx.segmented_control.item("Ended", value="ended"),
            value=SessionsState.state_filter,
            on_change=SessionsState.set_state_filter,
            id="session-state",
        ),
        rx.cond(SessionsState.fetching, rx.spinner(size="2")),
        align="center",
        spacing="3",
    )


def _one_session_banner() -> rx.Component:
    return rx.callout(
        rx.hstack(
            rx.text("Showing one session."),
            rx.link("Show all sessions", href=ProjectFrameState.project_base + "/sessions"),
            spacing="2",
            wrap="wrap",
        ),
        icon="filter",
        size="1",
        width="100%",
        id="one-session",
    )


def _list() -> rx.Component:
    return rx.cond(
        SessionsState.sessions.length() > 0,
        rx.vstack(
            rx.box(
                data_table(COLUMNS, rx.foreach(SessionsState.sessions, _row), id="sessions-table"),
                overflow_x="auto",
                width="100%",
            ),
            rx.cond(
                SessionsState.next_cursor != "",
                load_more_button(
                    SessionsState.loading_more, SessionsState.load_more, id="sessions-more"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        empty_state(
            "plug",
            rx.cond(SessionsState.only_session != "", "No such session", "No sessions"),
            rx.cond(
                SessionsState.only_session != "",
                "This project has no client session with that id.",
                rx.cond(
                    SessionsState.state_filter == "all",
                    "MCP clients that connect to this project's endpoints appear here.",
                    "No session matches this filter.",
                ),
            ),
        ),
    )


def _content() -> rx.Component:
    return section(
        "Client sessions",
        rx.cond(SessionsState.only_session != "", _one_session_banner(), _filters()),
        _list(),
        icon="plug",
        id="sessions",
    )


@protected
def sessions_page() -> rx.Component:
    return project_frame(
        "sessions",
        once_loaded(
            SessionsState.problem,
            error_callout(SessionsState.problem),
            SessionsState.loading,
            "Loading the sessions…",
            _content(),
        ),
    )
