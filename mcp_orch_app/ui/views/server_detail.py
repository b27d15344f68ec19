"""/projects/[project_id]/servers/[server_id]: overview (status, configuration, history, client
snippets), tools (search, bulk switch, "Try it" with images and audio shown), resources and
prompts (ui/views/server_browse.py), logs and client sessions of one server."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    checking_badge,
    copy_button,
    data_table,
    error_callout,
    once_loaded,
    search_input,
    section,
    status_badge,
    status_with_error,
    time_ago,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import (
    ClientSessionRow,
    ConfigLine,
    ServerLogRow,
    SnippetRow,
    StatusChangeRow,
    ToolRow,
)
from mcp_orch_app.ui.states.server_detail import LOG_LEVELS, ServerDetailState
from mcp_orch_app.ui.states.server_editor import ServerEditorState
from mcp_orch_app.ui.tool_form import MediaItem, ToolField
from mcp_orch_app.ui.views.project_frame import project_frame
from mcp_orch_app.ui.views.server_browse import browse_tab
from mcp_orch_app.ui.views.server_editor import CODE_FONT, server_editor_dialog
from mcp_orch_app.ui.views.server_oauth import oauth_panel

CLIENT_LABELS = {
    "cursor": "Cursor",
    "cline": "Cline",
    "claude-desktop": "Claude Desktop",
    "claude-code": "Claude Code",
    "vscode": "VS Code",
}
LEVEL_COLORS = {"debug": "gray", "info": "blue", "warning": "orange", "error": "red"}


def code_block(text, **props) -> rx.Component:
    """Pre-formatted text (JSON, a snippet, a tool's answer) that wraps and scrolls."""
    style = {
        "white_space": "pre-wrap",
        "overflow_wrap": "anywhere",
        "font_family": CODE_FONT,
        "font_size": "12px",
        "line_height": "1.5",
        "margin": "0",
        "padding": "var(--space-3)",
        "border_radius": "var(--radius-3)",
        "background": rx.color("gray", 2),
        "border": f"1px solid {rx.color('gray', 5)}",
        "max_height": "360px",
        "overflow": "auto",
        "width": "100%",
    }
    return rx.el.pre(text, style={**style, **props.pop("style", {})}, **props)


def collapsible(summary: str, content: rx.Component, **props) -> rx.Component:
    return rx.el.details(
        rx.el.summary(
            rx.text(summary, as_="span", size="1", color_scheme="gray", weight="medium"),
            cursor="pointer",
            margin_bottom="var(--space-2)",
        ),
        content,
        width="100%",
        **props,
    )


# --- header -----------------------------------------------------------------------------------


def _header() -> rx.Component:
    server = ServerDetailState.server
    return rx.flex(
        rx.vstack(
            rx.link(
                rx.hstack(rx.icon("arrow-left", size=14), "All servers", align="center"),
                href=ProjectFrameState.project_base + "/servers",
                size="2",
                color_scheme="gray",
            ),
            rx.hstack(
                rx.heading(server.name, size="6", font_family=CODE_FONT, id="server-title"),
                rx.cond(
                    ServerDetailState.checking.contains(server.id),
                    checking_badge(id="server-checking"),
                    status_with_error(server.status, server.last_error),
                ),
                rx.badge(server.transport, variant="outline", color_scheme="gray"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.text(
                rx.cond(server.description != "", server.description, "No description."),
                size="2",
                color_scheme="gray",
            ),
            spacing="2",
            min_width="0",
        ),
        rx.hstack(
            rx.cond(
                ProjectFrameState.can_develop,
                rx.hstack(
                    rx.switch(
                        checked=server.enabled,
                        on_change=ServerDetailState.set_enabled,
                        disabled=ServerDetailState.switching,
                        id="server-enabled-switch",
                        aria_label="Server enabled",
                    ),
                    rx.text(rx.cond(server.enabled, "Enabled", "Disabled"), size="2"),
                    align="center",
                    spacing="2",
                ),
            ),
            rx.button(
                rx.icon("refresh-cw", size=16),
                "Check now",
                on_click=ServerDetailState.refresh,
                loading=ServerDetailState.checking.contains(server.id),
                disabled=~server.enabled,
                variant="soft",
                id="server-refresh",
            ),
            rx.cond(
                ProjectFrameState.can_develop,
                rx.hstack(
                    rx.button(
                        rx.icon("rotate-ccw", size=16),
                        "Restart",
                        on_click=ServerDetailState.restart,
                        disabled=~server.enabled | ServerDetailState.checking.contains(server.id),
                        variant="soft",
                        color_scheme="orange",
                        high_contrast=True,
                        id="server-restart",
                    ),
                    rx.button(
                        rx.icon("pencil", size=16),
                        "Edit",
                        on_click=ServerEditorState.open_edit(server.id),
                        variant="soft",
                        color_scheme="gray",
                        id="server-edit",
                    ),
                    spacing="2",
                ),
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        justify="between",
        align="start",
        wrap="wrap",
        gap="var(--space-4)",
        width="100%",
        margin_bottom="var(--space-4)",
    )


# --- overview ---------------------------------------------------------------------------------


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label, min_width="120px"), rx.data_list.value(value)
    )


def _status_section() -> rx.Component:
    server = ServerDetailState.server
    return section(
        "Status",
        rx.data_list.root(
            _fact(
                "Status",
                rx.cond(
                    ServerDetailState.checking.contains(server.id),
                    checking_badge(),
                    status_badge(server.status),
                ),
            ),
            _fact("Last checked", time_ago(server.last_checked, server.last_checked_at)),
            _fact("Tools", rx.text(server.tools_count, size="2", id="tools-count")),
            _fact("Restarts", rx.text(server.restart_count, size="2", id="restart-count")),
            size="2",
        ),
        error_callout(server.last_error),
        icon="activity",
        id="server-status",
    )


def _config_item(item: rx.Var, index: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(index + 1, size="1", color_scheme="gray", min_width="1.5em"),
        # Quotes show where an argument starts and ends (a space inside one shows too).
        rx.code('"' + item + '"', size="2", white_space="pre-wrap", class_name="config-item"),
        align="center",
        spacing="2",
    )


def _config_line(line: ConfigLine) -> rx.Component:
    return _fact(
        line.label,
        rx.vstack(
            rx.cond(
                line.value != "",
                rx.text(line.value, size="2", font_family=CODE_FONT, white_space="pre-wrap"),
            ),
            rx.cond(
                line.listed.length() > 0,
                rx.vstack(
                    rx.foreach(line.listed, _config_item), spacing="1", class_name="config-items"
                ),
            ),
            rx.cond(
                line.warning != "",
                rx.callout(
                    line.warning,
                    icon="triangle-alert",
                    color_scheme="orange",
                    size="1",
                    class_name="config-warning",
                ),
            ),
            spacing="1",
        ),
    )


def _config_section() -> rx.Component:
    return section(
        "Configuration",
        rx.data_list.root(rx.foreach(ServerDetailState.server.config, _config_line), size="2"),
        icon="settings-2",
        id="server-config",
    )


def _history_entry(entry: StatusChangeRow) -> rx.Component:
    return rx.hstack(
        rx.hstack(
            status_badge(entry.old),
            rx.icon("arrow-right", size=12, color=rx.color("gray", 9)),
            status_badge(entry.new),
            align="center",
            spacing="1",
            flex_shrink="0",
        ),
        rx.text(entry.message, size="1", color_scheme="gray", flex="1", min_width="0"),
        time_ago(entry.when, entry.when_at),
        align="center",
        spacing="3",
        width="100%",
    )


def _history_section() -> rx.Component:
    return section(
        "Status history",
        rx.cond(
            ServerDetailState.history.length() > 0,
            rx.vstack(
                rx.foreach(ServerDetailState.history, _history_entry), spacing="3", width="100%"
            ),
            rx.text(
                "No status change recorded yet; the first check will add one.",
                size="2",
                color_scheme="gray",
            ),
        ),
        icon="history",
        id="status-history",
    )


def _snippet(snippet: SnippetRow) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.text(
                    rx.cond(
                        snippet.scope == "server",
                        "This server",
                        "Unified endpoint: all servers of the project",
                    ),
                    size="2",
                    weight="medium",
                ),
                rx.text(snippet.where, size="1", color_scheme="gray"),
                spacing="1",
            ),
            rx.spacer(),
            copy_button(snippet.content, "Copy", class_name="copy-snippet"),
            align="center",
            width="100%",
        ),
        code_block(snippet.content, class_name="snippet"),
        rx.text(snippet.instructions, size="1", color_scheme="gray"),
        spacing="2",
        width="100%",
    )


