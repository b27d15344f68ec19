"""/projects/[project_id]/servers: the servers table, its live actions and the header actions
(refresh all, add, import, export)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    checking_badge,
    data_table,
    empty_state,
    error_callout,
    once_loaded,
    search_input,
    status_with_error,
    time_ago,
    with_description,
)
from mcp_orch_app.ui.dialogs import confirm_dialog_for, form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ServerRow
from mcp_orch_app.ui.states.server_editor import ServerEditorState
from mcp_orch_app.ui.states.servers import ServersState
from mcp_orch_app.ui.views.project_frame import project_frame
from mcp_orch_app.ui.views.server_editor import CODE_FONT, server_editor_dialog

HEADERS = ["Server", "Status", "Transport", "Tools", "Last checked", "Enabled", ""]


def server_href(server_id) -> rx.Var:
    return ProjectFrameState.project_base + "/servers/" + server_id


def action_button(icon: str, label, on_click, **props) -> rx.Component:
    """A small icon button of a row, named by its title (a native tooltip: a table of many
    rows draws fast without a tooltip component per button)."""
    return rx.icon_button(
        rx.icon(icon, size=15),
        on_click=on_click,
        variant="ghost",
        color_scheme="gray",
        aria_label=label,
        title=label,
        **props,
    )


def _row_actions(server: ServerRow) -> rx.Component:
    checking = ServersState.checking.contains(server.id)
    return rx.hstack(
        action_button(
            "refresh-cw",
            rx.cond(server.enabled, "Check now", "Enable the server to check it"),
            ServersState.refresh(server.id),
            loading=checking,
            disabled=~server.enabled,
            class_name="server-refresh",
        ),
        rx.cond(
            ProjectFrameState.can_develop,
            rx.hstack(
                action_button(
                    "rotate-ccw",
                    "Restart",
                    ServersState.restart(server.id),
                    disabled=~server.enabled | checking,
                    class_name="server-restart",
                ),
                action_button(
                    "pencil",
                    "Edit",
                    ServerEditorState.open_edit(server.id),
                    class_name="server-edit",
                ),
                rx.icon_button(
                    rx.icon("trash-2", size=15),
                    variant="ghost",
                    color_scheme="red",
                    loading=ServersState.busy_id == server.id,
                    title="Delete",
                    aria_label="Delete",
                    class_name="server-delete",
                    on_click=ServersState.ask_delete(server.id),
                ),
                spacing="3",
            ),
        ),
        spacing="3",
        justify="end",
    )


def _server_row(server: ServerRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            with_description(
                rx.link(
                    server.name,
                    href=server_href(server.id),
                    weight="medium",
                    size="2",
                    font_family=CODE_FONT,
                ),
                server.description,
                max_width="300px",
            )
        ),
        rx.table.cell(
            rx.cond(
                ServersState.checking.contains(server.id),
                checking_badge(class_name="server-checking"),
                status_with_error(server.status, server.last_error),
            ),
            class_name="server-status",
        ),
        rx.table.cell(rx.text(server.transport, size="2", white_space="nowrap")),
        rx.table.cell(rx.text(server.tools_count, size="2"), class_name="server-tools"),
        rx.table.cell(time_ago(server.last_checked, server.last_checked_at)),
        rx.table.cell(
            rx.switch(
                checked=server.enabled,
                on_change=lambda enabled: ServersState.set_enabled(server.id, enabled),
                disabled=~ProjectFrameState.can_develop | (ServersState.busy_id == server.id),
                class_name="server-enabled",
                aria_label="Enabled: " + server.name,
            )
        ),
        rx.table.cell(_row_actions(server)),
        align="center",
        custom_attrs={"data-server": server.name},
    )


def _refresh_all() -> rx.Component:
    return rx.cond(
        ServersState.refreshing_all,
        rx.hstack(
            rx.spinner(size="2"),
            rx.vstack(
                rx.text(ServersState.refresh_progress, size="1", color_scheme="gray"),
                rx.progress(
                    value=ServersState.refresh_done, max=ServersState.refresh_total, width="120px"
                ),
                spacing="1",
            ),
            align="center",
            spacing="2",
            id="refresh-all-progress",
        ),
        rx.button(
            rx.icon("refresh-cw", size=16),
            "Refresh all",
            on_click=ServersState.refresh_all,
            variant="soft",
            disabled=ServersState.server_count == 0,
            id="refresh-all",
        ),
    )


def _passphrase_input(name: str, placeholder: str) -> rx.Component:
    return rx.input(
        name=name,
        type="password",
        placeholder=placeholder,
        auto_complete="new-password",
        width="100%",
        id=f"export-{name}",
    )


def _export_dialog() -> rx.Component:
    """Export: secrets masked (a Claude Desktop file), or with secrets sealed by a passphrase
    (owners only), to move the servers to another installation."""
    sealed_fields = rx.vstack(
        _passphrase_input("passphrase", "Passphrase (at least 8 characters)"),
        _passphrase_input("confirm", "The same passphrase again"),
        rx.text(
            "The file is encrypted with this passphrase (scrypt + AES-256-GCM). Nobody can "
            "recover it: without it, the file cannot be imported.",
            size="1",
            color_scheme="gray",
        ),
        spacing="2",
        width="100%",
    )
    return form_dialog(
        rx.button(
            rx.icon("download", size=16),
            "Export",
            variant="soft",
            color_scheme="gray",
            type="button",
            id="export-servers",
        ),
        "Export servers",
        "A Claude Desktop style file of this project's servers. Without secrets, env values "
        "and headers are masked and must be typed again after an import elsewhere.",
        rx.cond(
            ProjectFrameState.is_owner,
            rx.vstack(
                rx.text(
                    rx.hstack(
                        rx.checkbox(
                            checked=ServersState.export_with_secrets,
                            on_change=ServersState.set_export_with_secrets,
                            name="with_secrets",
                            id="export-with-secrets",
                        ),
                        "Include secrets (encrypted with a passphrase)",
                        spacing="2",
                        align="center",
                    ),
                    as_="label",
                    size="2",
                ),
                rx.cond(ServersState.export_with_secrets, sealed_fields),
                spacing="3",
                width="100%",
            ),
            rx.text("Only an owner can export the secrets.", size="2", color_scheme="gray"),
        ),
        error=ServersState.export_error,
        submit_label="Download",
        submitting=ServersState.exporting,
        on_submit=ServersState.export,
        is_open=ServersState.export_open,
        on_open_change=ServersState.set_export_open,
        submit_id="export-submit",
    )


def _search() -> rx.Component:
    return rx.box(
        search_input(
            "Search servers",
            ServersState.search,
            ServersState.set_search,
            id="server-search",
            aria_label="Search servers",
            max_length=100,
        ),
        width=["100%", "260px"],
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.cond(ServersState.server_count > 0, _search()),
        rx.hstack(
            _refresh_all(),
            _export_dialog(),
            rx.cond(
                ProjectFrameState.can_develop,
                rx.hstack(
                    rx.button(
                        rx.icon("file-json", size=16),
                        "Import JSON",
                        on_click=ServerEditorState.open_new("json"),
                        variant="soft",
                        id="import-servers",
                    ),
                    rx.button(
                        rx.icon("plus", size=16),
                        "Add server",
                        on_click=ServerEditorState.open_new("form"),
                        id="add-server",
                    ),
                    spacing="2",
                ),
            ),
            spacing="2",
            align="center",
            # On a phone the buttons go on two lines instead of widening the page.
            wrap="wrap",
        ),
        justify="between",
        align="center",
        wrap="wrap",
        gap="var(--space-3)",
        width="100%",
        margin_bottom="var(--space-4)",
    )


def _no_match() -> rx.Component:
    return empty_state(
        "search-x",
        "No matching servers",
        "No server's name, description or transport contains " + ServersState.search + ".",
    )


def _empty() -> rx.Component:
    return rx.card(
        empty_state(
            "server",
            "No servers yet",
            "Add an MCP server (a local command such as npx or uvx, or a remote URL), or import "
            "the mcpServers of a Claude Desktop configuration.",
            rx.cond(
                ProjectFrameState.can_develop,
                rx.button(
                    rx.icon("plus", size=16),
                    "Add your first server",
                    on_click=ServerEditorState.open_new("form"),
                    variant="soft",
                ),
                rx.text("Ask a developer of the project to add one.", size="2"),
            ),
        ),
        size="3",
    )


def _pager() -> rx.Component:
    return rx.cond(
        ServersState.has_more_pages,
        rx.hstack(
            rx.text(ServersState.page_label, size="2", color_scheme="gray", id="servers-page"),
            rx.icon_button(
                rx.icon("chevron-left", size=16),
                on_click=ServersState.previous_page,
                disabled=ServersState.page == 0,
                variant="soft",
                color_scheme="gray",
                aria_label="Previous page",
                title="Previous page",
            ),
            rx.icon_button(
                rx.icon("chevron-right", size=16),
                on_click=ServersState.next_page,
                disabled=ServersState.is_last_page,
                variant="soft",
                color_scheme="gray",
                aria_label="Next page",
                title="Next page",
            ),
            justify="end",
            align="center",
            spacing="2",
            width="100%",
            margin_top="var(--space-3)",
        ),
    )


def _delete_dialog() -> rx.Component:
    return confirm_dialog_for(
        ServersState.pending_delete_id != "",
        "Delete " + ServersState.pending_delete_name + "?",
        "Its configuration, cached tools and tool settings are deleted, and its endpoint stops "
        "answering. Its call logs are kept.",
        "Delete server",
        ServersState.delete(ServersState.pending_delete_id),
        ServersState.cancel_delete,
    )


def _servers() -> rx.Component:
    return rx.box(
        _toolbar(),
        rx.text(
            "Status, tools and last check come from the last live check; refresh to check now.",
            size="2",
            color_scheme="gray",
            margin_bottom="var(--space-3)",
        ),
        rx.cond(
            ServersState.total > 0,
            rx.box(
                data_table(
                    HEADERS, rx.foreach(ServersState.servers, _server_row), id="servers-list"
                ),
                _pager(),
                width="100%",
            ),
            rx.cond(ServersState.server_count > 0, _no_match(), _empty()),
        ),
        _delete_dialog(),
        server_editor_dialog(),
        width="100%",
    )


@protected
def servers_page() -> rx.Component:
    return project_frame(
        "servers",
        once_loaded(
            ServersState.problem,
            error_callout(ServersState.problem),
            ServersState.loading & (ServersState.server_count == 0),
            "Loading the servers…",
            _servers(),
        ),
    )
