"""The frame of every project page: breadcrumbs, the project's header and its tabs.

A page draws ``project_frame("servers", content)``; ``content`` is shown once the project
header loaded, the reason in its place when the user may not see the project.
"""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import item_header, once_loaded, problem_page
from mcp_orch_app.ui.states.project_frame import ProjectFrameState

# (key, label, icon, path below /projects/{id})
PROJECT_TABS = [
    ("overview", "Overview", "layout-dashboard", ""),
    ("servers", "Servers", "server", "/servers"),
    ("tool-calls", "Tool calls", "list-checks", "/tool-calls"),
    ("metrics", "Metrics", "chart-line", "/metrics"),
    ("sessions", "Sessions", "plug", "/sessions"),
    ("logs", "Server logs", "scroll-text", "/logs"),
    ("members", "Members", "users", "/members"),
    ("keys", "API keys", "key-round", "/keys"),
    ("activity", "Activity", "activity", "/activity"),
    ("settings", "Settings", "settings", "/settings"),
]


def _tab(key: str, label: str, icon: str, path: str, active: str) -> rx.Component:
    selected = key == active
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=15),
            rx.text(label, size="2", weight="medium", white_space="nowrap"),
            align="center",
            spacing="2",
            padding_x="var(--space-2)",
            padding_y="var(--space-2)",
            color=rx.color("accent", 11) if selected else rx.color("gray", 11),
            border_bottom=f"2px solid {rx.color('accent', 9) if selected else 'transparent'}",
            _hover={"color": rx.color("gray", 12)},
        ),
        href=ProjectFrameState.project_base + path,
        underline="none",
        data_testid=f"tab-{key}",
    )


def project_tabs(active: str) -> rx.Component:
    return rx.hstack(
        *[_tab(*tab, active) for tab in PROJECT_TABS],
        spacing="1",
        width="100%",
        # One row always: ten tabs fit beside the sidebar from 1366 px; narrower screens
        # scroll the row sideways (a second row pushed the page down and looked like two bars).
        wrap="nowrap",
        overflow_x="auto",
        overflow_y="hidden",
        flex_shrink="0",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        margin_bottom="var(--space-5)",
        id="project-tabs",
    )


def project_frame(active: str, content: rx.Component) -> rx.Component:
    return once_loaded(
        ProjectFrameState.frame_problem,
        problem_page(
            "Project not available",
            ProjectFrameState.frame_problem,
            "Back to projects",
            "/projects",
        ),
        ProjectFrameState.frame_loading & (ProjectFrameState.project.id == ""),
        "Loading the project…",
        rx.box(
            item_header("Projects", "/projects", ProjectFrameState.project),
            project_tabs(active),
            content,
            width="100%",
            id=f"project-{active}",
        ),
    )
