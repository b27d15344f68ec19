"""The contract every upstream connection keeps, whatever its transport.

An upstream is mcp-orch's own MCP client connection to one registered server. The gateway talks
to it in raw JSON-RPC dicts: `request()` returns the upstream's `result` object as parsed by the
stdlib json module, and notifications are handed on as the dicts they arrived as. Nothing here
re-validates messages; the MCP client on the other side of the gateway does that once.

This module also holds `UpstreamConfig` (what is needed to reach one server, detached from the
database row) and the errors the gateway turns into JSON-RPC errors and call-log codes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from mcp_orch_app.models.enums import Transport
from mcp_orch_app.security.redaction import Redactor, redactor_for

if TYPE_CHECKING:
    from mcp_orch_app.models.servers import McpServer

logger = logging.getLogger(__name__)

CLIENT_INFO: Mapping[str, str] = MappingProxyType({"name": "mcp-orch", "version": "0.1.0"})
"""How mcp-orch introduces itself to upstream servers (clientInfo)."""

NotificationCallback = Callable[[dict[str, Any]], None]
"""Receives one JSON-RPC notification dict. Called on the connection's reader, in arrival order:
it must not block (to do I/O, put the message on a queue)."""


class InputHandler(Protocol):
    """Answers the requests a server sends its client during one call (sampling, elicitation,
    roots, ping), for the client session that made the call (gateway/client_requests.py)."""

    @property
    def owner(self) -> Hashable:
        """The client session the handler asks (calls of one owner never need telling apart)."""
        ...

    async def __call__(self, method: str, params: Any) -> dict[str, Any]:
        """The client's result; raises UpstreamError for the error the server must get."""
        ...


class Era(StrEnum):
    """How a connection was opened, which decides what every later request must carry."""

    HANDSHAKE = "handshake"
    """`initialize` + `notifications/initialized`; a session (2024-11-05 .. 2025-11-25)."""
    MODERN = "modern"
    """`server/discover`; no session, every request carries its own `_meta` envelope."""


class UpstreamFailure(Exception):
    """Base of the errors a call to an upstream can end with.

    `error_code` is the code the call log records (see ToolCallLog.error_code).
    """

    error_code = "UPSTREAM_ERROR"


class UpstreamUnavailable(UpstreamFailure):
    """The server is not running: it could not start, it exited, or it is backing off."""

    error_code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(UpstreamFailure):
    """The server did not answer in time. The call may have run: it is never retried."""

    error_code = "TIMEOUT"


class UpstreamCancelled(UpstreamFailure):
    """The caller cancelled the call; the server was told to stop working on it."""

    error_code = "CANCELLED"


class UpstreamError(UpstreamFailure):
    """The server answered with a JSON-RPC error; passed on to the client as it came."""

    error_code = "UPSTREAM_ERROR"

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"upstream error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data

    @classmethod
    def from_wire(cls, error: Any) -> UpstreamError:
        """Build from a JSON-RPC `error` member, tolerating servers that send a malformed one."""
        if not isinstance(error, dict):
            return cls(-32603, f"malformed error from upstream: {error!r}")
        code = error.get("code")
        return cls(
            code if isinstance(code, int) else -32603,
            str(error.get("message", "")),
            error.get("data"),
        )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-RPC `error` member to send to the client."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class UpstreamRefusal(UpstreamError):
    """The gateway's own JSON-RPC error for a server that did not answer in JSON-RPC (an HTTP
    error status, a body that is not JSON). Its text is mcp-orch's and may quote the server's
    body, so it loses the server's secrets like the gateway's other failure texts, where a
    server's own JSON-RPC error passes as it came."""


