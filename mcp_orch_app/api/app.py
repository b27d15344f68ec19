"""The FastAPI app handed to Reflex as ``api_transformer``: REST under /api, MCP endpoints under
/projects/{project_id}/... (see mcp_orch_app.gateway.http_endpoints), and the load balancer's
probes /healthz and /readyz (api/health.py).

Reflex mounts its own backend inside this app, so these routes match first, also on the
single production port. Request bodies are bounded for all of them (api/body_limits.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from mcp_orch_app.api import (
    admin,
    api_keys,
    auth,
    dashboard,
    health,
    live,
    oauth,
    observability,
    projects,
    servers,
    teams,
    tools,
    upstream_oauth,
    workers,
)
from mcp_orch_app.api.body_limits import BodyLimitMiddleware
from mcp_orch_app.api.errors import install_error_handlers
from mcp_orch_app.api.openapi import install_openapi
from mcp_orch_app.api.security_headers import SecurityHeadersMiddleware
from mcp_orch_app.gateway.http_endpoints import install_mcp_endpoints


def create_api() -> FastAPI:
    api = FastAPI(
        title="mcp-orch",
        version="0.1.0",
        description="REST API of mcp-orch. Authenticate with `Authorization: Bearer <token>` "
        "from POST /api/auth/login.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    install_error_handlers(api)
    for module in (
        health,
        auth,
        projects,
        servers,
        live,
        tools,
        observability,
        api_keys,
        teams,
        admin,
        workers,
        dashboard,
        upstream_oauth,
    ):
        api.include_router(module.router)
    api.include_router(oauth.router)
    api.include_router(oauth.rest)
    install_mcp_endpoints(api)
    # Added last, so it runs first: around the MCP endpoints, the REST routes and the Reflex
    # backend mounted inside this app.
    api.add_middleware(BodyLimitMiddleware)
    # Outermost of this app: also the UI pages and assets Reflex serves from inside it.
    api.add_middleware(SecurityHeadersMiddleware)
    install_openapi(api)
    return api
