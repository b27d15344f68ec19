"""The client-facing MCP endpoints (API-CONTRACT.md, "MCP endpoints"): those of one server,
under `/projects/{project_id}/servers/{server_name}/`, and the unified endpoint of a project
(all its enabled servers, gateway/unified.py), under `/projects/{project_id}/unified/`. Both
serve the same transports, eras and checks; only what answers a request differs.

- Streamable HTTP: `POST/GET/DELETE .../mcp`.
  Handshake era (2025-11-25 and older): `initialize` is answered from the upstream's handshake
  and opens a session (`mcp-session-id`); later requests must name it (missing: 400, unknown:
  404 so the client re-initializes); GET opens the stream of server-initiated notifications;
  DELETE ends the session. Modern era (2026-07-28, `MCP-Protocol-Version` header naming a
  non-handshake version): every POST is self-contained, checked like the SDK's own server does
  (`classify_inbound_request`: `_meta` envelope, header agreement, supported version).
- SSE transport: `GET .../sse` opens the session and its event stream (`event: endpoint` names
  where to post), `POST .../messages?session_id=` takes messages (202), whose answers arrive
  on the stream.

With several backend processes (a cluster bus), a request naming a handshake-era session of
another process is forwarded to that process, which answers it with these same endpoints
(mcp_orch_app/cluster/routing.py).

Messages are read as untrusted JSON (mcp_orch_app/untrusted_json.py): not UTF-8 JSON is a
parse error (-32700); nesting deeper than MCP_ORCH_MAX_JSON_DEPTH or a lone surrogate in the
params is -32602, an id that is not a string or an integer is -32600 (id null); a refused
tools/call is logged with its arguments summarised. A POST must be `Content-Type:
application/json` (else 415); a streamable HTTP POST must accept both application/json and
text/event-stream (else 406), as the transport spec says.

Every request passes the Host/Origin check and authorization (Bearer project API key or OAuth
access token, services/oauth.py; cached by the gateway for a few seconds; a 401 names the
endpoint's RFC 9728 metadata in `WWW-Authenticate: Bearer resource_metadata=`); the client's Authorization header is never sent upstream
(upstreams are separate connections of mcp-orch's own). A request carrying a progress token is
answered as an SSE stream (progress events, then the response); any other as plain JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from mcp.server.streamable_http import check_accept_headers
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types import CLIENT_CAPABILITIES_META_KEY
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_orch_app.cluster.routing import SessionRouter
from mcp_orch_app.config import get_settings
from mcp_orch_app.fast_json import dumps_bytes
from mcp_orch_app.gateway.client_requests import (
    STARTING_CLIENT,
    client_can_answer,
    deliver_answer,
)
from mcp_orch_app.gateway.client_sessions import (
    LISTEN_FLAG_KINDS,
    SESSION_NOT_FOUND,
    Listener,
    LiveSession,
    looks_like_session_secret,
    recognise_client,
    session_owner,
)
from mcp_orch_app.gateway.forwarding import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UPSTREAM_UNAVAILABLE_ERROR,
    cancel_request,
    error_response,
    negotiate_handshake_version,
    record_call,
    refuse_call,
)
from mcp_orch_app.gateway.http_security import check_host_and_origin
from mcp_orch_app.gateway.http_upstream import CLIENT_PARAM_HEADERS, client_param_headers
from mcp_orch_app.gateway.methods import (
    Call,
    handle_request,
    initialize_endpoint,
    refuse_param_headers,
    route_for,
)
from mcp_orch_app.gateway.resource_subscriptions import (
    MAX_SUBSCRIPTIONS_PER_SESSION,
    checked_uri,
    offers_subscriptions,
)
from mcp_orch_app.gateway.runtime import (
    EndpointAccess,
    Gateway,
    ServerAccess,
    UnifiedAccess,
    current_gateway,
)
from mcp_orch_app.gateway.upstream import UpstreamFailure
from mcp_orch_app.models.enums import ClientTransport, ToolCallErrorCode, ToolCallStatus
from mcp_orch_app.security.destinations import LOOP_HEADER, is_loop
from mcp_orch_app.services.errors import NotAuthenticated, NotFound
from mcp_orch_app.untrusted_json import JSONRejected, has_lone_surrogate, loads_bounded

logger = logging.getLogger(__name__)

_ENDPOINT_PATH = re.compile(
    r"^/projects/(?P<project_id>[^/]+)/(?:servers/(?P<server_name>[^/]+)|unified)"
    r"/(?P<endpoint>mcp|sse|messages)$"
)
SESSION_HEADER = "mcp-session-id"
REMOVED_IN_MODERN_ERA = frozenset(
    {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
"""Requests the 2026-07-28 era removed (its changelog): a modern client gets -32601 with 404
for them, as from a server of that era; handshake-era clients keep them."""
SSE_KEEPALIVE_SECONDS = 15.0
DISCONNECT_WATCH_DELAY = 0.05
"""Seconds a 2026-07-28 request's JSON answer may take before its connection is watched for
the client closing it (that era's cancellation, noticed at most this much later)."""

_SSE_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
_background: set[asyncio.Task[Any]] = set()


def is_mcp_endpoint_path(path: str) -> bool:
    """Whether ``path`` (without a mount prefix) is one of the MCP endpoints served here."""
    return _ENDPOINT_PATH.match(path) is not None


def install_mcp_endpoints(app: Starlette) -> None:
    """Serve the MCP endpoints from the app (the FastAPI app Reflex mounts).

    They are dispatched by a small ASGI middleware rather than by routes: MCP calls are the
    hot path, and this way a call skips the REST router's scan, FastAPI's exception and
    exit-stack layers and the per-route wrappers (about a tenth of the gateway's time per call).
    """
    app.add_middleware(McpEndpointsMiddleware)


class McpEndpointsMiddleware:
    """ASGI middleware answering `/projects/{project_id}/servers/{server_name}/{mcp,sse,messages}`
    and `/projects/{project_id}/unified/{mcp,sse,messages}`, passing every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = _endpoint_match(scope)
            if match is not None:
                owner = _other_owner(scope, match["endpoint"])
                if owner is not None:
                    await owner[0].forward(scope, receive, send, owner[1])
                else:
                    await _serve(scope, receive, send, match)
                return
        await self.app(scope, receive, send)


async def serve_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request another cluster member forwarded (cluster/routing.py) as one received
    here; it is never forwarded again."""
    match = _endpoint_match(scope)
    if match is None:
        await Response(status_code=404)(scope, receive, send)
        return
    await _serve(scope, receive, send, match)


def _endpoint_match(scope: Scope) -> re.Match[str] | None:
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]  # served under a mount prefix
    return _ENDPOINT_PATH.match(path)


