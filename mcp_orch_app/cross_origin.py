"""Which web origins may talk to mcp-orch's backend from a browser, in one place.

The UI is served from the backend's own origin, and MCP clients are programs, not browsers, so
by default no other web origin gets anything: no `Access-Control-Allow-Origin` on any answer
(Reflex's default, `*` with credentials, reflected any origin including `null`), and the UI's
websocket (`/_event`) accepts only pages of the host it is served from. An operator who runs a
browser-based tool elsewhere lists its exact origins in `MCP_ORCH_CORS_ORIGINS`; those get CORS
answers (with credentials) and pass the MCP endpoints' Origin check (gateway/http_security.py).

`reflex run` in dev mode serves the UI from its own port (3000) and the backend from another
(8000); in that mode only, the dev frontend's loopback origins are allowed too, so development
works as before. Production (`reflex run --env prod --single-port`) is one origin.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from mcp_orch_app.config import get_settings


def cors_allowed_origins() -> tuple[str, ...]:
    """The origins for Reflex's `cors_allowed_origins` (its CORS middleware on every layer)."""
    return get_settings().cors_origins + _dev_frontend_origins()


def _dev_frontend_origins() -> tuple[str, ...]:
    if os.environ.get("REFLEX_ENV_MODE") != "dev":
        return ()
    port = os.environ.get("REFLEX_FRONTEND_PORT") or "3000"
    return (f"http://localhost:{port}", f"http://127.0.0.1:{port}")


def socket_origin_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
    """The websocket's Origin check (python-engineio's callable form): the page must come
    from the host the socket is served on, or from a configured origin. Reflex hands engineio
    its CORS list, which would leave out the app's own origin once an operator lists one."""
    if not origin:
        return True  # not a browser page: the socket's events carry the login token anyway
    normalised = origin.rstrip("/").lower()
    if normalised in cors_allowed_origins():
        return True
    try:
        netloc = urlsplit(normalised).netloc
    except ValueError:
        return False
    host = (environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST") or "").lower()
    return bool(netloc) and netloc == host.split(",")[0].strip()


def restrict_socket_origins(app: Any) -> None:
    """Make the Reflex app's socket server use socket_origin_allowed."""
    sio = getattr(app, "sio", None)
    if sio is not None:
        sio.eio.cors_allowed_origins = socket_origin_allowed
