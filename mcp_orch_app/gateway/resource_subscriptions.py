"""Resource subscriptions: what the gateway's clients subscribed to, and the one upstream
subscription per server and URI that serves them all (PRODUCT.md, "MCP endpoints").

A client subscribes in its era's way: a handshake-era session with `resources/subscribe` /
`resources/unsubscribe`, a 2026-07-28 client with the `resourceSubscriptions` of a
`subscriptions/listen` stream (for as long as that stream is open). Either way its holder (the
session, or the listen stream) takes one reference on (server, the server's own URI); the first
reference subscribes upstream in the upstream's era's way (`resources/subscribe` to a
handshake-era server; a 2026-07-28 server gets a listen stream naming every watched URI,
`MultiplexedUpstream.watch_resources`), the last one released unsubscribes. A session that ends
releases all of its references, a listen stream that closes all of its own. When a server
restarts, its watched URIs are subscribed again on the new connection.

Every holder is bounded (`MAX_SUBSCRIPTIONS_PER_SESSION`), and holds only what it subscribed:
unsubscribing a URI it did not subscribe is refused, so no client releases another's.

The updates themselves reach the clients by the usual fan-out (runtime.py): a session passes
`notifications/resources/updated` on only for the URIs it holds, named as it named them (the
unified URI on the unified endpoint, gateway/namespace.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp_orch_app.gateway.upstream import Era, Upstream, UpstreamError, UpstreamFailure

if TYPE_CHECKING:
    from mcp_orch_app.gateway.runtime import Gateway, ServerAccess

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_PER_SESSION = 100
"""How many resource URIs one session (or one listen stream) may subscribe to at once."""
MAX_URI_CHARS = 2048
"""The longest resource URI a client may subscribe to."""
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

Key = tuple[str, str]
"""(server id, the server's own URI)."""


class ResourceSubscriptions:
    """The gateway's resource subscriptions, reference-counted per (server, URI)."""

    def __init__(self) -> None:
        self._holders: dict[Key, set[Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._on: dict[str, Upstream] = {}
        """server id -> the connection its subscriptions were made on."""

    def uris(self, server_id: str) -> frozenset[str]:
        """The server's URIs some client subscribed to."""
        return frozenset(uri for sid, uri in self._holders if sid == server_id)

    def holders(self, server_id: str, uri: str) -> int:
        return len(self._holders.get((server_id, uri), ()))

    def _lock(self, server_id: str) -> asyncio.Lock:
        return self._locks.setdefault(server_id, asyncio.Lock())

    async def acquire(self, gateway: Gateway, access: ServerAccess, uri: str, holder: Any) -> None:
        """Take ``holder``'s reference on the server's ``uri``; the first one subscribes
        upstream (UpstreamFailure when the server refuses: nothing is held then)."""
        server_id = access.server_id
        async with self._lock(server_id):
            holders = self._holders.get((server_id, uri))
            upstream = await gateway.upstream(access)
            if holders and self._on.get(server_id) is upstream:
                holders.add(holder)
                return
            wanted = self.uris(server_id) | {uri}
            await _subscribe(
                upstream, access.server_name, uri, wanted, access.config.timeout_seconds
            )
            self._on[server_id] = upstream
            self._holders.setdefault((server_id, uri), set()).add(holder)

    async def release(self, gateway: Gateway, server_id: str, uri: str, holder: Any) -> None:
        """Drop ``holder``'s reference; the last one unsubscribes upstream (a failure there is
        logged: the client's subscription is gone either way)."""
        async with self._lock(server_id):
            holders = self._holders.get((server_id, uri))
            if holders is None or holder not in holders:
                return
            holders.discard(holder)
            if holders:
                return
            del self._holders[(server_id, uri)]
            made_on = self._on.get(server_id)
            if not self.uris(server_id):
                self._on.pop(server_id, None)  # keeps no stopped connection alive
            upstream = gateway.pool.running(server_id)
            if upstream is None or made_on is not upstream:
                return  # the connection it was made on is gone, and the subscription with it
            config = gateway.pool.config_of(server_id)
            timeout = config.timeout_seconds if config is not None else 30.0
            try:
                await _unsubscribe(upstream, uri, self.uris(server_id), timeout)
            except UpstreamFailure as exc:
                logger.info("could not unsubscribe %s of %s: %s", uri, upstream.config.name, exc)

    async def release_all(self, gateway: Gateway, held: Iterable[Key], holder: Any) -> None:
        for server_id, uri in held:
            with contextlib.suppress(Exception):
                await self.release(gateway, server_id, uri, holder)

    async def server_restarted(self, gateway: Gateway, server_id: str) -> None:
        """A server (re)started: subscribe its watched URIs again on the new connection."""
        async with self._lock(server_id):
            upstream = gateway.pool.running(server_id)
            uris = self.uris(server_id)
            if upstream is None or not uris or self._on.get(server_id) is upstream:
                return
            config = upstream.config
            try:
                for uri in sorted(uris):
                    await _subscribe(upstream, config.name, uri, uris, config.timeout_seconds)
            except UpstreamFailure as exc:
                logger.warning("%s: resource subscriptions not renewed: %s", config.name, exc)
                return
            self._on[server_id] = upstream


def offers_subscriptions(upstream: Upstream) -> bool:
    """Whether the server takes resource subscriptions (in its own era's way)."""
    resources = upstream.capabilities.get("resources")
    return isinstance(resources, dict) and bool(resources.get("subscribe"))


async def _subscribe(
    upstream: Upstream, name: str, uri: str, wanted: frozenset[str], timeout: float
) -> None:
    if upstream.era is Era.MODERN:
        if not offers_subscriptions(upstream):
            raise UpstreamError(
                METHOD_NOT_FOUND, f"MCP server '{name}' does not offer resource subscriptions"
            )
        if uri not in await upstream.watch_resources(wanted, timeout):
            raise UpstreamError(
                INVALID_PARAMS, f"MCP server '{name}' did not accept a subscription to {uri!r}"
            )
        return
    # A handshake-era server says itself whether it serves resources/subscribe.
    await upstream.request("resources/subscribe", {"uri": uri}, timeout=timeout)


async def _unsubscribe(
    upstream: Upstream, uri: str, remaining: frozenset[str], timeout: float
) -> None:
    if upstream.era is Era.MODERN:
        await upstream.watch_resources(remaining, timeout)
    else:
        await upstream.request("resources/unsubscribe", {"uri": uri}, timeout=timeout)


def checked_uri(uri: Any, method: str) -> str:
    """The URI a client asks to (un)subscribe, or ValueError saying what is wrong with it."""
    if not isinstance(uri, str) or not uri:
        raise ValueError(f"{method} needs a uri (a non-empty string)")
    if len(uri) > MAX_URI_CHARS:
        raise ValueError(f"{method}: the uri is longer than {MAX_URI_CHARS} characters")
    return uri