async def _serve(scope: Scope, receive: Receive, send: Send, match: re.Match[str]) -> None:
    endpoint = _ENDPOINTS.get((match["endpoint"], scope["method"]))
    if _is_own_request(scope):
        response = _loop_refusal()
    elif endpoint is None:
        response = Response(status_code=405, headers={"Allow": _ALLOWED[match["endpoint"]]})
    else:
        server_name = match["server_name"]
        scope["path_params"] = {
            "project_id": unquote(match["project_id"]),
            # None: the project's unified endpoint.
            "server_name": unquote(server_name) if server_name is not None else None,
        }
        response = await endpoint(Request(scope, receive))
    await response(scope, receive, send)


def _other_owner(scope: Scope, endpoint: str) -> tuple[SessionRouter, str] | None:
    """The router and the member to forward the request to, when it names a handshake-era
    session of another cluster member; None to answer it here. A session-less (2026-07-28)
    request is answered by whichever member gets it."""
    gateway = current_gateway()
    router = gateway.router if gateway is not None else None
    if router is None:
        return None
    if endpoint == "messages":
        if scope["method"] != "POST":
            return None
        named = [
            v for k, v in parse_qsl(scope["query_string"].decode("latin-1")) if k == "session_id"
        ]
        session_id = named[-1] if named else None  # the one Starlette's query_params gives
    elif endpoint == "mcp":
        session_id = version = None
        for name, value in scope["headers"]:
            if name == b"mcp-session-id" and session_id is None:
                session_id = value.decode("latin-1")
            elif name == b"mcp-protocol-version" and version is None:
                version = value.decode("latin-1")
        modern = version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS
        if modern and scope["method"] == "POST":
            return None  # self-contained: a session header means nothing to it
    else:
        return None
    owner = session_owner(session_id) if session_id is not None else None
    if owner is None or owner == router.member_id:
        return None
    return router, owner


def _is_own_request(scope: Scope) -> bool:
    """Whether mcp-orch itself sent this request, as an upstream call (a server configured
    with a URL of mcp-orch's own endpoints): see security/destinations.py."""
    wanted = LOOP_HEADER.encode()
    for name, value in scope["headers"]:
        if name == wanted:
            return is_loop(value.decode("latin-1"))
    return False


def _loop_refusal() -> Response:
    """508 at once, before anything else, so a loop ends on its first turn."""
    message = (
        "Loop detected: this request comes from mcp-orch itself. An MCP server configured in "
        "mcp-orch points at mcp-orch's own endpoint; point it at the real server instead."
    )
    return _json(
        error_response(None, INVALID_REQUEST, message), 508, {LOOP_HEADER: "loop-detected"}
    )


# -- plumbing ------------------------------------------------------------------------------


