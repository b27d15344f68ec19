"""SEP-2243 on the client side of the gateway: a 2026-07-28 tools/call whose `Mcp-Param-*`
headers disagree with its arguments (missing, different, a malformed `=?base64?...?=` value),
as the tool's inputSchema declares them with `x-mcp-header`, is refused with HTTP 400 and
-32020 (HEADER_MISMATCH) before it reaches the server, for every kind of upstream (a stdio
server never sees the headers, so the gateway is the one that can check them).

The schema is the server's own (the one the client listed, the unified endpoint renames only
the tool): learned from the upstream's tools/list, kept per connection, listed again when the
tool is not in the last listing or the headers disagree with it (the tool may have changed).
A server that cannot be listed is not checked (as the SDK's server: the check never breaks a
working call path)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from mcp.shared.inbound import validate_mcp_param_headers

from mcp_orch_app.gateway.runtime import Gateway, ServerAccess
from mcp_orch_app.gateway.upstream import (
    UnusableList,
    Upstream,
    UpstreamFailure,
    list_every_page,
)

_PARAM_PREFIX = "mcp-param-"

_schemas: WeakKeyDictionary[Upstream, dict[str, Any]] = WeakKeyDictionary()
"""Each live upstream's last tools/list: tool name -> inputSchema."""


def needs_check(arguments: Any, headers: Mapping[str, str]) -> bool:
    """Whether a call could break a declaration at all: it has arguments or `Mcp-Param-*`
    headers (no values on either side: nothing to disagree)."""
    return bool(arguments) or any(name.lower().startswith(_PARAM_PREFIX) for name in headers)


async def _listing(upstream: Upstream, server: ServerAccess) -> dict[str, Any] | None:
    try:
        async with asyncio.timeout(server.config.timeout_seconds):
            tools = await list_every_page(
                upstream, "tools/list", "tools", server.config.timeout_seconds
            )
    except (UpstreamFailure, UnusableList, TimeoutError):
        return None
    listing = {
        tool["name"]: tool.get("inputSchema") for tool in tools if isinstance(tool.get("name"), str)
    }
    _schemas[upstream] = listing
    return listing


async def header_mismatch(
    gateway: Gateway,
    server: ServerAccess,
    tool: str,
    arguments: Mapping[str, Any],
    headers: Mapping[str, str],
) -> str | None:
    """Why the call's `Mcp-Param-*` headers disagree with its arguments for ``server``'s
    ``tool``, or None when they agree (or the tool's schema cannot be learned)."""
    try:
        upstream = await gateway.upstream(server)
    except UpstreamFailure:
        return None  # the call itself will say the server is unavailable
    if "tools" not in upstream.capabilities:
        return None
    cached = _schemas.get(upstream)
    if cached is not None and tool in cached:
        reason = _disagreement(cached[tool], arguments, headers)
        if reason is None:
            return None
        # The tool may have changed since it was listed: its schema now decides.
    listing = await _listing(upstream, server)
    if listing is None or tool not in listing:
        return None
    return _disagreement(listing[tool], arguments, headers)


def _disagreement(
    schema: Any, arguments: Mapping[str, Any], headers: Mapping[str, str]
) -> str | None:
    rejection = validate_mcp_param_headers(schema, arguments, headers)
    return rejection.message if rejection is not None else None
