"""/api/projects/{project_id}/api-keys: project keys for MCP clients."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import api_keys
from mcp_orch_app.services.schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut

router = APIRouter(
    prefix="/api/projects/{project_id}/api-keys", tags=["api-keys"], route_class=StrictJSONRoute
)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(project_id: str, actor: CurrentActor):
    return run(api_keys.list_api_keys, actor, project_id)


@router.post("", status_code=201, response_model=ApiKeyCreatedOut)
def create_key(project_id: str, body: ApiKeyIn, actor: CurrentActor):
    return run(api_keys.create_api_key, actor, project_id, body)


@router.delete("/{key_id}", status_code=204)
def revoke_key(project_id: str, key_id: str, actor: CurrentActor) -> Response:
    run(api_keys.revoke_api_key, actor, project_id, key_id)
    return Response(status_code=204)
