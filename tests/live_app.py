"""mcp-orch's REST + MCP app on a free loopback port, for tests that talk to it over HTTP.

``running_app(engine)`` serves ``create_api()`` under uvicorn in an app whose lifespan runs the
gateway (with its own log writer on ``engine``), as the Reflex backend does in production.
Several may run at once (cluster members, tests/integration/test_session_routing.py): each
app's requests see its own gateway.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from mcp_orch_app.api.app import create_api
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.gateway.runtime import Gateway, gateway_lifespan, pinned_gateway


@dataclass
class LiveApp:
    base_url: str
    gateway: Gateway
    writer: LogWriter

    def url(self, project_id: Any, server: str, path: str = "mcp") -> str:
        """A per-server MCP endpoint."""
        return f"{self.base_url}/projects/{project_id}/servers/{server}/{path}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def running_app(
    engine, *, wrap: Callable[[Any], Any] | None = None, **gateway_options: Any
) -> AsyncIterator[LiveApp]:
    """create_api() under uvicorn, in an app whose lifespan runs the gateway; ``wrap`` builds
    the served app around create_api()'s (e.g. Reflex's own layers) instead of a bare mount."""
    writer = LogWriter(engine, flush_interval=0.05)
    gateway = Gateway(writer=writer, **{"backoff_initial": 0.1, **gateway_options})

    @asynccontextmanager
    async def lifespan(_app):
        async with gateway_lifespan(gateway):
            yield

    if wrap is None:
        app = Starlette(routes=[Mount("/", app=create_api())], lifespan=lifespan)
    else:
        app = wrap(lifespan)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    server.install_signal_handlers = lambda: None  # the test runner owns the signals
    with pinned_gateway(gateway):  # its requests see this app's gateway, not another's
        serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", gateway, writer)
    finally:
        server.should_exit = True
        await serving
