"""/projects/[project_id]/logs: the server events of the project (starts, stops, crashes,
status changes, stderr lines), newest first, by minimum level and by server."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.services import server_logs, servers
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import Choice, ProjectLogRow

# The newest entries shown; the filters narrow them down further back.
LOG_LIMIT = 200
ALL = "all"
LEVEL_CHOICES = [
    Choice(value=ALL, label="All levels"),
    Choice(value="info", label="Info and above"),
    Choice(value="warning", label="Warnings and errors"),
    Choice(value="error", label="Errors only"),
]


class ServerLogsState(ProjectFrameState):
    loading: bool = True
    problem: str = ""
    fetching: bool = False
    logs: list[ProjectLogRow] = []
    servers: list[Choice] = []
    level: str = ALL
    server_id: str = ALL

    @rx.var
    def at_limit(self) -> bool:
        return len(self.logs) >= LOG_LIMIT

    async def _show(self) -> None:
        found = await self._call(
            server_logs.list_server_logs,
            self.route_project_id(),
            server_id=None if self.server_id == ALL else self.server_id,
            level=None if self.level == ALL else self.level,
            limit=LOG_LIMIT,
        )
        self.logs = [ProjectLogRow.of(log) for log in found]

    async def _reload(self) -> None:
        found = await self._call(servers.list_servers, self.route_project_id())
        self.servers = [Choice(value=str(s.id), label=s.name) for s in found]
        await self._show()

    @rx.event
    async def load(self):
        self.logs = []
        self.level = self.server_id = ALL
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    async def set_level(self, level: str):
        self.level = level if level in [c.value for c in LEVEL_CHOICES] else ALL
        async for event in self._attempt("fetching", self._show):
            yield event

    @rx.event
    async def set_server(self, server_id: str):
        self.server_id = server_id if server_id in [c.value for c in self.servers] else ALL
        async for event in self._attempt("fetching", self._show):
            yield event

    @rx.event
    async def refresh(self):
        async for event in self._attempt("fetching", self._show):
            yield event
