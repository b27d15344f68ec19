"""Assembles the Reflex app: pages, the REST API / MCP routes (api_transformer), lifespan tasks."""

import reflex as rx

from mcp_orch_app.api.app import create_api
from mcp_orch_app.cross_origin import restrict_socket_origins
from mcp_orch_app.gateway.runtime import gateway_lifespan
from mcp_orch_app.lifecycle import preflight
from mcp_orch_app.ui.pages import register_pages
from mcp_orch_app.worker.scheduler import worker_lifespan

# Fails start-up with a clear message on unusable settings (for example a malformed key).
preflight()

app = rx.App(api_transformer=create_api())
# The UI's websocket takes pages of its own host (and configured origins) only.
restrict_socket_origins(app)
register_pages(app)
# The MCP gateway: upstream pool, sessions, call logging; on shutdown it stops every upstream
# process, then drains the log writer.
app.register_lifespan_task(gateway_lifespan)
# The background worker: scheduled health checks through the gateway, log retention. Registered
# after the gateway, so it stops first at shutdown.
app.register_lifespan_task(worker_lifespan)
