"""/api/workers: the background worker (administrators only; everyone else gets 403).

Thin async adapters over mcp_orch_app/worker/control.py. ``check-now`` waits for the run and
returns it; 409 when a run is already in progress (scheduled or asked for by someone else),
503 when this process runs no worker or no gateway (only outside the app).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from mcp_orch_app.api.deps import CurrentActor
from mcp_orch_app.api.openapi import refusals
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services.worker import (
    DEFAULT_HISTORY,
    MAX_HISTORY,
    WorkerConfigIn,
    WorkerRunOut,
    WorkerStatusOut,
)
from mcp_orch_app.worker import control

router = APIRouter(prefix="/api/workers", tags=["worker"], route_class=StrictJSONRoute)


@router.get("/status", response_model=WorkerStatusOut)
async def worker_status(actor: CurrentActor):
    return await control.worker_status(actor)


@router.post("/start", response_model=WorkerStatusOut)
async def start_worker(actor: CurrentActor):
    return await control.start_worker(actor)


@router.post("/stop", response_model=WorkerStatusOut)
async def stop_worker(actor: CurrentActor):
    return await control.stop_worker(actor)


@router.put("/config", response_model=WorkerStatusOut)
async def configure_worker(body: WorkerConfigIn, actor: CurrentActor):
    return await control.configure_worker(actor, body)


@router.get("/history", response_model=list[WorkerRunOut])
async def run_history(
    actor: CurrentActor, limit: int = Query(DEFAULT_HISTORY, ge=1, le=MAX_HISTORY)
):
    return await control.run_history(actor, limit)


@router.post("/check-now", response_model=WorkerRunOut, responses=refusals(409, 503))
async def check_now(actor: CurrentActor):
    try:
        return await control.check_now(actor)
    except control.NOT_RUNNING as exc:
        return JSONResponse({"detail": str(exc)}, status_code=503)