def _snippet_auth_switch() -> rx.Component:
    return rx.cond(
        ServerDetailState.snippet_oauth_available,
        rx.segmented_control.root(
            rx.segmented_control.item("API key", value="key"),
            rx.segmented_control.item("Sign in (OAuth)", value="oauth"),
            value=ServerDetailState.snippet_auth,
            on_change=ServerDetailState.set_snippet_auth,
            size="1",
            id="snippet-auth",
        ),
        rx.text("This client connects with an API key only.", size="1", color_scheme="gray"),
    )


def _snippets_section() -> rx.Component:
    return section(
        "Connect a client",
        rx.tabs.root(
            rx.tabs.list(
                *[rx.tabs.trigger(label, value=key) for key, label in CLIENT_LABELS.items()],
                size="1",
            ),
            # A panel per tab (each trigger points at one); the active one shows the snippets.
            *[
                rx.tabs.content(
                    rx.grid(
                        rx.foreach(ServerDetailState.shown_snippets, _snippet),
                        columns=rx.breakpoints(initial="1", lg="2"),
                        spacing="5",
                        width="100%",
                    ),
                    value=key,
                    padding_top="var(--space-4)",
                )
                for key in CLIENT_LABELS
            ],
            value=ServerDetailState.snippet_client,
            on_change=ServerDetailState.set_snippet_client,
            width="100%",
            id="snippet-client",
        ),
        icon="plug",
        actions=_snippet_auth_switch(),
        id="snippets",
    )


