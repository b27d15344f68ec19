"""The browser-side protections every response of the app carries.

One ASGI middleware on the app Reflex mounts its own backend into, so it covers the UI pages and
assets (in ``reflex run --env prod`` the compiled frontend is served from the backend's port,
inside this app), the REST API and the MCP endpoints alike:

- ``Content-Security-Policy``: scripts, styles, images, fonts and connections (the UI's
  websocket) from this origin only; no plugins, no ``<base>`` tricks, no framing
  (``frame-ancestors 'none'``). Reflex's compiled pages start with inline scripts (the router's
  hydration data) and Radix/Emotion inject inline styles, hence ``'unsafe-inline'`` for both;
  everything upstream servers send (tool names, descriptions, errors, logs) is rendered as
  text by React, never as markup. ``MCP_ORCH_CONTENT_SECURITY_POLICY`` replaces the policy
  (for example when a proxy injects scripts of its own).
- ``X-Frame-Options: DENY`` for browsers without ``frame-ancestors``.
- ``Referrer-Policy: no-referrer``: page URLs carry project and server ids.
- ``X-Content-Type-Options: nosniff``: a tool result served as text stays text.

The interactive API docs (``/api/docs``) load Swagger UI from its CDN and get a policy that
allows that CDN and nothing more. A header a route set itself is left as it is.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_orch_app.config import get_settings

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SWAGGER_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {SWAGGER_CDN}",
        f"style-src 'self' 'unsafe-inline' {SWAGGER_CDN}",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)
DOCS_PATHS = ("/api/docs", "/api/docs/oauth2-redirect")


def _static_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-content-type-options", b"nosniff"),
    ]


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (websockets have no response headers
    a browser enforces)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        policy = get_settings().content_security_policy or DEFAULT_POLICY
        self._default = [(b"content-security-policy", policy.encode("latin-1")), *_static_headers()]
        self._docs = [
            (b"content-security-policy", DOCS_POLICY.encode("latin-1")),
            *_static_headers(),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope.get("path") in DOCS_PATHS else self._default

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
