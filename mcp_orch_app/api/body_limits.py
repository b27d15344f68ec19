"""Request body limits, enforced while the body streams in, for every HTTP route of the backend.

Three families, each with its own setting (mcp_orch_app/config.py): MCP messages (the endpoints
of gateway/http_endpoints.py), the servers JSON import, and everything else (the REST API and
whatever Reflex serves inside the same app, its `/_upload` route included). A declared
`Content-Length` past the limit is refused before the app runs; a body without one (chunked) is
counted as it arrives and refused as soon as it passes the limit, so the backend never holds
more than the limit of one request. The refusal is a 413 naming the limit and its setting: JSON
`{"detail": ...}` on REST routes, a JSON-RPC error on MCP endpoints.

After the 413 the rest of the body is read and thrown away, for at most `DRAIN_SECONDS`: most
clients send the whole body before they read the answer, and a server that closes a connection
with unread data resets it, so they would see "connection reset" instead of the 413 (Granian
does; uvicorn drains by itself). Memory stays flat meanwhile; a client still sending after that
time is cut off.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_orch_app.config import describe_size, get_settings
from mcp_orch_app.gateway.forwarding import INVALID_REQUEST, error_response
from mcp_orch_app.gateway.http_endpoints import is_mcp_endpoint_path

DRAIN_SECONDS = 30.0
"""How long the rest of a refused body is read and discarded (nginx's lingering_time)."""

_IMPORT_PATH = re.compile(r"^/api/projects/[^/]+/servers/import/?$")


@dataclass(frozen=True, slots=True)
class BodyLimit:
    size: int
    setting: str
    what: str
    json_rpc: bool

    def message(self) -> str:
        return (
            f"Request body too large: {self.what} may be at most {describe_size(self.size)} "
            f"({self.size} bytes; setting {self.setting})."
        )


def limit_for(path: str) -> BodyLimit:
    """The limit that applies to a request for ``path`` (without a mount prefix)."""
    settings = get_settings()
    if is_mcp_endpoint_path(path):
        return BodyLimit(settings.max_body_mcp, "MCP_ORCH_MAX_BODY_MCP", "an MCP message", True)
    if _IMPORT_PATH.match(path):
        return BodyLimit(
            settings.max_body_import, "MCP_ORCH_MAX_BODY_IMPORT", "a servers JSON import", False
        )
    return BodyLimit(settings.max_body_rest, "MCP_ORCH_MAX_BODY_REST", "a REST request", False)


async def _drain(receive: Receive, more_body: bool) -> None:
    """Read and discard what is left of the request body, within `DRAIN_SECONDS`."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while more_body and time.monotonic() < deadline:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away, or the server ended the exchange
        more_body = message.get("more_body", False)


class _BodyTooLarge(Exception):
    """Raised into the app from receive() once the body passed its limit."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed length itself
    return None


def _expects_continue(scope: Scope) -> bool:
    return any(
        name == b"expect" and value.lower() == b"100-continue"
        for name, value in scope.get("headers", ())
    )


async def _refuse(limit: BodyLimit, send: Send) -> None:
    if limit.json_rpc:
        payload: Any = error_response(None, INVALID_REQUEST, limit.message())
    else:
        payload = {"detail": limit.message()}
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyLimitMiddleware:
    """ASGI middleware applying `limit_for` to every HTTP request that passes through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        limit = limit_for(path)
        declared = _declared_length(scope)
        if declared is not None and declared > limit.size:
            await _refuse(limit, send)
            # A client waiting for "100 Continue" never sends the body: nothing to drain (and
            # reading would make the server send the 100 after the final answer).
            if not _expects_continue(scope):
                await _drain(receive, more_body=True)
            return

        received = 0
        exceeded = False
        started = False
        more_body = True

        async def counting_receive() -> Message:
            nonlocal received, exceeded, more_body
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                more_body = message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > limit.size:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the 413 below replaces whatever the app makes of the failed read
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _refuse(limit, send)
            await _drain(receive, more_body)
