"""Reflex configuration. Application settings live in mcp_orch_app/config.py (environment)."""

import reflex as rx

from mcp_orch_app.config import apply_backend_workers
from mcp_orch_app.cross_origin import cors_allowed_origins
from mcp_orch_app.ui.theme import THEME

# Exactly MCP_ORCH_WORKERS backend processes (default 1), whether or not Redis is configured.
apply_backend_workers()

config = rx.Config(
    app_name="mcp_orch_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=THEME)],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Reflex's default ("*" with credentials) reflects every origin, `null` included.
    cors_allowed_origins=cors_allowed_origins(),
)
