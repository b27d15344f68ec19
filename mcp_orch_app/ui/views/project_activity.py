"""/projects/[project_id]/activity: the project's feed with filters by kind and person, paged."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    activity_feed,
    error_callout,
    filter_select,
    once_loaded,
    section,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project_activity import ProjectActivityState
from mcp_orch_app.ui.views.project_frame import project_frame


def _filters() -> rx.Component:
    return rx.hstack(
        filter_select(
            "Kind",
            ProjectActivityState.action,
            ProjectActivityState.filter_action,
            "All kinds",
            ProjectActivityState.kinds,
            disabled=ProjectActivityState.paging,
            id="activity-kind",
        ),
        filter_select(
            "Person",
            ProjectActivityState.actor_id,
            ProjectActivityState.filter_actor,
            "Everyone",
            ProjectActivityState.people,
            disabled=ProjectActivityState.paging,
            id="activity-actor",
        ),
        rx.cond(
            ProjectActivityState.filtered,
            rx.button(
                rx.icon("x", size=14),
                "Clear filters",
                variant="ghost",
                color_scheme="gray",
                on_click=ProjectActivityState.clear_filters,
            ),
        ),
        rx.cond(ProjectActivityState.paging, rx.spinner(size="2")),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("chevron-left", size=14),
            "Newer",
            variant="soft",
            color_scheme="gray",
            disabled=(ProjectActivityState.page_number < 2) | ProjectActivityState.paging,
            on_click=ProjectActivityState.newer,
            id="activity-newer",
        ),
        rx.text(
            "Page " + ProjectActivityState.page_number.to(str),
            size="2",
            color_scheme="gray",
            id="activity-page",
        ),
        rx.button(
            "Older",
            rx.icon("chevron-right", size=14),
            variant="soft",
            color_scheme="gray",
            disabled=~ProjectActivityState.has_older | ProjectActivityState.paging,
            on_click=ProjectActivityState.older,
            id="activity-older",
        ),
        justify="end",
        align="center",
        spacing="3",
        width="100%",
    )


def _feed() -> rx.Component:
    return section(
        "Activity",
        _filters(),
        rx.box(
            activity_feed(
                ProjectActivityState.entries,
                rx.cond(
                    ProjectActivityState.filtered,
                    "No entries match these filters.",
                    "Nothing has happened in this project yet.",
                ),
            ),
            width="100%",
            id="activity-feed",
        ),
        _pager(),
        icon="activity",
    )


@protected
def project_activity_page() -> rx.Component:
    return project_frame(
        "activity",
        once_loaded(
            ProjectActivityState.problem,
            error_callout(ProjectActivityState.problem),
            ProjectActivityState.loading,
            "Loading the activity…",
            _feed(),
        ),
    )
