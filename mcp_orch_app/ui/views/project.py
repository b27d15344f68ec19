"""/projects/[project_id]: the project's overview (servers from the cached status, members,
recent activity)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    activity_feed,
    data_table,
    empty_state,
    item_header,
    once_loaded,
    person,
    problem_page,
    role_badge,
    section,
    status_badge,
    status_dot,
    time_ago,
    with_description,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project import ProjectState
from mcp_orch_app.ui.states.rows import MemberRow, ServerRow, StatusCount


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
                rx.text(ProjectState.servers.length(), size="6", weight="bold"),
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


def _servers() -> rx.Component:
    return section(
        "Servers",
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
            ),
        ),
        icon="server",
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
        item_header("Projects", "/projects", ProjectState.project),
        rx.vstack(
            _status_summary(),
            _servers(),
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
        id="project-overview",
    )


@protected
def project_page() -> rx.Component:
    return once_loaded(
        ProjectState.problem,
        problem_page(
            "Project not available", ProjectState.problem, "Back to projects", "/projects"
        ),
        ProjectState.loading,
        "Loading the project…",
        _overview(),
    )
