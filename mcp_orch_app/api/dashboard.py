"""/api/dashboard: the home dashboard across the caller's projects."""

from __future__ import annotations

from fastapi import APIRouter

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import dashboard
from mcp_orch_app.services.schemas import DashboardOut

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"], route_class=StrictJSONRoute)


@router.get("", response_model=DashboardOut)
def get_dashboard(actor: CurrentActor):
    return run(dashboard.dashboard, actor)