def _frozen_mapping(values: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class UpstreamConfig:
    """Everything needed to reach one server, copied out of its database row.

    Frozen so a running connection can never see half of an edit; an edited server produces a
    new config with a new `fingerprint`, and the pool replaces the connection. Secrets (env,
    headers) are decrypted values: they are kept out of `repr` so they never reach a log line.
    """

    server_id: str
    name: str
    project_id: str | None = None
    transport: Transport = Transport.STDIO
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_seconds: float = 60.0
    auto_restart: bool = True

    def __post_init__(self) -> None:
        # Normalise what callers hand in (lists, plain dicts, enum or str) so equal configs
        # compare and fingerprint equal.
        object.__setattr__(self, "server_id", str(self.server_id))
        object.__setattr__(self, "transport", Transport(self.transport))
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env", _frozen_mapping(self.env))
        object.__setattr__(self, "headers", _frozen_mapping(self.headers))

    @classmethod
    def from_model(cls, server: McpServer) -> UpstreamConfig:
        """Copy a server row (its env and headers are already decrypted by the column type)."""
        return cls(
            server_id=str(server.id),
            name=server.name,
            project_id=str(server.project_id),
            transport=Transport(server.transport),
            command=server.command,
            args=tuple(server.args or ()),
            env=server.env or {},
            cwd=server.cwd or None,
            url=server.url,
            headers=server.headers or {},
            timeout_seconds=float(server.timeout_seconds),
            auto_restart=bool(server.auto_restart),
        )

    @cached_property
    def redactor(self) -> Redactor:
        """Replaces this server's own secrets (env values, headers) in text it sends back."""
        return redactor_for(self.env, self.headers)

    @cached_property
    def fingerprint(self) -> str:
        """A digest of what the connection is made of; a change means a fresh process.

        Timeout and auto-restart are left out: they apply per call and per crash, so editing
        them must not kill a healthy process.
        """
        identity = {
            "transport": str(self.transport),
            "command": self.command,
            "args": list(self.args),
            "env": dict(sorted(self.env.items())),
            "cwd": self.cwd,
            "url": self.url,
            "headers": dict(sorted(self.headers.items())),
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class Upstream(ABC):
    """One live connection to one MCP server, shared by every client session that uses it.

    Concrete transports implement the wire; this base holds what every transport shares: the
    outcome of the handshake, the subscribers to unsolicited notifications, and the activity
    clock the pool's idle reaper reads.
    """

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.era: Era | None = None
        self.protocol_version: str | None = None
        self.server_info: dict[str, Any] | None = None
        self.capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self.last_used = time.monotonic()
        self._subscribers: list[NotificationCallback] = []

    @property
    @abstractmethod
    def healthy(self) -> bool:
        """True while the connection is up and accepts requests."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """How many requests are waiting for an answer (the pool never idles out a busy one)."""

    @abstractmethod
    async def start(self) -> None:
        """Connect and handshake in the newest era the server supports.

        Raises UpstreamUnavailable with a message that says why it could not start.
        """

    @abstractmethod
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
        """Send one request and return the raw `result` dict.

        `params` are plain MCP params: era-specific `_meta` is added here. A `progressToken`
        in `params._meta` routes the server's progress notifications for this call to
        `on_notification` (with the caller's own token). `call_key`, if given, names the call
        for `cancel()`. Cancelling the awaiting task also cancels the call upstream. The
        server's own requests during the call go to `on_input` (None: mcp-orch answers them
        itself, as a client with nothing to ask).

        Raises UpstreamUnavailable, UpstreamTimeout (the call is not retried), UpstreamError
        (the server's JSON-RPC error) or UpstreamCancelled.
        """

    @abstractmethod
    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification to the server."""

    @abstractmethod
    async def cancel(self, call_key: Hashable, reason: str | None = None) -> bool:
        """Cancel the call started with `call_key`; False if no such call is in flight."""

    @abstractmethod
    async def stop(self) -> None:
        """Close the connection and release everything it holds. Safe to call twice."""

    async def watch_resources(self, uris: frozenset[str], timeout: float) -> frozenset[str]:
        """2026-07-28: receive `notifications/resources/updated` for exactly ``uris`` (on the
        server's listen stream, see multiplexed_upstream.py); returns those the server will
        send."""
        raise UpstreamUnavailable(f"MCP server '{self.config.name}' cannot watch resources")

    def subscribe(self, callback: NotificationCallback) -> Callable[[], None]:
        """Receive notifications not tied to a call (list_changed, resources/updated, logging).

        Returns a function that unsubscribes.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _publish(self, message: dict[str, Any]) -> None:
        """Hand a notification to every subscriber; one failing subscriber never stops the rest."""
        for callback in tuple(self._subscribers):
            try:
                callback(message)
            except Exception:
                logger.exception(
                    "subscriber of %s failed on %s", self.config.name, message.get("method")
                )


MAX_LIST_PAGES = 100
"""A server that keeps answering a list with a next cursor is cut off here (and reported)."""


class UnusableList(Exception):
    """A server's answer to a list request cannot be used (no list, endless pages)."""


async def list_every_page(
    upstream: Upstream, method: str, key: str, timeout: float
) -> list[dict[str, Any]]:
    """Every item of a list request (``key`` names the list in each page), following
    ``nextCursor``; UnusableList when the answer has no list or the pages never end."""
    items: list[dict[str, Any]] = []
    cursor: Any = None
    seen: set[str] = set()
    for _ in range(MAX_LIST_PAGES):
        page = await upstream.request(
            method, {"cursor": cursor} if cursor else None, timeout=timeout
        )
        listed = page.get(key)
        if not isinstance(listed, list):
            raise UnusableList(f"the server answered {method} without a list of {key}")
        items.extend(item for item in listed if isinstance(item, dict))
        cursor = page.get("nextCursor")
        if not cursor:
            return items
        if not isinstance(cursor, str) or cursor in seen:
            raise UnusableList(f"the server's {method} pages never end (repeated cursor)")
        seen.add(cursor)
    raise UnusableList(f"the server's {method} has more than {MAX_LIST_PAGES} pages")