class _Refused(Exception):
    """Ends a request early with a ready response."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _json(message: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps_bytes(message), status, headers, media_type="application/json")


def _sse_event(message: dict[str, Any], event: str = "message") -> bytes:
    return b"event: %s\ndata: %s\n\n" % (event.encode(), dumps_bytes(message))


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> _Refused:
    return _Refused(_json(error_response(None, INVALID_REQUEST, message), status, headers))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _admit(request: Request) -> tuple[Gateway, EndpointAccess]:
    """Host/Origin check and authorization, or _Refused with the response to give."""
    gateway = current_gateway()
    if gateway is None:
        raise _refusal(503, "mcp-orch is starting or shutting down; try again shortly.")
    headers = request.headers
    refused = check_host_and_origin(headers.get("host"), headers.get("origin"))
    if refused is not None:
        raise _refusal(*refused)
    params = request.path_params
    bearer = _bearer(request)
    try:
        access = await gateway.authorize(
            params["project_id"], params["server_name"], bearer, _client_ip(request)
        )
    except NotAuthenticated as exc:
        # RFC 9728: where an OAuth client finds how to get a token for this endpoint.
        challenge = f'Bearer realm="mcp-orch", resource_metadata="{_resource_metadata(request)}"'
        if bearer:
            description = exc.message.replace('"', "'")
            challenge += f', error="invalid_token", error_description="{description}"'
        raise _refusal(401, exc.message, {"WWW-Authenticate": challenge}) from None
    except NotFound as exc:
        raise _refusal(404, exc.message) from None
    # A refused request never reaches a session: sessions are looked up only after this, and
    # only among those of the admitted endpoint and principal (_owned_session). Sessions whose
    # key is revoked or whose server goes away are ended by the gateway's access re-check.
    return gateway, access


def _resource_metadata(request: Request) -> str:
    """The RFC 9728 metadata URL of the endpoint (api/oauth.py serves it)."""
    base = get_settings().public_url or f"{request.url.scheme}://{request.url.netloc}"
    project_id = quote(request.path_params["project_id"], safe="")
    server_name = request.path_params["server_name"]
    tail = "unified" if server_name is None else f"servers/{quote(server_name, safe='')}"
    return f"{base}/.well-known/oauth-protected-resource/projects/{project_id}/{tail}"


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


class _Unacceptable(Exception):
    """A message that parsed but is refused (too deep, a lone surrogate in its params): the
    answer is a JSON-RPC error for its id, and a tools/call is logged as refused."""

    def __init__(self, message: dict[str, Any], reason: str, preview: str) -> None:
        self.message = message
        self.reason = reason
        self.preview = preview


PREVIEW_CHARS = 1000
"""How much of a refused message's text its log row keeps (in place of its arguments)."""


def _parse(body: bytes) -> dict[str, Any]:
    """One JSON-RPC message; or _Refused with the parse / invalid-request error (400); or
    _Unacceptable for a well-formed request whose content mcp-orch will not take."""
    try:
        message = loads_bounded(body, max_depth=get_settings().max_json_depth)
    except JSONRejected as rejected:
        parsed = rejected.parsed
        preview = body[:PREVIEW_CHARS].decode("utf-8", "replace")
        if rejected.kind == "depth" and parsed is None:
            # Deeper than Python's parser goes: no id to answer with, but a tool call is
            # still logged as refused, named as far as the start of its text tells.
            sniffed = _sniff_call(preview)
            if sniffed is not None:
                raise _Unacceptable(
                    sniffed, f"Invalid params: {rejected.reason}", preview
                ) from None
        if rejected.kind == "syntax" or not _is_request_with_valid_id(parsed):
            code = PARSE_ERROR if rejected.kind == "syntax" else INVALID_REQUEST
            what = "Parse error" if rejected.kind == "syntax" else "Invalid request"
            raise _Refused(
                _json(error_response(None, code, f"{what}: {rejected.reason}"), 400)
            ) from None
        if rejected.kind == "text" and not _params_hold_surrogate(parsed.get("params")):
            raise _Refused(
                _json(
                    error_response(
                        parsed["id"], INVALID_REQUEST, f"Invalid request: {rejected.reason}"
                    ),
                    400,
                )
            ) from None
        raise _Unacceptable(parsed, f"Invalid params: {rejected.reason}", preview) from None
    if (
        not isinstance(message, dict)
        or message.get("jsonrpc") != "2.0"
        or not (isinstance(message.get("method"), str) or "result" in message or "error" in message)
    ):
        what = "batches are not supported" if isinstance(message, list) else "not a message"
        raise _Refused(
            _json(
                error_response(
                    _valid_id(message.get("id")) if isinstance(message, dict) else None,
                    INVALID_REQUEST,
                    f"Invalid request: expected one JSON-RPC 2.0 request or notification ({what})",
                ),
                400,
            )
        )
    if "method" in message and "id" in message and _valid_id(message["id"]) is None:
        raise _Refused(
            _json(
                error_response(
                    None,
                    INVALID_REQUEST,
                    "Invalid request: a request id must be a string or an integer",
                ),
                400,
            )
        )
    return message


_SNIFFED_METHOD = re.compile(r'"method"\s*:\s*"([^"\\]{1,100})"')
_SNIFFED_NAME = re.compile(r'"name"\s*:\s*"([^"\\]{1,200})"')