def _overview() -> rx.Component:
    return rx.vstack(
        rx.grid(
            rx.vstack(
                _status_section(), oauth_panel(), _history_section(), spacing="4", min_width="0"
            ),
            rx.box(_config_section(), min_width="0"),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
        ),
        _snippets_section(),
        spacing="4",
        width="100%",
    )


# --- tools ------------------------------------------------------------------------------------


def _tool_switch(tool: ToolRow) -> rx.Component:
    return rx.cond(
        ProjectFrameState.can_develop,
        rx.tooltip(
            rx.switch(
                checked=tool.enabled,
                on_change=lambda enabled: ServerDetailState.set_tool_enabled(tool.name, enabled),
                disabled=ServerDetailState.busy_tool == tool.name,
                class_name="tool-enabled",
                aria_label="Tool enabled: " + tool.name,
            ),
            content=rx.cond(tool.enabled, "Enabled for every client", "Disabled for every client"),
        ),
        rx.cond(
            tool.enabled,
            rx.badge("enabled", color_scheme="green", variant="soft"),
            rx.badge("disabled", color_scheme="gray", variant="soft"),
        ),
    )


def _tool_select(tool: ToolRow) -> rx.Component:
    return rx.cond(
        ProjectFrameState.can_develop,
        rx.checkbox(
            checked=ServerDetailState.selected_tools.contains(tool.name),
            on_change=lambda selected: ServerDetailState.select_tool(tool.name, selected),
            aria_label="Select " + tool.name,
            class_name="tool-select",
        ),
    )


