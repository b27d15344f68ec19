"""`StreamableHttpUpstream` and `SseUpstream`: MCP servers mcp-orch reaches over HTTP.

Both speak raw JSON-RPC over one `httpx.AsyncClient` and share the multiplexing, progress routing
and era handshake of `MultiplexedUpstream` with the stdio transport; this module owns only the
HTTP wire. The server's configured headers (decrypted secrets, such as an API key) go on every
request and nowhere else: they are never logged, and nothing of the gateway's own clients (their
bearer tokens above all) is ever sent upstream. Redirects are not followed, so those headers
never reach another origin either.

Streamable HTTP: every request is its own POST, answered with JSON or with an SSE stream that
carries the call's progress and then its result. A 2025-11-25 server hands out a session id on
`initialize`, sent on every later request; when it forgets the session (404) a new one is opened
once and only the requests it refused are replayed, because a refused request never ran. The
optional GET stream carries its unsolicited notifications. A server may end a response stream
before the answer once it has sent an event id (SEP-1699): the stream is then resumed with a GET
carrying `Last-Event-ID` after the server's `retry:` delay (bounded attempts, within the call's
own timeout), never by sending the request again; the GET stream is reopened the same way. A 2026-07-28 server has no session:
each POST carries the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers the SDK client
sends, and closing a request's stream is how it is cancelled.

SSE (the 2024-11-05 transport): one long GET stream announces the message endpoint and carries
every answer and notification; requests are POSTed to that endpoint (202). The stream dropping
is a crash, exactly like a stdio process exiting: the calls in flight fail at once and the pool
restarts the connection with backoff.

Nothing a server sends is buffered without a bound: one SSE event, one line of a stream and one
response body may each be at most `MCP_ORCH_MAX_UPSTREAM_MESSAGE` bytes (64 MiB by default, as
for a stdio line). Past it the call it answers fails with an error naming the limit; on the SSE
transport's single stream, which cannot be resynchronised mid-event, the connection is dropped
like a crash and the pool reconnects; on a notification stream the stream is opened again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2 as httpx
from mcp.shared.inbound import (
    encode_header_value,
    find_invalid_x_mcp_header,
    mcp_param_headers,
    x_mcp_header_map,
)
from mcp_types import HEADER_MISMATCH, PROTOCOL_VERSION_META_KEY

from mcp_orch_app.config import describe_size, get_settings
from mcp_orch_app.fast_json import dumps_bytes
from mcp_orch_app.gateway import upstream_oauth
from mcp_orch_app.gateway.multiplexed_upstream import (
    LISTEN_REQUEST_ID,
    METHOD_NOT_FOUND,
    MultiplexedUpstream,
)
from mcp_orch_app.gateway.upstream import (
    CLIENT_INFO,
    Era,
    InputHandler,
    NotificationCallback,
    UpstreamConfig,
    UpstreamError,
    UpstreamFailure,
    UpstreamRefusal,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcp_orch_app.security.destinations import (
    LOOP_HEADER,
    GuardedTransport,
    loop_token,
    refused_destination,
)

logger = logging.getLogger(__name__)

USER_AGENT = f"{CLIENT_INFO['name']}/{CLIENT_INFO['version']}"

CONNECT_TIMEOUT = 10.0
"""How long opening a TCP (and TLS) connection may take. Reads have no HTTP-level limit: a
call's own timeout bounds it, and SSE streams are meant to stay open."""

MAX_CONNECTIONS = 100
"""Connections to one server at most; over streamable HTTP each call in flight holds one."""

DELETE_TIMEOUT = 2.0
"""How long stop() waits for the server to acknowledge the end of its session."""

LISTEN_RETRY_DELAY = 1.0
"""After the GET notification stream ends, how long before it is opened again, unless the
server said otherwise with an SSE `retry:` field."""

MAX_RESUMPTIONS = 3
"""How many times in a row the answer stream of a request is resumed (a GET with
`Last-Event-ID`) without the server sending anything new before the call fails."""

RESUME_DELAY_MS = 1000
"""How long before resuming a stream when the server sent no `retry:` field (as the SDK)."""

MAX_RETRY_MS = 60_000
"""The longest `retry:` honoured; a server asking for more waits this long."""

MAX_EVENT_ID = 1024
"""An SSE event id longer than this (or not printable ASCII) is not sent back: such a stream
is not resumed."""

INTERNAL_ERROR = -32603

MAX_TOOL_PAGES = 20
"""How many tools/list pages a connection reads to learn a tool's `Mcp-Param-*` headers."""

_NAME_BEARING_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
"""Which param a modern-era request mirrors into the `Mcp-Name` header (as the SDK client)."""

_JSON_AND_SSE = "application/json, text/event-stream"

CLIENT_PARAM_HEADERS: ContextVar[dict[str, str] | None] = ContextVar(
    "client_param_headers", default=None
)
"""The `Mcp-Param-*` headers of the 2026-07-28 client request being served (tools/call),
bounded by `client_param_headers`: a modern upstream's tools/call made for it forwards those
mcp-orch does not rebuild itself, as the spec asks of an intermediary that does not know them."""

