"""The browser-side protections every response of the app carries.

One ASGI middleware on the app Reflex mounts its own backend into, so it covers the UI pages and
assets (in ``reflex run --env prod`` the compiled frontend is served from the backend's port,
inside this app), the REST API and the MCP endpoints alike:

- ``Content-Security-Policy``: scripts, styles, images, fonts and connections (the UI's
  websocket) from this origin only; no plugins, no ``<base>`` tricks, no framing
  (``frame-ancestors 'none'``). Reflex's compiled pages start with inline scripts (the theme,
  the router's hydration data): each HTML page is sent with the SHA-256 hashes of exactly the
  inline scripts it contains, so no other inline script (an injected one) can run.
  Radix/Emotion insert style elements at run time, hence ``style-src 'unsafe-inline'``.
  Reflex runs the scripts its backend sends over the websocket (``rx.call_script``, the
  ``ClientStateVar.push`` that shows a new API key or a temporary password exactly once) with
  ``eval``, hence ``script-src 'unsafe-eval'``: it lets code already running evaluate a string,
  which is no way in for markup; injected inline scripts stay refused.
  Everything upstream servers send (tool names, descriptions, errors, logs) is rendered as
  text by React, never as markup. ``MCP_ORCH_CONTENT_SECURITY_POLICY`` replaces the whole
  policy (no hashes are added to it then).
- ``X-Frame-Options: DENY`` for browsers without ``frame-ancestors``.
- ``Referrer-Policy: no-referrer``: page URLs carry project and server ids.
- ``X-Content-Type-Options: nosniff``: a tool result served as text stays text.

The interactive API docs (``/api/docs``) load Swagger UI from its CDN and get a policy that
allows that CDN and nothing more. A header a route set itself is left as it is. A 304 (the
browser revalidating its cached copy) carries no policy: the browser keeps the one cached with
the page, hashes included.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import zlib

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_orch_app.config import get_settings

SCRIPT_SRC = "script-src 'self' 'unsafe-eval'"
DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        SCRIPT_SRC,
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        # Try-it results show images and audio from data: URLs (ui/content rendering).
        "media-src 'self' data: blob:",
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


# Pages are a few tens of KiB; a larger HTML answer is sent without hashes (its inline scripts
# are then blocked) rather than held in memory.
MAX_HASHED_PAGE_BYTES = 4 * 1024 * 1024
_INLINE_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SRC_ATTRIBUTE = re.compile(rb"\ssrc\s*=", re.IGNORECASE)


def inline_script_hashes(html: bytes) -> list[str]:
    """The CSP sources (``'sha256-...'``) of the inline scripts of an HTML page, in order."""
    hashes: list[str] = []
    for match in _INLINE_SCRIPT.finditer(html):
        if _SRC_ATTRIBUTE.search(match.group(1)):
            continue
        digest = base64.b64encode(hashlib.sha256(match.group(2)).digest()).decode("ascii")
        source = f"'sha256-{digest}'"
        if source not in hashes:
            hashes.append(source)
    return hashes


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key.lower() == name:
            return value.lower()
    return b""


def _decoded(body: bytes, encoding: bytes) -> bytes | None:
    if not encoding or encoding == b"identity":
        return body
    try:
        if encoding == b"gzip":
            return gzip.decompress(body)
        if encoding == b"deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error):
        return None
    return None  # an encoding this module cannot read: no hashes


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (websockets have no response headers
    a browser enforces); HTML pages get their inline scripts' hashes in ``script-src``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        custom = get_settings().content_security_policy
        self._policy = custom or DEFAULT_POLICY
        self._hash_pages = custom is None
        self._docs = [
            (b"content-security-policy", DOCS_POLICY.encode("latin-1")),
            *_static_headers(),
        ]

    def _headers(self, hashes: list[str]) -> list[tuple[bytes, bytes]]:
        policy = self._policy
        if hashes:
            policy = policy.replace(SCRIPT_SRC, f"{SCRIPT_SRC} {' '.join(hashes)}", 1)
        return [(b"content-security-policy", policy.encode("latin-1")), *_static_headers()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in DOCS_PATHS:
            await self.app(scope, receive, _adding(send, lambda _body: self._docs))
            return
        await self.app(scope, receive, _adding(send, self._page_headers))

    def _page_headers(self, page: tuple[bytes, bytes] | None) -> list[tuple[bytes, bytes]]:
        if page is None or not self._hash_pages:
            return self._headers([])
        body, encoding = page
        html = _decoded(body, encoding)
        return self._headers(inline_script_hashes(html) if html is not None else [])


async def _read_page(path: str, encoding: bytes) -> tuple[bytes, bytes] | None:
    page = anyio.Path(path)
    try:
        if (await page.stat()).st_size > MAX_HASHED_PAGE_BYTES:
            return None
        return await page.read_bytes(), encoding
    except OSError:
        return None


def _adding(send: Send, headers_for) -> Send:
    """``send`` with ``headers_for(page)`` added to the response start; ``page`` is the body
    and its content encoding for an HTML answer (held back until complete), else None."""
    start: Message | None = None
    chunks: list[bytes] = []
    size = 0

    async def send_start(message: Message, page: tuple[bytes, bytes] | None) -> None:
        headers = list(message.get("headers", ()))
        present = {name.lower() for name, _ in headers}
        if message.get("status") == 304:
            # A 304's headers replace the cached ones: a policy here (without the page's
            # hashes, the body is not sent) would block the cached page's scripts.
            present.add(b"content-security-policy")
        headers += [(name, value) for name, value in headers_for(page) if name not in present]
        await send({**message, "headers": headers})

    async def sending(message: Message) -> None:
        nonlocal start, size
        kind = message["type"]
        if kind == "http.response.start":
            if _header(list(message.get("headers", ())), b"content-type").startswith(b"text/html"):
                start = message  # held until the page is complete
                return
            await send_start(message, None)
            return
        if kind == "http.response.pathsend" and start is not None:
            # A file response the server sends itself (granian's pathsend): read the page.
            held, start = start, None
            encoding = _header(list(held.get("headers", ())), b"content-encoding")
            await send_start(held, await _read_page(message["path"], encoding))
            await send(message)
            return
        if kind != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if message.get("more_body", False) and size <= MAX_HASHED_PAGE_BYTES:
            return
        held, start = start, None
        body = b"".join(chunks)
        chunks.clear()
        encoding = _header(list(held.get("headers", ())), b"content-encoding")
        complete = not message.get("more_body", False)
        await send_start(held, (body, encoding) if complete else None)
        await send({**message, "body": body})

    return sending
