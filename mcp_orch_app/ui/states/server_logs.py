"""/projects/[project_id]/logs: the server events of the project (starts, stops, crashes,
status changes, stderr lines, resource and prompt requests), newest first, by minimum level,
server, text and time range, with a live tail.

The live tail asks every few seconds for the rows written after the newest one shown
(``after_id``) and puts them on top, so a new stderr line appears without a reload and what
the person reads stays where it is.
"""

from __future__ import annotations

import time

import reflex as rx

from mcp_orch_app.services import server_logs, servers
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import Choice, ProjectLogRow
from mcp_orch_app.ui.states.time_range import TimeRangeMixin

# The newest entries shown; the filters narrow them down further back.
LOG_LIMIT = 200
TAIL_SECONDS = 3
ALL = "all"
LEVEL_CHOICES = [
    Choice(value=ALL, label="All levels"),
    Choice(value="info", label="Info and above"),
    Choice(value="warning", label="Warnings and errors"),
    Choice(value="error", label="Errors only"),
]


class ServerLogsState(TimeRangeMixin, ProjectFrameState):
    loading: bool = True
    problem: str = ""
    filter_problem: str = ""
    fetching: bool = False
    tailing: bool = False
    logs: list[ProjectLogRow] = []
    servers: list[Choice] = []
    level: str = ALL
    server_id: str = ALL
    q: str = ""
    live: bool = True
    _tailed_epoch: float = 0.0

    @rx.var
    def at_limit(self) -> bool:
        return len(self.logs) >= LOG_LIMIT

    @rx.var
    def tail_possible(self) -> bool:
        """A live tail only makes sense while the range reaches up to now."""
        return not (self.custom_range and self.custom_until != "")

    def _filters(self) -> dict:
        since, until = self._range()
        return {
            "server_id": None if self.server_id == ALL else self.server_id,
            "level": None if self.level == ALL else self.level,
            "q": self.q or None,
            "since": since,
            "until": until,
        }

    async def _show(self) -> None:
        found = await self._call(
            server_logs.list_server_logs,
            self.route_project_id(),
            **self._filters(),
            limit=LOG_LIMIT,
        )
        self.logs = [ProjectLogRow.of(log) for log in found]
        self._tailed_epoch = time.time()

    async def _tail(self) -> None:
        newest = max((row.id for row in self.logs), default=None)
        if newest is None:
            await self._show()
            return
        filters = self._filters()
        filters["since"] = None  # rows written after the newest one shown, whenever they happened
        found = await self._call(
            server_logs.list_server_logs,
            self.route_project_id(),
            **filters,
            after_id=newest,
            limit=LOG_LIMIT,
        )
        if found:
            fresh = [ProjectLogRow.of(log) for log in found]
            self.logs = [*fresh, *self.logs][:LOG_LIMIT]
        self._tailed_epoch = time.time()

    async def _reload(self) -> None:
        found = await self._call(servers.list_servers, self.route_project_id())
        self.servers = [Choice(value=str(s.id), label=s.name) for s in found]
        await self._show()

    @rx.event
    async def load(self):
        self.logs = []
        self.level = self.server_id = ALL
        self.q = ""
        self.filter_problem = ""
        self._range_from_url()
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    async def _range_changed(self):
        async for event in self._attempt("fetching", self._show, error="filter_problem"):
            yield event

    @rx.event
    async def set_level(self, level: str):
        self.level = level if level in [c.value for c in LEVEL_CHOICES] else ALL
        async for event in self._range_changed():
            yield event

    @rx.event
    async def set_server(self, server_id: str):
        self.server_id = server_id if server_id in [c.value for c in self.servers] else ALL
        async for event in self._range_changed():
            yield event

    @rx.event
    async def search(self, form: dict):
        self.q = str(form.get("q", "")).strip()[:200]
        async for event in self._range_changed():
            yield event

    @rx.event
    def set_live(self, enabled: bool):
        self.live = enabled is True

    @rx.event
    async def refresh(self):
        async for event in self._attempt("fetching", self._show):
            yield event

    @rx.event
    async def tick(self, _now: str = ""):
        """The live tail's timer."""
        if not self.live or not self.tail_possible or self.loading or self.fetching or self.tailing:
            return
        if self.problem or time.time() - self._tailed_epoch < TAIL_SECONDS - 1:
            return
        async for event in self._attempt("tailing", self._tail, error="filter_problem"):
            yield event