def _sniff_call(text: str) -> dict[str, Any] | None:
    """A tools/call as far as the start of an unparseable message shows (for its log row):
    answered with id null, since an id read this way could be a nested one."""
    method = _SNIFFED_METHOD.search(text)
    if method is None or method.group(1) != "tools/call":
        return None
    name = _SNIFFED_NAME.search(text)
    return {
        "jsonrpc": "2.0",
        "id": None,
        "method": "tools/call",
        "params": {"name": name.group(1) if name else ""},
    }


def _valid_id(value: Any) -> str | int | None:
    """The id if JSON-RPC/MCP allow it for a request (a string or an integer), else None."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def _is_request_with_valid_id(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and isinstance(message.get("method"), str)
        and _valid_id(message.get("id")) is not None
    )


def _params_hold_surrogate(params: Any) -> bool:
    text = json.dumps(params, ensure_ascii=False, check_circular=False)
    return has_lone_surrogate(text)


def _refuse_unacceptable(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession | None,
    unacceptable: _Unacceptable,
) -> dict[str, Any]:
    """The -32602 answer to an _Unacceptable message; a tools/call is logged as refused, its
    arguments replaced by a short summary (the row must stay readable and storable)."""
    message = unacceptable.message
    if message.get("method") != "tools/call":
        return error_response(message["id"], INVALID_PARAMS, unacceptable.reason)
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    summary = {"not_stored": unacceptable.reason, "message_preview": unacceptable.preview}
    logged = {
        **message,
        "params": {"name": name if isinstance(name, str) else "", "arguments": summary},
    }
    return refuse_call(gateway, access, session, logged, unacceptable.reason)


def _check_post_headers(request: Request, *, streamable: bool) -> None:
    """415 unless the body is declared JSON; for streamable HTTP also 406 unless the client
    accepts both answers the transport may give (JSON and an SSE stream)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise _refusal(
            415,
            "Unsupported Media Type: send the JSON-RPC message as Content-Type: application/json",
        )
    if streamable:
        accepts_json, accepts_sse = check_accept_headers(request)
        if not (accepts_json and accepts_sse):
            raise _refusal(
                406,
                "Not Acceptable: the Accept header must list both application/json and "
                "text/event-stream",
            )


def _owned_session(gateway: Gateway, access: EndpointAccess, header_id: str) -> LiveSession:
    """The session named by the client, if it is this endpoint's and this principal's; else
    404, the same answer as for an unknown id, and the session is left as it was."""
    session = (
        gateway.find_session(access, header_id) if looks_like_session_secret(header_id) else None
    )
    if session is None:
        raise _refusal(404, SESSION_NOT_FOUND)
    return session


async def _answer(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession,
    message: dict[str, Any],
    headers: dict[str, str] | None = None,
    receive: Receive | None = None,
) -> Response:
    """Plain JSON, or an SSE stream of progress notifications (and of the server's requests
    to the client, gateway/client_requests.py) ending with the response. A request without a
    progress token of a client that can be asked something is answered as JSON unless such a
    request comes before the response.

    ``receive`` (2026-07-28 requests): the request's ASGI channel, watched while a JSON answer
    is made, because in that era a client cancels a request by closing its connection (an SSE
    answer is cancelled the same way when its stream closes)."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    progress = isinstance(meta, dict) and meta.get("progressToken") is not None
    if not progress and not client_can_answer(session):
        handled = _handle(gateway, access, session, message)
        answer = await (handled if receive is None else _unless_gone(handled, receive))
        if answer is None:  # the client closed the request: nobody reads this
            return Response(status_code=204)
        return _json(answer, _status_of(answer) if session.modern else 200, headers)

    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    call = asyncio.create_task(_handle(gateway, access, session, message, events.put_nowait))
    call.add_done_callback(lambda _task: events.put_nowait(None))
    first = None
    if not progress:
        try:
            first = await events.get()
        except asyncio.CancelledError:
            call.cancel()
            raise
        if first is None:
            return _json(call.result(), headers=headers)

    async def stream() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield _sse_event(first)
            while (event := await events.get()) is not None:
                yield _sse_event(event)
            yield _sse_event(call.result())
        finally:
            if not call.done():
                call.cancel()  # the client went away: stop the upstream work too

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={**_SSE_HEADERS, **(headers or {})}
    )


async def _unless_gone(
    work: Coroutine[Any, Any, dict[str, Any]], receive: Receive
) -> dict[str, Any] | None:
    """``work``'s answer, or None once the client has closed the request (``work`` is
    cancelled then, which cancels the call upstream and logs it as cancelled).

    ``work`` runs in the request's own task; the connection is watched only once the answer
    has taken DISCONNECT_WATCH_DELAY, by one task that cancels the request's on disconnect. A
    quick call so never reads the ASGI channel again nor starts a task of its own (issue 10,
    item 6: it used to start two tasks and leave a receive() pending for every request)."""
    current = asyncio.current_task()
    if current is None:  # pragma: no cover - always called from a request's task
        return await work
    gone = False
    watcher: asyncio.Task[None] | None = None

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        current.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(watch())

    timer = asyncio.get_running_loop().call_later(DISCONNECT_WATCH_DELAY, start_watching)
    try:
        return await work
    except asyncio.CancelledError:
        if gone and current.uncancel() == 0:
            return None  # only the client's leaving cancelled it
        raise
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()


def _status_of(answer: dict[str, Any]) -> int:
    """The HTTP status of a 2026-07-28 JSON answer: an error's code decides it, as the spec
    and the SDK's own server say (-32601: 404; -32602, -32021, ...: 400); else 200."""
    error = answer.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return ERROR_CODE_HTTP_STATUS.get(code, 200) if isinstance(code, int) else 200


