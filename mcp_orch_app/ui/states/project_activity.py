"""/projects/[project_id]/activity: the project's feed, filtered by kind and by person, one page
at a time (keyset pages on the entry id: new entries never shift the page being read)."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.services import activity
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ActivityRow, Choice

PAGE_SIZE = 25
# The value of the "no filter" option of components.filter_select.
ALL = "all"


def action_label(action: str) -> str:
    """``api_key.created`` -> ``api key created``."""
    return action.replace("_", " ").replace(".", " ")


def _feed_page(
    db: Session, actor: Actor, project_id: str, before_id: int | None, action: str, actor_id: str
):
    """One page of the feed (and one entry more, to know whether there is an older page)."""
    return activity.list_project_activity(
        db,
        actor,
        project_id,
        limit=PAGE_SIZE + 1,
        before_id=before_id,
        action=action if action != ALL else None,
        actor_id=actor_id if actor_id != ALL else None,
    )


class ProjectActivityState(ProjectFrameState):
    loading: bool = True
    problem: str = ""
    # A filter or a page change is being fetched (the page stays, its buttons spin).
    paging: bool = False
    entries: list[ActivityRow] = []
    kinds: list[Choice] = []
    people: list[Choice] = []
    action: str = ALL
    actor_id: str = ALL
    has_older: bool = False
    # The ``before_id`` of every page from the newest to the one shown (None: the newest).
    _pages: list[int | None] = [None]

    @rx.var
    def page_number(self) -> int:
        return len(self._pages)

    @rx.var
    def filtered(self) -> bool:
        return self.action != ALL or self.actor_id != ALL

    async def _show(self, before_id: int | None) -> None:
        rows = await self._call(
            _feed_page, self.route_project_id(), before_id, self.action, self.actor_id
        )
        self.has_older = len(rows) > PAGE_SIZE
        self.entries = [ActivityRow.of(row) for row in rows[:PAGE_SIZE]]

    async def _first_page(self) -> None:
        self._pages = [None]
        await self._show(None)

    async def _reload(self) -> None:
        filters = await self._call(activity.project_activity_filters, self.route_project_id())
        self.kinds = [Choice(value=a, label=action_label(a)) for a in filters.actions]
        self.people = [Choice(value=str(p.id), label=p.name) for p in filters.actors]
        await self._first_page()

    @rx.event
    async def load(self):
        self.entries = []
        self.action = ALL
        self.actor_id = ALL
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    async def filter_action(self, action: str):
        self.action = action
        async for event in self._attempt("paging", self._first_page):
            yield event

    @rx.event
    async def filter_actor(self, actor_id: str):
        self.actor_id = actor_id
        async for event in self._attempt("paging", self._first_page):
            yield event

    @rx.event
    async def clear_filters(self):
        self.action = ALL
        self.actor_id = ALL
        async for event in self._attempt("paging", self._first_page):
            yield event

    @rx.event
    async def older(self):
        if not self.has_older or not self.entries:
            return

        async def next_page():
            before_id = self.entries[-1].id
            await self._show(before_id)
            self._pages = [*self._pages, before_id]

        async for event in self._attempt("paging", next_page):
            yield event

    @rx.event
    async def newer(self):
        if len(self._pages) < 2:
            return

        async def previous_page():
            pages = self._pages[:-1]
            await self._show(pages[-1])
            self._pages = pages

        async for event in self._attempt("paging", previous_page):
            yield event