def _tool_card(tool: ToolRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                _tool_select(tool),
                rx.text(tool.name, weight="bold", size="2", font_family=CODE_FONT),
                rx.spacer(),
                _tool_switch(tool),
                align="center",
                width="100%",
            ),
            rx.cond(
                tool.description != "",
                rx.text(tool.description, size="2", color_scheme="gray"),
            ),
            rx.text(tool.usage, size="1", color_scheme="gray", class_name="tool-usage"),
            collapsible("Input schema", code_block(tool.schema)),
            rx.cond(
                ProjectFrameState.can_develop,
                rx.button(
                    rx.icon("play", size=14),
                    "Try it",
                    on_click=ServerDetailState.choose_tool(tool.name),
                    size="1",
                    variant=rx.cond(ServerDetailState.try_tool == tool.name, "solid", "soft"),
                    class_name="try-tool",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="tool-card",
        custom_attrs={"data-tool": tool.name},
        opacity=rx.cond(tool.enabled, "1", "0.7"),
    )


def _field_control(field: ToolField) -> rx.Component:
    return rx.match(
        field.kind,
        (
            "boolean",
            rx.select(
                ["true", "false"],
                name=field.name,
                default_value=field.default,
                placeholder="not set",
                width="100%",
            ),
        ),
        (
            "enum",
            rx.select(
                field.options,
                name=field.name,
                default_value=field.default,
                placeholder="choose…",
                width="100%",
            ),
        ),
        (
            "json",
            rx.text_area(
                name=field.name,
                default_value=field.default,
                placeholder=field.placeholder,
                rows="4",
                font_family=CODE_FONT,
                width="100%",
            ),
        ),
        rx.input(
            name=field.name,
            default_value=field.default,
            placeholder=field.placeholder,
            width="100%",
        ),
    )


def _field(field: ToolField) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(field.name, as_="label", size="2", weight="medium", font_family=CODE_FONT),
            rx.cond(field.required, rx.text("*", color=rx.color("red", 10), size="2")),
            rx.badge(field.kind, variant="outline", color_scheme="gray", size="1"),
            align="center",
            spacing="1",
        ),
        _field_control(field),
        rx.cond(
            field.description != "",
            rx.text(field.description, size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
        class_name="try-field",
    )


def _result() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.cond(
                ServerDetailState.result_is_error,
                rx.badge(rx.icon("circle-x", size=12), "error", color_scheme="red"),
                rx.badge(rx.icon("circle-check", size=12), "success", color_scheme="green"),
            ),
            rx.cond(
                ServerDetailState.result_duration != "",
                rx.text(
                    ServerDetailState.result_duration,
                    size="1",
                    color_scheme="gray",
                    id="try-duration",
                ),
            ),
            align="center",
            spacing="2",
        ),
        code_block(
            ServerDetailState.result_text,
            color=rx.cond(
                ServerDetailState.result_is_error, rx.color("red", 11), rx.color("gray", 12)
            ),
            id="try-output",
        ),
        rx.foreach(ServerDetailState.result_media, _media),
        collapsible("Full result (JSON)", code_block(ServerDetailState.result_raw)),
        spacing="2",
        width="100%",
        id="try-result",
    )


def _media(item: MediaItem) -> rx.Component:
    """An image or audio clip of a result: its src is a data: URL of an allow-listed type
    with checked base64 (ui/tool_form.py), set as an attribute, never as markup."""
    return rx.cond(
        item.kind == "image",
        rx.image(
            src=item.src,
            alt=item.label,
            max_width="100%",
            max_height="360px",
            object_fit="contain",
            class_name="result-image",
        ),
        rx.el.audio(src=item.src, controls=True, title=item.label, class_name="result-audio"),
    )