async def _handle(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession,
    message: dict[str, Any],
    progress: Any = None,
) -> dict[str, Any]:
    """The endpoint's answer, with a bug of ours answered as a JSON-RPC internal error."""
    STARTING_CLIENT.set(
        _modern_capabilities(message) if session.modern else session.client_capabilities
    )
    try:
        return await handle_request(gateway, access, session, message, progress)
    except Exception:
        logger.exception("%s on %s failed", message.get("method"), _endpoint_name(access))
        return error_response(message.get("id"), INTERNAL_ERROR, "Internal error in mcp-orch")


def _modern_capabilities(message: dict[str, Any]) -> dict[str, Any]:
    """The clientCapabilities a 2026-07-28 request declares (its own, per request)."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    declared = meta.get(CLIENT_CAPABILITIES_META_KEY) if isinstance(meta, dict) else None
    return declared if isinstance(declared, dict) else {}


async def _initialize_result(
    gateway: Gateway, access: EndpointAccess, params: dict[str, Any]
) -> dict[str, Any]:
    return await initialize_endpoint(gateway, access, params)


def _endpoint_name(access: EndpointAccess) -> str:
    return access.server_name or f"the unified endpoint of project {access.project_id}"


async def _stream_outbox(session: LiveSession, gateway: Gateway) -> AsyncIterator[bytes]:
    """Server-to-client messages of a session, with keep-alive comments, until it ends."""
    outbox = session.outbox
    while True:
        try:
            message = await asyncio.wait_for(outbox.get(), SSE_KEEPALIVE_SECONDS)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        if message is None:
            return
        yield _sse_event(message)


# -- streamable HTTP -----------------------------------------------------------------------


async def streamable_post(request: Request) -> Response:
    try:
        gateway, access = await _admit(request)
        _check_post_headers(request, streamable=True)
        try:
            message = _parse(await request.body())
        except _Unacceptable as unacceptable:
            session = _named_session(gateway, access, request.headers.get(SESSION_HEADER))
            answer = _refuse_unacceptable(gateway, access, session, unacceptable)
            return _json(answer, _status_of(answer) if _modern(request) else 200)
        if _modern(request):
            return await _modern_post(request, gateway, access, message)
        return await _handshake_post(request, gateway, access, message)
    except _Refused as refused:
        return refused.response


def _modern(request: Request) -> bool:
    """Whether the request is of the 2026-07-28 era (its version header names no handshake)."""
    version = request.headers.get("mcp-protocol-version")
    return version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS


def _named_session(
    gateway: Gateway, access: EndpointAccess, header_id: str | None
) -> LiveSession | None:
    """The admitted principal's session the request names, if any (for its log row)."""
    if header_id is None or not looks_like_session_secret(header_id):
        return None
    return gateway.find_session(access, header_id)


async def _handshake_post(
    request: Request, gateway: Gateway, access: EndpointAccess, message: dict[str, Any]
) -> Response:
    method = message.get("method")
    if method is None:
        # A client's answer to a server request relayed to it (gateway/client_requests.py).
        session = _named_session(gateway, access, request.headers.get(SESSION_HEADER))
        if session is not None:
            deliver_answer(session, message)
        return Response(status_code=202)
    is_request = "id" in message
    if method == "initialize" and is_request:
        return await _initialize(request, gateway, access, message)
    header_id = request.headers.get(SESSION_HEADER)
    if header_id is None:
        reason = "Bad Request: no mcp-session-id header; send initialize first to open a session"
        return _json(_refuse_uninitialized(gateway, access, message, reason), 400)
    session = _owned_session(gateway, access, header_id)
    headers = {SESSION_HEADER: session.header_id}
    if not is_request:
        await _notification(gateway, session, message)
        return Response(status_code=202, headers=headers)
    return await _answer(gateway, access, session, message, headers)


