"""How the gateway passes a client's JSON-RPC request to one server, whichever endpoint it
came through (the method table in methods.py decides which server and what to ask).

Transport-independent: the HTTP endpoints parse the body and hand over the request dict; the
answer is a JSON-RPC response dict. Messages stay the dicts the stdlib json module made of
them; nothing is validated beyond what routing needs (the client validates results, the
upstream validates requests).

- `respond`: the answer to any method but tools/call (params check, upstream failures as
  JSON-RPC errors, the gateway's own failure texts redacted, the result shaped for the
  client's era: a 2026-07-28 client gets `resultType`, a handshake-era client does not get the
  modern-only caching members).
- `forward_request`: one request through the server's pooled upstream, within its timeout,
  cancellable by the client (`cancel_request`).
- `call_tool` / `run_tool_call`: `tools/call` of a disabled tool is refused as a tool error
  naming the reason; every `tools/call` (refusals and protocol errors included) becomes one
  ToolCallLog row, submitted to the batched writer.
- `subscribe_resource` / `unsubscribe_resource`: held per session (for routing
  `resources/updated`), bounded; the upstream is asked once per URI and released when no
  session wants it (gateway/resource_subscriptions.py).
- `initialize_result` / `discover_result`: a server endpoint's identity, from the upstream's
  own handshake.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp_types import LOG_LEVEL_META_KEY, SERVER_INFO_META_KEY
from mcp_types.version import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    MODERN_PROTOCOL_VERSIONS,
)

from mcp_orch_app import fast_json
from mcp_orch_app.gateway.client_requests import InputRelay, with_input_log
from mcp_orch_app.gateway.client_sessions import LiveSession
from mcp_orch_app.gateway.input_rounds import (
    INPUT_REQUIRED_METHODS,
    answer_input_required,
    held_round,
    input_records,
    is_input_required,
    label_input_requests,
    with_client_capabilities,
)
from mcp_orch_app.gateway.log_writer import EncodedJSON, LogWriterClosed
from mcp_orch_app.gateway.resource_subscriptions import (
    MAX_SUBSCRIPTIONS_PER_SESSION,
    checked_uri,
)
from mcp_orch_app.gateway.runtime import EndpointAccess, Gateway, ServerAccess
from mcp_orch_app.gateway.upstream import (
    Era,
    UpstreamCancelled,
    UpstreamError,
    UpstreamFailure,
    UpstreamRefusal,
    UpstreamTimeout,
)
from mcp_orch_app.models.enums import ToolCallErrorCode, ToolCallStatus
from mcp_orch_app.security.redaction import Redactor

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UPSTREAM_UNAVAILABLE_ERROR = -32000
"""The server behind the endpoint is not running (could not start, crashed, backing off)."""
UPSTREAM_TIMEOUT_ERROR = -32001
"""The server did not answer within its timeout."""
REQUEST_CANCELLED_ERROR = -32800

_MODERN_ONLY_RESULT_KEYS = ("resultType", "cacheScope", "ttlMs")
_CACHEABLE_METHODS = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"}
)
"""Methods whose 2026-07-28 results must carry caching hints (a handshake-era upstream sends
none: the gateway says "private, do not reuse")."""

ProgressSink = Callable[[dict[str, Any]], None]


def error_response(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def gateway_text(exc: UpstreamFailure) -> bool:
    """Whether the failure's text is mcp-orch's own (to redact), not a server's JSON-RPC error."""
    return not isinstance(exc, UpstreamError) or isinstance(exc, UpstreamRefusal)


def _failure_error(exc: UpstreamFailure) -> dict[str, Any]:
    """The JSON-RPC `error` member for an upstream failure (a server error passes as it came)."""
    if isinstance(exc, UpstreamError):
        return exc.to_wire()
    if isinstance(exc, UpstreamTimeout):
        return {"code": UPSTREAM_TIMEOUT_ERROR, "message": str(exc)}
    if isinstance(exc, UpstreamCancelled):
        return {"code": REQUEST_CANCELLED_ERROR, "message": str(exc)}
    return {"code": UPSTREAM_UNAVAILABLE_ERROR, "message": str(exc)}


