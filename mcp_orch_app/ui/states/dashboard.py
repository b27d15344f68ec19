"""/dashboard: the home dashboard across the person's projects (``dashboard.dashboard``)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from mcp_orch_app.services import dashboard
from mcp_orch_app.services.schemas import DashboardOut
from mcp_orch_app.ui.format import ago, timestamp_seconds
from mcp_orch_app.ui.states.auth import AuthState


@dataclasses.dataclass
class DashboardProjectRow:
    id: str = ""
    name: str = ""
    online: int = 0
    offline: int = 0
    error: int = 0
    other: int = 0
    calls: int = 0
    errors: int = 0


@dataclasses.dataclass
class FailureRow:
    id: int = 0
    project_id: str = ""
    project_name: str = ""
    server_name: str = ""
    tool_name: str = ""
    status: str = ""
    error_code: str = ""
    error_message: str = ""
    when: str = ""
    when_at: str = ""


class DashboardState(AuthState):
    loading: bool = True
    problem: str = ""
    server_count: int = 0
    online: int = 0
    offline: int = 0
    error: int = 0
    disabled: int = 0
    unknown: int = 0
    calls: int = 0
    errors: int = 0
    projects: list[DashboardProjectRow] = []
    failures: list[FailureRow] = []

    def _show(self, out: DashboardOut) -> None:
        status = out.servers_by_status
        self.server_count = out.server_count
        self.online, self.offline, self.error = status["online"], status["offline"], status["error"]
        self.disabled, self.unknown = status["disabled"], status["unknown"]
        self.calls, self.errors = out.calls_24h, out.errors_24h
        self.projects = [
            DashboardProjectRow(
                id=str(p.project_id),
                name=p.project_name,
                online=p.servers_by_status["online"],
                offline=p.servers_by_status["offline"],
                error=p.servers_by_status["error"],
                other=p.servers_by_status["disabled"] + p.servers_by_status["unknown"],
                calls=p.calls_24h,
                errors=p.errors_24h,
            )
            for p in out.projects
        ]
        self.failures = [
            FailureRow(
                id=f.id,
                project_id=str(f.project_id),
                project_name=f.project_name,
                server_name=f.server_name,
                tool_name=f.tool_name,
                status=f.status.value,
                error_code=f.error_code or "",
                error_message=(f.error_message or "")[:200],
                when=ago(f.created_at),
                when_at=timestamp_seconds(f.created_at),
            )
            for f in out.recent_failures
        ]

    async def _reload(self) -> None:
        self._show(await self._call(dashboard.dashboard))

    @rx.event
    async def load(self):
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event