def _refuse_uninitialized(
    gateway: Gateway, access: EndpointAccess, message: dict[str, Any], reason: str
) -> dict[str, Any]:
    """The invalid-request error for a message sent before its session is initialized; a
    tools/call request is also logged as a refused call."""
    if "id" in message and message.get("method") == "tools/call":
        return refuse_call(
            gateway, access, None, message, reason, code=ToolCallErrorCode.INITIALIZATION_INCOMPLETE
        )
    return error_response(message.get("id"), INVALID_REQUEST, reason)


async def _initialize(
    request: Request, gateway: Gateway, access: EndpointAccess, message: dict[str, Any]
) -> Response:
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    STARTING_CLIENT.set(_capabilities(params))
    try:
        result = await _initialize_result(gateway, access, params)
    except UpstreamFailure as exc:
        error = error_response(message.get("id"), UPSTREAM_UNAVAILABLE_ERROR, str(exc))
        return _json(error)
    session = gateway.open_session(
        access,
        transport=ClientTransport.STREAMABLE_HTTP,
        client_info=params.get("clientInfo"),
        user_agent=request.headers.get("user-agent"),
        ip=_client_ip(request),
        protocol_version=result["protocolVersion"],
    )
    session.client_capabilities = _capabilities(params)
    session.initialized = True
    return _json(
        {"jsonrpc": "2.0", "id": message["id"], "result": result},
        headers={SESSION_HEADER: session.header_id},
    )


def _capabilities(params: dict[str, Any]) -> dict[str, Any]:
    capabilities = params.get("capabilities")
    return capabilities if isinstance(capabilities, dict) else {}


async def _notification(gateway: Gateway, session: LiveSession, message: dict[str, Any]) -> None:
    method = message["method"]
    if method == "notifications/initialized":
        session.initialized = True
    elif method == "notifications/cancelled":
        await cancel_request(gateway, session, message.get("params"))
    # Other client notifications (roots/list_changed, progress) have no upstream meaning: the
    # upstream is mcp-orch's connection, shared by every client of the server.


async def _modern_post(
    request: Request, gateway: Gateway, access: EndpointAccess, message: dict[str, Any]
) -> Response:
    """A self-contained 2026-07-28 request, checked as the SDK's server checks it."""
    if "id" not in message or "method" not in message:
        return Response(status_code=202)  # notifications are acknowledged and dropped
    duplicated = find_duplicated_routing_header(request.headers.items())
    verdict = (
        InboundLadderRejection(code=-32020, message=f"{duplicated} header appears more than once")
        if duplicated is not None
        else classify_inbound_request(message, headers=request.headers)
    )
    if isinstance(verdict, InboundLadderRejection):
        if message["method"] == "tools/call":
            _log_protocol_refusal(gateway, access, message, request, verdict.message)
        error = error_response(message["id"], verdict.code, verdict.message, verdict.data)
        return _json(error, ERROR_CODE_HTTP_STATUS.get(verdict.code, 200))
    if message["method"] in REMOVED_IN_MODERN_ERA:
        reason = f"Method not found: {message['method']} does not exist in protocol version "
        reason += f"{verdict.protocol_version}"
        return _json(error_response(message["id"], METHOD_NOT_FOUND, reason), 404)
    session = gateway.modern_session(
        access,
        message["params"]["_meta"],
        request.headers.get("user-agent"),
        _client_ip(request),
        verdict.protocol_version,
    )
    if message["method"] == "subscriptions/listen":
        return await _listen(gateway, access, session, message)
    if message["method"] == "tools/call":
        refused = await refuse_param_headers(gateway, access, session, message, request.headers)
        if refused is not None:
            return _json(refused, _status_of(refused))
        CLIENT_PARAM_HEADERS.set(client_param_headers(request.headers.items()))
    return await _answer(gateway, access, session, message, receive=request.receive)


def _log_protocol_refusal(
    gateway: Gateway,
    access: EndpointAccess,
    message: dict[str, Any],
    request: Request,
    reason: str,
) -> None:
    """A tools/call the transport checks refused (e.g. a bogus MCP-Protocol-Version) is still
    a call attempt: it gets its refused row, as every other refused call does."""
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    name = params.get("name")
    version = request.headers.get("mcp-protocol-version")
    record_call(
        gateway,
        access,
        None,
        name if isinstance(name, str) else "",
        params.get("arguments"),
        None,
        ToolCallStatus.ERROR,
        ToolCallErrorCode.PROTOCOL_ERROR,
        f"{reason} (MCP-Protocol-Version: {version!r})",
        0.0,
        client_name=recognise_client(_client_info_name(params), request.headers.get("user-agent")),
    )


def _client_info_name(params: dict[str, Any]) -> str | None:
    meta = params.get("_meta")
    info = meta.get("io.modelcontextprotocol/clientInfo") if isinstance(meta, dict) else None
    name = info.get("name") if isinstance(info, dict) else None
    return name if isinstance(name, str) else None


