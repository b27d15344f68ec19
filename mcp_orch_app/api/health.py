"""``GET /healthz`` and ``GET /readyz`` for load balancers and service managers.

No authentication, no rate limit, tiny JSON bodies, never cached, left out of the OpenAPI
document (they are for balancers, not API clients). ``/healthz``: the process answers (no
database access). ``/readyz``: 200 when services/readiness.py finds the process fit for
traffic, 503 with the reason otherwise.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mcp_orch_app.services.readiness import readiness

router = APIRouter(include_in_schema=False)

_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


@router.get("/readyz")
async def readyz() -> JSONResponse:
    state = await readiness()
    return JSONResponse(state.body(), status_code=200 if state.ready else 503, headers=_NO_STORE)
