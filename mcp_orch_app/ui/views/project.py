"""/projects/[project_id]: the project's overview (servers from the cached status, the latest
tool calls, the unified endpoint, members, recent activity)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    activity_feed,
    call_status_badge,
    copyable,
    data_table,
    empty_state,
    error_callout,
    once_loaded,
    person,
    role_badge,
    section,
    status_badge,
    status_dot,
    time_ago,
    with_description,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project import ProjectState
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import MemberRow, RecentCallRow, ServerRow, StatusCount
from mcp_orch_app.ui.views.project_frame import project_frame


def _status_card(item: StatusCount) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                status_dot(item.status),
                rx.text(item.status, size="2", color_scheme="gray", text_transform="capitalize"),
                align="center",
                spacing="2",
            ),
            rx.text(item.count, size="6", weight="bold"),
            spacing="2",
        ),
        size="2",
        class_name="status-count",
    )


def _status_summary() -> rx.Component:
    return rx.grid(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("server", size=14, color=rx.color("gray", 10)),
                    rx.text("Servers", size="2", color_scheme="gray"),
                    align="center",
                    spacing="2",
                ),
                rx.text(ProjectState.server_total, size="6", weight="bold"),
                spacing="2",
            ),
            size="2",
        ),
        rx.foreach(ProjectState.status_counts, _status_card),
        columns=rx.breakpoints(initial="2", sm="3", lg="6"),
        spacing="3",
        width="100%",
    )


def _server_status(server: ServerRow) -> rx.Component:
    badge = status_badge(server.status)
    return rx.cond(
        server.last_error != "",
        rx.tooltip(rx.box(badge, cursor="help"), content=server.last_error),
        badge,
    )


def _server_row(server: ServerRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            with_description(
                rx.text(
                    server.name, weight="medium", size="2", font_family="var(--code-font-family)"
                ),
                server.description,
                max_width="320px",
            )
        ),
        rx.table.cell(rx.text(server.transport, size="2", white_space="nowrap")),
        rx.table.cell(_server_status(server)),
        rx.table.cell(rx.text(server.tools_count)),
        rx.table.cell(
            rx.cond(
                server.enabled,
                rx.badge("enabled", color_scheme="green", variant="outline"),
                rx.badge("disabled", color_scheme="gray", variant="outline"),
            )
        ),
        rx.table.cell(time_ago(server.last_checked, server.last_checked_at)),
        align="center",
    )


def _tab_link(label, path: str, **props) -> rx.Component:
    """A link to another tab of the project, in a section's header."""
    return rx.link(
        rx.button(label, rx.icon("arrow-right", size=14), variant="ghost"),
        href=ProjectFrameState.project_base + path,
        **props,
    )


def _servers() -> rx.Component:
    return section(
        "Servers",
        rx.cond(
            ProjectState.server_total > ProjectState.servers.length(),
            rx.text(
                "The servers that need attention most (errors, then offline); the Servers tab "
                "lists them all.",
                size="2",
                color_scheme="gray",
            ),
        ),
        rx.cond(
            ProjectState.servers.length() > 0,
            data_table(
                ["Name", "Transport", "Status", "Tools", "Enabled", "Last checked"],
                rx.foreach(ProjectState.servers, _server_row),
                id="servers-table",
            ),
            empty_state(
                "server",
                "No servers yet",
                "MCP servers registered in this project appear here with their last known "
                "status, tool count and last health check.",
                rx.cond(
                    ProjectFrameState.can_develop,
                    rx.link(
                        rx.button(rx.icon("plus", size=16), "Add a server", variant="soft"),
                        # The servers page opens its add dialog on ?add=server.
                        href=ProjectFrameState.project_base + "/servers?add=server",
                        id="overview-add-server",
                    ),
                    rx.text("Ask a developer of the project to add one.", size="2"),
                ),
            ),
        ),
        icon="server",
        actions=rx.cond(
            ProjectState.server_total > 0,
            _tab_link(ProjectState.all_servers_label, "/servers", id="all-servers"),
        ),
    )


