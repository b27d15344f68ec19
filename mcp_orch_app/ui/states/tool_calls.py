"""/projects/[project_id]/tool-calls: the tool-call log viewer.

Rows come from ``tool_calls.list_tool_calls``, the query service behind the REST API, 50 at a
time newest first ("Load more" follows the keyset cursor, so no row repeats or goes missing).
Every 30 seconds the page asks for the calls recorded after its newest row and merges them in
at the top: loaded pages and expanded rows stay. A row's full arguments, result and error are
read (``tool_calls.get_tool_call``) only while it is expanded, so the state holds pages of
short rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import reflex as rx

from mcp_orch_app.models.enums import ToolCallStatus
from mcp_orch_app.services import servers, tool_calls
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.schemas import ToolCallPage
from mcp_orch_app.ui.format import timestamp_seconds
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import Choice, ToolCallRow
from mcp_orch_app.ui.states.time_range import TimeRangeMixin

PAGE_SIZE = 50
# New calls one refresh merges in; with more than that the list starts again from the top.
REFRESH_LIMIT = 200
REFRESH_SECONDS = 30
# The value of the "no filter" option (a select's options cannot have an empty value).
ALL = "all"
STATUSES = [status.value for status in ToolCallStatus]
STATUS_CHOICES = [Choice(value=status, label=status) for status in STATUSES]
# Ids of the filter form's text inputs (cleared with rx.set_value).
TEXT_FILTERS = ("q", "tool", "session_id", "min_ms", "max_ms")
FILTER_INPUT_IDS = [f"filter-{name}" for name in TEXT_FILTERS]


def _milliseconds(text: str, label: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(f"{label} must be a whole number of milliseconds.")
    return int(text)


def _moment(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _newest_first(rows: list[ToolCallRow]) -> list[ToolCallRow]:
    return sorted(rows, key=lambda row: (row.at, row.id), reverse=True)


class ToolCallsState(TimeRangeMixin, ProjectFrameState):
    loading: bool = True
    problem: str = ""
    # Why the filters were refused (a bad duration, an unknown session id).
    filter_problem: str = ""
    refresh_problem: str = ""
    # A new listing (filters, range) or a refresh is being fetched; the rows stay meanwhile.
    fetching: bool = False
    loading_more: bool = False
    # The id of the row whose payloads are being read.
    expanding: int = 0
    rows: list[ToolCallRow] = []
    next_cursor: str = ""
    servers: list[Choice] = []
    status: str = ALL
    server_id: str = ALL
    q: str = ""
    tool: str = ""
    session_id: str = ""
    min_ms: str = ""
    max_ms: str = ""
    auto_refresh: bool = True
    refreshed_at: str = ""
    # The range of the listing shown (ISO; until empty: up to now), for its further pages.
    _since: str = ""
    _until: str = ""
    _refreshed_epoch: float = 0.0

    @rx.var
    def filtered(self) -> bool:
        # Every var named here, not through getattr: Reflex recomputes on the vars it sees.
        texts = (self.q, self.tool, self.session_id, self.min_ms, self.max_ms)
        return self.status != ALL or self.server_id != ALL or any(texts)

    def _query(self) -> dict:
        """The service's filters for what the page shows (InvalidInput for a bad duration)."""
        return {
            "status": None if self.status == ALL else self.status,
            "server_id": None if self.server_id == ALL else self.server_id,
            "tool": self.tool or None,
            "session_id": self.session_id or None,
            "q": self.q or None,
            "min_ms": _milliseconds(self.min_ms, "The minimum duration"),
            "max_ms": _milliseconds(self.max_ms, "The maximum duration"),
        }

    async def _list(self, **paging) -> ToolCallPage:
        return await self._call(
            tool_calls.list_tool_calls, self.route_project_id(), **self._query(), **paging
        )

    def _mark_refreshed(self) -> None:
        self.refreshed_at = timestamp_seconds(datetime.now(UTC))
        # Wall-clock: with several backend workers the next event may run in another process.
        self._refreshed_epoch = time.time()
        self.refresh_problem = ""

    async def _first_page(self) -> None:
        since, until = self._range()
        page = await self._list(since=since, until=until, limit=PAGE_SIZE)
        # Rows open before stay open when the new listing has them too.
        opened = {row.id: row for row in self.rows if row.expanded}
        self.rows = [opened.get(call.id) or ToolCallRow.of(call) for call in page.items]
        self.next_cursor = page.next_cursor or ""
        self._since = since.isoformat()
        self._until = until.isoformat() if until else ""
        self._mark_refreshed()

    async def _reload(self) -> None:
        found = await self._call(servers.list_servers, self.route_project_id())
        self.servers = [Choice(value=str(s.id), label=s.name) for s in found]
        await self._first_page()

    async def _merge_newer(self) -> None:
        """Merge in the calls recorded after the newest row shown."""
        if not self.rows:
            await self._first_page()
            return
        page = await self._list(
            since=_moment(self._since),
            until=_moment(self._until),
            newer_than=max(row.id for row in self.rows),
            limit=REFRESH_LIMIT,
        )
        if page.next_cursor:
            await self._first_page()
            return
        shown = {row.id for row in self.rows}
        fresh = [ToolCallRow.of(call) for call in page.items if call.id not in shown]
        if fresh:
            self.rows = _newest_first([*fresh, *self.rows])
        self._mark_refreshed()

    def _filters_from_url(self) -> None:
        params = self.router.url.query_parameters
        status = params.get("status", ALL)
        self.status = status if status in STATUSES else ALL
        self.session_id = params.get("session", "")[:64]
        self.tool = params.get("tool", "")[:200]
        self.server_id = ALL
        self.q = self.min_ms = self.max_ms = ""
        self._range_from_url()

    @rx.event
    async def load(self):
        self.rows = []
        self.next_cursor = ""
        self.filter_problem = ""
        self._filters_from_url()
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    async def _range_changed(self):
        async for event in self._attempt("fetching", self._first_page, error="filter_problem"):
            yield event

    @rx.event
    async def apply_filters(self, form: dict):
        before = {name: getattr(self, name) for name in TEXT_FILTERS}
        for name in TEXT_FILTERS:
            setattr(self, name, str(form.get(name, "")).strip()[:200])
        async for event in self._range_changed():
            yield event
        if self.filter_problem:
            # Refused: the rows shown, their refreshes and further pages keep the last filters.
            for name, value in before.items():
                setattr(self, name, value)

    @rx.event
    async def set_status(self, status: str):
        self.status = status if status in STATUSES else ALL
        async for event in self._range_changed():
            yield event

    @rx.event
    async def set_server(self, server_id: str):
        self.server_id = server_id if server_id in [c.value for c in self.servers] else ALL
        async for event in self._range_changed():
            yield event

    @rx.event
    async def clear_filters(self):
        self.status = self.server_id = ALL
        for name in TEXT_FILTERS:
            setattr(self, name, "")
        async for event in self._range_changed():
            yield event
        yield [rx.set_value(input_id, "") for input_id in FILTER_INPUT_IDS]

    @rx.event
    async def load_more(self):
        if not self.next_cursor:
            return

        async def next_page():
            page = await self._list(
                since=_moment(self._since),
                until=_moment(self._until),
                cursor=self.next_cursor,
                limit=PAGE_SIZE,
            )
            shown = {row.id for row in self.rows}
            self.rows = [*self.rows, *[ToolCallRow.of(c) for c in page.items if c.id not in shown]]
            self.next_cursor = page.next_cursor or ""

        async for event in self._attempt("loading_more", next_page):
            yield event

    @rx.event
    async def toggle_row(self, call_id: int):
        row = next((row for row in self.rows if row.id == call_id), None)
        if row is None:
            return
        if row.expanded:
            self._replace_row(row.collapse())
            return

        async def expand():
            call = await self._call(tool_calls.get_tool_call, self.route_project_id(), call_id)
            self._replace_row(row.expand(call))

        async for event in self._attempt("expanding", expand, value=call_id):
            yield event

    def _replace_row(self, new: ToolCallRow) -> None:
        self.rows = [new if row.id == new.id else row for row in self.rows]

    @rx.event
    def set_auto_refresh(self, enabled: bool):
        self.auto_refresh = enabled is True

    def _refresh(self):
        return self._attempt("fetching", self._merge_newer, error="refresh_problem")

    @rx.event
    async def refresh(self):
        async for event in self._refresh():
            yield event

    @rx.event
    async def tick(self, _now: str = ""):
        """The 30-second timer (also fired when it appears, right after a load: skipped)."""
        if not self.auto_refresh or self.loading or self.fetching or self.problem:
            return
        if time.time() - self._refreshed_epoch < REFRESH_SECONDS - 5:
            return
        async for event in self._refresh():
            yield event