MAX_PARAM_HEADERS = 32
"""`Mcp-Param-*` headers of one client request forwarded, at most (the first ones)."""
MAX_PARAM_HEADER_BYTES = 1024
"""A forwarded `Mcp-Param-*` header's name and value, at most (a longer one is dropped)."""
_PARAM_PREFIX = "mcp-param-"


def client_param_headers(headers: Any) -> dict[str, str] | None:
    """The `Mcp-Param-*` headers of a client request that may be forwarded (``headers``: the
    request's (name, value) pairs): well-formed names and values within the bounds, the first
    MAX_PARAM_HEADERS of them; None when there are none."""
    kept: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if not lowered.startswith(_PARAM_PREFIX) or lowered in kept:
            continue
        if len(kept) >= MAX_PARAM_HEADERS:
            break
        if (
            len(lowered) + len(value) <= MAX_PARAM_HEADER_BYTES
            and _HEADER_NAME.fullmatch(lowered)
            and _HEADER_VALUE.fullmatch(value)
        ):
            kept[lowered] = value
    return kept or None


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")


SNIPPET_BYTES = 4096
"""How much of an error answer's body is read to quote from it."""

_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(slots=True)
class _SseEvent:
    event: str
    data: str


_EVENT_ID = re.compile(r"[\x20-\x7e]*")


class _Oversize(Exception):
    """A message from the server passed the size limit."""


class _SseDecoder:
    """Splits a `text/event-stream` body into events (the fields MCP uses: event and data),
    holding at most ``limit`` bytes of one line or one event's data.

    It also keeps what resuming a dropped stream needs, as an EventSource does: ``last_id``,
    the id in force when the last event was complete (also set by an event with empty data,
    as SEP-1699's priming event is; None when there is none, or it cannot be sent back in a
    header), and ``retry_ms``, the last `retry:` the server sent."""

    def __init__(self, limit: int, last_id: str | None = None, retry_ms: int | None = None):
        self._limit = limit
        self._buffer = bytearray()
        self._scanned = 0
        self._event = "message"
        self._data: list[str] = []
        self._size = 0
        self._id = self.last_id = last_id
        self.retry_ms = retry_ms

    def resumed(self) -> _SseDecoder:
        """A decoder for the stream that resumes this one: same last id and retry, no partial
        event (what the dropped stream cut off is sent again after the last id)."""
        return _SseDecoder(self._limit, self.last_id, self.retry_ms)

    def feed(self, chunk: bytes) -> list[_SseEvent]:
        buffer = self._buffer
        buffer += chunk
        events: list[_SseEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer, self._scanned):
            if match.end() == len(buffer) and match.group() == b"\r":
                break  # the \n of a \r\n may be in the next chunk
            self._line(bytes(buffer[start : match.start()]), events)
            start = match.end()
        del buffer[:start]
        self._scanned = len(buffer) - 1 if buffer.endswith(b"\r") else len(buffer)
        if len(buffer) > self._limit:
            raise _Oversize
        return events

    def _line(self, line: bytes, events: list[_SseEvent]) -> None:
        if not line:
            self.last_id = self._id
            if self._data and self._data != [""]:  # empty data: no event (SSE spec)
                events.append(_SseEvent(self._event, "\n".join(self._data)))
            self._event, self._data, self._size = "message", [], 0
            return
        if line.startswith(b":"):
            return
        field, _, value = line.partition(b":")
        value = value.removeprefix(b" ")
        if field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"data":
            self._size += len(value) + 1
            if self._size > self._limit:
                raise _Oversize
            self._data.append(value.decode("utf-8", "replace"))
        elif field == b"id" and b"\0" not in value:
            text = value.decode("utf-8", "replace")
            usable = text and len(text) <= MAX_EVENT_ID and _EVENT_ID.fullmatch(text)
            self._id = text if usable else None  # "" resets it, as in EventSource
        elif field == b"retry" and value.isdigit() and len(value) <= 9:
            self.retry_ms = int(value)


async def _sse_events(
    response: httpx.Response, limit: int, decoder: _SseDecoder | None = None
) -> AsyncIterator[_SseEvent]:
    """The events of a `text/event-stream` body; `_Oversize` past ``limit``."""
    decoder = decoder or _SseDecoder(limit)
    async for chunk in response.aiter_bytes():
        for event in decoder.feed(chunk):
            yield event


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed response; `_Oversize` past ``limit``."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise _Oversize
    return bytes(body)


