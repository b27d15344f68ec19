"""The home dashboard: one view across every project the person is a member of.

Servers by status, tool calls and failures of the last 24 hours (per project and in total)
and the most recent failed calls, all read from the database (the status column the status
service writes and the tool-call log); nothing here contacts a server.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, func, select

from mcp_orch_app.models import McpServer, ServerStatus, ToolCallLog, ToolCallStatus
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.projects import list_projects
from mcp_orch_app.services.schemas import (
    DashboardOut,
    DashboardProjectOut,
    RecentFailureOut,
)

WINDOW = timedelta(hours=24)
RECENT_FAILURES = 10
_FAILED = (ToolCallStatus.ERROR, ToolCallStatus.TIMEOUT)


def _status_counts(rows) -> dict[str, int]:
    counts = {status.value: 0 for status in ServerStatus}
    for status, count in rows:
        counts[ServerStatus(status).value] += count
    return counts


def dashboard(db: Session, actor: Actor) -> DashboardOut:
    """Figures of the actor's projects (memberships, not every project an admin could open)."""
    projects = list_projects(db, actor)
    ids = [project.id for project in projects]
    since = utcnow() - WINDOW
    by_project = {project.id: {"servers": {}, "calls": 0, "errors": 0} for project in projects}
    servers = McpServer.__table__.c
    calls = ToolCallLog.__table__.c
    if ids:
        for project_id, status, count in db.exec(
            select(servers.project_id, servers.status, func.count())
            .where(servers.project_id.in_(ids))
            .group_by(servers.project_id, servers.status)
        ).all():
            by_project[project_id]["servers"][status] = count
        for project_id, status, count in db.exec(
            select(calls.project_id, calls.status, func.count())
            .where(calls.project_id.in_(ids), calls.created_at >= since)
            .group_by(calls.project_id, calls.status)
        ).all():
            by_project[project_id]["calls"] += count
            if ToolCallStatus(status) in _FAILED:
                by_project[project_id]["errors"] += count
        failures = db.exec(
            select(ToolCallLog)
            .where(
                col(ToolCallLog.project_id).in_(ids),
                col(ToolCallLog.status).in_(_FAILED),
                ToolCallLog.created_at >= since,
            )
            .order_by(col(ToolCallLog.created_at).desc(), col(ToolCallLog.id).desc())
            .limit(RECENT_FAILURES)
        ).all()
    else:
        failures = []
    names = {project.id: project.name for project in projects}
    project_rows = [
        DashboardProjectOut(
            project_id=project.id,
            project_name=project.name,
            servers_by_status=_status_counts(by_project[project.id]["servers"].items()),
            calls_24h=by_project[project.id]["calls"],
            errors_24h=by_project[project.id]["errors"],
        )
        for project in projects
    ]
    total_status = {status.value: 0 for status in ServerStatus}
    for row in project_rows:
        for status, count in row.servers_by_status.items():
            total_status[status] += count
    return DashboardOut(
        since=since,
        projects=project_rows,
        servers_by_status=total_status,
        server_count=sum(total_status.values()),
        calls_24h=sum(row.calls_24h for row in project_rows),
        errors_24h=sum(row.errors_24h for row in project_rows),
        recent_failures=[
            RecentFailureOut(
                id=row.id,
                created_at=row.created_at,
                project_id=row.project_id,
                project_name=names[row.project_id],
                server_id=row.server_id,
                server_name=row.server_name,
                tool_name=row.tool_name,
                status=row.status,
                error_code=row.error_code,
                error_message=row.error_message,
            )
            for row in failures
        ],
    )