def _failure_response(
    request_id: Any, exc: UpstreamFailure, redactor: Redactor | None = None
) -> dict[str, Any]:
    """The JSON-RPC error answer; the gateway's own failure texts (which may quote what the
    server said, e.g. an HTTP error body) lose the server's secrets."""
    error = _failure_error(exc)
    if redactor and gateway_text(exc):
        error = redactor.redact_value(error)
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def _result_response(
    request_id: Any, result: dict[str, Any], session: LiveSession, method: str
) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": _shape_result(result, session, method)}


def _shape_result(result: dict[str, Any], session: LiveSession, method: str) -> dict[str, Any]:
    if session.modern:
        result.setdefault("resultType", "complete")
        if method in _CACHEABLE_METHODS:
            result.setdefault("cacheScope", "private")
            result.setdefault("ttlMs", 0)
    else:
        for key in _MODERN_ONLY_RESULT_KEYS:
            result.pop(key, None)
        # A 2026-07-28 upstream names itself in every result; a handshake-era client learnt
        # that from `initialize` and gets the result as a server of its own era sends it.
        meta = result.get("_meta")
        if isinstance(meta, dict) and SERVER_INFO_META_KEY in meta:
            del meta[SERVER_INFO_META_KEY]
            if not meta:
                del result["_meta"]
    return result


def negotiate_handshake_version(requested: Any) -> str:
    """The client's version when we speak it, else our newest handshake version."""
    return requested if requested in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION


def handshake_answer(
    params: dict[str, Any],
    capabilities: dict[str, Any],
    server_info: dict[str, Any],
    instructions: str | None,
) -> dict[str, Any]:
    """The `initialize` result for a client that sent ``params``."""
    result: dict[str, Any] = {
        "protocolVersion": negotiate_handshake_version(params.get("protocolVersion")),
        "capabilities": capabilities,
        "serverInfo": server_info,
    }
    if instructions:
        result["instructions"] = instructions
    return result


def discover_answer(
    capabilities: dict[str, Any], server_info: dict[str, Any], instructions: str | None
) -> dict[str, Any]:
    """The `server/discover` result (2026-07-28)."""
    result: dict[str, Any] = {
        "supportedVersions": list(MODERN_PROTOCOL_VERSIONS),
        "capabilities": capabilities,
        # Private: what a client sees depends on its key (disabled tools, the project).
        "cacheScope": "private",
        "ttlMs": 0,
        "resultType": "complete",
        "_meta": {SERVER_INFO_META_KEY: server_info},
    }
    if instructions:
        result["instructions"] = instructions
    return result


async def initialize_result(
    gateway: Gateway, access: ServerAccess, params: dict[str, Any]
) -> dict[str, Any]:
    """The `initialize` answer, made from the upstream's own handshake."""
    upstream = await gateway.upstream(access)
    server_info = upstream.server_info or {"name": access.server_name, "version": ""}
    # A 2026-07-28 server's `resources.subscribe` holds for a handshake-era client too: its
    # resources/subscribe becomes the URIs of the upstream's listen stream.
    return handshake_answer(params, upstream.capabilities, server_info, upstream.instructions)


async def discover_result(gateway: Gateway, access: ServerAccess) -> dict[str, Any]:
    """The `server/discover` answer (2026-07-28), made from the upstream's own handshake."""
    upstream = await gateway.upstream(access)
    server_info = upstream.server_info or {"name": access.server_name, "version": ""}
    return discover_answer(upstream.capabilities, server_info, upstream.instructions)


