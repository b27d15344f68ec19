"""/projects/[project_id]/logs: the events of the project's servers, newest first, filtered by
minimum level, server, text and time range, with a live tail (new lines appear on top)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    data_table,
    empty_state,
    error_callout,
    filter_select,
    once_loaded,
    refresh_button,
    section,
    time_ago,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.rows import ProjectLogRow
from mcp_orch_app.ui.states.server_logs import (
    LEVEL_CHOICES,
    LOG_LIMIT,
    TAIL_SECONDS,
    ServerLogsState,
)
from mcp_orch_app.ui.views.project_frame import project_frame
from mcp_orch_app.ui.views.server_detail import LEVEL_COLORS, code_block
from mcp_orch_app.ui.views.server_editor import CODE_FONT
from mcp_orch_app.ui.views.time_range import custom_range_form, range_select


def _level(level) -> rx.Component:
    return rx.match(
        level,
        *[
            (name, rx.badge(name, color_scheme=color, variant="soft"))
            for name, color in LEVEL_COLORS.items()
        ],
        rx.badge(level),
    )


def _row(log: ProjectLogRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(time_ago(log.when, log.when_at)),
        rx.table.cell(_level(log.level)),
        rx.table.cell(rx.text(log.server_name, size="2", font_family=CODE_FONT)),
        rx.table.cell(rx.text(log.category, size="1", font_family=CODE_FONT)),
        rx.table.cell(
            rx.vstack(
                rx.text(log.message, size="2", white_space="pre-wrap", word_break="break-word"),
                rx.cond(
                    log.details != "",
                    rx.el.details(
                        rx.el.summary(
                            rx.text("Details", as_="span", size="1", color_scheme="gray"),
                            cursor="pointer",
                        ),
                        code_block(log.details, max_height="240px"),
                    ),
                ),
                spacing="1",
                width="100%",
            ),
            width="55%",
        ),
        align="center",
        data_level=log.level,
        class_name="log-row",
    )


def _search() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                name="q",
                id="log-search",
                default_value=ServerLogsState.q,
                placeholder="Search messages",
                aria_label="Search messages",
                max_length=200,
                size="2",
                width="220px",
            ),
            rx.button("Search", type="submit", variant="soft", size="2", id="log-search-apply"),
            spacing="2",
            align="center",
        ),
        on_submit=ServerLogsState.search,
        reset_on_submit=False,
    )


def _live_switch() -> rx.Component:
    return rx.tooltip(
        rx.el.label(
            rx.hstack(
                rx.switch(
                    checked=ServerLogsState.live,
                    on_change=ServerLogsState.set_live,
                    disabled=~ServerLogsState.tail_possible,
                    id="live-tail",
                    size="1",
                    aria_label="Live tail",
                ),
                rx.text("Live", size="2"),
                align="center",
                spacing="2",
            ),
        ),
        content=f"New entries appear on top every {TAIL_SECONDS} seconds.",
    )


def _filters() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.flex(
                range_select(ServerLogsState, ServerLogsState.fetching),
                rx.select.root(
                    rx.select.trigger(min_width="190px", aria_label="Level", id="log-level"),
                    rx.select.content(
                        *[rx.select.item(c.label, value=c.value) for c in LEVEL_CHOICES]
                    ),
                    value=ServerLogsState.level,
                    on_change=ServerLogsState.set_level,
                    disabled=ServerLogsState.fetching,
                ),
                filter_select(
                    "Server",
                    ServerLogsState.server_id,
                    ServerLogsState.set_server,
                    "All servers",
                    ServerLogsState.servers,
                    disabled=ServerLogsState.fetching,
                    id="log-server",
                ),
                _search(),
                gap="var(--space-3)",
                wrap="wrap",
                align="center",
            ),
            rx.hstack(
                _live_switch(),
                refresh_button(
                    ServerLogsState.fetching, ServerLogsState.refresh, id="refresh-logs"
                ),
                spacing="3",
                align="center",
            ),
            justify="between",
            wrap="wrap",
            gap="var(--space-3)",
            width="100%",
        ),
        custom_range_form(ServerLogsState, ServerLogsState.fetching),
        error_callout(ServerLogsState.filter_problem),
        spacing="3",
        width="100%",
    )


def _content() -> rx.Component:
    return section(
        "Server logs",
        _filters(),
        rx.cond(
            ServerLogsState.logs.length() > 0,
            rx.vstack(
                data_table(
                    ["When", "Level", "Server", "Event", "Message"],
                    rx.foreach(ServerLogsState.logs, _row),
                    id="server-logs-table",
                ),
                rx.cond(
                    ServerLogsState.at_limit,
                    rx.text(
                        f"The newest {LOG_LIMIT} entries; choose a level or a server to look "
                        "further back.",
                        size="1",
                        color_scheme="gray",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            empty_state(
                "scroll-text",
                "No log entries",
                "Server starts, stops, crashes, restarts, status changes and the stderr of "
                "stdio servers appear here; none match these filters yet.",
            ),
        ),
        rx.moment(interval=TAIL_SECONDS * 1000, on_change=ServerLogsState.tick, display="none"),
        icon="scroll-text",
        id="server-logs",
    )


@protected
def server_logs_page() -> rx.Component:
    return project_frame(
        "logs",
        once_loaded(
            ServerLogsState.problem,
            error_callout(ServerLogsState.problem),
            ServerLogsState.loading,
            "Loading the server logs…",
            _content(),
        ),
    )
