"""`MultiplexedUpstream`: the JSON-RPC side every upstream transport shares.

One connection serves every client session of a server, so requests are multiplexed: each call
gets an id allocated here (client ids from different sessions would clash) and its answer is
routed back to the waiting caller by that id. Progress tokens are remapped the same way: the
upstream sees the request id as the token, and the caller's `on_notification` gets its own token
back. Everything stays a plain dict parsed by the stdlib json module; nothing is validated twice.

The handshake picks the newest era the server speaks, exactly as the SDK's `mode="auto"` client
does: `server/discover` first (2026-07-28, every later request carries the `_meta` envelope the
SDK client stamps), falling back to `initialize` at 2025-11-25 for servers that refuse it.

A 2026-07-28 server sends list-changed notifications only on a `subscriptions/listen` stream, so
every transport opens one after the handshake (`_listen_request`: every list change the server
advertises; stdio sends it on its one wire, streamable HTTP keeps its response stream open); what
arrives on it is published to the subscribers like a handshake-era server's unsolicited
notifications. The same stream carries the resource updates the gateway's clients subscribed
to (`watch_resources`: the stream is replaced by one naming the new set of URIs, the old one
closed once the new one is acknowledged, so no update falls between them).

A transport (stdio, SSE, streamable HTTP) supplies the wire: `_send` delivers one message,
`_send_soon` does so without waiting, and whatever arrives is handed to `_dispatch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from abc import abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    LOG_LEVEL_META_KEY,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
    UNSUPPORTED_PROTOCOL_VERSION,
)
from mcp_types.version import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    LATEST_MODERN_VERSION,
    MODERN_PROTOCOL_VERSIONS,
)

from mcp_orch_app.gateway.client_requests import announced_capabilities
from mcp_orch_app.gateway.upstream import (
    CLIENT_INFO,
    Era,
    InputHandler,
    NotificationCallback,
    Upstream,
    UpstreamCancelled,
    UpstreamConfig,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

logger = logging.getLogger(__name__)

DISCOVER_TIMEOUT = 10.0
"""How long the `server/discover` probe may take before the server is taken for handshake-era
(the SDK client waits as long)."""

METHOD_NOT_FOUND = -32601

LISTEN_REQUEST_ID = "mcp-orch/listen"
"""The id of the standing `subscriptions/listen` request (a string: call ids are ints); the
streams that replace it are `mcp-orch/listen/<n>`."""

_LISTEN_FLAGS = (
    ("tools", "toolsListChanged"),
    ("prompts", "promptsListChanged"),
    ("resources", "resourcesListChanged"),
)
"""Capability -> the `subscriptions/listen` filter flag of its list changes."""

_ENVELOPE_KEYS = (
    PROTOCOL_VERSION_META_KEY,
    CLIENT_INFO_META_KEY,
    CLIENT_CAPABILITIES_META_KEY,
    LOG_LEVEL_META_KEY,
)


def _envelope(version: str) -> dict[str, Any]:
    """The `_meta` keys the SDK client puts on every modern-era request (and on discover)."""
    return {
        PROTOCOL_VERSION_META_KEY: version,
        CLIENT_INFO_META_KEY: dict(CLIENT_INFO),
        CLIENT_CAPABILITIES_META_KEY: {},
    }


ROUTABLE_CLIENT_CAPABILITIES = ("sampling", "elicitation", "roots")
"""The client capabilities a 2026-07-28 upstream may be told of: what it asks for with them
comes back in an input-required result of the client's own request, which the gateway passes
to a 2026-07-28 client as it came (and the client's retry, with its inputResponses, back) and
turns into real requests to a handshake-era client (gateway/input_rounds.py)."""


def stamped_envelope(version: str, client_meta: Any) -> dict[str, Any]:
    """The `_meta` envelope of one request to a 2026-07-28 upstream speaking ``version``: the
    calling client's clientInfo and its capabilities as far as the gateway routes them back
    (ROUTABLE_CLIENT_CAPABILITIES), and its logLevel; mcp-orch's own clientInfo for what has
    none (a handshake-era client, whose capabilities forwarding puts in ``client_meta``;
    mcp-orch itself, with no capabilities), so a server never asks for input no one could
    give."""
    envelope = _envelope(version)
    if not isinstance(client_meta, dict):
        return envelope
    info = client_meta.get(CLIENT_INFO_META_KEY)
    if isinstance(info, dict):
        envelope[CLIENT_INFO_META_KEY] = info
    capabilities = client_meta.get(CLIENT_CAPABILITIES_META_KEY)
    if isinstance(capabilities, dict):
        envelope[CLIENT_CAPABILITIES_META_KEY] = {
            name: value
            for name in ROUTABLE_CLIENT_CAPABILITIES
            if isinstance(value := capabilities.get(name), dict)
        }
    if isinstance(level := client_meta.get(LOG_LEVEL_META_KEY), str):
        envelope[LOG_LEVEL_META_KEY] = level
    return envelope


def _supported_versions(exc: UpstreamError) -> list[str] | None:
    """The versions a -32022 (unsupported protocol version) error names, if it names any."""
    if exc.code != UNSUPPORTED_PROTOCOL_VERSION or not isinstance(exc.data, dict):
        return None
    supported = exc.data.get("supported")
    if not isinstance(supported, list):
        return None
    return [v for v in supported if isinstance(v, str)]


def _newest_mutual_modern(exc: UpstreamError) -> str | None:
    mutual = [v for v in MODERN_PROTOCOL_VERSIONS if v in (_supported_versions(exc) or ())]
    return mutual[-1] if mutual else None


@dataclass(slots=True)
class _Call:
    """A request waiting for its answer."""

    method: str
    timeout: float
    future: asyncio.Future[dict[str, Any]]
    on_notification: NotificationCallback | None = None
    progress_token: Any = None
    call_key: Hashable | None = None
    on_input: InputHandler | None = None


class MultiplexedUpstream(Upstream):
    """Calls, their ids and progress tokens, and the era handshake, over any message wire."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        handshake_timeout: float | None = None,
        era: Era | None = None,
    ) -> None:
        """`era` forces one era instead of negotiating (HANDSHAKE skips the discover probe, for
        a server that mishandles it); None picks the newest the server supports."""
        super().__init__(config)
        self._forced_era = era
        self._handshake_timeout = handshake_timeout or config.timeout_seconds
        self._ids = itertools.count(1)
        self._calls: dict[int, _Call] = {}
        self._keys: dict[Hashable, int] = {}
        self._relays: dict[Hashable, tuple[int | None, asyncio.Task[None]]] = {}
        """The server's request id -> (the call it belongs to, the task asking the client)."""
        self._attention: InputHandler | None = None
        """Who gets the server's requests outside any call: the last caller that could answer."""
        self._envelope: dict[str, Any] | None = None
        self._resource_uris: frozenset[str] = frozenset()
        """The resource URIs the listen stream asks updates of (2026-07-28)."""
        self._listen_id = LISTEN_REQUEST_ID
        """The id of the listen stream whose notifications are published (others are dropped)."""
        self._listen_ids = itertools.count(2)
        self._listen_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._listen_lock = asyncio.Lock()
        self._honoured_uris: frozenset[str] = frozenset()
        self._ready = False
        self._gone = False
        self._stopping = False

    # -- the wire a transport supplies -----------------------------------------------------

    @abstractmethod
    async def _send(self, message: dict[str, Any]) -> None:
        """Deliver one message (request, notification or reply); UpstreamUnavailable if it
        cannot be."""

    @abstractmethod
    def _send_soon(self, message: dict[str, Any]) -> None:
        """Deliver one message without waiting (best effort: cancels, replies)."""

    @abstractmethod
    def _unavailable_reason(self) -> str:
        """Why calls are refused now, in words the user can act on."""

    def _abandon(self, request_id: int, reason: str) -> None:
        """Tell the server to stop working on a call we no longer wait for."""
        self._send_cancelled(request_id, reason)

    def _call_finished(self, request_id: int) -> None:
        """A call is over (answered, failed, timed out or cancelled); the wire may clean up."""

    # -- state -----------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self._ready and not self._gone and not self._stopping

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    # -- handshake -------------------------------------------------------------------------

    async def _handshake(self) -> None:
        """Open the connection in the newest era the server supports (the SDK's auto mode)."""
        if self._forced_era is Era.HANDSHAKE:
            await self._initialize()
            return
        discovered = await self._probe_discover()
        if discovered is not None:
            self._adopt_modern(*discovered)
            return
        if self._forced_era is Era.MODERN:
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' does not speak the {LATEST_MODERN_VERSION} era"
            )
        try:
            await self._initialize()
        except UpstreamError as exc:
            # A probe that timed out here but reached a slow-starting modern server has locked
            # the connection to the modern era; the server says so with -32022. Re-probe once.
            version = _newest_mutual_modern(exc)
            if version is None:
                raise
            self._adopt_modern(await self._discover(version, self._handshake_timeout), version)

    async def _probe_discover(self) -> tuple[dict[str, Any], str] | None:
        """Ask for the modern era; None when the server is handshake-era (or will not say)."""
        version = LATEST_MODERN_VERSION
        timeout = min(DISCOVER_TIMEOUT, self._handshake_timeout)
        try:
            result = await self._discover(version, timeout)
        except UpstreamTimeout:
            return None
        except UpstreamError as exc:
            retry = _newest_mutual_modern(exc)
            if retry is None:
                self._refuse_modern_only(exc)
                return None
            # One retry with the newest version both speak, even the one just refused: a
            # server may refuse a first request (SEP-2575 negotiation; the suite's
            # request-metadata mock does), and the SDK client retries once too.
            version = retry
            try:
                result = await self._discover(version, timeout)
            except (UpstreamError, UpstreamTimeout):
                return None
        supported = result.get("supportedVersions") or ()
        mutual = [v for v in MODERN_PROTOCOL_VERSIONS if v in supported]
        if not mutual:
            return None  # answers discover but advertises only handshake versions
        return result, mutual[-1]

    def _refuse_modern_only(self, exc: UpstreamError) -> None:
        """A -32022 naming only modern versions we do not speak is a real incompatibility."""
        supported = _supported_versions(exc)
        if supported and not any(v in HANDSHAKE_PROTOCOL_VERSIONS for v in supported):
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' only speaks protocol versions {supported}, "
                f"mcp-orch speaks {[*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS]}"
            )

    async def _discover(self, version: str, timeout: float) -> dict[str, Any]:
        """One `server/discover`, with the `_meta` envelope the SDK client sends with it."""
        params = {"_meta": _envelope(version)}
        # The spec forbids cancelling discover and initialize, hence cancellable=False.
        return await self._call(
            next(self._ids), "server/discover", params, timeout=timeout, cancellable=False
        )

    async def _initialize(self) -> None:
        params = {
            "protocolVersion": LATEST_HANDSHAKE_VERSION,
            "capabilities": announced_capabilities(),
            "clientInfo": dict(CLIENT_INFO),
        }
        result = await self._call(
            next(self._ids),
            "initialize",
            params,
            timeout=self._handshake_timeout,
            cancellable=False,
        )
        version = result.get("protocolVersion")
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' answered the handshake with protocol version "
                f"{version!r}, which mcp-orch does not speak"
            )
        self.era = Era.HANDSHAKE
        self.protocol_version = version
        self.server_info = result.get("serverInfo")
        self.capabilities = result.get("capabilities") or {}
        self.instructions = result.get("instructions")
        await self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _adopt_modern(self, result: dict[str, Any], version: str) -> None:
        self.era = Era.MODERN
        self.protocol_version = version
        self.server_info = (result.get("_meta") or {}).get(SERVER_INFO_META_KEY)
        self.capabilities = result.get("capabilities") or {}
        self.instructions = result.get("instructions")
        self._envelope = _envelope(version)

    def _listen_request(self, request_id: str | None = None) -> dict[str, Any] | None:
        """The standing `subscriptions/listen` request for a modern server's list changes (see
        the module docstring) and the resource URIs watched; None for a handshake-era server,
        which sends them unasked, or when there is nothing to listen for."""
        if self._envelope is None:
            return None
        wanted: dict[str, Any] = {
            flag: True
            for capability, flag in _LISTEN_FLAGS
            if isinstance(options := self.capabilities.get(capability), dict)
            and options.get("listChanged")
        }
        if self._resource_uris:
            wanted["resourceSubscriptions"] = sorted(self._resource_uris)
        if not wanted:
            return None
        return {
            "jsonrpc": "2.0",
            "id": request_id or self._listen_id,
            "method": "subscriptions/listen",
            "params": {"notifications": wanted, "_meta": dict(self._envelope)},
        }

    async def watch_resources(self, uris: frozenset[str], timeout: float) -> frozenset[str]:
        """2026-07-28: have the listen stream carry the updates of exactly ``uris``; returns
        those the server's acknowledgement says it will send. A new stream naming them is
        opened and, once the server acknowledges it, becomes the one whose notifications are
        published; the old one is closed. UpstreamTimeout / UpstreamError /
        UpstreamUnavailable when the server does not acknowledge it (the old set stays)."""
        async with self._listen_lock:
            if uris == self._resource_uris:
                return self._honoured_uris
            if not self.healthy:
                raise UpstreamUnavailable(self._unavailable_reason())
            previous, old_id = self._resource_uris, self._listen_id
            self._resource_uris = frozenset(uris)
            new_id = f"{LISTEN_REQUEST_ID}/{next(self._listen_ids)}"
            message = self._listen_request(new_id)
            honoured: dict[str, Any] = {}
            if message is not None:
                acknowledged = asyncio.get_running_loop().create_future()
                self._listen_acks[new_id] = acknowledged
                try:
                    self._start_listen(message)
                    async with asyncio.timeout(timeout):
                        honoured = await acknowledged
                except TimeoutError:
                    self._resource_uris = previous
                    self._stop_listen(new_id)
                    raise UpstreamTimeout(
                        f"MCP server '{self.config.name}' did not acknowledge "
                        f"subscriptions/listen within {timeout:g}s"
                    ) from None
                except BaseException:
                    self._resource_uris = previous
                    self._stop_listen(new_id)
                    raise
                finally:
                    self._listen_acks.pop(new_id, None)
            self._listen_id = new_id
            self._stop_listen(old_id)
            listed = honoured.get("resourceSubscriptions")
            self._honoured_uris = frozenset(
                uri for uri in (listed if isinstance(listed, list) else ()) if uri in uris
            )
            return self._honoured_uris

    def _listen_refused(self, listen_id: str, reason: str) -> None:
        """A listen stream could not be opened: a `watch_resources` waiting for it fails."""
        acknowledged = self._listen_acks.get(listen_id)
        if acknowledged is not None and not acknowledged.done():
            acknowledged.set_exception(UpstreamUnavailable(reason))

    def _start_listen(self, message: dict[str, Any]) -> None:
        """Open a listen stream (on a duplex wire: send the request)."""
        self._send_soon(message)

    def _stop_listen(self, listen_id: str) -> None:
        """Close a listen stream (on a duplex wire: cancel its request)."""
        self._send_cancelled(listen_id, "replaced by another subscriptions/listen")

    def _open_listen_stream(self) -> None:
        """Send the listen request on a wire that carries its notifications with everything
        else (stdio); HTTP reads it as a stream of its own (http_upstream.py)."""
        message = self._listen_request()
        if message is not None:
            with contextlib.suppress(UpstreamUnavailable):
                self._send_soon(message)

    def _handshake_failure(self, exc: Exception) -> str:
        name = self.config.name
        if isinstance(exc, UpstreamTimeout):
            return f"MCP server '{name}' did not answer the MCP handshake within {self._handshake_timeout:g}s"
        return f"MCP server '{name}' refused the MCP handshake: {exc}"

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
        if not self.healthy:
            raise UpstreamUnavailable(self._unavailable_reason())
        request_id = next(self._ids)
        params, caller_token = self._outgoing_params(params, request_id, on_notification)
        if on_input is not None:
            self._attention = on_input
        return await self._call(
            request_id,
            method,
            params,
            timeout=timeout,
            on_notification=on_notification if caller_token is not None else None,
            progress_token=caller_token,
            call_key=call_key,
            on_input=on_input,
        )

    def _outgoing_params(
        self,
        params: dict[str, Any] | None,
        request_id: int,
        on_notification: NotificationCallback | None,
    ) -> tuple[dict[str, Any] | None, Any]:
        """The params as this upstream must see them, and the caller's progress token.

        Copies only what it changes: the era's `_meta` envelope (for modern upstreams the
        calling client's, `stamped_envelope`; removed for handshake-era ones, which refuse it), and the progress token (replaced by
        the request id, unique on this connection; dropped when no one listens for progress).
        """
        meta = params.get("_meta") if params else None
        if meta is None and self._envelope is None:
            return params, None
        meta = dict(meta or {})
        caller_token = meta.pop("progressToken", None)
        if caller_token is not None and on_notification is not None:
            meta["progressToken"] = request_id
        else:
            caller_token = None
        if self._envelope is not None:
            meta.update(stamped_envelope(self.protocol_version or LATEST_MODERN_VERSION, meta))
        else:
            for key in _ENVELOPE_KEYS:
                meta.pop(key, None)
        params = dict(params or {})
        if meta:
            params["_meta"] = meta
        else:
            params.pop("_meta", None)
        return params, caller_token

    async def _call(
        self,
        request_id: int,
        method: str,
        params: dict[str, Any] | None,
        *,
        timeout: float,
        on_notification: NotificationCallback | None = None,
        progress_token: Any = None,
        call_key: Hashable | None = None,
        cancellable: bool = True,
        on_input: InputHandler | None = None,
    ) -> dict[str, Any]:
        """Send a request under `request_id` and wait for the answer routed back to it."""
        loop = asyncio.get_running_loop()
        call = _Call(
            method,
            timeout,
            loop.create_future(),
            on_notification,
            progress_token,
            call_key,
            on_input,
        )
        self._calls[request_id] = call
        if call_key is not None:
            self._keys[call_key] = request_id
        timer = loop.call_later(timeout, self._expire, request_id)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self._send(message)
            return await call.future
        except UpstreamTimeout:
            if cancellable:
                self._abandon(request_id, "timed out")
            raise
        except asyncio.CancelledError:
            if cancellable:
                self._abandon(request_id, "cancelled by the client")
            raise
        finally:
            timer.cancel()
            self._calls.pop(request_id, None)
            if call_key is not None and self._keys.get(call_key) == request_id:
                del self._keys[call_key]
            self._end_relays(request_id)
            self._call_finished(request_id)
            self.last_used = time.monotonic()

    def _expire(self, request_id: int) -> None:
        call = self._calls.get(request_id)
        if call is not None and not call.future.done():
            call.future.set_exception(
                UpstreamTimeout(
                    f"MCP server '{self.config.name}' did not answer {call.method} "
                    f"within {call.timeout:g}s"
                )
            )

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        if not self.healthy:
            raise UpstreamUnavailable(self._unavailable_reason())
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._send(message)

    async def cancel(self, call_key: Hashable, reason: str | None = None) -> bool:
        request_id = self._keys.get(call_key)
        call = self._calls.get(request_id) if request_id is not None else None
        if call is None or call.future.done():
            return False
        self._abandon(request_id, reason or "cancelled by the client")
        call.future.set_exception(UpstreamCancelled(f"{call.method} was cancelled"))
        return True

    def _send_cancelled(self, request_id: int | str, reason: str) -> None:
        """Tell the server to stop working on a call we no longer wait for (best effort)."""
        params = {"requestId": request_id, "reason": reason}
        with contextlib.suppress(UpstreamUnavailable):
            self._send_soon(
                {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}
            )

    def _fail_call(self, request_id: int, exc: Exception) -> None:
        call = self._calls.get(request_id)
        if call is not None and not call.future.done():
            call.future.set_exception(exc)

    def _fail_calls(self, reason: str) -> None:
        for call in self._calls.values():
            if not call.future.done():
                call.future.set_exception(UpstreamUnavailable(reason))

    # -- what arrives ----------------------------------------------------------------------

    def _dispatch(self, message: Any, related: int | None = None) -> None:
        """Route one parsed JSON-RPC message or batch (``related``: the call whose response
        stream carried it, when the transport says)."""
        for item in message if isinstance(message, list) else (message,):
            if not isinstance(item, dict):
                continue
            try:
                self._route(item, related)
            except Exception:
                # One malformed message must not take the connection down with it.
                logger.exception("%s: could not route %.200r", self.config.name, item)

    def _route(self, message: dict[str, Any], related: int | None = None) -> None:
        if "method" not in message:
            self._resolve(message)
        elif "id" in message:
            self._answer_server_request(message, related)
        elif message["method"] == "notifications/progress":
            self._route_progress(message)
        elif message["method"] == "notifications/cancelled":
            self._cancel_relay(message.get("params"))
        elif self._from_other_listen_stream(message):
            return
        elif message["method"] not in _NOT_PUBLISHED:
            self._publish(_untagged(message))

    def _from_other_listen_stream(self, message: dict[str, Any]) -> bool:
        """Whether the notification came on a listen stream other than the current one (being
        replaced, or replacing it: its acknowledgement is awaited by `watch_resources`)."""
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        tag = meta.get(SUBSCRIPTION_ID_META_KEY) if isinstance(meta, dict) else None
        if (
            not isinstance(tag, str)
            or not tag.startswith(LISTEN_REQUEST_ID)
            or tag == self._listen_id
        ):
            return False
        acknowledged = self._listen_acks.get(tag)
        if (
            message["method"] == "notifications/subscriptions/acknowledged"
            and acknowledged is not None
            and not acknowledged.done()
        ):
            honoured = params.get("notifications")
            acknowledged.set_result(honoured if isinstance(honoured, dict) else {})
        return True

    def _resolve(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        if isinstance(request_id, str) and request_id.startswith(LISTEN_REQUEST_ID):
            # A listen stream ended (the server shuts down, or we closed it) or was refused.
            acknowledged = self._listen_acks.get(request_id)
            if acknowledged is not None and not acknowledged.done():
                refused = UpstreamError.from_wire(message.get("error") or {"message": "ended"})
                acknowledged.set_exception(refused)
                return
            if request_id != self._listen_id:
                return
            if "error" in message and not self._stopping:
                logger.warning(
                    "%s refused subscriptions/listen (%s): its list changes will not reach clients",
                    self.config.name,
                    (message.get("error") or {}).get("message"),
                )
            return
        call = self._calls.get(request_id) if isinstance(request_id, int) else None
        if call is None or call.future.done():
            logger.debug("%s: dropped a late or unknown response %r", self.config.name, request_id)
            return
        if "error" in message:
            call.future.set_exception(UpstreamError.from_wire(message["error"]))
        else:
            result = message.get("result")
            call.future.set_result(result if isinstance(result, dict) else {})

    def _route_progress(self, message: dict[str, Any]) -> None:
        params = message.get("params") or {}
        token = params.get("progressToken")
        call = self._calls.get(token) if isinstance(token, int) else None
        if call is None or call.on_notification is None:
            return
        restored = {**message, "params": {**params, "progressToken": call.progress_token}}
        try:
            call.on_notification(restored)
        except Exception:
            logger.exception("progress callback of %s failed", self.config.name)

    def _answer_server_request(self, message: dict[str, Any], related: int | None) -> None:
        """What the server asks of its client goes to the gateway client it belongs to
        (gateway/client_requests.py states the rule); with no one to ask, mcp-orch answers as
        a client with no human or model behind it."""
        found = self._asker(related)
        if found is _AMBIGUOUS:
            self._reply_error(
                message,
                INVALID_REQUEST,
                f"mcp-orch cannot tell which of its clients {message['method']} is for: calls "
                "of several clients are in flight on this shared connection, so it asks none",
            )
            return
        call_id, handler = found
        if handler is not None:
            relay = asyncio.create_task(self._relay(handler, message))
            key = _hashable_id(message["id"])
            self._relays[key] = (call_id, relay)
            relay.add_done_callback(lambda _task: self._relays.pop(key, None))
            return
        method = message["method"]
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        if method == "ping":
            reply["result"] = {}
        elif method == "roots/list":
            reply["result"] = {"roots": []}
        else:
            logger.warning("%s asked its client for %s; refused", self.config.name, method)
            reply["error"] = {
                "code": METHOD_NOT_FOUND,
                "message": f"mcp-orch does not pass {method} requests on to clients",
            }
        with contextlib.suppress(UpstreamUnavailable):
            self._send_soon(reply)

    def _asker(self, related: int | None) -> Any:
        """(the call, the handler) a server request goes to; (None, None): no one to ask;
        _AMBIGUOUS: calls of several clients could have caused it."""
        if related is not None and related in self._calls:
            return related, self._calls[related].on_input
        askers = [(rid, call) for rid, call in self._calls.items() if call.on_input is not None]
        owners = {call.on_input.owner for _, call in askers if call.on_input is not None}
        if len(owners) > 1:
            return _AMBIGUOUS
        if askers:
            request_id, call = askers[-1]  # the newest call of the one client
            return request_id, call.on_input
        return None, self._attention

    async def _relay(self, handler: InputHandler, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        try:
            reply["result"] = await handler(message["method"], message.get("params"))
        except UpstreamError as exc:
            reply["error"] = exc.to_wire()
        except asyncio.CancelledError:
            reply["error"] = {
                "code": REQUEST_CANCELLED,
                "message": f"the call that caused {message['method']} ended",
            }
            with contextlib.suppress(UpstreamUnavailable):
                self._send_soon(reply)
            raise
        except Exception:
            logger.exception("%s: passing %s to the client failed", self.config.name, message)
            reply["error"] = {"code": INTERNAL_ERROR, "message": "Internal error in mcp-orch"}
        with contextlib.suppress(UpstreamUnavailable):
            self._send_soon(reply)

    def _end_relays(self, call_id: int) -> None:
        """A call ended: its clients' pending answers are no longer awaited."""
        for owner, relay in list(self._relays.values()):
            if owner == call_id:
                relay.cancel()

    def _cancel_relay(self, params: Any) -> None:
        """The server cancelled one of its own requests: stop asking the client."""
        if isinstance(params, dict):
            relay = self._relays.get(_hashable_id(params.get("requestId")))
            if relay is not None:
                relay[1].cancel()

    def _reply_error(self, message: dict[str, Any], code: int, text: str) -> None:
        reply = {"jsonrpc": "2.0", "id": message["id"], "error": {"code": code, "message": text}}
        with contextlib.suppress(UpstreamUnavailable):
            self._send_soon(reply)


_AMBIGUOUS = object()

INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603
REQUEST_CANCELLED = -32800


def _hashable_id(value: Any) -> Hashable:
    return value if isinstance(value, str | int) else repr(value)


_NOT_PUBLISHED = frozenset(
    {
        # About one of the server's own requests: they are answered at once, nothing to stop.
        "notifications/cancelled",
        # The first frame of our listen stream: says what the server will send, nothing more.
        "notifications/subscriptions/acknowledged",
    }
)


def _untagged(message: dict[str, Any]) -> dict[str, Any]:
    """The notification without our listen stream's subscription id (it means nothing to the
    gateway's clients, who get it on their own streams)."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict) or SUBSCRIPTION_ID_META_KEY not in meta:
        return message
    meta = {key: value for key, value in meta.items() if key != SUBSCRIPTION_ID_META_KEY}
    params = {key: value for key, value in params.items() if key != "_meta"}
    if meta:
        params["_meta"] = meta
    return {**message, "params": params}
