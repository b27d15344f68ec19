"""/projects/[project_id]/keys: create a key (shown once), list keys by prefix…suffix, revoke."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    colored_badge,
    copy_button,
    data_table,
    date_text,
    empty_state,
    error_callout,
    form_field,
    once_loaded,
    section,
    time_ago,
)
from mcp_orch_app.ui.dialogs import confirm_dialog, form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.api_keys import NEW_KEY, ApiKeysState
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ApiKeyRow
from mcp_orch_app.ui.views.project_frame import project_frame

KEY_STATUS_COLORS = {"active": "green", "expired": "orange", "revoked": "red"}


def create_key_dialog() -> rx.Component:
    return form_dialog(
        rx.button(rx.icon("plus", size=16), "Create key", id="create-key"),
        "Create an API key",
        "MCP clients send it as a Bearer token to this project's endpoints.",
        form_field(
            "Name",
            rx.input(
                name="name",
                placeholder="e.g. Cursor on my laptop",
                max_length=100,
                auto_focus=True,
                width="100%",
                id="key-name",
            ),
            "Say where the key is used, so you know what breaks when you revoke it.",
        ),
        form_field(
            "Expires on",
            rx.input(name="expires", type="date", width="100%", id="key-expires"),
            "Optional. The key stops working at the end of this day (UTC).",
        ),
        error=ApiKeysState.create_error,
        submit_label="Create key",
        submitting=ApiKeysState.creating,
        submit_id="key-create-submit",
        on_submit=ApiKeysState.create,
        is_open=ApiKeysState.create_open,
        on_open_change=ApiKeysState.set_create_open,
    )


def new_key_dialog() -> rx.Component:
    """The full key, once: closing the dialog forgets it."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Your new API key"),
            rx.dialog.description(
                "Key " + ApiKeysState.new_key_name + " is ready.",
                size="2",
                color_scheme="gray",
                margin_bottom="var(--space-4)",
            ),
            rx.vstack(
                rx.callout(
                    "Copy it now: this is the only time it is shown. mcp-orch keeps only a "
                    "hash of it and cannot show it again.",
                    icon="triangle-alert",
                    color_scheme="amber",
                    size="1",
                    width="100%",
                ),
                rx.hstack(
                    rx.code(
                        NEW_KEY.value,
                        size="3",
                        variant="soft",
                        word_break="break_all",
                        id="new-key-value",
                    ),
                    copy_button(NEW_KEY.value, "Copy the key", id="copy-new-key"),
                    align="center",
                    spacing="2",
                    width="100%",
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("I have copied it", id="new-key-done")),
                    justify="end",
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            max_width="520px",
        ),
        open=NEW_KEY.value != "",
        # Closed: the key is gone from the page too.
        on_open_change=NEW_KEY.set_value(""),
    )


def _revoke_button(key: ApiKeyRow) -> rx.Component:
    return confirm_dialog(
        rx.button(
            rx.icon("ban", size=14),
            "Revoke",
            size="1",
            variant="soft",
            color_scheme="red",
            loading=ApiKeysState.busy_key_id == key.id,
        ),
        "Revoke " + key.name + "?",
        "Clients using this key are refused from their next request on. This cannot be undone.",
        "Revoke key",
        ApiKeysState.revoke(key.id),
    )


def _last_used(key: ApiKeyRow) -> rx.Component:
    return rx.vstack(
        time_ago(key.last_used, key.last_used_at),
        rx.cond(
            key.last_used_ip != "",
            rx.text("from " + key.last_used_ip, size="1", color_scheme="gray"),
        ),
        spacing="0",
    )


def _key_row(key: ApiKeyRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(key.name, weight="medium", size="2")),
        rx.table.cell(rx.code(key.masked, size="2", variant="ghost", white_space="nowrap")),
        rx.table.cell(rx.text(key.creator, size="2")),
        rx.table.cell(date_text(key.created)),
        rx.table.cell(_last_used(key)),
        rx.table.cell(date_text(key.expires)),
        rx.table.cell(colored_badge(key.status, KEY_STATUS_COLORS)),
        rx.table.cell(
            rx.cond(
                ProjectFrameState.is_owner & (key.status != "revoked"),
                _revoke_button(key),
            ),
            text_align="right",
        ),
        align="center",
    )


def _keys() -> rx.Component:
    return section(
        "API keys",
        rx.cond(
            ApiKeysState.keys.length() > 0,
            data_table(
                ["Name", "Key", "Created by", "Created", "Last used", "Expires", "Status", ""],
                rx.foreach(ApiKeysState.keys, _key_row),
                id="keys-table",
            ),
            empty_state(
                "key-round",
                "No API keys yet",
                rx.cond(
                    ProjectFrameState.is_owner,
                    "Create a key for each MCP client that connects to this project.",
                    "An owner of the project creates keys for MCP clients.",
                ),
            ),
        ),
        icon="key-round",
        actions=rx.hstack(
            rx.badge(ApiKeysState.active_count.to(str) + " active", color_scheme="gray"),
            rx.cond(ProjectFrameState.is_owner, create_key_dialog()),
            align="center",
            spacing="3",
        ),
    )


@protected
def api_keys_page() -> rx.Component:
    return project_frame(
        "keys",
        once_loaded(
            ApiKeysState.problem,
            error_callout(ApiKeysState.problem),
            ApiKeysState.loading,
            "Loading the keys…",
            rx.box(_keys(), new_key_dialog(), width="100%"),
        ),
    )
