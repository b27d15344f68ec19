"""/projects/[project_id]/sessions: the MCP client sessions of the project, newest first, all,
active or ended; ``?session=<id>`` shows that one session (the log viewer links there)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.services import client_sessions
from mcp_orch_app.services.schemas import ClientSessionPage
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ProjectSessionRow

PAGE_SIZE = 50
STATES = ("all", "active", "ended")


class SessionsState(ProjectFrameState):
    loading: bool = True
    problem: str = ""
    fetching: bool = False
    loading_more: bool = False
    sessions: list[ProjectSessionRow] = []
    next_cursor: str = ""
    state_filter: str = "all"
    # The one session asked for with ?session=<id>; empty: the list.
    only_session: str = ""

    async def _page(self, cursor: str | None = None) -> ClientSessionPage:
        return await self._call(
            client_sessions.list_client_sessions,
            self.route_project_id(),
            state=None if self.state_filter == "all" else self.state_filter,
            session_id=self.only_session or None,
            limit=PAGE_SIZE,
            cursor=cursor,
        )

    async def _first_page(self) -> None:
        page = await self._page()
        self.sessions = [ProjectSessionRow.of(s) for s in page.items]
        self.next_cursor = page.next_cursor or ""

    @rx.event
    async def load(self):
        self.sessions = []
        self.next_cursor = ""
        self.state_filter = "all"
        self.only_session = self.router.url.query_parameters.get("session", "")[:64]
        async for event in self._attempt("loading", self._first_page, error="problem"):
            yield event

    @rx.event
    async def set_state_filter(self, value: str | list[str]):
        self.state_filter = value if isinstance(value, str) and value in STATES else "all"
        async for event in self._attempt("fetching", self._first_page):
            yield event

    @rx.event
    async def load_more(self):
        if not self.next_cursor:
            return

        async def next_page():
            page = await self._page(self.next_cursor)
            self.sessions = [*self.sessions, *[ProjectSessionRow.of(s) for s in page.items]]
            self.next_cursor = page.next_cursor or ""

        async for event in self._attempt("loading_more", next_page):
            yield event