def _try_form() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Calls ",
            rx.code(ServerDetailState.try_tool),
            " on the server for real, like an MCP client would. The call is logged: its "
            "arguments and result are stored in the tool-call log, readable by every project "
            "member, with this server's own secrets replaced with [redacted].",
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.vstack(
                rx.cond(
                    ServerDetailState.try_fields.length() == 0,
                    rx.text("This tool takes no arguments.", size="2", color_scheme="gray"),
                ),
                rx.foreach(ServerDetailState.try_fields, _field),
                error_callout(ServerDetailState.try_error),
                rx.button(
                    rx.icon("play", size=14),
                    "Run",
                    type="submit",
                    loading=ServerDetailState.calling.contains(ServerDetailState.try_tool),
                    id="try-run",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=ServerDetailState.try_call,
            reset_on_submit=False,
            key=ServerDetailState.try_tool,
            width="100%",
        ),
        rx.cond(ServerDetailState.result_tool == ServerDetailState.try_tool, _result()),
        spacing="4",
        width="100%",
    )


def _try_panel() -> rx.Component:
    return section(
        "Try it",
        rx.cond(
            ServerDetailState.try_tool == "",
            rx.text(
                "Choose a tool's Try it to call it with arguments from a form built from its "
                "input schema.",
                size="2",
                color_scheme="gray",
            ),
            _try_form(),
        ),
        icon="flask-conical",
        id="try-panel",
        position="sticky",
        top="var(--space-4)",
    )


def _bulk_bar() -> rx.Component:
    """Select all shown tools, and enable or disable the selection in one action."""
    s = ServerDetailState
    return rx.cond(
        ProjectFrameState.can_develop,
        rx.hstack(
            rx.checkbox(
                "Select all shown",
                checked=s.all_visible_selected,
                on_change=s.select_visible,
                id="tools-select-all",
            ),
            rx.cond(
                s.selected_tools.length() > 0,
                rx.hstack(
                    rx.text(s.selection_label, size="2", color_scheme="gray", id="tools-selected"),
                    rx.button(
                        "Enable",
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        loading=s.bulk_busy,
                        on_click=s.set_selected_enabled(True),
                        id="tools-enable-selected",
                    ),
                    rx.button(
                        "Disable",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        loading=s.bulk_busy,
                        on_click=s.set_selected_enabled(False),
                        id="tools-disable-selected",
                    ),
                    spacing="2",
                    align="center",
                ),
            ),
            spacing="4",
            align="center",
            wrap="wrap",
        ),
    )


def _tools() -> rx.Component:
    return rx.cond(
        ServerDetailState.tools.length() > 0,
        rx.grid(
            rx.vstack(
                rx.text(ServerDetailState.tools_label, size="2", color_scheme="gray"),
                search_input(
                    "Search tools",
                    ServerDetailState.tool_search,
                    ServerDetailState.set_tool_search,
                    id="tool-search",
                    aria_label="Search tools",
                    max_length=100,
                ),
                _bulk_bar(),
                rx.cond(
                    ServerDetailState.visible_tools.length() == 0,
                    rx.text("No tool matches the search.", size="2", color_scheme="gray"),
                ),
                rx.foreach(ServerDetailState.visible_tools, _tool_card),
                spacing="3",
                width="100%",
            ),
            rx.cond(ProjectFrameState.can_develop, _try_panel()),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            align_items="start",
            width="100%",
        ),
        rx.card(
            rx.text(
                "No tools known yet: the tool list is cached by the last successful check. "
                "Use Check now to list them.",
                size="2",
                color_scheme="gray",
            ),
            size="3",
        ),
    )


# --- logs and sessions ------------------------------------------------------------------------


def _log_row(log: ServerLogRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(time_ago(log.when, log.when_at)),
        rx.table.cell(
            rx.match(
                log.level,
                *[
                    (level, rx.badge(level, color_scheme=color, variant="soft"))
                    for level, color in LEVEL_COLORS.items()
                ],
                rx.badge(log.level),
            )
        ),
        rx.table.cell(rx.text(log.category, size="1", font_family=CODE_FONT)),
        rx.table.cell(
            rx.text(log.message, size="2", white_space="pre-wrap", word_break="break-word")
        ),
        align="center",
    )


