"""/api/projects/{project_id}/servers/{server_id}/oauth: OAuth toward the upstream server.

- ``GET``: the auth mode, the shared connection and the caller's own (never a token).
- ``PUT`` ``{auth, mode, scopes, client_id, client_secret}``: owner or developer.
- ``POST /connect?which=shared|mine``: starts the flow, answers ``{authorize_url}`` to open.
- ``GET /callback``: where the provider sends the browser back (no bearer: the one-time
  ``state`` bound to this server, project and person is the proof); answers a small page
  that links back to the server's page.
- ``POST /disconnect?which=shared|mine``: forgets the tokens and revokes them at the provider.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse

from mcp_orch_app.api.deps import CurrentActor
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.config import get_settings
from mcp_orch_app.db import run_db
from mcp_orch_app.gateway import operations
from mcp_orch_app.gateway import upstream_oauth as flows
from mcp_orch_app.gateway.runtime import current_gateway
from mcp_orch_app.services import upstream_oauth
from mcp_orch_app.services.errors import InvalidInput

router = APIRouter(
    prefix="/api/projects/{project_id}/servers/{server_id}/oauth",
    tags=["servers"],
    route_class=StrictJSONRoute,
)


def callback_url(request: Request, project_id: str, server_id: str) -> str:
    base = get_settings().public_url or str(request.base_url).rstrip("/")
    return f"{base}/api/projects/{project_id}/servers/{server_id}/oauth/callback"


async def _restart_pooled(server_id: str) -> None:
    gateway = current_gateway()
    if gateway is not None:
        await gateway.pool.stop(server_id, "OAuth setting changed")


@router.get("")
async def get_oauth(project_id: str, server_id: str, actor: CurrentActor) -> dict[str, Any]:
    return await run_db(upstream_oauth.get_oauth, actor, project_id, server_id)


@router.put("")
async def set_oauth(
    project_id: str, server_id: str, actor: CurrentActor, body: Any = Body(...)
) -> dict[str, Any]:
    answer = await run_db(upstream_oauth.set_oauth, actor, project_id, server_id, body)
    await _restart_pooled(server_id)
    return answer


@router.post("/connect")
async def connect(
    project_id: str, server_id: str, request: Request, actor: CurrentActor, which: str = "shared"
) -> dict[str, Any]:
    target = await run_db(upstream_oauth.authorize_connection, actor, project_id, server_id, which)
    url = await flows.begin_connect(
        target, actor.user_id, callback_url(request, str(target.project_id), str(target.server_id))
    )
    return {"authorize_url": url, "expires_in": int(flows.STATE_TTL)}


def _page(title: str, text: str, status: int, back: str | None = None) -> HTMLResponse:
    link = (
        f'<p><a href="{html.escape(back, quote=True)}">Back to the server</a></p>' if back else ""
    )
    body = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{link}"
    )
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


@router.get(
    "/callback",
    response_class=HTMLResponse,
    responses={
        400: {
            "description": "The callback does not finish a flow (unknown, used or expired "
            "state; another server; the provider refused)",
            "content": {"text/html": {}},
        }
    },
)
async def callback(project_id: str, server_id: str, request: Request) -> HTMLResponse:
    params = {k: v[:2000] for k, v in request.query_params.items()}
    try:
        target = await flows.complete_callback(project_id, server_id, params)
    except InvalidInput as exc:
        return _page("Not connected", exc.message, 400)
    await _restart_pooled(str(target.server_id))
    await operations.check_after_connect(target)  # status and tools, as the person connected
    return _page(
        "Connected",
        f"mcp-orch is connected to '{target.server_name}'.",
        200,
        back=f"/projects/{target.project_id}/servers/{target.server_id}",
    )


@router.post("/disconnect")
async def disconnect(
    project_id: str, server_id: str, actor: CurrentActor, which: str = "shared"
) -> dict[str, Any]:
    target = await run_db(upstream_oauth.authorize_connection, actor, project_id, server_id, which)
    revoked = await flows.disconnect(target)
    await _restart_pooled(str(target.server_id))
    return {"disconnected": True, "revoked": revoked}