async def _listen(
    gateway: Gateway, access: EndpointAccess, session: LiveSession, message: dict[str, Any]
) -> Response:
    """`subscriptions/listen` (2026-07-28): the response is a stream that starts with the
    acknowledgement (the list changes the gateway will pass on, and the `resourceSubscriptions`
    it subscribed: URIs mapped to their server on the unified endpoint, each held by the stream
    in the gateway's `ResourceSubscriptions` until it closes; an unknown URI refuses the
    request, one whose server offers no subscriptions is left out), then carries those of the
    endpoint's servers, tagged with the request's id, until the client goes away (or the
    session ends, e.g. its key is revoked: then the stream ends with the listen result)."""
    request_id = message["id"]
    wanted = message["params"].get("notifications")
    if not isinstance(wanted, dict):
        reason = "subscriptions/listen needs a notifications filter object"
        return _json(error_response(request_id, INVALID_PARAMS, reason), 400)
    try:
        resources = await _listened_resources(
            gateway, access, session, message, wanted.get("resourceSubscriptions")
        )
    except ValueError as exc:
        return _json(error_response(request_id, INVALID_PARAMS, str(exc)), 400)
    if not isinstance(access, UnifiedAccess):
        # A server's list changes pass only if it says it sends them.
        try:
            capabilities = (await gateway.upstream(access)).capabilities
        except UpstreamFailure as exc:
            return _json(error_response(request_id, UPSTREAM_UNAVAILABLE_ERROR, str(exc)))
        wanted = {
            flag: value
            for flag, value in wanted.items()
            if (kind := LISTEN_FLAG_KINDS.get(flag))
            and isinstance(options := capabilities.get(kind), dict)
            and options.get("listChanged")
        }
    listener, honoured = Listener.for_filter(request_id, wanted)
    session.listeners.append(listener)
    meta = listener.tag({"params": {}})["params"]["_meta"]
    ended = {
        "jsonrpc": "2.0",
        "id": request_id,
        "result": {"resultType": "complete", "_meta": meta},
    }

    async def stream() -> AsyncIterator[bytes]:
        try:
            # Subscribed before the acknowledgement (which names the URIs that are), so no
            # update after it is missed; a URI whose server cannot subscribe is left out.
            await _subscribe_listener(gateway, session, listener, resources)
            if listener.resources:
                honoured["resourceSubscriptions"] = list(listener.resources)
            acknowledged = listener.tag(
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/subscriptions/acknowledged",
                    "params": {"notifications": honoured},
                }
            )
            yield _sse_event(acknowledged)
            while True:
                try:
                    event = await asyncio.wait_for(listener.queue.get(), SSE_KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if event is None:
                    yield _sse_event(ended)
                    return
                yield _sse_event(event)
        finally:
            session.listeners.remove(listener)
            session.last_seen = time.monotonic()
            if listener.resources:
                held, listener.resources = list(listener.resources.values()), {}
                gateway.spawn(gateway.resources.release_all(gateway, held, listener))

    return StreamingResponse(stream(), media_type="text/event-stream", headers=_SSE_HEADERS)


async def _listened_resources(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession,
    message: dict[str, Any],
    uris: Any,
) -> list[tuple[str, ServerAccess, str]]:
    """(the URI as the client names it, its server, the server's own URI) of each URI of a
    listen filter's `resourceSubscriptions`; ValueError when the list or a URI is bad or the
    session would hold more than MAX_SUBSCRIPTIONS_PER_SESSION."""
    if uris is None:
        return []
    if not isinstance(uris, list):
        raise ValueError("subscriptions/listen: resourceSubscriptions must be a list of URIs")
    held = sum(len(listener.resources) for listener in session.listeners)
    if held + len(uris) > MAX_SUBSCRIPTIONS_PER_SESSION:
        raise ValueError(
            f"subscriptions/listen: at most {MAX_SUBSCRIPTIONS_PER_SESSION} resource "
            f"subscriptions per client ({held} held on its open streams)"
        )
    route = route_for(access)
    call = Call(gateway, access, route, session, message)
    found: dict[str, tuple[str, ServerAccess, str]] = {}
    for uri in uris:
        named = checked_uri(uri, "subscriptions/listen resourceSubscriptions")
        server, params = await route.resource(call, named)
        found[named] = (named, server, params.get("uri", named))
    return list(found.values())


async def _subscribe_listener(
    gateway: Gateway,
    session: LiveSession,
    listener: Listener,
    resources: list[tuple[str, ServerAccess, str]],
) -> None:
    for named, server, uri in resources:
        if session.ended:
            return
        try:
            if not offers_subscriptions(await gateway.upstream(server)):
                continue
            await gateway.resources.acquire(gateway, server, uri, listener)
        except UpstreamFailure as exc:
            logger.info("listen stream: %s not subscribed: %s", named, exc)
            continue
        listener.resources[named] = (server.server_id, uri)


async def _admit_session(request: Request) -> tuple[Gateway, LiveSession]:
    """_admit, and the handshake-era session the request names, or _Refused."""
    gateway, access = await _admit(request)
    header_id = request.headers.get(SESSION_HEADER)
    if header_id is None:
        raise _refusal(400, "Bad Request: no mcp-session-id header")
    return gateway, _owned_session(gateway, access, header_id)


async def streamable_get(request: Request) -> Response:
    """The stream of server-initiated notifications of a handshake-era session."""
    try:
        gateway, session = await _admit_session(request)
        if session.outbox is not None:
            raise _refusal(409, "Conflict: this session already has an open stream")
    except _Refused as refused:
        return refused.response
    session.outbox = asyncio.Queue()

    async def stream() -> AsyncIterator[bytes]:
        try:
            async for chunk in _stream_outbox(session, gateway):
                yield chunk
        finally:
            session.outbox = None

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={**_SSE_HEADERS, SESSION_HEADER: session.header_id},
    )


