"""The live server operations over REST: refresh (one / all), restart, calling a tool, and
browsing a server's resources (list, templates, read) and prompts (list, get).

Thin async adapters over gateway/operations.py (these routes use the running gateway, so they
run on the event loop; the database work inside is off-loaded with ``run_db``).

Answers:
- refresh and restart return the server (all servers for refresh-all) with its new status; an
  upstream that cannot be reached is not an HTTP error: the server comes back ``offline`` or
  ``error`` with ``last_error`` saying why. A disabled server: 409.
- a tool call returns the MCP ``CallToolResult`` as the server sent it, also when it is a tool
  error (``isError: true``, 200; this includes a disabled tool, refused with TOOL_DISABLED). A
  call that got no answer is 502 (the server is not running or answered a JSON-RPC error, e.g.
  an unknown tool) or 504 (it did not answer within its timeout; the call is not retried),
  with a ``detail`` naming the reason. Every call is in the tool-call log.
- resource and prompt lists answer ``{"items": [...]}`` as the server listed them (empty when
  it does not offer that capability); a read / get answers the MCP result as it came. Failures
  map like a tool call's (502 / 504); every read and get is in the server log.
- 503 when the process runs no gateway (only outside the app, e.g. a bare API in a script).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mcp_orch_app.api.deps import CurrentActor
from mcp_orch_app.api.openapi import refusals
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.gateway import operations
from mcp_orch_app.gateway.upstream import (
    UnusableList,
    UpstreamError,
    UpstreamFailure,
    UpstreamTimeout,
)
from mcp_orch_app.services.schemas import ServerOut

router = APIRouter(
    prefix="/api/projects/{project_id}/servers", tags=["servers"], route_class=StrictJSONRoute
)


class ToolCallIn(BaseModel):
    arguments: dict[str, Any] = Field(default_factory=dict)


class ResourceReadIn(BaseModel):
    uri: str = Field(min_length=1, max_length=4096)


class PromptGetIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    # The spec's prompt arguments are strings.
    arguments: dict[str, str] = Field(default_factory=dict)


def _failed(what: str, exc: UpstreamFailure) -> JSONResponse:
    if isinstance(exc, UpstreamTimeout):
        return JSONResponse({"detail": f"The {what} timed out: {exc}"}, status_code=504)
    if isinstance(exc, UpstreamError):
        detail = f"The server answered the {what} with an error: {exc.message} (code {exc.code})"
        return JSONResponse({"detail": detail}, status_code=502)
    return JSONResponse({"detail": f"The server could not be reached: {exc}"}, status_code=502)


def _not_running(exc: operations.GatewayNotRunning) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503)


@router.post("/refresh", response_model=list[ServerOut], responses=refusals(503))
async def refresh_all_servers(project_id: str, actor: CurrentActor):
    try:
        return await operations.refresh_all(actor, project_id)
    except operations.GatewayNotRunning as exc:
        return _not_running(exc)


@router.post("/{server_id}/refresh", response_model=ServerOut, responses=refusals(409, 503))
async def refresh_server(project_id: str, server_id: str, actor: CurrentActor):
    try:
        return await operations.refresh_server(actor, project_id, server_id)
    except operations.GatewayNotRunning as exc:
        return _not_running(exc)


@router.post("/{server_id}/restart", response_model=ServerOut, responses=refusals(409, 503))
async def restart_server(project_id: str, server_id: str, actor: CurrentActor):
    try:
        return await operations.restart_server(actor, project_id, server_id)
    except operations.GatewayNotRunning as exc:
        return _not_running(exc)


@router.post("/{server_id}/tools/{tool_name}/call", responses=refusals(409, 502, 503, 504))
async def call_tool(
    project_id: str, server_id: str, tool_name: str, body: ToolCallIn, actor: CurrentActor
) -> Any:
    try:
        outcome = await operations.call_tool(
            actor, project_id, server_id, tool_name, body.arguments
        )
    except operations.GatewayNotRunning as exc:
        return _not_running(exc)
    except UpstreamTimeout as exc:
        return JSONResponse({"detail": f"The tool call timed out: {exc}"}, status_code=504)
    except UpstreamError as exc:
        detail = f"The server answered the call with an error: {exc.message} (code {exc.code})"
        return JSONResponse({"detail": detail}, status_code=502)
    except UpstreamFailure as exc:
        return JSONResponse({"detail": f"The server could not be reached: {exc}"}, status_code=502)
    return outcome.result


async def _offers(project_id: str, server_id: str, kind: str, actor) -> Any:
    try:
        items = await operations.list_offers(actor, project_id, server_id, kind)
    except operations.GatewayNotRunning as exc:
        return _not_running(exc)
    except UpstreamFailure as exc:
        return _failed("list request", exc)
    except UnusableList as exc:
        return JSONResponse({"detail": f"The server's list is unusable: {exc}"}, status_code=502)
    return {"items": items}


@router.get("/{server_id}/resources")
async def list_resources(project_id: str, server_id: str, actor: CurrentActor) -> Any:
    return await _offers(project_id, server_id, "resources", actor)


@router.get("/{server_id}/resource-templates")
async def list_resource_templates(project_id: str, server_id: str, actor: CurrentActor) -> Any:
    return await _offers(project_id, server_id, "resource_templates", actor)


@router.post("/{server_id}/resources/read")
async def read_resource(
    project_id: str, server_id: str, body: ResourceReadIn, actor: CurrentActor
) -> Any:
    try:
        return await operations.read_resource(actor, project_id, server_id, body.uri)
    except operations.GatewayNotRunning as exc:
        return _not_running(exc)
    except UpstreamFailure as exc:
        return _failed("read", exc)


@router.get("/{server_id}/prompts")
async def list_prompts(project_id: str, server_id: str, actor: CurrentActor) -> Any:
    return await _offers(project_id, server_id, "prompts", actor)


@router.post("/{server_id}/prompts/get")
async def get_prompt(
    project_id: str, server_id: str, body: PromptGetIn, actor: CurrentActor
) -> Any:
    try:
        return await operations.get_prompt(actor, project_id, server_id, body.name, body.arguments)
    except operations.GatewayNotRunning as exc:
        return _not_running(exc)
    except UpstreamFailure as exc:
        return _failed("prompt request", exc)