def _call_row(call: RecentCallRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(time_ago(call.when, call.when_at)),
        rx.table.cell(
            rx.text(
                call.server_name + " / " + call.tool_name,
                size="2",
                font_family="var(--code-font-family)",
            )
        ),
        rx.table.cell(
            rx.cond(
                call.error != "",
                rx.tooltip(
                    rx.box(call_status_badge(call.status), cursor="help"), content=call.error
                ),
                call_status_badge(call.status),
            )
        ),
        rx.table.cell(rx.text(call.duration, size="2", white_space="nowrap")),
        align="center",
    )


def _recent_calls() -> rx.Component:
    return section(
        "Recent tool calls",
        rx.cond(
            ProjectState.recent_calls.length() > 0,
            data_table(
                ["When", "Server / tool", "Status", "Duration"],
                rx.foreach(ProjectState.recent_calls, _call_row),
                id="recent-calls-table",
            ),
            rx.text(
                "No tool calls yet. Calls that MCP clients make through this project's "
                "endpoints are listed here.",
                color_scheme="gray",
                size="2",
            ),
        ),
        icon="list-checks",
        actions=_tab_link("All tool calls", "/tool-calls"),
    )


def _endpoint_line(label: str, url, test_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray", weight="medium"),
        copyable(url, data_testid=test_id),
        spacing="1",
        width="100%",
        min_width="0",
    )


def _unified_endpoint() -> rx.Component:
    return section(
        "Unified endpoint",
        rx.text(
            "One MCP endpoint with the tools of every enabled server of this project, named "
            "server__tool. Clients authenticate with a project API key.",
            size="2",
            color_scheme="gray",
        ),
        _endpoint_line("Streamable HTTP", ProjectState.unified_http_url, "unified-http-url"),
        _endpoint_line("SSE", ProjectState.unified_sse_url, "unified-sse-url"),
        rx.cond(
            ProjectState.allow_anonymous,
            rx.callout(
                "Open to anonymous clients: no API key is needed.",
                icon="lock-open",
                color_scheme="amber",
                size="1",
                width="100%",
            ),
        ),
        icon="waypoints",
        actions=rx.cond(
            ProjectState.unified_enabled,
            rx.badge("on", color_scheme="green", variant="soft", id="unified-state"),
            rx.tooltip(
                rx.badge("off", color_scheme="gray", variant="soft", id="unified-state"),
                content="An owner turns it on in the project settings.",
            ),
        ),
    )


def _member_row(member: MemberRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(person(member.name, member.email)),
        rx.table.cell(role_badge(member.role)),
        rx.table.cell(rx.text(member.joined_via, size="2", color_scheme="gray")),
        align="center",
    )


def _members() -> rx.Component:
    return section(
        "Members",
        data_table(
            ["Member", "Role", "Joined via"],
            rx.foreach(ProjectState.members, _member_row),
            id="members-table",
        ),
        icon="users",
        actions=rx.badge(ProjectState.members_label, variant="soft", color_scheme="gray"),
    )


def _activity() -> rx.Component:
    return section(
        "Recent activity",
        activity_feed(ProjectState.activity, "Nothing has happened in this project yet."),
        icon="activity",
    )


def _overview() -> rx.Component:
    return rx.box(
        rx.vstack(
            _status_summary(),
            _servers(),
            rx.grid(
                _recent_calls(),
                _unified_endpoint(),
                columns=rx.breakpoints(initial="1", lg="3fr 2fr"),
                spacing="4",
                width="100%",
            ),
            rx.grid(
                _members(),
                _activity(),
                columns=rx.breakpoints(initial="1", lg="2"),
                spacing="4",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        id="overview-content",
    )


@protected
def project_page() -> rx.Component:
    return project_frame(
        "overview",
        once_loaded(
            ProjectState.problem,
            error_callout(ProjectState.problem),
            ProjectState.loading,
            "Loading the overview…",
            _overview(),
        ),
    )