async def streamable_delete(request: Request) -> Response:
    try:
        gateway, session = await _admit_session(request)
    except _Refused as refused:
        return refused.response
    gateway.end_session(session)
    return Response(status_code=200)


# -- SSE transport -------------------------------------------------------------------------


async def sse_connect(request: Request) -> Response:
    """Open an SSE session: the first event says where to post messages."""
    try:
        gateway, access = await _admit(request)
    except _Refused as refused:
        return refused.response
    session = gateway.open_session(
        access,
        transport=ClientTransport.SSE,
        client_info=None,
        user_agent=request.headers.get("user-agent"),
        ip=_client_ip(request),
        protocol_version=None,
    )
    session.outbox = asyncio.Queue()
    params = request.path_params
    endpoint = (
        "unified" if params["server_name"] is None else f"servers/{quote(params['server_name'])}"
    )
    path = (
        f"{request.scope.get('root_path', '').rstrip('/')}/projects/{quote(params['project_id'])}"
        f"/{endpoint}/messages?session_id={session.header_id}"
    )

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield f"event: endpoint\ndata: {path}\n\n".encode()
            async for chunk in _stream_outbox(session, gateway):
                yield chunk
        finally:
            session.outbox = None
            gateway.end_session(session)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=_SSE_HEADERS)


async def sse_message(request: Request) -> Response:
    """One client message of an SSE session; its answer goes out on the session's stream."""
    try:
        gateway, access = await _admit(request)
        raw_id = request.query_params.get("session_id")
        if raw_id is None:
            raise _refusal(400, "Bad Request: session_id is missing")
        if not looks_like_session_secret(raw_id):
            raise _refusal(400, "Bad Request: session_id is not a valid session id")
        session = _owned_session(gateway, access, raw_id)
        _check_post_headers(request, streamable=False)
        try:
            message = _parse(await request.body())
        except _Unacceptable as unacceptable:
            session.send(_refuse_unacceptable(gateway, access, session, unacceptable))
            return Response(status_code=202)
    except _Refused as refused:
        return refused.response
    task = asyncio.create_task(_sse_process(gateway, access, session, message))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return Response(status_code=202)


async def _sse_process(
    gateway: Gateway, access: EndpointAccess, session: LiveSession, message: dict[str, Any]
) -> None:
    method = message.get("method")
    if method is None:
        deliver_answer(session, message)
        return
    if "id" not in message:
        await _notification(gateway, session, message)
        return
    try:
        if method == "initialize":
            reply = await _sse_initialize(gateway, access, session, message)
        elif not session.initialized:
            reason = "The session is not initialized: send initialize first"
            reply = _refuse_uninitialized(gateway, access, message, reason)
        else:
            reply = await _handle(gateway, access, session, message, session.send)
    except Exception:
        logger.exception("SSE request %s of %s failed", method, _endpoint_name(access))
        reply = error_response(message.get("id"), INTERNAL_ERROR, "Internal error in mcp-orch")
    session.send(reply)


async def _sse_initialize(
    gateway: Gateway, access: EndpointAccess, session: LiveSession, message: dict[str, Any]
) -> dict[str, Any]:
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    STARTING_CLIENT.set(_capabilities(params))
    try:
        result = await _initialize_result(gateway, access, params)
    except UpstreamFailure as exc:
        return error_response(message["id"], UPSTREAM_UNAVAILABLE_ERROR, str(exc))
    if session.protocol_version is None:
        version = negotiate_handshake_version(params.get("protocolVersion"))
        gateway.identify(session, params.get("clientInfo"), version)
    session.client_capabilities = _capabilities(params)
    session.initialized = True
    return {"jsonrpc": "2.0", "id": message["id"], "result": result}


_ENDPOINTS = {
    ("mcp", "POST"): streamable_post,
    ("mcp", "GET"): streamable_get,
    ("mcp", "DELETE"): streamable_delete,
    ("sse", "GET"): sse_connect,
    ("messages", "POST"): sse_message,
}
_ALLOWED = {"mcp": "GET, POST, DELETE", "sse": "GET", "messages": "POST"}
