"""/projects/[project_id]/servers/[server_id]: one server's configuration (masked), status
history, client snippets, tools (search them, switch one or a selection off, try them), logs
and client sessions. After a Try-it call the tools are read again once the call log is
written, so the tool's call figures on the page follow the call.

Everything is read from the database in one transaction when the page opens; only refresh,
restart and "Try it" contact the server, as background events (ui/states/live.py).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.gateway import operations
from mcp_orch_app.gateway.forwarding import ToolCallOutcome
from mcp_orch_app.gateway.runtime import current_gateway
from mcp_orch_app.gateway.upstream import UpstreamError, UpstreamFailure, UpstreamTimeout
from mcp_orch_app.models import ServerLogCategory, ToolCallStatus
from mcp_orch_app.services import client_config, client_sessions, server_logs, servers, tools
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import (
    ClientSessionOut,
    ServerLogOut,
    ServerOut,
    ToolOut,
)
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.live import route_ids, run_live
from mcp_orch_app.ui.states.rows import (
    ClientSessionRow,
    ServerDetailRow,
    ServerLogRow,
    SnippetRow,
    StatusChangeRow,
    ToolRow,
)
from mcp_orch_app.ui.tool_form import (
    MediaItem,
    ToolField,
    arguments_from,
    fields_of,
    result_media,
    result_text,
)

HISTORY_SHOWN = 20
LOGS_SHOWN = 100
SESSIONS_SHOWN = 50
LOG_LEVELS = ["all", "info", "warning", "error"]
TABS = ("overview", "tools", "browse", "logs", "sessions")
# How long a Try-it call waits for the call log (and the tool's figures) to be written.
CALL_LOG_WAIT_SECONDS = 5


@dataclass
class ServerPage:
    """Everything the page shows, read in one transaction."""

    server: ServerOut
    tools: list[ToolOut]
    history: list[ServerLogOut]
    snippets: list[SnippetRow]
    logs: list[ServerLogOut]
    sessions: list[ClientSessionOut]


def _snippets(
    db: Session, actor: Actor, project_id: str, server_id: str, base_url: str
) -> list[SnippetRow]:
    """Every client's configuration, for this server and for the project's unified endpoint,
    with a key and, for the clients that sign in by OAuth, in the OAuth form."""
    return [
        SnippetRow.of(
            client_config.client_config(
                db, actor, project_id, client=client, base_url=base_url, auth=auth, **endpoint
            ),
            scope,
            auth,
        )
        for client in client_config.CLIENTS
        for auth in client_config.AUTH_MODES
        if auth == "key" or client in client_config.OAUTH_CLIENTS
        for scope, endpoint in (
            ("server", {"server_id": server_id}),
            ("unified", {"unified": True}),
        )
    ]


def _logs(db: Session, actor: Actor, project_id: str, server_id: str, level: str):
    return server_logs.list_server_logs(
        db, actor, project_id, server_id=server_id, level=_level(level), limit=LOGS_SHOWN
    )


def _level(level: str) -> str | None:
    return None if level == "all" else level


def _server_page(
    db: Session, actor: Actor, project_id: str, server_id: str, base_url: str, level: str
) -> ServerPage:
    server = servers.get_server(db, actor, project_id, server_id)
    history = server_logs.list_server_logs(
        db,
        actor,
        project_id,
        server_id=server_id,
        category=ServerLogCategory.STATUS_CHANGE,
        limit=HISTORY_SHOWN,
    )
    sessions = client_sessions.list_client_sessions(
        db, actor, project_id, server_id=server_id, limit=SESSIONS_SHOWN
    )
    return ServerPage(
        server=server,
        tools=tools.list_tools(db, actor, project_id, server_id),
        history=history,
        snippets=_snippets(db, actor, project_id, server_id, base_url),
        logs=_logs(db, actor, project_id, server_id, level),
        sessions=sessions.items,
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _failure_text(exc: UpstreamFailure) -> str:
    """Why a call got no result (it is in the tool-call log too); it is never retried."""
    if isinstance(exc, UpstreamTimeout):
        return f"The call timed out (it is not retried): {exc}"
    if isinstance(exc, UpstreamError):
        return f"The server refused the call: {exc.message} (JSON-RPC error {exc.code})"
    return f"The server could not be reached: {exc}"


async def _tools_after_call(actor: Actor, project_id: str, server_id: str) -> list[ToolOut] | None:
    """The server's tools once the call's log row (and with it the tool's figures) is written;
    None when the log writer does not answer in time (the figures then wait for a reload)."""
    gateway = current_gateway()
    if gateway is None or not await gateway.writer.aflush(timeout=CALL_LOG_WAIT_SECONDS):
        return None
    return await run_db(tools.list_tools, actor, project_id, server_id)


class ServerDetailState(AuthState):
    loading: bool = True
    # Why the server cannot be shown (not a member, no such server); empty when it can.
    problem: str = ""
    tab: str = "overview"
    server: ServerDetailRow = ServerDetailRow()
    history: list[StatusChangeRow] = []
    snippets: list[SnippetRow] = []
    snippet_client: str = "cursor"
    # The snippets' form: "key" (a project API key) or "oauth" (sign in, the URL only).
    snippet_auth: str = "key"
    tools: list[ToolRow] = []
    logs: list[ServerLogRow] = []
    log_level: str = "all"
    logs_loading: bool = False
    sessions: list[ClientSessionRow] = []
    # A refresh or restart of this server under way (the list holds its id).
    checking: list[str] = []
    switching: bool = False
    # The tool whose switch is being changed.
    busy_tool: str = ""
    tool_search: str = ""
    # Tools ticked for a bulk enable/disable; bulk_busy while it is saved.
    selected_tools: list[str] = []
    bulk_busy: bool = False
    # "Try it": the chosen tool, its form, an inline problem, the tools being called.
    try_tool: str = ""
    try_fields: list[ToolField] = []
    try_error: str = ""
    calling: list[str] = []
    # The last answer: which tool, its text, whether it is a tool error, how long it took.
    result_tool: str = ""
    result_text: str = ""
    result_raw: str = ""
    result_media: list[MediaItem] = []
    result_is_error: bool = False
    result_duration: str = ""

    @rx.var
    def visible_tools(self) -> list[ToolRow]:
        needle = self.tool_search.strip().lower()
        if not needle:
            return self.tools
        return [
            t for t in self.tools if needle in t.name.lower() or needle in t.description.lower()
        ]

    @rx.var
    def selection_label(self) -> str:
        count = len(self.selected_tools)
        return f"{count} selected" if count else ""

    @rx.var
    def all_visible_selected(self) -> bool:
        visible = [t.name for t in self.visible_tools]
        return bool(visible) and all(name in self.selected_tools for name in visible)

    @rx.var
    def shown_snippets(self) -> list[SnippetRow]:
        # A client without an OAuth form shows its key form whatever the switch says.
        auth = self.snippet_auth if self.snippet_oauth_available else "key"
        return [s for s in self.snippets if s.client == self.snippet_client and s.auth == auth]

    @rx.var
    def snippet_oauth_available(self) -> bool:
        return self.snippet_client in client_config.OAUTH_CLIENTS

    @rx.var
    def tools_label(self) -> str:
        count = len(self.tools)
        disabled = sum(1 for t in self.tools if not t.enabled)
        label = f"{count} tool{'' if count == 1 else 's'}"
        return f"{label}, {disabled} disabled" if disabled else label

    def _store(self, page: ServerPage) -> None:
        self.server = ServerDetailRow.of(page.server)
        self.tools = [ToolRow.of(t) for t in page.tools]
        self.history = [StatusChangeRow.of(log) for log in page.history]
        self.snippets = page.snippets
        self.logs = [ServerLogRow.of(log) for log in page.logs]
        self.sessions = [ClientSessionRow.of(s) for s in page.sessions]
        names = {t.name for t in self.tools}
        if self.try_tool and self.try_tool not in names:
            self._choose("")
        self.selected_tools = [name for name in self.selected_tools if name in names]

    async def _reload(self) -> None:
        project_id, server_id = route_ids(self)
        page = await self._call(
            _server_page, project_id, server_id, self.router.url.origin, self.log_level
        )
        self._store(page)

    @rx.event
    async def load(self):
        self.reset()
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    async def reload(self):
        async for event in self._attempt("loading", self._reload):
            yield event

    @rx.event
    def set_tab(self, tab: str):
        if tab in TABS:
            self.tab = tab

    @rx.event
    def set_snippet_client(self, client: str):
        if client in client_config.CLIENTS:
            self.snippet_client = client

    @rx.event
    def set_snippet_auth(self, auth: str | list[str]):
        # The segmented control sends one value (a list only in its multiple mode).
        if isinstance(auth, str) and auth in client_config.AUTH_MODES:
            self.snippet_auth = auth

    @rx.event
    async def set_log_level(self, level: str):
        if level not in LOG_LEVELS:
            return
        self.log_level = level

        async def read():
            project_id, server_id = route_ids(self)
            found = await self._call(_logs, project_id, server_id, level)
            self.logs = [ServerLogRow.of(log) for log in found]

        async for event in self._attempt("logs_loading", read):
            yield event

    @rx.event
    async def set_enabled(self, enabled: bool):
        async def switch():
            if self.server.enabled == enabled:
                return None
            project_id, server_id = route_ids(self)
            await self._call(servers.toggle_server, project_id, server_id)
            await self._reload()
            return rx.toast.success(
                f"{self.server.name} {'enabled' if self.server.enabled else 'disabled'}."
            )

        async for event in self._attempt("switching", switch):
            yield event

    @rx.event
    async def set_tool_enabled(self, name: str, enabled: bool):
        async def switch():
            project_id, server_id = route_ids(self)
            tool = await self._call(tools.set_tool_enabled, project_id, server_id, name, enabled)
            self.tools = [ToolRow.of(tool) if t.name == tool.name else t for t in self.tools]
            return rx.toast.success(f"{name} {'enabled' if enabled else 'disabled'}.")

        async for event in self._attempt("busy_tool", switch, value=name):
            yield event

    @rx.event
    def set_tool_search(self, value: str):
        self.tool_search = str(value)[:100]

    @rx.event
    def select_tool(self, name: str, selected: bool):
        chosen = [n for n in self.selected_tools if n != name]
        if selected is True and name in {t.name for t in self.tools}:
            chosen.append(name)
        self.selected_tools = chosen

    @rx.event
    def select_visible(self, selected: bool):
        visible = [t.name for t in self.visible_tools]
        rest = [n for n in self.selected_tools if n not in visible]
        self.selected_tools = [*rest, *visible] if selected is True else rest

    @rx.event
    async def set_selected_enabled(self, enabled: bool):
        """Enable or disable every ticked tool in one action (all or none)."""

        async def switch():
            names = list(self.selected_tools)
            if not names:
                return None
            project_id, server_id = route_ids(self)
            changed = await self._call(
                tools.set_tools_enabled, project_id, server_id, names, enabled
            )
            by_name = {tool.name: ToolRow.of(tool) for tool in changed}
            self.tools = [by_name.get(t.name, t) for t in self.tools]
            self.selected_tools = []
            verb = "enabled" if enabled else "disabled"
            count = len(changed)
            return rx.toast.success(f"{count} tool{'' if count == 1 else 's'} {verb}.")

        async for event in self._attempt("bulk_busy", switch):
            yield event

    @rx.event(background=True)
    async def refresh(self):
        async for event in self._live(operations.refresh_server, "checked"):
            yield event

    @rx.event(background=True)
    async def restart(self):
        async for event in self._live(operations.restart_server, "restarted"):
            yield event

    async def _live(self, operation, what: str):
        """Refresh or restart this server, then read the page again (status, tools, history)."""
        project_id, server_id = route_ids(self)

        async def run(actor):
            server = await operation(actor, project_id, server_id)
            return lambda: [
                ServerDetailState.reload,
                rx.toast.info(f"{server.name} {what}: {server.status.value}."),
            ]

        async for event in run_live(self, "checking", server_id, run):
            yield event

    def _choose(self, name: str) -> None:
        tool = next((t for t in self.tools if t.name == name), None)
        self.try_tool = tool.name if tool else ""
        self.try_fields = fields_of(json.loads(tool.schema)) if tool else []
        self.try_error = ""

    @rx.event
    def choose_tool(self, name: str):
        self._choose(name)

    def _show(self, tool: str, result: dict[str, Any], is_error: bool, duration: str) -> None:
        self.result_tool = tool
        self.result_text = result_text(result)
        self.result_raw = json.dumps(result, indent=2, ensure_ascii=False)
        self.result_media = result_media(result)
        self.result_is_error = is_error
        self.result_duration = duration

    def _answered(self, tool: str, outcome: ToolCallOutcome) -> None:
        is_error = bool(outcome.result.get("isError")) or outcome.status != ToolCallStatus.SUCCESS
        self._show(tool, outcome.result, is_error, _ms(outcome.duration_ms / 1000))

    def _after_call(self, fresh: list[ToolOut] | None, show) -> None:
        if fresh is not None:
            rows = {tool.name: ToolRow.of(tool) for tool in fresh}
            # Keep the enabled switches as they are on the page, take the new figures.
            self.tools = [
                dataclasses.replace(t, usage=rows[t.name].usage) if t.name in rows else t
                for t in self.tools
            ]
        show()

    def _unanswered(self, tool: str, reason: str, duration: str) -> None:
        result = {"content": [{"type": "text", "text": reason}], "isError": True}
        self._show(tool, result, True, duration)

    @rx.event(background=True)
    async def try_call(self, form: dict):
        """Run the chosen tool once with the form's values; a bad value is reported inline
        and nothing is called."""
        project_id, server_id = route_ids(self)
        tool = self.try_tool
        row = next((t for t in self.tools if t.name == tool), None)
        try:
            if row is None:
                raise InvalidInput("Choose a tool to try first.")
            arguments = arguments_from(json.loads(row.schema), form)
        except InvalidInput as exc:
            async with self:
                self.try_error = exc.message
            return
        async with self:
            self.try_error = ""

        async def call(actor):
            started = time.perf_counter()
            try:
                outcome = await operations.call_tool(actor, project_id, server_id, tool, arguments)
            except UpstreamFailure as exc:
                reason, waited = _failure_text(exc), _ms(time.perf_counter() - started)
                fresh = await _tools_after_call(actor, project_id, server_id)
                return lambda: self._after_call(
                    fresh, lambda: self._unanswered(tool, reason, waited)
                )
            fresh = await _tools_after_call(actor, project_id, server_id)
            return lambda: self._after_call(fresh, lambda: self._answered(tool, outcome))

        async for event in run_live(self, "calling", tool, call):
            yield event
