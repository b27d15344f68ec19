"""/api/projects/{project_id}/...: tool-call log and metrics, client sessions, server logs and
client configuration snippets (read-only views over what the gateway recorded)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.services import client_config, client_sessions, server_logs, tool_calls
from mcp_orch_app.services.schemas import (
    ClientConfigOut,
    ClientSessionPage,
    ServerLogOut,
    ToolCallMetricsOut,
    ToolCallPage,
)

router = APIRouter(prefix="/api/projects/{project_id}", tags=["observability"])


@router.get("/tool-calls", response_model=ToolCallPage)
def list_tool_calls(
    project_id: str,
    actor: CurrentActor,
    since: datetime | None = None,
    until: datetime | None = None,
    status: list[str] | None = Query(
        default=None, description="success, error, timeout, cancelled; repeat or comma-separate"
    ),
    server_id: str | None = None,
    tool: str | None = None,
    session_id: str | None = None,
    q: str | None = Query(default=None, description="text in arguments, result or error"),
    min_ms: int | None = None,
    max_ms: int | None = None,
    limit: int | None = Query(default=None, description="1..200, default 50"),
    cursor: str | None = None,
    newer_than: int | None = Query(
        default=None, description="only calls recorded after the call with this id"
    ),
):
    return run(
        tool_calls.list_tool_calls,
        actor,
        project_id,
        since=since,
        until=until,
        status=status,
        server_id=server_id,
        tool=tool,
        session_id=session_id,
        q=q,
        min_ms=min_ms,
        max_ms=max_ms,
        limit=limit,
        cursor=cursor,
        newer_than=newer_than,
    )


@router.get("/tool-calls/metrics", response_model=ToolCallMetricsOut)
def tool_call_metrics(
    project_id: str,
    actor: CurrentActor,
    since: datetime | None = None,
    until: datetime | None = None,
    server_id: str | None = None,
):
    return run(
        tool_calls.tool_call_metrics,
        actor,
        project_id,
        since=since,
        until=until,
        server_id=server_id,
    )


@router.get("/sessions", response_model=ClientSessionPage)
def list_sessions(
    project_id: str,
    actor: CurrentActor,
    state: str | None = Query(default=None, description="active or ended"),
    server_id: str | None = None,
    unified: bool | None = None,
    session_id: str | None = Query(default=None, description="one session"),
    limit: int | None = Query(default=None, description="1..200, default 50"),
    cursor: str | None = None,
):
    return run(
        client_sessions.list_client_sessions,
        actor,
        project_id,
        state=state,
        server_id=server_id,
        unified=unified,
        session_id=session_id,
        limit=limit,
        cursor=cursor,
    )


@router.get("/server-logs", response_model=list[ServerLogOut])
def list_server_logs(
    project_id: str,
    actor: CurrentActor,
    server_id: str | None = None,
    level: str | None = Query(default=None, description="minimum level: debug..error"),
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = Query(default=None, description="text in the message"),
    after_id: int | None = Query(default=None, description="only rows written after this one"),
    limit: int | None = Query(default=None, description="1..200, default 100"),
):
    return run(
        server_logs.list_server_logs,
        actor,
        project_id,
        server_id=server_id,
        level=level,
        since=since,
        until=until,
        q=q,
        after_id=after_id,
        limit=limit,
    )


@router.get("/client-config", response_model=ClientConfigOut)
def get_client_config(
    project_id: str,
    request: Request,
    actor: CurrentActor,
    client: str = Query(description="cursor, cline, claude-desktop, claude-code or vscode"),
    server_id: str | None = None,
    unified: bool = False,
    transport: str = Query(default="http", description="http (streamable HTTP) or sse"),
):
    return run(
        client_config.client_config,
        actor,
        project_id,
        client=client,
        server_id=server_id,
        unified=unified,
        base_url=str(request.base_url),
        transport=transport,
    )
