"""/api/projects/{project_id}/...: tool-call log and metrics, client sessions, server logs and
client configuration snippets (read-only views over what the gateway recorded)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import client_config, client_sessions, server_logs, tool_calls
from mcp_orch_app.services.bounds import MAX_DURATION_MS, MAX_ROW_ID, Timestamp
from mcp_orch_app.services.paging import MAX_LIMIT
from mcp_orch_app.services.schemas import (
    ClientConfigOut,
    ClientSessionPage,
    ServerLogOut,
    ToolCallMetricsOut,
    ToolCallOut,
    ToolCallPage,
)
from mcp_orch_app.services.tool_calls import MAX_QUERY_LENGTH

router = APIRouter(
    prefix="/api/projects/{project_id}", tags=["observability"], route_class=StrictJSONRoute
)


@router.get("/tool-calls", response_model=ToolCallPage)
def list_tool_calls(
    project_id: str,
    actor: CurrentActor,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    status: list[str] | None = Query(
        default=None, description="success, error, timeout, cancelled; repeat or comma-separate"
    ),
    server_id: str | None = None,
    tool: str | None = None,
    session_id: str | None = None,
    q: str | None = Query(
        default=None,
        description="text in arguments, result or error",
        json_schema_extra={"maxLength": MAX_QUERY_LENGTH},
    ),
    min_ms: int | None = Query(default=None, ge=0, le=MAX_DURATION_MS),
    max_ms: int | None = Query(default=None, ge=0, le=MAX_DURATION_MS),
    limit: int | None = Query(default=None, ge=1, le=MAX_LIMIT, description="default 50"),
    cursor: str | None = None,
    newer_than: int | None = Query(
        default=None,
        ge=0,
        le=MAX_ROW_ID,
        description="only calls recorded after the call with this id",
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
    since: Timestamp | None = None,
    until: Timestamp | None = None,
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


@router.get("/tool-calls/{call_id}", response_model=ToolCallOut)
def get_tool_call(project_id: str, call_id: str, actor: CurrentActor):
    """One call with its full arguments and result (what the log viewer's expanded row shows)."""
    return run(tool_calls.get_tool_call, actor, project_id, call_id)


@router.get("/sessions", response_model=ClientSessionPage)
def list_sessions(
    project_id: str,
    actor: CurrentActor,
    state: str | None = Query(default=None, description="active or ended"),
    server_id: str | None = None,
    unified: bool | None = None,
    session_id: str | None = Query(default=None, description="one session"),
    limit: int | None = Query(default=None, ge=1, le=MAX_LIMIT, description="default 50"),
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
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    q: str | None = Query(
        default=None, max_length=MAX_QUERY_LENGTH, description="text in the message"
    ),
    after_id: int | None = Query(
        default=None, ge=0, le=MAX_ROW_ID, description="only rows written after this one"
    ),
    limit: int | None = Query(default=None, ge=1, le=MAX_LIMIT, description="default 100"),
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
    auth: str = Query(
        default="key", description="key (a project API key) or oauth (sign in; URL only)"
    ),
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
        auth=auth,
    )
