"""/projects/[project_id]/metrics: calls over time, success rate, average and p95 duration,
errors by code, and the busiest and the most failing tools of the chosen range."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    CALL_STATUS_COLORS,
    data_table,
    empty_state,
    error_callout,
    figure_card,
    filter_select,
    once_loaded,
    refresh_button,
    section,
    server_and_tool,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.metrics import MetricsState
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ErrorCodeRow, ToolUsageRow
from mcp_orch_app.ui.views.project_frame import project_frame
from mcp_orch_app.ui.views.time_range import range_picker

CHART_HEIGHT = 280
GAUGE_HEIGHT = 50


def _gauge() -> rx.Component:
    """The success rate as a half-circle gauge (0 % left, 100 % right)."""
    return rx.card(
        rx.hstack(
            rx.recharts.radial_bar_chart(
                # Not props of Reflex's axis: passed through as they are (0..100 on the arc).
                rx.recharts.polar_angle_axis(
                    tick=False, custom_attrs={"type": "number", "domain": [0, 100]}
                ),
                rx.recharts.radial_bar(
                    data_key="value", background=True, is_animation_active=False
                ),
                data=MetricsState.gauge,
                start_angle=180,
                end_angle=0,
                # Pixels: a half circle as wide as the chart, its centre on the bottom edge.
                cy=GAUGE_HEIGHT - 2,
                inner_radius=GAUGE_HEIGHT - 18,
                outer_radius=GAUGE_HEIGHT - 4,
                width=2 * GAUGE_HEIGHT,
                height=GAUGE_HEIGHT,
                id="success-gauge",
            ),
            rx.vstack(
                rx.text("Success rate", size="2", color_scheme="gray", white_space="nowrap"),
                rx.text(
                    MetricsState.success_rate,
                    size="6",
                    weight="bold",
                    white_space="nowrap",
                    id="metric-success-rate",
                ),
                spacing="1",
            ),
            align="center",
            spacing="3",
        ),
        size="2",
    )


def _figures() -> rx.Component:
    return rx.grid(
        figure_card(
            "Calls",
            MetricsState.total,
            "activity",
            "blue",
            "metric-total",
            MetricsState.success.to_string()
            + " ok · "
            + MetricsState.failed.to_string()
            + " failed · "
            + MetricsState.cancelled.to_string()
            + " cancelled",
        ),
        _gauge(),
        figure_card("Average duration", MetricsState.avg, "timer", "gray", "metric-avg"),
        figure_card("p95 duration", MetricsState.p95, "gauge", "orange", "metric-p95"),
        columns=rx.breakpoints(initial="1", sm="2", lg="4"),
        spacing="3",
        width="100%",
    )


def _timeline() -> rx.Component:
    areas = [
        rx.recharts.area(
            data_key=status,
            name=status,
            stack_id="calls",
            type_="monotone",
            stroke=rx.color(color, 9),
            fill=rx.color(color, 7),
            is_animation_active=False,
        )
        for status, color in CALL_STATUS_COLORS.items()
    ]
    return section(
        "Calls over time",
        rx.text(
            "UTC, one point per " + MetricsState.bucket + ".",
            size="1",
            color_scheme="gray",
        ),
        rx.recharts.area_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            rx.recharts.x_axis(data_key="label", min_tick_gap=24),
            rx.recharts.y_axis(allow_decimals=False, width=48),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            *areas,
            data=MetricsState.timeline,
            width="100%",
            height=CHART_HEIGHT,
        ),
        icon="chart-area",
        id="calls-over-time",
    )


def _tool_link(row: ToolUsageRow) -> rx.Component:
    return rx.link(
        server_and_tool(row.server_name, row.tool),
        href=ProjectFrameState.project_base
        + "/tool-calls?"
        + row.calls_query
        + "&range="
        + MetricsState.range_key,
        underline="hover",
    )


def _tool_row(row: ToolUsageRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_tool_link(row)),
        rx.table.cell(rx.text(row.total, size="2")),
        rx.table.cell(rx.text(row.failed, size="2")),
        rx.table.cell(rx.text(row.success_rate, size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row.avg, size="2", white_space="nowrap")),
        align="center",
    )


def _tools(title: str, rows, icon: str, id: str, empty: str) -> rx.Component:
    return section(
        title,
        rx.cond(
            rows.length() > 0,
            data_table(
                ["Tool", "Calls", "Failed", "Success", "Average"],
                rx.foreach(rows, _tool_row),
                id=id,
            ),
            rx.text(empty, size="2", color_scheme="gray"),
        ),
        icon=icon,
    )


def _error_row(row: ErrorCodeRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.error_code, variant="soft", color_scheme="red")),
        rx.table.cell(rx.text(row.count, size="2")),
        rx.table.cell(rx.text(row.share, size="2", white_space="nowrap")),
        align="center",
    )


def _errors() -> rx.Component:
    return section(
        "Errors by code",
        rx.cond(
            MetricsState.error_codes.length() > 0,
            data_table(
                ["Error code", "Calls", "Share of errors"],
                rx.foreach(MetricsState.error_codes, _error_row),
                id="errors-by-code",
            ),
            rx.text("No call failed in this range.", size="2", color_scheme="gray", id="no-errors"),
        ),
        icon="circle-x",
    )


def _dashboard() -> rx.Component:
    return rx.vstack(
        _figures(),
        _timeline(),
        rx.grid(
            _tools(
                "Top tools by calls",
                MetricsState.top_tools,
                "trophy",
                "top-tools",
                "No tool was called in this range.",
            ),
            _tools(
                "Top tools by failures",
                MetricsState.failing_tools,
                "flame",
                "failing-tools",
                "No tool failed in this range.",
            ),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
        ),
        _errors(),
        spacing="4",
        width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.flex(
                range_picker(MetricsState, MetricsState.fetching),
                filter_select(
                    "Server",
                    MetricsState.server_id,
                    MetricsState.set_server,
                    "All servers",
                    MetricsState.servers,
                    disabled=MetricsState.fetching,
                    id="metrics-server",
                ),
                gap="var(--space-3)",
                wrap="wrap",
                align="start",
            ),
            refresh_button(MetricsState.fetching, MetricsState.refresh, id="refresh-metrics"),
            justify="between",
            align="start",
            wrap="wrap",
            gap="var(--space-3)",
            width="100%",
        ),
        rx.cond(
            MetricsState.has_calls,
            _dashboard(),
            rx.card(
                empty_state(
                    "chart-line",
                    "No calls in this range",
                    "Figures appear once MCP clients call tools through this project's "
                    "endpoints, or tools are tried from the servers page. Try a longer range.",
                ),
                size="3",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
        id="metrics",
    )


@protected
def metrics_page() -> rx.Component:
    return project_frame(
        "metrics",
        once_loaded(
            MetricsState.problem,
            error_callout(MetricsState.problem),
            MetricsState.loading,
            "Loading the metrics…",
            _content(),
        ),
    )
