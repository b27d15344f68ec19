"""/projects/[project_id]/tool-calls: the tool-call log, newest first, with filters, rows that
expand to their full input and output, and a 30-second refresh that merges new calls in."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    CALL_STATUS_COLORS,
    ONE_LINE,
    call_status_badge,
    data_table,
    empty_state,
    error_callout,
    filter_select,
    form_field,
    load_more_button,
    once_loaded,
    refresh_button,
    section,
    server_and_tool,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ToolCallRow
from mcp_orch_app.ui.states.tool_calls import REFRESH_SECONDS, STATUS_CHOICES, ToolCallsState
from mcp_orch_app.ui.views.project_frame import project_frame
from mcp_orch_app.ui.views.server_detail import code_block
from mcp_orch_app.ui.views.server_editor import CODE_FONT
from mcp_orch_app.ui.views.time_range import custom_range_form, range_select

STORED_NOTE = rx.text(
    "Every call's arguments and result are stored here (kept for the log retention period) and "
    "readable by every member of the project; a server's own secrets (its env values and "
    "headers) are replaced with [redacted].",
    size="1",
    color_scheme="gray",
    id="tool-calls-stored-note",
)

COLUMNS = ["", "Time (UTC)", "Status", "Server · tool", "Duration", "Arguments or error", "Client"]
# Widths that keep the table inside a 1440 px screen with the sidebar: the free text cells
# are cut to one line, the error code and the client stay visible without expanding.
PREVIEW_WIDTH = "280px"
NAME_WIDTH = "220px"


def status_color(status, shade: int, css: str = "{}"):
    """The colour of a call status at ``shade``, written into ``css`` (``{}``: the colour)."""
    return rx.match(
        status,
        *[(name, css.format(rx.color(color, shade))) for name, color in CALL_STATUS_COLORS.items()],
        css.format(rx.color("gray", shade)),
    )


def session_link(session_id, label) -> rx.Component:
    """A link to one client session on the sessions page."""
    return rx.link(
        rx.hstack(rx.icon("plug", size=12), label, align="center", spacing="1"),
        href=ProjectFrameState.project_base + "/sessions?session=" + session_id,
        size="1",
        on_click=rx.stop_propagation,
        class_name="session-link",
    )


def _refresh_controls() -> rx.Component:
    return rx.hstack(
        rx.cond(
            ToolCallsState.refreshed_at != "",
            rx.text("Updated " + ToolCallsState.refreshed_at, size="1", color_scheme="gray"),
        ),
        rx.tooltip(
            rx.hstack(
                rx.switch(
                    checked=ToolCallsState.auto_refresh,
                    on_change=ToolCallsState.set_auto_refresh,
                    id="auto-refresh",
                    aria_label="Auto-refresh",
                    size="1",
                ),
                rx.text("Auto-refresh", size="2"),
                align="center",
                spacing="2",
            ),
            content=f"Adds new calls every {REFRESH_SECONDS} seconds, keeping what is open.",
        ),
        refresh_button(ToolCallsState.fetching, ToolCallsState.refresh, id="refresh-calls"),
        align="center",
        spacing="3",
    )


def _text_filter(name: str, label: str, placeholder: str, value, **props) -> rx.Component:
    return form_field(
        label,
        rx.input(
            name=name,
            id=f"filter-{name}",
            default_value=value,
            placeholder=placeholder,
            size="2",
            width="100%",
            **props,
        ),
    )


def _filter_form() -> rx.Component:
    return rx.form(
        rx.grid(
            rx.box(
                _text_filter(
                    "q",
                    "Search",
                    "Text in arguments, results and errors",
                    ToolCallsState.q,
                    max_length=200,
                ),
                grid_column=rx.breakpoints(initial="span 2", md="span 2"),
            ),
            _text_filter(
                "tool", "Tool", "echo or server__echo", ToolCallsState.tool, max_length=200
            ),
            _text_filter(
                "session_id", "Session", "Session id", ToolCallsState.session_id, max_length=64
            ),
            rx.hstack(
                _text_filter("min_ms", "Min ms", "0", ToolCallsState.min_ms, type="number", min=0),
                _text_filter("max_ms", "Max ms", "∞", ToolCallsState.max_ms, type="number", min=0),
                spacing="2",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("filter", size=14),
                    "Apply",
                    type="submit",
                    size="2",
                    loading=ToolCallsState.fetching,
                    id="apply-filters",
                ),
                rx.cond(
                    ToolCallsState.filtered,
                    rx.button(
                        "Clear",
                        type="button",
                        variant="ghost",
                        color_scheme="gray",
                        size="2",
                        on_click=ToolCallsState.clear_filters,
                        id="clear-filters",
                    ),
                ),
                align="end",
                spacing="2",
                height="100%",
            ),
            columns=rx.breakpoints(initial="1", sm="2", md="6"),
            spacing="3",
            align_items="end",
            width="100%",
        ),
        on_submit=ToolCallsState.apply_filters,
        reset_on_submit=False,
        width="100%",
    )


def _toolbar() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.hstack(
                range_select(ToolCallsState, ToolCallsState.fetching),
                filter_select(
                    "Status",
                    ToolCallsState.status,
                    ToolCallsState.set_status,
                    "All statuses",
                    STATUS_CHOICES,
                    disabled=ToolCallsState.fetching,
                    id="filter-status",
                ),
                filter_select(
                    "Server",
                    ToolCallsState.server_id,
                    ToolCallsState.set_server,
                    "All servers",
                    ToolCallsState.servers,
                    disabled=ToolCallsState.fetching,
                    id="filter-server",
                ),
                align="start",
                spacing="3",
                wrap="wrap",
            ),
            _refresh_controls(),
            justify="between",
            align="start",
            wrap="wrap",
            gap="var(--space-3)",
            width="100%",
        ),
        custom_range_form(ToolCallsState, ToolCallsState.fetching),
        _filter_form(),
        error_callout(ToolCallsState.filter_problem),
        rx.cond(
            ToolCallsState.refresh_problem != "",
            rx.callout(
                "Refreshing failed: " + ToolCallsState.refresh_problem,
                icon="triangle-alert",
                color_scheme="orange",
                size="1",
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _payload(title: str, text, empty: str) -> rx.Component:
    return rx.vstack(
        rx.text(title, size="1", weight="medium", color_scheme="gray"),
        rx.cond(
            text != "",
            code_block(text, class_name="call-payload"),
            rx.text(empty, size="2", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
        min_width="0",
    )


def _detail(row: ToolCallRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.cond(
                    row.error_message != "",
                    rx.callout(
                        rx.text(
                            rx.text.strong(row.error_code + " "),
                            row.error_message,
                            white_space="pre-wrap",
                            word_break="break-word",
                        ),
                        icon="circle-x",
                        color_scheme=rx.cond(row.status == "timeout", "orange", "red"),
                        size="1",
                        width="100%",
                    ),
                ),
                rx.grid(
                    _payload("Arguments", row.arguments_json, "No arguments."),
                    _payload("Result", row.result_json, "No result."),
                    columns=rx.breakpoints(initial="1", lg="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.hstack(
                    rx.text("Call #" + row.id.to_string(), size="1", color_scheme="gray"),
                    rx.text(row.when_at, size="1", color_scheme="gray"),
                    rx.cond(
                        row.session_id != "",
                        session_link(row.session_id, "Session " + row.session_id),
                        rx.text("No client session", size="1", color_scheme="gray"),
                    ),
                    spacing="4",
                    wrap="wrap",
                ),
                spacing="3",
                width="100%",
                padding_y="var(--space-2)",
            ),
            col_span=len(COLUMNS),
            background=rx.color("gray", 2),
        ),
        class_name="call-detail",
    )


def _summary(row: ToolCallRow) -> rx.Component:
    busy = ToolCallsState.expanding == row.id
    return rx.table.row(
        rx.table.cell(
            rx.cond(
                busy,
                rx.spinner(size="1"),
                rx.icon(rx.cond(row.expanded, "chevron-down", "chevron-right"), size=14),
            ),
            # The status colour as a bar at the row's left edge.
            box_shadow=status_color(row.status, 9, "inset 3px 0 0 {}"),
            width="28px",
        ),
        rx.table.cell(
            rx.tooltip(
                rx.text(row.when, size="1", color_scheme="gray", white_space="nowrap"),
                content=row.when_at,
            )
        ),
        rx.table.cell(
            rx.vstack(
                call_status_badge(row.status),
                rx.cond(
                    row.error_code != "",
                    rx.text(
                        row.error_code,
                        size="1",
                        font_family=CODE_FONT,
                        color=status_color(row.status, 11),
                        class_name="call-error-code",
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            server_and_tool(row.server_name, row.tool_name, style=ONE_LINE),
            max_width=NAME_WIDTH,
            title=row.server_name + " · " + row.tool_name,
        ),
        rx.table.cell(rx.text(row.duration, size="2", white_space="nowrap")),
        rx.table.cell(
            rx.cond(
                row.error != "",
                rx.text(row.error, size="1", color=status_color(row.status, 11), style=ONE_LINE),
                rx.text(row.arguments_preview, size="1", font_family=CODE_FONT, style=ONE_LINE),
            ),
            max_width=PREVIEW_WIDTH,
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(row.client_name, size="1", white_space="nowrap", class_name="call-client"),
                rx.cond(row.session_id != "", session_link(row.session_id, "session")),
                spacing="0",
            ),
            white_space="nowrap",
        ),
        on_click=ToolCallsState.toggle_row(row.id),
        cursor="pointer",
        background=rx.cond(row.status == "success", "transparent", status_color(row.status, 2)),
        _hover={"background": rx.color("gray", 3)},
        align="center",
        data_status=row.status,
        class_name="call-row",
    )


def _call(row: ToolCallRow) -> rx.Component:
    return rx.fragment(_summary(row), rx.cond(row.expanded, _detail(row)))


def _list() -> rx.Component:
    return rx.cond(
        ToolCallsState.rows.length() > 0,
        rx.vstack(
            data_table(COLUMNS, rx.foreach(ToolCallsState.rows, _call), id="tool-calls-table"),
            rx.cond(
                ToolCallsState.next_cursor != "",
                load_more_button(
                    ToolCallsState.loading_more, ToolCallsState.load_more, id="load-more"
                ),
                rx.text(
                    "No older calls in this range.",
                    size="1",
                    color_scheme="gray",
                    align_self="center",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        empty_state(
            "list-checks",
            rx.cond(ToolCallsState.filtered, "No matching calls", "No calls in this range"),
            rx.cond(
                ToolCallsState.filtered,
                "No tool call in this time range matches these filters.",
                "Calls made through this project's MCP endpoints, and tools tried from the "
                "servers page, appear here as they happen.",
            ),
        ),
    )


def _viewer() -> rx.Component:
    return section(
        "Tool calls",
        _toolbar(),
        STORED_NOTE,
        rx.box(_list(), width="100%", id="tool-calls"),
        rx.cond(
            ToolCallsState.auto_refresh,
            rx.moment(
                interval=REFRESH_SECONDS * 1000, on_change=ToolCallsState.tick, display="none"
            ),
        ),
        icon="list-checks",
    )


@protected
def tool_calls_page() -> rx.Component:
    return project_frame(
        "tool-calls",
        once_loaded(
            ToolCallsState.problem,
            error_callout(ToolCallsState.problem),
            ToolCallsState.loading,
            "Loading the tool calls…",
            _viewer(),
        ),
    )
