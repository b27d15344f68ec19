"""/projects/[project_id]/servers: the project's servers from the cached status, switching them
on and off, deleting, the live refresh (one or all) and restart, and the JSON export (secrets
masked, or kept and sealed with a passphrase the owner types in the export dialog).

The list is read from the database and never contacts a server; only the refresh and restart
buttons do, as background events (ui/states/live.py) so the page stays usable meanwhile. The
browser gets one page of rows (``PAGE_SIZE``); the whole list stays on the server side, where
"refresh all" and the page buttons read it.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import reflex as rx

from mcp_orch_app.gateway import operations
from mcp_orch_app.services import servers
from mcp_orch_app.services.errors import InvalidInput, ServiceError
from mcp_orch_app.services.schemas import ServerOut
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.live import live_actor, refusal, route_ids, run_live
from mcp_orch_app.ui.states.rows import ServerRow

PAGE_SIZE = 50


class ServersState(AuthState):
    loading: bool = True
    # Why the list cannot be shown (the frame says it too); empty when it can.
    problem: str = ""
    # The page of servers shown; the whole list is ``_rows`` (kept on the server only).
    servers: list[ServerRow] = []
    _rows: list[ServerRow] = []
    page: int = 0
    # Servers matching the search; ``server_count`` is every server of the project.
    total: int = 0
    server_count: int = 0
    search: str = ""
    # The server whose deletion waits for a confirmation ("" when none).
    pending_delete_id: str = ""
    pending_delete_name: str = ""
    # Servers with a live check or restart under way (their rows show a spinner).
    checking: list[str] = []
    # The server being switched on/off or deleted.
    busy_id: str = ""
    refreshing_all: bool = False
    refresh_done: int = 0
    refresh_total: int = 0
    exporting: bool = False
    # The export dialog: a plain export, or one with secrets sealed under a passphrase.
    export_open: bool = False
    export_with_secrets: bool = False
    export_error: str = ""

    @rx.var
    def refresh_progress(self) -> str:
        return f"Checked {self.refresh_done} of {self.refresh_total}"

    @rx.var
    def page_label(self) -> str:
        first = self.page * PAGE_SIZE
        return f"{first + 1} to {min(first + PAGE_SIZE, self.total)} of {self.total}"

    @rx.var
    def has_more_pages(self) -> bool:
        return self.total > PAGE_SIZE

    @rx.var
    def is_last_page(self) -> bool:
        return (self.page + 1) * PAGE_SIZE >= self.total

    def _show(self) -> None:
        """Put the current page of ``_rows`` in ``servers`` (the page moves back when it is
        past the end, e.g. after a delete)."""
        matching = self._matching()
        self.server_count = len(self._rows)
        self.total = len(matching)
        last_page = max(0, (self.total - 1) // PAGE_SIZE)
        self.page = min(self.page, last_page)
        first = self.page * PAGE_SIZE
        self.servers = matching[first : first + PAGE_SIZE]

    def _matching(self) -> list[ServerRow]:
        """The servers whose name, description, transport or status contain the search."""
        needle = self.search.strip().lower()
        if not needle:
            return self._rows
        return [
            row
            for row in self._rows
            if any(needle in text.lower() for text in (row.name, row.description, row.transport))
            or needle == row.status
        ]

    @rx.event
    def set_search(self, value: str):
        self.search = str(value)[:100]
        self.page = 0
        self._show()

    def _row(self, server_id: str) -> ServerRow | None:
        return next((row for row in self._rows if row.id == server_id), None)

    def _project_id(self) -> str:
        return route_ids(self)[0]

    def _put(self, server: ServerOut) -> ServerRow:
        row = ServerRow.of(server)
        self._rows = [row if s.id == row.id else s for s in self._rows]
        self._show()
        return row

    async def _reload(self) -> None:
        self._rows = [
            ServerRow.of(s) for s in await self._call(servers.list_servers, self._project_id())
        ]
        self._show()

    @rx.event
    async def load(self):
        self.servers, self._rows = [], []
        self.page = self.total = self.server_count = 0
        self.search = ""
        self.checking = []
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event
        # A link such as the overview's "Add a server" lands here with ?add=server; the dialog
        # opens (a person who may not add servers would be refused when saving anyway).
        if not self.problem and self.router.url.query_parameters.get("add") == "server":
            from mcp_orch_app.ui.states.server_editor import ServerEditorState  # (it imports us)

            yield ServerEditorState.open_new("form")

    @rx.event
    def next_page(self):
        if not self.is_last_page:
            self.page += 1
            self._show()

    @rx.event
    def previous_page(self):
        if self.page > 0:
            self.page -= 1
            self._show()

    @rx.event
    async def reload(self):
        """Read the list again (after the add/edit dialog or an import saved something)."""
        async for event in self._attempt("loading", self._reload):
            yield event

    @rx.event
    async def set_enabled(self, server_id: str, enabled: bool):
        async def switch():
            current = self._row(server_id)
            if current is not None and current.enabled == enabled:
                return None
            row = self._put(await self._call(servers.toggle_server, self._project_id(), server_id))
            return rx.toast.success(f"{row.name} {'enabled' if row.enabled else 'disabled'}.")

        async for event in self._attempt("busy_id", switch, value=server_id):
            yield event

    @rx.event
    def ask_delete(self, server_id: str):
        """Open the confirmation for deleting a server (it names the server)."""
        row = self._row(server_id)
        if row is not None:
            self.pending_delete_id, self.pending_delete_name = row.id, row.name

    @rx.event
    def cancel_delete(self):
        self.pending_delete_id = self.pending_delete_name = ""

    @rx.event
    async def delete(self, server_id: str):
        self.cancel_delete()

        async def remove():
            row = self._row(server_id)
            await self._call(servers.delete_server, self._project_id(), server_id)
            self._rows = [s for s in self._rows if s.id != server_id]
            self._show()
            return rx.toast.success(f"{row.name if row else 'The server'} deleted.")

        async for event in self._attempt("busy_id", remove, value=server_id):
            yield event

    @rx.event(background=True)
    async def refresh(self, server_id: str):
        project_id = self._project_id()

        async def check(actor):
            server = await operations.refresh_server(actor, project_id, server_id)
            return lambda: _check_toast(self._put(server), "checked")

        async for event in run_live(self, "checking", server_id, check):
            yield event

    @rx.event(background=True)
    async def restart(self, server_id: str):
        project_id = self._project_id()

        async def restart(actor):
            server = await operations.restart_server(actor, project_id, server_id)
            return lambda: _check_toast(self._put(server), "restarted")

        async for event in run_live(self, "checking", server_id, restart):
            yield event

    @rx.event(background=True)
    async def refresh_all(self):
        """Check every enabled server, several at a time, counting them off as they finish."""
        async with self:
            if self.refreshing_all:
                return
            targets = [s.id for s in self._rows if s.enabled]
            if targets:
                self.refreshing_all = True
                self.refresh_done, self.refresh_total = 0, len(targets)
                self.checking = [*self.checking, *targets]
        if not targets:
            yield rx.toast.info("There is no enabled server to check.")
            return
        try:
            events = await self._check_many(targets, counted=True)
        finally:
            async with self:
                self._end_refresh_all(targets)
        yield events

    @rx.event(background=True)
    async def check_saved(self, server_ids: list[str]):
        """Check servers right after they were added, edited or imported, so their status and
        tools show without anyone pressing refresh; each row says "checking…" meanwhile."""
        failed = None
        targets: list[str] = []
        async with self:
            try:
                await self._reload()
            except ServiceError as exc:
                failed = refusal(self, exc)
            else:
                rows = [self._row(str(server_id)) for server_id in server_ids]
                targets = [row.id for row in rows if row is not None and row.enabled]
                targets = [k for k in targets if k not in self.checking]
                self.checking = [*self.checking, *targets]
        if failed is not None or not targets:
            yield failed
            return
        try:
            events = await self._check_many(targets)
        finally:
            async with self:
                self.checking = [k for k in self.checking if k not in targets]
        yield events

    async def _check_many(self, targets: list[str], counted: bool = False):
        """Live-check ``targets`` (a bounded number at a time); the toast that sums them up.
        Each row leaves ``checking`` and shows its new status as soon as its check ends;
        ``counted``: each check also advances the "refresh all" progress."""
        project_id = self._project_id()
        try:
            actor = await live_actor(self)
        except ServiceError as exc:
            async with self:
                return refusal(self, exc)

        bound = asyncio.Semaphore(operations.DEFAULT_CONCURRENCY)
        statuses: Counter[str] = Counter()
        failures: list[str] = []
        checked: list[ServerRow] = []

        async def check(server_id: str) -> None:
            async with bound:
                try:
                    server = await operations.refresh_server(actor, project_id, server_id)
                except (ServiceError, operations.GatewayNotRunning) as exc:
                    server = None
                    failures.append(getattr(exc, "message", str(exc)))
            async with self:
                if server is not None:
                    row = self._put(server)
                    checked.append(row)
                    statuses[row.status] += 1
                if counted:
                    self.refresh_done += 1
                self.checking = [k for k in self.checking if k != server_id]

        await asyncio.gather(*(check(server_id) for server_id in targets))
        if len(targets) == 1 and checked:
            return _check_toast(checked[0], "checked")
        return _summary_toast(statuses, failures)

    def _end_refresh_all(self, targets: list[str]) -> None:
        self.refreshing_all = False
        self.refresh_done = self.refresh_total = 0
        self.checking = [k for k in self.checking if k not in targets]

    @rx.event
    def open_export(self):
        self._show_export(True)

    @rx.event
    def set_export_open(self, is_open: bool):
        # The dialog's own trigger opens it (a trigger button with an on_click of its own is
        # wrapped in a div that takes over the button's ARIA role).
        self._show_export(bool(is_open))

    def _show_export(self, is_open: bool) -> None:
        if is_open:  # each export starts clean
            self.export_with_secrets = False
            self.export_error = ""
        self.export_open = is_open

    @rx.event
    def set_export_with_secrets(self, value: bool):
        self.export_with_secrets = bool(value)
        self.export_error = ""

    @rx.event
    async def export(self, form: dict | None = None):
        # The passphrase comes with the submitted form only: it is never kept in the state.
        form = form or {}
        passphrase, confirm = str(form.get("passphrase", "")), str(form.get("confirm", ""))

        async def download():
            project_id = self._project_id()
            if self.export_with_secrets:
                if passphrase != confirm:
                    raise InvalidInput("The two passphrases differ; type the same one twice.")
                document = await self._call(servers.export_servers_sealed, project_id, passphrase)
                filename = "mcp-servers.encrypted.json"
                toast = rx.toast.success(
                    "Exported with secrets, encrypted: keep the passphrase to import the file."
                )
            else:
                document = await self._call(servers.export_servers, project_id)
                filename, toast = "mcp-servers.json", None
            self.export_open = False
            return [
                rx.download(
                    data=json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                    filename=filename,
                    mime_type="application/json",
                ),
                *([toast] if toast else []),
            ]

        async for event in self._attempt(
            "exporting", download, error="export_error", shown=InvalidInput
        ):
            yield event


def _check_toast(row: ServerRow, what: str):
    if row.status == "online":
        return rx.toast.success(f"{row.name} {what}: online, {row.tools_count} tools.")
    return rx.toast.warning(f"{row.name} {what}: {row.status}. {row.last_error}".strip())


def _summary_toast(statuses: Counter[str], failures: list[str]):
    checked = sum(statuses.values())
    counts = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    summary = f"Checked {checked} server{'' if checked == 1 else 's'}" + (
        f": {counts}." if counts else "."
    )
    if failures:
        return rx.toast.error(f"{summary} Not checked: {failures[0]}", close_button=True)
    if statuses.get("online", 0) == checked:
        return rx.toast.success(summary)
    return rx.toast.warning(summary)
