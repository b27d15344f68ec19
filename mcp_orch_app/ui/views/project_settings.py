"""/projects/[project_id]/settings: details, access to the MCP endpoints, and deleting the project.
Non-owners see the settings read-only."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    error_callout,
    form_field,
    once_loaded,
    section,
    switch_row,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.project_settings import ProjectSettingsState as Settings
from mcp_orch_app.ui.views.connected_apps import connected_apps_section
from mcp_orch_app.ui.views.project_frame import project_frame

READ_ONLY = ~ProjectFrameState.is_owner


def _details() -> rx.Component:
    return section(
        "Details",
        rx.form(
            rx.vstack(
                form_field(
                    "Name",
                    rx.input(
                        name="name",
                        default_value=Settings.name,
                        max_length=100,
                        disabled=READ_ONLY,
                        width="100%",
                        id="settings-name",
                    ),
                ),
                form_field(
                    "Description",
                    rx.text_area(
                        name="description",
                        default_value=Settings.description,
                        max_length=1000,
                        rows="3",
                        disabled=READ_ONLY,
                        width="100%",
                        id="settings-description",
                    ),
                ),
                error_callout(Settings.details_error),
                rx.cond(
                    ProjectFrameState.is_owner,
                    rx.button("Save", type="submit", loading=Settings.saving, id="settings-save"),
                    rx.text(
                        "Only owners of the project can change its settings.",
                        size="2",
                        color_scheme="gray",
                        id="settings-read-only",
                    ),
                ),
                spacing="4",
                align="start",
                width="100%",
                max_width="560px",
            ),
            on_submit=Settings.save_details,
            reset_on_submit=False,
        ),
        icon="pencil",
    )


def _switch_row(title: str, text: str, checked, key: str) -> rx.Component:
    return switch_row(
        rx.vstack(
            rx.text(title, size="2", weight="medium"),
            rx.text(text, size="1", color_scheme="gray"),
            spacing="1",
            max_width="640px",
        ),
        Settings.saving_switch == key,
        rx.switch(
            checked=checked,
            on_change=lambda value: Settings.set_switch(key, value),
            disabled=READ_ONLY | (Settings.saving_switch != ""),
            size="3",
            id=f"switch-{key}",
            aria_label=title,
        ),
    )


def _naming_row() -> rx.Component:
    title = "Tool and prompt names"
    return switch_row(
        rx.vstack(
            rx.text(title, size="2", weight="medium"),
            rx.text(
                "How the unified endpoint names tools and prompts. Prefixed: always "
                "server__tool. Bare names: a tool's own name when only one server offers it, "
                "server__tool when more do. server__tool keeps working either way; a name a "
                "client has seen keeps its meaning for its session.",
                size="1",
                color_scheme="gray",
            ),
            spacing="1",
            max_width="640px",
        ),
        Settings.saving_switch == "unified_naming",
        rx.select.root(
            rx.select.trigger(min_width="160px", aria_label=title, id="select-unified_naming"),
            rx.select.content(
                rx.select.item("Prefixed (server__tool)", value="prefixed"),
                rx.select.item("Bare names when unique", value="bare"),
            ),
            value=Settings.unified_naming,
            on_change=Settings.set_naming,
            disabled=READ_ONLY | (Settings.saving_switch != ""),
        ),
    )


def _access() -> rx.Component:
    return section(
        "Access",
        _switch_row(
            "Unified endpoint",
            "One MCP endpoint (/unified/mcp and /unified/sse) with the tools of every enabled "
            "server of the project, named as chosen below.",
            Settings.unified_enabled,
            "unified_enabled",
        ),
        rx.separator(),
        _naming_row(),
        rx.separator(),
        _switch_row(
            "Anonymous access",
            "Lets MCP clients use this project's endpoints without an API key. Anyone who can "
            "reach this instance can then call its tools: leave it off unless the instance is "
            "private.",
            Settings.allow_anonymous,
            "allow_anonymous",
        ),
        icon="shield",
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("trash-2", size=16), "Delete project", color_scheme="red", id="delete"
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete " + Settings.name + "?"),
            rx.alert_dialog.description(
                "Its servers, API keys, tool-call logs, sessions and activity are deleted "
                "with it, and clients using its endpoints stop working. This cannot be undone.",
                size="2",
            ),
            rx.vstack(
                form_field(
                    "Type the project's name to confirm",
                    rx.input(
                        value=Settings.delete_typed,
                        on_change=Settings.set_delete_typed,
                        placeholder=Settings.name,
                        auto_complete="off",
                        width="100%",
                        id="delete-confirm-name",
                    ),
                ),
                error_callout(Settings.delete_error),
                rx.hstack(
                    rx.alert_dialog.cancel(
                        rx.button("Cancel", variant="soft", color_scheme="gray")
                    ),
                    rx.button(
                        "Delete this project",
                        color_scheme="red",
                        disabled=~Settings.delete_confirmed,
                        loading=Settings.deleting,
                        on_click=Settings.delete_project,
                        id="delete-confirm",
                    ),
                    justify="end",
                    spacing="3",
                    width="100%",
                ),
                spacing="4",
                margin_top="var(--space-4)",
                width="100%",
            ),
            max_width="460px",
        ),
        open=Settings.delete_open,
        on_open_change=Settings.set_delete_open,
    )


def _danger_zone() -> rx.Component:
    return section(
        "Delete the project",
        rx.flex(
            rx.text(
                "Deletes the project with everything in it, for every member.",
                size="2",
                color_scheme="gray",
            ),
            _delete_dialog(),
            justify="between",
            align="center",
            spacing="4",
            wrap="wrap",
            width="100%",
        ),
        icon="triangle-alert",
        border=f"1px solid {rx.color('red', 6)}",
    )


def _settings() -> rx.Component:
    return rx.vstack(
        _details(),
        _access(),
        rx.cond(
            ProjectFrameState.is_owner,
            connected_apps_section(
                Settings.apps,
                Settings.revoke_app,
                Settings.revoking,
                with_user=True,
                text="MCP clients members connected with OAuth; each acts with its user's role.",
            ),
        ),
        rx.cond(ProjectFrameState.is_owner, _danger_zone()),
        spacing="4",
        width="100%",
    )


@protected
def project_settings_page() -> rx.Component:
    return project_frame(
        "settings",
        once_loaded(
            Settings.problem,
            error_callout(Settings.problem),
            Settings.loading,
            "Loading the settings…",
            _settings(),
        ),
    )