async def respond(
    gateway: Gateway,
    session: LiveSession,
    message: dict[str, Any],
    result: Callable[[], Awaitable[dict[str, Any]]],
    *,
    redactor: Redactor | None = None,
) -> dict[str, Any]:
    """The response to a request other than tools/call, whatever the endpoint, from what
    ``result()`` makes of it.

    Params that are not an object, and a ValueError, become an invalid-params error; an
    upstream failure its JSON-RPC error. The result is shaped for the client's era.
    """
    request_id = message.get("id")
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        return error_response(request_id, INVALID_PARAMS, "params must be an object")
    try:
        answer = await result()
    except UpstreamFailure as exc:
        gateway.note_call(session, None)
        return _failure_response(request_id, exc, redactor)
    except ValueError as exc:
        return error_response(request_id, INVALID_PARAMS, str(exc))
    gateway.note_call(session, None)
    return _result_response(request_id, answer, session, message["method"])


def with_params(message: dict[str, Any], **params: Any) -> dict[str, Any]:
    """The request as its server must see it: the same, with some params replaced."""
    return {**message, "params": {**(message.get("params") or {}), **params}}


async def forward_request(
    gateway: Gateway,
    access: ServerAccess,
    session: LiveSession,
    message: dict[str, Any],
    progress: ProgressSink | None,
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One request through the server's pooled upstream, with the server's timeout (the
    client may cancel it with notifications/cancelled while it runs). The server's requests
    to its client during it go to this client (``progress`` is the request's own stream),
    recorded in ``inputs``."""
    upstream = await gateway.upstream(access)
    request_id = message.get("id")
    method = message["method"]
    call_key = (session.id.hex, _hashable(request_id))
    session.in_flight[call_key[1]] = (access.server_id, call_key)
    # Named to the client on the unified endpoint (its sessions belong to no one server).
    named = access.server_name if session.server_id is None else None
    timeout = access.config.timeout_seconds
    asks_input = method in INPUT_REQUIRED_METHODS
    try:
        if session.modern and asks_input and upstream.era is not Era.MODERN:
            # The upstream asks with requests of its own: held between the client's rounds.
            return await held_round(
                gateway.held,
                upstream,
                session,
                message,
                timeout=timeout,
                server_name=named,
                progress=progress,
                call_key=call_key,
                inputs=inputs,
            )
        relay = None
        params = message.get("params")
        if not session.modern:  # a 2026-07-28 client has no server-to-client requests
            relay = InputRelay(session, progress, named, timeout)
            if inputs is not None:
                relay.records = inputs
            if upstream.era is Era.MODERN:
                params = with_client_capabilities(params, session.client_capabilities)
                params = _with_log_level(params, session)

        def send(extra: dict[str, Any] | None = None) -> Awaitable[dict[str, Any]]:
            sent = {**(params or {}), **extra} if extra else params
            return upstream.request(
                method,
                sent,
                timeout=timeout,
                on_notification=progress,
                call_key=call_key,
                on_input=relay,
            )

        result = await send()
        if not (asks_input and is_input_required(result)):
            return result
        if relay is not None:  # a handshake-era client: asked with real requests
            return await answer_input_required(result, send, relay)
        # 2026-07-28 on both sides: passed through, naming the server on the unified endpoint.
        if inputs is not None:
            inputs.extend(input_records(result))
        return label_input_requests(result, named) if named is not None else result
    finally:
        session.in_flight.pop(call_key[1], None)


LOWEST_LOG_LEVEL = "debug"


def _with_log_level(params: Any, session: LiveSession) -> Any:
    """A handshake-era client's request as a 2026-07-28 upstream must see it to log as a
    handshake server would: that era sends log messages only for requests whose `_meta` names
    a level (that level and above), where a handshake server sends every level until the client
    sets one with `logging/setLevel`. So the request carries the level the session set, or the
    lowest; `LiveSession.offer` filters what is fanned out by each session's own level."""
    if params is not None and not isinstance(params, dict):
        return params  # `respond` refuses it
    meta = (params or {}).get("_meta")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta[LOG_LEVEL_META_KEY] = session.log_level or LOWEST_LOG_LEVEL
    return {**(params or {}), "_meta": meta}


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | type(None)) else repr(value)


async def cancel_request(gateway: Gateway, session: LiveSession, params: Any) -> None:
    """`notifications/cancelled` from the client: stop the upstream work for that request."""
    if not isinstance(params, dict):
        return
    in_flight = session.in_flight.get(_hashable(params.get("requestId")))
    if in_flight is None:
        return
    server_id, call_key = in_flight
    upstream = gateway.pool.running(server_id)
    if upstream is not None:
        await upstream.cancel(call_key, params.get("reason"))


async def subscribe_resource(
    gateway: Gateway,
    access: ServerAccess,
    session: LiveSession,
    message: dict[str, Any],
    named: str | None = None,
) -> dict[str, Any]:
    """resources/subscribe of one of the server's URIs for a handshake-era session, which
    holds it as the client ``named`` it (the unified URI on the unified endpoint): one upstream
    subscription per server and URI serves every session (gateway/resource_subscriptions.py)."""
    uri = checked_uri((message.get("params") or {}).get("uri"), message["method"])
    named = named or uri
    if named in session.subscriptions:
        return {}
    if len(session.subscriptions) >= MAX_SUBSCRIPTIONS_PER_SESSION:
        raise ValueError(
            f"resources/subscribe refused: this session already holds "
            f"{MAX_SUBSCRIPTIONS_PER_SESSION} subscriptions; unsubscribe some first"
        )
    await gateway.resources.acquire(gateway, access, uri, session)
    if session.ended:  # it ended while the server was asked
        await gateway.resources.release(gateway, access.server_id, uri, session)
        return {}
    session.subscriptions[named] = (access.server_id, uri)
    return {}


async def unsubscribe_resource(
    gateway: Gateway,
    access: ServerAccess,
    session: LiveSession,
    message: dict[str, Any],
    named: str | None = None,
) -> dict[str, Any]:
    """resources/unsubscribe of a URI the session subscribed to (any other is refused: a
    session releases only its own); the upstream is released when no one wants it any more."""
    uri = checked_uri((message.get("params") or {}).get("uri"), message["method"])
    named = named or uri
    held = session.subscriptions.pop(named, None)
    if held is None:
        raise ValueError(
            f"resources/unsubscribe refused: this session is not subscribed to {named!r}"
        )
    await gateway.resources.release(gateway, *held, session)
    return {}


# -- tools/call ----------------------------------------------------------------------------


async def call_tool(
    gateway: Gateway,
    access: ServerAccess,
    session: LiveSession,
    message: dict[str, Any],
    progress: ProgressSink | None,
    content: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Forward one tool call of a client session (never retried) and record it; ``content``
    makes each content item of the result what the client must see (the unified endpoint's
    URIs). The result is shaped for the client's era and encoded once, for the client's answer
    and the log row (which keeps the server's own content items when ``content`` changed one)."""
    request_id = message.get("id")
    malformed = malformed_call(message)
    if malformed is not None:
        return refuse_call(gateway, access, session, message, malformed)
    name, arguments = message["params"]["name"], message["params"].get("arguments")
    try:
        inputs: list[dict[str, Any]] = []
        outcome = await run_tool_call(
            gateway,
            access,
            name,
            arguments,
            lambda: forward_request(gateway, access, session, message, progress, inputs),
            session=session,
            inputs=inputs,
            shape=lambda result: _shape_result(result, session, "tools/call"),
        )
    except UpstreamFailure as exc:
        return _failure_response(request_id, exc, access.config.redactor)
    result, encoded = outcome.result, outcome.encoded
    items = result.get("content")
    if content is not None and isinstance(items, list):
        shown = [content(item) for item in items]
        if any(new is not old for new, old in zip(shown, items, strict=True)):
            result, encoded = {**result, "content": shown}, None  # the log keeps the server's
    return _answer(request_id, result, encoded)


def _answer(request_id: Any, result: dict[str, Any], encoded: bytes | None) -> dict[str, Any]:
    """The JSON-RPC answer with ``result``; ``encoded`` (its JSON, when made already) becomes
    the answer's without encoding the result again."""
    answer = {"jsonrpc": "2.0", "id": request_id, "result": result}
    if encoded is None:
        return answer
    head = b'{"jsonrpc":"2.0","id":%s,"result":' % fast_json.dumps_bytes(request_id)
    return fast_json.Encoded(answer, head + encoded + b"}")


def malformed_call(message: dict[str, Any]) -> str | None:
    """Why a tools/call request cannot be made as it is, or None when it can."""
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        return "params must be an object"
    name, arguments = (params or {}).get("name"), (params or {}).get("arguments")
    if not isinstance(name, str) or not name:
        return "tools/call needs a tool name"
    if arguments is not None and not isinstance(arguments, dict):
        return "arguments must be an object"
    return None


@dataclass(frozen=True, slots=True)
class ToolCallOutcome:
    """The MCP result of a call that got an answer (``isError`` results included)."""

    result: dict[str, Any]
    status: ToolCallStatus
    duration_ms: float
    encoded: bytes | None = None
    """``result``'s compact JSON as the log row got it (None when it had to be encoded
    otherwise): the client's answer reuses it. Stale once ``result`` is changed."""


# How servers say they have no such tool: the spec's -32602 "Unknown tool", the Python SDK's
# isError "Unknown tool: x", and the wordings other SDKs use.
_UNKNOWN_TOOL = re.compile(
    r"unknown tool|tool\b.{0,80}\bnot found|no such tool|tool not found", re.I
)


def names_unknown_tool(text: str | None) -> bool:
    """Whether a server's error text says the called tool does not exist."""
    return bool(text) and _UNKNOWN_TOOL.search(text) is not None


def disabled_tool_result(name: str) -> dict[str, Any]:
    reason = f"The tool '{name}' is disabled in this project, so it cannot be called."
    return {"content": [{"type": "text", "text": reason}], "isError": True}


async def run_tool_call(
    gateway: Gateway,
    access: ServerAccess,
    name: str,
    arguments: dict[str, Any] | None,
    send: Callable[[], Awaitable[dict[str, Any]]],
    *,
    session: LiveSession | None = None,
    client_name: str | None = None,
    inputs: list[dict[str, Any]] | None = None,
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> ToolCallOutcome:
    """The rules every tool call follows, whoever makes it (a client session, the unified
    endpoint, the REST/UI "call this tool" button), and its ToolCallLog row.

    A disabled tool is refused with TOOL_DISABLED and never reaches the server. Otherwise
    ``send()`` makes the one upstream request (with the server's timeout; never retried). The
    outcome maps to a status and error code: timeout -> TIMEOUT, server not running ->
    UPSTREAM_UNAVAILABLE, JSON-RPC error -> UPSTREAM_ERROR, an ``isError`` result -> error;
    either one saying the server has no such tool -> TOOL_NOT_FOUND.
    Raises UpstreamFailure (after recording it) when the call got no answer. ``client_name``
    names the caller in the log when there is no session; ``inputs`` lists what the server
    asked the client during the call (logged with the result). ``shape`` makes the result what
    the client gets, before it is logged: the log row's copy is cut from its one encoding.
    """

    def record(
        result: Any, status: ToolCallStatus, code: str | None, text: str | None, ms: float
    ) -> None:
        record_call(
            gateway,
            access,
            session,
            name,
            arguments,
            with_input_log(result, inputs or [], status),
            status,
            code,
            text,
            ms,
            client_name=client_name,
        )

    if name in access.disabled_tools:
        result = disabled_tool_result(name)
        reason = result["content"][0]["text"]
        record(None, ToolCallStatus.ERROR, ToolCallErrorCode.TOOL_DISABLED, reason, 0.0)
        return ToolCallOutcome(shape(result) if shape else result, ToolCallStatus.ERROR, 0.0)

    started = time.perf_counter()
    try:
        result = await send()
    except UpstreamFailure as exc:
        status = (
            ToolCallStatus.TIMEOUT
            if isinstance(exc, UpstreamTimeout)
            else ToolCallStatus.CANCELLED
            if isinstance(exc, UpstreamCancelled)
            else ToolCallStatus.ERROR
        )
        code = None if isinstance(exc, UpstreamCancelled) else exc.error_code
        if isinstance(exc, UpstreamError) and names_unknown_tool(exc.message):
            code = ToolCallErrorCode.TOOL_NOT_FOUND
        record(None, status, code, str(exc), (time.perf_counter() - started) * 1000)
        raise
    except asyncio.CancelledError:
        elapsed = (time.perf_counter() - started) * 1000
        record(
            None, ToolCallStatus.CANCELLED, None, "the caller went away before the answer", elapsed
        )
        raise
    elapsed = (time.perf_counter() - started) * 1000
    if shape is not None:
        result = shape(result)
    encoded = _encoded(result)
    # The log's copy is cut from those bytes (as text: redaction and the cap work on text);
    # a call whose input requests are listed with its result is logged as its own document.
    logged = result if encoded is None or inputs else EncodedJSON(encoded.decode("utf-8"))
    status, code, text = ToolCallStatus.SUCCESS, None, None
    if result.get("isError") is True:
        text = _first_text(result)
        status = ToolCallStatus.ERROR
        code = ToolCallErrorCode.TOOL_NOT_FOUND if names_unknown_tool(text) else None
    record(logged, status, code, text, elapsed)
    return ToolCallOutcome(result, status, elapsed, encoded)


def _encoded(result: dict[str, Any]) -> bytes | None:
    """The result's compact JSON, or None for one the client's encoder refuses (a lone
    surrogate, nesting past the stdlib's reach): the log's encoder copes with those itself."""
    try:
        return fast_json.dumps_bytes(result)
    except (ValueError, TypeError, RecursionError):
        return None


def refuse_call(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession | None,
    message: dict[str, Any],
    reason: str,
    *,
    code: ToolCallErrorCode = ToolCallErrorCode.INVALID_PARAMETERS,
) -> dict[str, Any]:
    """Answer a tools/call the gateway will not forward with a JSON-RPC error, and log it."""
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    name = params.get("name")
    record_call(
        gateway,
        access,
        session,
        name if isinstance(name, str) else "",
        params.get("arguments"),
        None,
        ToolCallStatus.ERROR,
        code,
        reason,
        0.0,
    )
    # The spec answers an unknown tool with -32602, like bad arguments.
    invalid_params = (ToolCallErrorCode.INVALID_PARAMETERS, ToolCallErrorCode.TOOL_NOT_FOUND)
    rpc_code = INVALID_PARAMS if code in invalid_params else INVALID_REQUEST
    return error_response(message.get("id"), rpc_code, reason)


def record_call(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession | None,
    tool: str,
    arguments: Any,
    result: Any,
    status: ToolCallStatus,
    error_code: str | None,
    error_message: str | None,
    duration_ms: float,
    *,
    client_name: str | None = None,
) -> None:
    """One ToolCallLog row and the session's counters, queued for the writer."""
    config = getattr(access, "config", None)  # a refused unified call names no server
    try:
        gateway.writer.submit_tool_call(
            project_id=access.project_id,
            server_id=access.server_id,
            server_name=access.server_name or "",  # none: a refused unified call
            tool_name=tool,
            status=status,
            session_id=session.id if session is not None else None,
            api_key_id=access.api_key_id,
            oauth_client_id=access.oauth.client_id if access.oauth else None,
            user_id=access.oauth.user_id if access.oauth else None,
            client_name=session.client_name if session is not None else client_name,
            arguments=arguments,
            result=result,
            error_code=error_code,
            error_message=error_message,
            duration_ms=duration_ms,
            redactor=config.redactor if config is not None else None,
        )
    except LogWriterClosed:
        return
    if session is not None:
        gateway.note_call(session, status is ToolCallStatus.SUCCESS)


def _first_text(result: dict[str, Any]) -> str | None:
    for item in result.get("content") or ():
        if isinstance(item, dict) and item.get("type") == "text":
            return str(item.get("text"))
    return None
