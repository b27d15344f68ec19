"""/projects/[project_id]: one project's overview, read from the database (cached status)."""

from __future__ import annotations

from datetime import UTC, datetime

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.models.enums import ServerStatus
from mcp_orch_app.services import client_config, projects, tool_calls
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.ui.format import counted
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import (
    ActivityRow,
    MemberRow,
    ProjectRow,
    RecentCallRow,
    ServerRow,
    StatusCount,
)

RECENT_CALLS = 10
ALL_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# The overview lists this many servers, those that need attention first; the Servers tab has
# them all (a big project's full list made the overview slow to draw).
SERVERS_SHOWN = 10
_ATTENTION = {
    ServerStatus.ERROR: 0,
    ServerStatus.OFFLINE: 1,
    ServerStatus.UNKNOWN: 2,
    ServerStatus.ONLINE: 3,
    ServerStatus.DISABLED: 4,
}


def _overview_page(db: Session, actor: Actor, project_id: str, base_url: str):
    """The overview, the latest tool calls and the unified endpoint, in one transaction."""
    overview = projects.project_overview(db, actor, project_id)
    # The latest calls whenever they were made, not only those of the log viewer's last 30 min.
    calls = tool_calls.list_tool_calls(db, actor, project_id, since=ALL_TIME, limit=RECENT_CALLS)
    urls = client_config.unified_endpoint_urls(db, actor, project_id, base_url=base_url)
    return overview, calls.items, urls


class ProjectState(AuthState):
    loading: bool = True
    # Why the project cannot be shown (not a member, no such project); empty when it can.
    problem: str = ""
    project: ProjectRow = ProjectRow()
    unified_enabled: bool = False
    allow_anonymous: bool = False
    unified_http_url: str = ""
    unified_sse_url: str = ""
    servers: list[ServerRow] = []
    server_total: int = 0
    status_counts: list[StatusCount] = []
    members: list[MemberRow] = []
    activity: list[ActivityRow] = []
    recent_calls: list[RecentCallRow] = []

    @rx.var
    def members_label(self) -> str:
        return counted(len(self.members), "member")

    @rx.var
    def all_servers_label(self) -> str:
        return f"All {counted(self.server_total, 'server')}"

    def _route_project_id(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    async def _reload(self) -> None:
        overview, calls, urls = await self._call(
            _overview_page, self._route_project_id(), self.router.url.origin
        )
        self.project = ProjectRow.of(overview.project)
        self.unified_enabled = overview.project.unified_enabled
        self.allow_anonymous = overview.project.allow_anonymous
        self.unified_http_url = urls["http"]
        self.unified_sse_url = urls["sse"]
        by_attention = sorted(
            overview.servers, key=lambda s: (_ATTENTION[s.status], s.name.lower())
        )
        self.servers = [ServerRow.of(s) for s in by_attention[:SERVERS_SHOWN]]
        self.server_total = len(overview.servers)
        self.status_counts = [
            StatusCount(status=s.value, count=overview.status_counts.get(s.value, 0))
            for s in ServerStatus
        ]
        self.members = [MemberRow.of(m) for m in overview.members]
        self.activity = [ActivityRow.of(a) for a in overview.recent_activity]
        self.recent_calls = [RecentCallRow.of(c) for c in calls]

    @rx.event
    async def load(self):
        self.reset()
        # Not a member, or no such project: said on the page instead of a toast.
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event