def _logs() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Level", size="2", color_scheme="gray"),
            rx.select(
                LOG_LEVELS,
                value=ServerDetailState.log_level,
                on_change=ServerDetailState.set_log_level,
                size="2",
                id="log-level",
            ),
            rx.cond(ServerDetailState.logs_loading, rx.spinner(size="2")),
            rx.spacer(),
            rx.button(
                rx.icon("refresh-cw", size=14),
                "Reload",
                on_click=ServerDetailState.reload,
                variant="soft",
                color_scheme="gray",
                size="2",
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.cond(
            ServerDetailState.logs.length() > 0,
            data_table(
                ["When", "Level", "Event", "Message"],
                rx.foreach(ServerDetailState.logs, _log_row),
                id="server-logs",
            ),
            rx.text(
                "No log entries at this level yet: starts, stops, crashes, status changes and "
                "the server's stderr appear here.",
                size="2",
                color_scheme="gray",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _session_row(session: ClientSessionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(session.client, size="2", weight="medium")),
        rx.table.cell(rx.text(session.transport, size="2")),
        rx.table.cell(rx.text(session.key, size="2")),
        rx.table.cell(rx.text(session.ip, size="2", font_family=CODE_FONT)),
        rx.table.cell(time_ago(session.started, session.started_at)),
        rx.table.cell(rx.text(session.last_activity, size="2", color_scheme="gray")),
        rx.table.cell(
            rx.text(
                session.total_calls.to_string()
                + " ("
                + session.failed_calls.to_string()
                + " failed)",
                size="2",
            )
        ),
        rx.table.cell(
            rx.cond(
                session.active,
                rx.badge("active", color_scheme="green", variant="soft"),
                rx.badge("ended", color_scheme="gray", variant="soft"),
            )
        ),
        align="center",
    )


def _sessions() -> rx.Component:
    return rx.cond(
        ServerDetailState.sessions.length() > 0,
        data_table(
            ["Client", "Transport", "API key", "IP", "Started", "Last activity", "Calls", "State"],
            rx.foreach(ServerDetailState.sessions, _session_row),
            id="server-sessions",
        ),
        rx.text(
            "No MCP client has connected to this server's endpoint yet.",
            size="2",
            color_scheme="gray",
        ),
    )


# --- the page ---------------------------------------------------------------------------------


def _tab(value: str, label, icon: str) -> rx.Component:
    return rx.tabs.trigger(
        rx.hstack(rx.icon(icon, size=14), label, align="center", spacing="2"),
        value=value,
        id=f"server-tab-{value}",
    )


def _detail() -> rx.Component:
    return rx.box(
        _header(),
        rx.tabs.root(
            rx.tabs.list(
                _tab("overview", "Overview", "layout-dashboard"),
                _tab(
                    "tools",
                    "Tools (" + ServerDetailState.tools.length().to_string() + ")",
                    "wrench",
                ),
                _tab("browse", "Resources & prompts", "book-open"),
                _tab("logs", "Logs", "scroll-text"),
                _tab("sessions", "Sessions", "plug"),
            ),
            rx.tabs.content(_overview(), value="overview", padding_top="var(--space-4)"),
            rx.tabs.content(_tools(), value="tools", padding_top="var(--space-4)"),
            rx.tabs.content(
                rx.cond(ServerDetailState.tab == "browse", browse_tab()),
                value="browse",
                padding_top="var(--space-4)",
            ),
            rx.tabs.content(_logs(), value="logs", padding_top="var(--space-4)"),
            rx.tabs.content(_sessions(), value="sessions", padding_top="var(--space-4)"),
            value=ServerDetailState.tab,
            on_change=ServerDetailState.set_tab,
        ),
        server_editor_dialog(),
        width="100%",
        id="server-detail",
    )


@protected
def server_detail_page() -> rx.Component:
    return project_frame(
        "servers",
        once_loaded(
            ServerDetailState.problem,
            error_callout(ServerDetailState.problem),
            ServerDetailState.loading & (ServerDetailState.server.id == ""),
            "Loading the server…",
            _detail(),
        ),
    )