async def _read_snippet(response: httpx.Response) -> bytes:
    """The start of a streamed response's body, enough to quote from."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= SNIPPET_BYTES:
            break
    return bytes(body[:SNIPPET_BYTES])


class MessageTooLarge(UpstreamUnavailable):
    """The server sent a message past `MCP_ORCH_MAX_UPSTREAM_MESSAGE`; it was not read."""


def _public_url(url: str) -> str:
    """The URL without its query and credentials, for messages (some servers put keys there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _snippet(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:200] + ("..." if len(text) > 200 else "")


class _SessionLost(Exception):
    """The server no longer knows our session id (see `_names_lost_session`)."""


class HttpUpstream(MultiplexedUpstream):
    """What both HTTP transports share: the client, the configured headers, crash reporting."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        on_exit: Callable[[str], None] | None = None,
        handshake_timeout: float | None = None,
        era: Era | None = None,
    ) -> None:
        super().__init__(config, handshake_timeout=handshake_timeout, era=era)
        self._on_exit = on_exit
        self.url = config.url or ""
        self.exit_reason: str | None = None
        self._started = False
        self._stopped = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._client: httpx.AsyncClient | None = None

    # -- start and stop --------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            raise RuntimeError(f"a {type(self).__name__} is started once; make a new one")
        self._started = True
        self._check_settings()
        self._client = httpx.AsyncClient(
            # Configured headers after ours: a server that wants its own User-Agent gets it.
            # The loop mark last, so no configured header can drop it.
            headers={"user-agent": USER_AGENT, **self.config.headers, LOOP_HEADER: loop_token()},
            # A call beyond the connection limit waits for a free one (its own timer runs).
            timeout=httpx.Timeout(CONNECT_TIMEOUT, read=None, pool=None),
            # Every connection passes the destination policy (security/destinations.py).
            transport=GuardedTransport(
                limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=32)
            ),
            follow_redirects=False,
            # OAuth servers: the token of the connection in use (gateway/upstream_oauth.py).
            auth=await upstream_oauth.auth_for(self.config.server_id),
        )
        try:
            await self._connect()
            await self._handshake()
        except BaseException as exc:
            # Shielded so that a start cancelled by its caller still closes what it opened.
            await asyncio.shield(self.stop())
            if isinstance(exc, UpstreamError | UpstreamTimeout):
                raise UpstreamUnavailable(self._handshake_failure(exc)) from exc
            raise
        self._ready = True
        self._after_handshake()

    def _check_settings(self) -> None:
        name = self.config.name
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamUnavailable(
                f"MCP server '{name}': {_public_url(self.url)!r} is not an http:// or https:// URL"
            )
        for header, value in self.config.headers.items():
            # Checked here so a bad value is named without being shown (it is often a secret).
            if not _HEADER_NAME.fullmatch(header):
                raise UpstreamUnavailable(
                    f"MCP server '{name}': {header!r} is not a valid HTTP header name"
                )
            if not _HEADER_VALUE.fullmatch(value):
                raise UpstreamUnavailable(
                    f"MCP server '{name}': the value of header '{header}' cannot be sent over "
                    "HTTP (use printable ASCII, no line breaks)"
                )

    async def _connect(self) -> None:
        """Open what must be open before the handshake (the SSE stream)."""

    def _after_handshake(self) -> None:
        """Start what runs once the connection is up (the GET notification stream)."""

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = self._stopping = True
        self._fail_calls(f"MCP server '{self.config.name}' was stopped")
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._close_session()
            await self._client.aclose()

    async def _close_session(self) -> None:
        """Tell the server the connection ends (streamable HTTP sessions)."""

    # -- failures --------------------------------------------------------------------------

    def _connection_lost(self, reason: str) -> None:
        """The server went away: fail every waiting call now and report it as a crash once."""
        if self._gone or self._stopping:
            return
        self._gone = True
        self.exit_reason = reason
        self._fail_calls(reason)
        if not self._ready:
            return  # start() fails with the reason; there is no crash to report
        if self._on_exit is None:
            logger.warning("%s", reason)
            return
        try:
            self._on_exit(reason)
        except Exception:
            logger.exception("exit callback of %s failed", self.config.name)

    def _unavailable_reason(self) -> str:
        if self.exit_reason:
            return self.exit_reason
        if self._stopping:
            return f"MCP server '{self.config.name}' is stopping"
        return f"MCP server '{self.config.name}' is not connected"

    def _transport_failure(self, exc: httpx.HTTPError, what: str) -> str:
        """What the user is told about a failed connection, and the detail logged for admins.

        Until the server has answered the handshake, every failure reads the same (refused,
        timed out, reset, not HTTP at all): the text must not tell a developer which ports of
        mcp-orch's network are open. Only a destination the policy refused is said so.
        """
        name, url = self.config.name, _public_url(self.url)
        refused = refused_destination(exc)
        if refused is not None:
            logger.warning("MCP server '%s': connection to %s refused: %s", name, url, refused)
            return (
                f"MCP server '{name}': mcp-orch may not connect to {url}: the destination "
                "policy refuses it (MCP_ORCH_UPSTREAM_ALLOW / MCP_ORCH_UPSTREAM_DENY; the "
                "server log of mcp-orch says why)"
            )
        logger.info(
            "MCP server '%s' at %s: %s during %s: %s", name, url, type(exc).__name__, what, exc
        )
        if self._ready:
            return f"MCP server '{name}' at {url} went away during {what}"
        return f"MCP server '{name}' is not reachable at {url}: could not connect"

    def _refusal(self, response: httpx.Response, what: str) -> UpstreamUnavailable | None:
        """An HTTP answer that means the server cannot be used as configured, if it is one."""
        name, status = self.config.name, response.status_code
        if status in (401, 403):
            return UpstreamUnavailable(
                f"MCP server '{name}' refused the configured credentials (HTTP {status} on "
                f"{what}): check the headers in the server's settings"
            )
        if status == 508 and response.headers.get(LOOP_HEADER):
            return UpstreamUnavailable(
                f"MCP server '{name}' is mcp-orch itself (HTTP 508 Loop Detected on {what}): "
                "a server cannot point at mcp-orch's own endpoints"
            )
        if 300 <= status < 400:
            location = _public_url(urljoin(self.url, response.headers.get("location", "")))
            return UpstreamUnavailable(
                f"MCP server '{name}' redirected {what} to {location} (HTTP {status}); mcp-orch "
                "does not follow redirects, so put the final URL in the server's settings"
            )
        return None

    def _message_limit(self) -> int:
        return get_settings().max_upstream_message

    def _too_large(self, what: str) -> MessageTooLarge:
        limit = self._message_limit()
        return MessageTooLarge(
            f"MCP server '{self.config.name}' sent {what} larger than {describe_size(limit)} "
            f"({limit} bytes, setting MCP_ORCH_MAX_UPSTREAM_MESSAGE); it was not read"
        )

    async def _events(
        self, response: httpx.Response, what: str, decoder: _SseDecoder | None = None
    ) -> AsyncIterator[_SseEvent]:
        """The SSE events of ``response`` (read with ``decoder``, to learn its last event id
        and retry); `MessageTooLarge` when one passes the limit."""
        try:
            async for event in _sse_events(response, self._message_limit(), decoder):
                yield event
        except _Oversize:
            raise self._too_large(f"an SSE event on {what}") from None

    async def _body(self, response: httpx.Response, what: str) -> bytes:
        """The whole body of ``response``; `MessageTooLarge` when it passes the limit."""
        try:
            return await _read_body(response, self._message_limit())
        except _Oversize:
            raise self._too_large(f"an answer to {what}") from None

    def _body_hint(self, body: bytes, what: str) -> str:
        """The start of an unexpected answer body, for the user's message once the server is
        known to be an MCP server; before its handshake, for the server log only (the body of
        whatever else answers at a URL must not be readable through mcp-orch)."""
        snippet = _snippet(body)
        if not snippet:
            return ""
        if self._ready:
            return f": {snippet}"
        logger.info("MCP server '%s' answered %s with: %s", self.config.name, what, snippet)
        return ""

    def _parse(self, data: str | bytes, what: str) -> Any:
        try:
            return json.loads(data)
        except ValueError as exc:
            body = data if isinstance(data, bytes) else data.encode()
            raise UpstreamRefusal(
                INTERNAL_ERROR,
                f"MCP server '{self.config.name}' answered {what} with something that is not "
                f"JSON{self._body_hint(body, what)}",
            ) from exc

    def _dispatch_event(self, event: _SseEvent, related: int | None = None) -> None:
        """One SSE event's message; ``related``: the call whose POST stream carried it."""
        if event.event != "message" or not event.data:
            return
        try:
            self._dispatch(self._parse(event.data, "an SSE event"), related)
        except UpstreamError as exc:
            logger.warning("%s", exc)

    # -- the wire --------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _send_soon(self, message: dict[str, Any]) -> None:
        if self._gone or self._stopping:
            raise UpstreamUnavailable(self._unavailable_reason())

        async def send() -> None:
            with contextlib.suppress(UpstreamFailure):
                await self._send(message)

        self._spawn(send())


class StreamableHttpUpstream(HttpUpstream):
    """A server at one streamable-HTTP endpoint URL (2025-03-26 onward, and 2026-07-28)."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        on_exit: Callable[[str], None] | None = None,
        handshake_timeout: float | None = None,
        era: Era | None = None,
    ) -> None:
        super().__init__(config, on_exit=on_exit, handshake_timeout=handshake_timeout, era=era)
        self.session_id: str | None = None
        self._renewing = asyncio.Lock()
        self._posts: dict[int, asyncio.Task[None]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._listen_streams: dict[str, asyncio.Task[None]] = {}
        """The listen streams that replaced the first one (`watch_resources`), by request id."""
        self._param_headers: dict[str, dict[tuple[str, ...], str]] = {}

    # -- calls -----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None,
        *,
        timeout: float,
        on_notification: NotificationCallback | None = None,
        call_key: Hashable | None = None,
        on_input: InputHandler | None = None,
    ) -> dict[str, Any]:
        options = {
            "timeout": timeout,
            "on_notification": on_notification,
            "call_key": call_key,
            "on_input": on_input,
        }
        try:
            result = await super().request(method, params, **options)
        except UpstreamError as exc:
            if not await self._relearn_param_headers(method, params, exc, timeout):
                raise
            # A header mismatch is refused before dispatch (the spec makes it a plain 400
            # ahead of any work), so the tool never ran: sending it again is safe.
            return await super().request(method, params, **options)
        if method == "tools/list" and self.era is Era.MODERN:
            self._learn_param_headers(result)
        return result

    async def _relearn_param_headers(
        self, method: str, params: dict[str, Any] | None, exc: UpstreamError, timeout: float
    ) -> bool:
        """After a HEADER_MISMATCH on a tool we know no headers for (no tools/list went
        through this connection yet), list the tools; True if that taught us its headers."""
        name = (params or {}).get("name")
        if (
            method != "tools/call"
            or exc.code != HEADER_MISMATCH
            or self.era is not Era.MODERN
            or not isinstance(name, str)
            or name in self._param_headers
        ):
            return False
        cursor = None
        for _page in range(MAX_TOOL_PAGES):
            page = await super().request(
                "tools/list", {"cursor": cursor} if cursor else None, timeout=timeout
            )
            self._learn_param_headers(page)
            cursor = page.get("nextCursor")
            if name in self._param_headers or not isinstance(cursor, str):
                break
        return name in self._param_headers

    def _learn_param_headers(self, result: dict[str, Any]) -> None:
        """Remember which tool arguments a modern server wants mirrored into `Mcp-Param-*`
        headers (the SDK client learns them from tools/list the same way)."""
        for tool in result.get("tools") or ():
            schema = tool.get("inputSchema") if isinstance(tool, dict) else None
            name = tool.get("name") if isinstance(tool, dict) else None
            if not isinstance(name, str) or find_invalid_x_mcp_header(schema) is not None:
                continue
            header_map = x_mcp_header_map(schema)
            if header_map:
                self._param_headers[name] = header_map
            else:
                self._param_headers.pop(name, None)

    def _headers_for(self, message: dict[str, Any]) -> dict[str, str]:
        """The MCP headers of one POST, on top of the client's configured ones."""
        headers = {"accept": _JSON_AND_SSE, "content-type": "application/json"}
        method = message.get("method")
        if method == "initialize":
            return headers  # a fresh negotiation: no session, no version yet
        params = message.get("params") or {}
        version = self.protocol_version
        if method == "server/discover":
            version = (params.get("_meta") or {}).get(PROTOCOL_VERSION_META_KEY)
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        if version:
            headers["mcp-protocol-version"] = version
        if (self.era is Era.MODERN or method == "server/discover") and "id" in message:
            headers["mcp-method"] = method
            name = params.get(_NAME_BEARING_METHODS.get(method, ""))
            if isinstance(name, str):
                headers["mcp-name"] = encode_header_value(name)
            if method == "tools/call" and name in self._param_headers:
                arguments = params.get("arguments")
                if isinstance(arguments, dict):
                    headers.update(mcp_param_headers(self._param_headers[name], arguments))
            forwarded = CLIENT_PARAM_HEADERS.get() if method == "tools/call" else None
            if forwarded:
                rebuilt = {key.lower() for key in headers}
                for key, value in forwarded.items():
                    if key not in rebuilt:
                        headers[key] = value
        return headers

    async def _send(self, message: dict[str, Any]) -> None:
        if self._gone or self._stopping:
            raise UpstreamUnavailable(self._unavailable_reason())
        if "id" in message and "method" in message:
            # The answer arrives on the POST's own response: read it in a task of its own so
            # the caller's timer (and cancellation) stay in charge of how long it waits.
            request_id = message["id"]
            self._posts[request_id] = self._spawn(self._post_request(request_id, message))
            return
        await self._post_message(message)

    def _call_finished(self, request_id: int) -> None:
        post = self._posts.pop(request_id, None)
        if post is not None and not post.done():
            # Still streaming: closing the response stream is how a 2026-07-28 server learns
            # the call was abandoned, and it frees the connection either way.
            post.cancel()

    def _abandon(self, request_id: int, reason: str) -> None:
        if self.era is not Era.MODERN:
            # Handshake era: the notification is the signal (a closed stream is not).
            self._send_cancelled(request_id, reason)

    async def _post_message(self, message: dict[str, Any]) -> None:
        """POST a notification or a reply; the server acknowledges it with 202."""
        what = str(message.get("method") or "a reply")
        try:
            async with self._client.stream(
                "POST", self.url, content=_encode(message), headers=self._headers_for(message)
            ) as response:
                refusal = self._refusal(response, what)
                if refusal is not None:
                    raise refusal
                if response.status_code >= 400:
                    logger.warning(
                        "%s answered %s with HTTP %d: %s",
                        self.config.name,
                        what,
                        response.status_code,
                        _snippet(await _read_snippet(response)),
                    )
        except httpx.HTTPError as exc:
            reason = self._transport_failure(exc, what)
            self._connection_lost(reason)
            raise UpstreamUnavailable(reason) from exc

    async def _post_request(self, request_id: int, message: dict[str, Any]) -> None:
        """POST one request and route everything its response carries; fail the call if the
        answer cannot come. Replays it once on a new session if the server lost the old one."""
        method = message["method"]
        replayed = False
        while True:
            session = self.session_id
            try:
                async with self._client.stream(
                    "POST", self.url, content=_encode(message), headers=self._headers_for(message)
                ) as response:
                    dropped = await self._read_answer(request_id, method, response, session)
                if dropped is not None:
                    await self._resume(request_id, method, dropped)
                return
            except _SessionLost:
                pass
            except httpx.HTTPError as exc:
                self._connection_lost(self._transport_failure(exc, method))
                return
            except UpstreamFailure as exc:
                self._fail_call(request_id, exc)
                return
            # The server refused this request with 404 before running it: safe to send again.
            try:
                if replayed:
                    raise UpstreamUnavailable(
                        f"MCP server '{self.config.name}' lost its session again right after "
                        f"it was renewed; {method} was not sent"
                    )
                replayed = True
                await self._renew_session(session)
            except UpstreamFailure as exc:
                self._fail_call(request_id, exc)
                return

    async def _read_answer(
        self, request_id: int, method: str, response: httpx.Response, session: str | None
    ) -> _SseDecoder | None:
        """Route what the response to one request carries until its answer; returns the
        stream's decoder when the stream ended (or broke) before the answer after an event id,
        so that it is resumed from there."""
        status = response.status_code
        content_type = response.headers.get("content-type", "").lower()
        if method == "initialize" and response.headers.get("mcp-session-id"):
            self.session_id = response.headers["mcp-session-id"]
        refusal = self._refusal(response, method)
        if refusal is not None:
            raise refusal
        if status < 300 and content_type.startswith("text/event-stream"):
            decoder = _SseDecoder(self._message_limit())
            try:
                async for event in self._events(response, f"the answer to {method}", decoder):
                    self._dispatch_event(event, request_id)
                    if self._answered(request_id):
                        return None
            except httpx.HTTPError:
                if decoder.last_id is None:
                    raise  # not resumable: the connection is lost, as without streams
                logger.debug("%s: the stream of %s broke", self.config.name, method, exc_info=True)
            if decoder.last_id is not None:
                return decoder
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' ended the response to {method} without "
                "answering it (not retried: it may have run)"
            )
        if content_type.startswith("application/json"):
            body = await self._body(response, method)
        else:
            body = await _read_snippet(response)
        if content_type.startswith("application/json"):
            answer = self._parse(body, method)
            if session is not None and _names_lost_session(status, answer):
                raise _SessionLost
            if isinstance(answer, dict) and "error" in answer and answer.get("id") is None:
                answer = {**answer, "id": request_id}  # refused before its id was read
            self._dispatch(answer)
            if self._answered(request_id):
                return None
        if status == 404:
            if session is not None:
                raise _SessionLost
            raise UpstreamError(
                METHOD_NOT_FOUND,
                f"HTTP 404 from {_public_url(self.url)}: is this the server's MCP endpoint URL?",
            )
        if status >= 400:
            raise UpstreamRefusal(
                INTERNAL_ERROR,
                f"MCP server '{self.config.name}' answered {method} with HTTP {status} "
                f"{response.reason_phrase}{self._body_hint(body, method)}".rstrip(),
            )
        raise UpstreamError(
            INTERNAL_ERROR,
            f"MCP server '{self.config.name}' answered {method} with "
            f"{content_type or 'no content type'} instead of JSON-RPC (HTTP {status}); is "
            f"{_public_url(self.url)} its MCP endpoint?",
        )

    async def _resume(self, request_id: int, method: str, decoder: _SseDecoder) -> None:
        """Resume the dropped answer stream of a request (SEP-1699, the 2025-11-25 spec): wait
        the server's `retry:` (else RESUME_DELAY_MS), GET the endpoint with `Last-Event-ID`,
        route what comes as on the POST's own stream; again when that drops too, failing the
        call after MAX_RESUMPTIONS attempts in a row that bring no new event. The request is
        never sent again: it may have run."""
        name, what = self.config.name, f"the answer to {method}"
        failures = 0
        while True:
            if failures >= MAX_RESUMPTIONS:
                raise UpstreamUnavailable(
                    f"MCP server '{name}' dropped the stream of {what} and resuming it failed "
                    f"{failures} times in a row (not retried: it may have run)"
                )
            delay = RESUME_DELAY_MS if decoder.retry_ms is None else decoder.retry_ms
            await asyncio.sleep(min(delay, MAX_RETRY_MS) / 1000)
            if self._answered(request_id):
                return  # answered meanwhile, on another stream
            if self._gone or self._stopping:
                raise UpstreamUnavailable(self._unavailable_reason())
            decoder = decoder.resumed()
            before = decoder.last_id
            try:
                async with self._client.stream(
                    "GET", self.url, headers=self._resume_headers(before)
                ) as response:
                    refusal = self._refusal(response, f"resuming {what}")
                    if refusal is not None:
                        raise refusal
                    content_type = response.headers.get("content-type", "").lower()
                    if response.status_code != 200 or "text/event-stream" not in content_type:
                        raise UpstreamUnavailable(
                            f"MCP server '{name}' dropped the stream of {what} and answered "
                            f"the GET resuming it with HTTP {response.status_code} "
                            f"({content_type or 'no content type'}) (not retried: it may "
                            "have run)"
                        )
                    async for event in self._events(response, what, decoder):
                        self._dispatch_event(event, request_id)
                        if self._answered(request_id):
                            return
            except httpx.HTTPError:
                logger.debug("%s: resuming %s failed", name, what, exc_info=True)
            failures = 0 if decoder.last_id != before else failures + 1

    def _resume_headers(self, last_id: str | None) -> dict[str, str]:
        """The headers of a GET resuming a stream (or reopening the notification stream)."""
        headers = {"accept": "text/event-stream"}
        if last_id:
            headers["last-event-id"] = last_id
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        if self.protocol_version:
            headers["mcp-protocol-version"] = self.protocol_version
        return headers

    def _answered(self, request_id: int) -> bool:
        call = self._calls.get(request_id)
        if call is None or call.future.done():
            # Answered: this POST is done, so the call's end must not cancel it mid-close.
            self._posts.pop(request_id, None)
            return True
        return False

    async def _renew_session(self, lost: str | None) -> None:
        """Open a new session once for every request that found the old one gone."""
        async with self._renewing:
            if self.session_id != lost:
                return  # another request renewed it meanwhile
            if self._gone or self._stopping:
                raise UpstreamUnavailable(self._unavailable_reason())
            logger.warning("%s lost its MCP session; opening a new one", self.config.name)
            self._stop_listening()
            try:
                await self._initialize()
            except (UpstreamError, UpstreamTimeout) as exc:
                reason = (
                    f"MCP server '{self.config.name}' lost its session and refused a new one: {exc}"
                )
                self._connection_lost(reason)
                raise UpstreamUnavailable(reason) from exc
            self._after_handshake()

    # -- server notifications (the optional GET stream) -------------------------------------

    def _after_handshake(self) -> None:
        if self.era is Era.HANDSHAKE and self.session_id:
            self._listener = self._spawn(self._listen(self.session_id))
        elif (message := self._listen_request()) is not None:
            self._listener = self._spawn(self._listen_modern(message))

    def _stop_listening(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None

    def _start_listen(self, message: dict[str, Any]) -> None:
        """A listen stream is the response stream of its own POST."""
        self._listen_streams[message["id"]] = self._spawn(self._listen_modern(message))

    def _stop_listen(self, listen_id: str) -> None:
        stream = self._listen_streams.pop(listen_id, None)
        if stream is not None:
            stream.cancel()
        elif listen_id == LISTEN_REQUEST_ID:
            self._stop_listening()

    async def _listen(self, session: str) -> None:
        """Read the session's GET stream; a server without one answers 405, which is fine.
        When it drops it is opened again with `Last-Event-ID`, so the server can send again
        what the dropped stream missed."""
        refused = await self._read_stream_while(
            lambda last_id: self._client.stream(
                "GET", self.url, headers=self._resume_headers(last_id)
            ),
            "the notification stream",
            lambda: self.session_id == session,
        )
        if refused is not None:
            logger.debug("%s offers no notification stream (HTTP %d)", self.config.name, refused)

    async def _listen_modern(self, message: dict[str, Any]) -> None:
        """2026-07-28: the server's list changes come on the response stream of a
        `subscriptions/listen` request, kept open (and opened again when it drops)."""
        refused = await self._read_stream_while(
            lambda _last_id: self._client.stream(
                "POST", self.url, content=_encode(message), headers=self._headers_for(message)
            ),
            "the listen stream",
            lambda: True,
        )
        if refused is not None:
            logger.warning(
                "%s did not open a subscriptions/listen stream (HTTP %d): its list changes "
                "will not reach clients",
                self.config.name,
                refused,
            )
            self._listen_refused(
                message["id"],
                f"MCP server '{self.config.name}' refused subscriptions/listen (HTTP {refused})",
            )

    async def _read_stream_while(
        self,
        open_stream: Callable[[str | None], AbstractAsyncContextManager[httpx.Response]],
        what: str,
        wanted: Callable[[], bool],
    ) -> int | None:
        """Dispatch what a long-lived SSE response carries, opening it again when it drops
        (``open_stream`` gets the last event id seen, after the server's `retry:` delay or
        LISTEN_RETRY_DELAY), while the connection lives and ``wanted()``. Returns the HTTP
        status when the server answers with something else than a stream (it has none to
        offer), else None."""
        decoder = _SseDecoder(self._message_limit())
        while not (self._gone or self._stopping) and wanted():
            decoder = decoder.resumed()
            try:
                async with open_stream(decoder.last_id) as response:
                    content_type = response.headers.get("content-type", "").lower()
                    if response.status_code != 200 or "text/event-stream" not in content_type:
                        return response.status_code
                    async for event in self._events(response, what, decoder):
                        self._dispatch_event(event)
            except MessageTooLarge as exc:
                logger.warning("%s; %s is opened again", exc, what)
            except httpx.ConnectError as exc:
                # Nothing listens any more: the server is gone even with no call in flight.
                self._connection_lost(self._transport_failure(exc, what))
                return None
            except httpx.HTTPError:
                logger.debug("%s: %s dropped", self.config.name, what, exc_info=True)
            delay = LISTEN_RETRY_DELAY
            if decoder.retry_ms is not None:
                delay = min(decoder.retry_ms, MAX_RETRY_MS) / 1000
            await asyncio.sleep(delay)
        return None

    async def _close_session(self) -> None:
        if not self.session_id or self._gone:
            return
        headers = {"mcp-session-id": self.session_id}
        if self.protocol_version:
            headers["mcp-protocol-version"] = self.protocol_version
        await self._client.delete(self.url, headers=headers, timeout=DELETE_TIMEOUT)


class SseUpstream(HttpUpstream):
    """A server on the SSE transport: one GET stream in, POSTs to its message endpoint out."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        on_exit: Callable[[str], None] | None = None,
        handshake_timeout: float | None = None,
        era: Era | None = None,
    ) -> None:
        super().__init__(config, on_exit=on_exit, handshake_timeout=handshake_timeout, era=era)
        self.endpoint: str | None = None
        self._endpoint_known: asyncio.Future[str] | None = None

    def _after_handshake(self) -> None:
        # The GET stream carries everything, the listen stream's notifications too (a
        # 2026-07-28 server sends its list changes and resource updates only there).
        self._open_listen_stream()

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        self._endpoint_known = loop.create_future()
        self._endpoint_known.add_done_callback(_retrieve)
        self._spawn(self._read_stream())
        try:
            self.endpoint = await asyncio.wait_for(
                asyncio.shield(self._endpoint_known), self._handshake_timeout
            )
        except TimeoutError:
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' did not announce its message endpoint on "
                f"{_public_url(self.url)} within {self._handshake_timeout:g}s: is this its SSE URL?"
            ) from None

    async def _read_stream(self) -> None:
        name = self.config.name
        try:
            async with self._client.stream(
                "GET", self.url, headers={"accept": "text/event-stream"}
            ) as response:
                refusal = self._refusal(response, "opening the SSE stream")
                if refusal is not None:
                    raise refusal
                content_type = response.headers.get("content-type", "").lower()
                if response.status_code != 200 or "text/event-stream" not in content_type:
                    body = await _read_snippet(response)
                    raise UpstreamUnavailable(
                        f"MCP server '{name}' answered GET {_public_url(self.url)} with HTTP "
                        f"{response.status_code} ({content_type or 'no content type'}) instead "
                        "of an SSE stream: is this its SSE URL?"
                        f"{self._body_hint(body, 'opening the SSE stream')}"
                    )
                async for event in self._events(response, "its SSE stream"):
                    if event.event == "endpoint":
                        self._take_endpoint(event.data)
                    else:
                        self._dispatch_event(event)
            reason = f"MCP server '{name}' closed its SSE stream"
        except UpstreamUnavailable as exc:
            reason = str(exc)
        except httpx.HTTPError as exc:
            reason = self._transport_failure(exc, "its SSE stream")
        if not self._endpoint_known.done():
            self._endpoint_known.set_exception(UpstreamUnavailable(reason))
        self._connection_lost(reason)

    def _take_endpoint(self, data: str) -> None:
        endpoint = urljoin(self.url, data.strip())
        ours, theirs = urlsplit(self.url), urlsplit(endpoint)
        if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
            # The configured headers must not go to an origin nobody configured.
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' announced a message endpoint on another "
                f"origin ({_public_url(endpoint)}); refused"
            )
        if not self._endpoint_known.done():
            self._endpoint_known.set_result(endpoint)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._gone or self._stopping or self.endpoint is None:
            raise UpstreamUnavailable(self._unavailable_reason())
        if "id" in message and "method" in message:
            # POSTed from a task: the answer arrives on the stream, and the caller's timer
            # must run even if the POST itself hangs.
            self._spawn(self._post_request(message["id"], message))
            return
        await self._post(message)

    async def _post_request(self, request_id: int, message: dict[str, Any]) -> None:
        try:
            await self._post(message)
        except UpstreamFailure as exc:
            self._fail_call(request_id, exc)

    async def _post(self, message: dict[str, Any]) -> None:
        what = str(message.get("method") or "a reply")
        try:
            async with self._client.stream(
                "POST",
                self.endpoint,
                content=_encode(message),
                headers={"content-type": "application/json"},
            ) as response:
                refusal = self._refusal(response, what)
                if refusal is not None:
                    raise refusal
                status = response.status_code
                if status == 404:
                    reason = f"MCP server '{self.config.name}' no longer knows this SSE session"
                    self._connection_lost(reason)
                    raise UpstreamUnavailable(reason)
                if status >= 400:
                    raise UpstreamRefusal(
                        INTERNAL_ERROR,
                        f"MCP server '{self.config.name}' refused {what} with HTTP "
                        f"{status}{self._body_hint(await _read_snippet(response), what)}",
                    )
        except httpx.HTTPError as exc:
            reason = self._transport_failure(exc, what)
            self._connection_lost(reason)
            raise UpstreamUnavailable(reason) from exc


def _encode(message: dict[str, Any]) -> bytes:
    return dumps_bytes(message)


def _names_lost_session(status: int, answer: Any) -> bool:
    """Whether an HTTP error answer means the server no longer knows our session id.

    The spec says 404 (a 404 carrying METHOD_NOT_FOUND is about the method, not the session);
    the TypeScript SDK's example servers, server-everything among them, answer 400 "No valid
    session ID provided" instead. Either way the request was refused before it ran.
    """
    error = answer.get("error") if isinstance(answer, dict) else None
    error = error if isinstance(error, dict) else {}
    if status == 404:
        return error.get("code") != METHOD_NOT_FOUND
    return status == 400 and "session" in str(error.get("message", "")).lower()


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a future's exception as seen (start() may have given up on it already)."""
    if not future.cancelled():
        future.exception()
