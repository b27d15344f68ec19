"""The add / edit dialog of a server: a form per transport, and the JSON import tab."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import data_table, error_callout, form_field
from mcp_orch_app.ui.states.rows import ImportResultRow
from mcp_orch_app.ui.states.server_editor import EXAMPLE_JSON, KeyValue, ServerEditorState

CODE_FONT = "var(--code-font-family)"
TRANSPORT_CHOICES = [
    ("stdio", "Local command (stdio)"),
    ("streamable_http", "Streamable HTTP (remote)"),
    ("sse", "SSE (remote)"),
]
OUTCOME_COLORS = {"created": "green", "skipped": "orange", "failed": "red"}


def _text_input(field: str, **props) -> rx.Component:
    return rx.input(
        value=getattr(ServerEditorState, field),
        on_change=lambda value: ServerEditorState.set_text(field, value),
        width="100%",
        id=f"server-{field}",
        **props,
    )


def _remove_button(on_click, label: str) -> rx.Component:
    return rx.icon_button(
        rx.icon("x", size=14),
        on_click=on_click,
        variant="ghost",
        color_scheme="gray",
        type="button",
        aria_label=label,
    )


def _add_button(label: str, on_click, button_id: str) -> rx.Component:
    return rx.button(
        rx.icon("plus", size=14),
        label,
        on_click=on_click,
        variant="soft",
        size="1",
        type="button",
        id=button_id,
    )


def _args_line() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.input(
                value=ServerEditorState.args_line,
                on_change=lambda value: ServerEditorState.set_text("args_line", value),
                on_blur=ServerEditorState.split_args_line,
                placeholder="Paste: npx -y @modelcontextprotocol/server-everything",
                font_family=CODE_FONT,
                width="100%",
                aria_label="Paste a command line to split into arguments",
                id="server-args-line",
            ),
            rx.button(
                rx.icon("scissors", size=14),
                "Split",
                on_click=ServerEditorState.split_args_line,
                variant="soft",
                size="1",
                type="button",
                id="server-split-args",
            ),
            align="center",
            width="100%",
        ),
        rx.text(
            "A pasted line is split the way a shell splits it: at spaces, except inside quotes "
            '("/srv/my files" stays one argument). Its first word fills the command when the '
            "command is empty or the same. Each argument is then one row below.",
            size="1",
            color_scheme="gray",
        ),
        spacing="1",
        width="100%",
    )


def _args_editor() -> rx.Component:
    return rx.vstack(
        _args_line(),
        rx.foreach(
            ServerEditorState.args,
            lambda arg, index: rx.hstack(
                rx.input(
                    value=arg,
                    on_change=lambda value: ServerEditorState.set_arg(index, value),
                    placeholder="argument",
                    font_family=CODE_FONT,
                    width="100%",
                    class_name="server-arg",
                ),
                _remove_button(ServerEditorState.remove_arg(index), "Remove this argument"),
                width="100%",
                align="center",
            ),
        ),
        rx.cond(
            ServerEditorState.args_warning != "",
            rx.callout(
                ServerEditorState.args_warning,
                icon="triangle-alert",
                color_scheme="orange",
                size="1",
                id="server-args-warning",
            ),
        ),
        _add_button("Add argument", ServerEditorState.add_arg, "server-add-arg"),
        spacing="2",
        width="100%",
    )


def _pairs_editor(which: str, key_placeholder: str, add_label: str) -> rx.Component:
    rows = getattr(ServerEditorState, which)

    def row(pair: KeyValue, index) -> rx.Component:
        return rx.hstack(
            rx.input(
                value=pair.key,
                on_change=lambda value: ServerEditorState.set_pair(which, index, "key", value),
                placeholder=key_placeholder,
                font_family=CODE_FONT,
                width="40%",
                class_name=f"{which}-key",
            ),
            rx.input(
                value=pair.value,
                on_change=lambda value: ServerEditorState.set_pair(which, index, "value", value),
                placeholder="value",
                type=rx.cond(ServerEditorState.show_secrets, "text", "password"),
                font_family=CODE_FONT,
                width="60%",
                class_name=f"{which}-value",
            ),
            _remove_button(ServerEditorState.remove_pair(which, index), "Remove this row"),
            width="100%",
            align="center",
        )

    return rx.vstack(
        rx.foreach(rows, row),
        _add_button(add_label, ServerEditorState.add_pair(which), f"server-add-{which}"),
        spacing="2",
        width="100%",
    )


def _secrets_hint() -> rx.Component:
    return rx.hstack(
        rx.text(
            "Values are stored encrypted and shown masked; a masked value left as it is keeps "
            "the stored one.",
            size="1",
            color_scheme="gray",
        ),
        rx.spacer(),
        rx.text("Show", size="1", color_scheme="gray"),
        rx.switch(
            checked=ServerEditorState.show_secrets,
            on_change=ServerEditorState.set_show_secrets,
            size="1",
            aria_label="Show the secret values",
        ),
        align="center",
        width="100%",
    )


def _stdio_fields() -> rx.Component:
    return rx.vstack(
        form_field(
            "Command",
            _text_input("command", placeholder="npx", font_family=CODE_FONT),
            "The program to run, for example npx, uvx or a path to an executable.",
        ),
        form_field("Arguments", _args_editor()),
        form_field(
            "Environment variables",
            rx.vstack(_pairs_editor("env", "NAME", "Add variable"), _secrets_hint(), width="100%"),
        ),
        form_field(
            "Working directory",
            _text_input("cwd", placeholder="(optional)", font_family=CODE_FONT),
        ),
        spacing="4",
        width="100%",
    )


def _remote_fields() -> rx.Component:
    return rx.vstack(
        form_field(
            "URL",
            _text_input("url", placeholder="https://mcp.example.com/mcp", font_family=CODE_FONT),
            "The server's MCP endpoint (http:// or https://).",
        ),
        form_field(
            "Headers",
            rx.vstack(
                _pairs_editor("headers", "Header-Name", "Add header"),
                _secrets_hint(),
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


def _switch_row(label: str, checked, on_change, switch_id: str) -> rx.Component:
    return rx.hstack(
        rx.switch(checked=checked, on_change=on_change, id=switch_id, aria_label=label),
        rx.text(label, size="2", white_space="nowrap"),
        align="center",
        spacing="2",
    )


def _form_tab() -> rx.Component:
    return rx.vstack(
        form_field(
            "Name",
            _text_input("name", placeholder="e.g. filesystem", max_length=64, auto_focus=True),
            "Letters, digits, '-' and '_'; it is part of the server's endpoint URL.",
        ),
        form_field(
            "Description",
            rx.text_area(
                value=ServerEditorState.description,
                on_change=lambda value: ServerEditorState.set_text("description", value),
                placeholder="What is this server for? (optional)",
                max_length=1000,
                rows="2",
                width="100%",
                id="server-description",
            ),
        ),
        form_field(
            "Transport",
            rx.select.root(
                rx.select.trigger(width="100%", id="server-transport"),
                rx.select.content(
                    *[rx.select.item(label, value=value) for value, label in TRANSPORT_CHOICES]
                ),
                value=ServerEditorState.transport,
                on_change=lambda value: ServerEditorState.set_text("transport", value),
            ),
        ),
        rx.cond(ServerEditorState.is_stdio, _stdio_fields(), _remote_fields()),
        rx.hstack(
            form_field(
                "Timeout (seconds)",
                _text_input("timeout", input_mode="numeric", max_width="140px"),
            ),
            rx.vstack(
                _switch_row(
                    "Enabled",
                    ServerEditorState.enabled,
                    ServerEditorState.set_enabled,
                    "server-enabled",
                ),
                _switch_row(
                    "Restart after a crash",
                    ServerEditorState.auto_restart,
                    ServerEditorState.set_auto_restart,
                    "server-auto-restart",
                ),
                spacing="2",
            ),
            align="end",
            spacing="6",
            width="100%",
        ),
        error_callout(ServerEditorState.error),
        rx.hstack(
            rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
            rx.button(
                rx.cond(ServerEditorState.server_id != "", "Save changes", "Add server"),
                on_click=ServerEditorState.save,
                loading=ServerEditorState.saving,
                id="server-save",
            ),
            justify="end",
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def _import_result(row: ImportResultRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, font_family=CODE_FONT, size="2")),
        rx.table.cell(
            rx.match(
                row.outcome,
                *[
                    (outcome, rx.badge(outcome, color_scheme=color, variant="soft"))
                    for outcome, color in OUTCOME_COLORS.items()
                ],
                rx.badge(row.outcome),
            )
        ),
        rx.table.cell(rx.text(row.reason, size="1", color_scheme="gray")),
        align="center",
    )


def _json_tab() -> rx.Component:
    return rx.vstack(
        rx.text(
            'Paste a Claude Desktop style configuration: {"mcpServers": {"name": {...}}}, or '
            "an encrypted export of mcp-orch. Each entry is created on its own; the report "
            "says what happened to each. Masked secrets (from a plain export) are refused.",
            size="2",
            color_scheme="gray",
        ),
        rx.text_area(
            value=ServerEditorState.json_text,
            on_change=lambda value: ServerEditorState.set_text("json_text", value),
            placeholder=EXAMPLE_JSON,
            rows="14",
            font_family=CODE_FONT,
            width="100%",
            id="server-import-json",
        ),
        rx.cond(
            ServerEditorState.import_is_sealed,
            form_field(
                "Passphrase",
                rx.input(
                    value=ServerEditorState.import_passphrase,
                    on_change=lambda value: ServerEditorState.set_text("import_passphrase", value),
                    type="password",
                    auto_complete="off",
                    placeholder="The passphrase the export was made with",
                    width="100%",
                    id="import-passphrase",
                ),
                "This is an encrypted export: it keeps the secrets, sealed with a passphrase.",
            ),
        ),
        error_callout(ServerEditorState.import_error),
        rx.cond(
            ServerEditorState.import_results.length() > 0,
            data_table(
                ["Server", "Result", "Reason"],
                rx.foreach(ServerEditorState.import_results, _import_result),
                id="import-report",
            ),
        ),
        rx.hstack(
            rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
            rx.button(
                rx.icon("file-json", size=16),
                "Import",
                on_click=ServerEditorState.import_json,
                loading=ServerEditorState.importing,
                id="server-import-submit",
            ),
            justify="end",
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def server_editor_dialog() -> rx.Component:
    """The dialog itself; the pages open it with ``ServerEditorState.open_new`` / ``open_edit``."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(ServerEditorState.title),
            rx.dialog.description(
                "An MCP server of this project: a local command mcp-orch runs, or a remote "
                "server it connects to.",
                size="2",
                color_scheme="gray",
                margin_bottom="var(--space-3)",
            ),
            rx.cond(
                ServerEditorState.loading,
                rx.center(rx.spinner(size="3"), padding="var(--space-6)"),
                rx.cond(
                    ServerEditorState.server_id != "",
                    _form_tab(),
                    rx.tabs.root(
                        rx.tabs.list(
                            rx.tabs.trigger("Form", value="form", id="server-tab-form"),
                            rx.tabs.trigger("JSON import", value="json", id="server-tab-json"),
                        ),
                        rx.tabs.content(_form_tab(), value="form", padding_top="var(--space-4)"),
                        rx.tabs.content(_json_tab(), value="json", padding_top="var(--space-4)"),
                        value=ServerEditorState.tab,
                        on_change=ServerEditorState.set_tab,
                    ),
                ),
            ),
            max_width="640px",
            id="server-dialog",
        ),
        open=ServerEditorState.is_open,
        on_open_change=ServerEditorState.set_open,
    )
