"""/api/projects/{project_id}/servers/{server_id}/tools: the cached tools and their preferences."""

from __future__ import annotations

from fastapi import APIRouter

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import tools
from mcp_orch_app.services.schemas import ToolEnabledIn, ToolOut, ToolsEnabledIn

router = APIRouter(
    prefix="/api/projects/{project_id}/servers/{server_id}/tools",
    tags=["tools"],
    route_class=StrictJSONRoute,
)


@router.get("", response_model=list[ToolOut])
def list_tools(project_id: str, server_id: str, actor: CurrentActor):
    return run(tools.list_tools, actor, project_id, server_id)


@router.patch("", response_model=list[ToolOut])
def set_tools_enabled(project_id: str, server_id: str, body: ToolsEnabledIn, actor: CurrentActor):
    """Switch several tools at once: ``{names: [...], enabled}``; all or none."""
    return run(tools.set_tools_enabled, actor, project_id, server_id, body.names, body.enabled)


@router.put("/{tool_name}", response_model=ToolOut)
def set_tool_enabled(
    project_id: str, server_id: str, tool_name: str, body: ToolEnabledIn, actor: CurrentActor
):
    return run(tools.set_tool_enabled, actor, project_id, server_id, tool_name, body.enabled)
