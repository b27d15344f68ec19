"""/projects/[project_id]/servers: the project's servers from the cached status, switching them
on and off, deleting, the live refresh (one or all) and restart, and the masked JSON export.

The list is read from the database and never contacts a server; only the refresh and restart
buttons do, as background events (ui/states/live.py) so the page stays usable meanwhile.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import reflex as rx

from mcp_orch_app.gateway import operations
from mcp_orch_app.services import servers
from mcp_orch_app.services.errors import ServiceError
from mcp_orch_app.services.schemas import ServerOut
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.live import live_actor, refusal, route_ids, run_live
from mcp_orch_app.ui.states.rows import ServerRow


class ServersState(AuthState):
    loading: bool = True
    # Why the list cannot be shown (the frame says it too); empty when it can.
    problem: str = ""
    servers: list[ServerRow] = []
    # Servers with a live check or restart under way (their rows show a spinner).
    checking: list[str] = []
    # The server being switched on/off or deleted.
    busy_id: str = ""
    refreshing_all: bool = False
    refresh_done: int = 0
    refresh_total: int = 0
    exporting: bool = False

    @rx.var
    def refresh_progress(self) -> str:
        return f"Checked {self.refresh_done} of {self.refresh_total}"

    def _project_id(self) -> str:
        return route_ids(self)[0]

    def _put(self, server: ServerOut) -> ServerRow:
        row = ServerRow.of(server)
        self.servers = [row if s.id == row.id else s for s in self.servers]
        return row

    async def _reload(self) -> None:
        self.servers = [
            ServerRow.of(s) for s in await self._call(servers.list_servers, self._project_id())
        ]

    @rx.event
    async def load(self):
        self.servers = []
        self.checking = []
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    async def reload(self):
        """Read the list again (after the add/edit dialog or an import saved something)."""
        async for event in self._attempt("loading", self._reload):
            yield event

    @rx.event
    async def set_enabled(self, server_id: str, enabled: bool):
        async def switch():
            current = next((s for s in self.servers if s.id == server_id), None)
            if current is not None and current.enabled == enabled:
                return None
            row = self._put(await self._call(servers.toggle_server, self._project_id(), server_id))
            return rx.toast.success(f"{row.name} {'enabled' if row.enabled else 'disabled'}.")

        async for event in self._attempt("busy_id", switch, value=server_id):
            yield event

    @rx.event
    async def delete(self, server_id: str):
        async def remove():
            name = next((s.name for s in self.servers if s.id == server_id), "The server")
            await self._call(servers.delete_server, self._project_id(), server_id)
            self.servers = [s for s in self.servers if s.id != server_id]
            return rx.toast.success(f"{name} deleted.")

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
        project_id = self._project_id()
        async with self:
            if self.refreshing_all:
                return
            targets = [s.id for s in self.servers if s.enabled]
            if targets:
                self.refreshing_all = True
                self.refresh_done, self.refresh_total = 0, len(targets)
                self.checking = [*self.checking, *targets]
        if not targets:
            yield rx.toast.info("There is no enabled server to check.")
            return
        try:
            actor = await live_actor(self)
        except ServiceError as exc:
            async with self:
                self._end_refresh_all(targets)
                events = refusal(self, exc)
            yield events
            return

        bound = asyncio.Semaphore(operations.DEFAULT_CONCURRENCY)
        statuses: Counter[str] = Counter()
        failures: list[str] = []

        async def check(server_id: str) -> None:
            async with bound:
                try:
                    server = await operations.refresh_server(actor, project_id, server_id)
                except (ServiceError, operations.GatewayNotRunning) as exc:
                    server = None
                    failures.append(getattr(exc, "message", str(exc)))
            async with self:
                if server is not None:
                    statuses[self._put(server).status] += 1
                self.refresh_done += 1
                self.checking = [k for k in self.checking if k != server_id]

        try:
            await asyncio.gather(*(check(server_id) for server_id in targets))
        finally:
            async with self:
                self._end_refresh_all(targets)
        yield _summary_toast(statuses, failures)

    def _end_refresh_all(self, targets: list[str]) -> None:
        self.refreshing_all = False
        self.refresh_done = self.refresh_total = 0
        self.checking = [k for k in self.checking if k not in targets]

    @rx.event
    async def export(self):
        async def download():
            document = await self._call(servers.export_servers, self._project_id())
            return rx.download(
                data=json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                filename="mcp-servers.json",
                mime_type="application/json",
            )

        async for event in self._attempt("exporting", download):
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
