"""/api/projects/{project_id}/servers: CRUD, toggle, Claude Desktop JSON import/export.

``/export`` masks secrets; ``/export-encrypted`` keeps them, sealed with a passphrase, and
``/import-encrypted`` reads such a file back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import servers
from mcp_orch_app.services.schemas import (
    ImportOut,
    SealedExportIn,
    SealedImportIn,
    ServerIn,
    ServerOut,
    ServerPatch,
)

router = APIRouter(
    prefix="/api/projects/{project_id}/servers", tags=["servers"], route_class=StrictJSONRoute
)


@router.get("", response_model=list[ServerOut])
def list_servers(project_id: str, actor: CurrentActor):
    return run(servers.list_servers, actor, project_id)


@router.post("", status_code=201, response_model=ServerOut)
def create_server(project_id: str, body: ServerIn, actor: CurrentActor):
    return run(servers.create_server, actor, project_id, body)


@router.post("/import", response_model=ImportOut)
def import_servers(
    project_id: str,
    actor: CurrentActor,
    document: Any = Body(
        ..., examples=[{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}]
    ),
):
    return run(servers.import_servers, actor, project_id, document)


@router.get("/export")
def export_servers(project_id: str, actor: CurrentActor) -> dict[str, Any]:
    return run(servers.export_servers, actor, project_id)


@router.post("/import-encrypted", response_model=ImportOut)
def import_servers_sealed(project_id: str, body: SealedImportIn, actor: CurrentActor):
    return run(servers.import_servers, actor, project_id, body.envelope, body.passphrase)


@router.post("/export-encrypted")
def export_servers_sealed(
    project_id: str, body: SealedExportIn, actor: CurrentActor
) -> dict[str, Any]:
    return run(servers.export_servers_sealed, actor, project_id, body.passphrase)


@router.get("/{server_id}", response_model=ServerOut)
def get_server(project_id: str, server_id: str, actor: CurrentActor):
    return run(servers.get_server, actor, project_id, server_id)


@router.patch("/{server_id}", response_model=ServerOut)
def update_server(project_id: str, server_id: str, body: ServerPatch, actor: CurrentActor):
    return run(servers.update_server, actor, project_id, server_id, body)


@router.delete("/{server_id}", status_code=204)
def delete_server(project_id: str, server_id: str, actor: CurrentActor) -> Response:
    run(servers.delete_server, actor, project_id, server_id)
    return Response(status_code=204)


@router.post("/{server_id}/toggle", response_model=ServerOut)
def toggle_server(project_id: str, server_id: str, actor: CurrentActor):
    return run(servers.toggle_server, actor, project_id, server_id)
