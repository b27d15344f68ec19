"""What the unified endpoint of a project does with each request: every enabled server of the
project behind one MCP endpoint (PRODUCT.md, "MCP endpoints"; names: gateway/namespace.py).

- `initialize` / `server/discover`: serverInfo "mcp-orch unified: <project>"; capabilities the
  union of what the servers offer (list_changed always: the set of servers changes too);
  instructions saying how names are made, followed by each server's own.
- `tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`: every server is
  asked at once, each within its own timeout, following its `nextCursor` pages (bounded); the
  answer is one page. A server that cannot start, fails or times out is left out of the answer
  and reported (server log, at most once a minute); it never breaks the other servers.
- `tools/call` of `{server}__{tool}` goes to that server through `forwarding.call_tool` with
  that server's access: a disabled tool is refused (TOOL_DISABLED), the ToolCallLog row names
  the real server and tool and the unified session. An unknown name is an invalid-params
  error, logged (INVALID_PARAMETERS).
- `resources/read`, `resources/subscribe` / `unsubscribe`, `prompts/get` and
  `completion/complete` go to the server their URI, name or ref names; resource URIs in the
  answers are made unified.
- `ping` and `logging/setLevel` are answered locally; progress and cancellation follow each
  call to its server (the session remembers which server runs which request).

The methods themselves are answered by the method table both endpoints share (methods.py);
`UnifiedRoute` is what it asks of this endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mcp_orch_app.gateway.client_sessions import LiveSession
from mcp_orch_app.gateway.forwarding import (
    METHOD_NOT_FOUND,
    discover_answer,
    error_response,
    handshake_answer,
    refuse_call,
    with_params,
)
from mcp_orch_app.gateway.log_writer import LogWriterClosed
from mcp_orch_app.gateway.namespace import (
    RESOURCE_SCHEME,
    SEPARATOR,
    may_name_tool_of,
    prefixed_name,
    split_prefixed_name,
    split_unified_uri,
    unified_content,
    unified_uri,
)
from mcp_orch_app.gateway.resource_subscriptions import offers_subscriptions
from mcp_orch_app.gateway.runtime import Gateway, ServerAccess, UnifiedAccess
from mcp_orch_app.gateway.upstream import (
    CLIENT_INFO,
    UnusableList,
    Upstream,
    UpstreamFailure,
    list_every_page,
)
from mcp_orch_app.models.enums import LogLevel, ServerLogCategory, ToolCallErrorCode

if TYPE_CHECKING:
    from mcp_orch_app.gateway.methods import Call

logger = logging.getLogger(__name__)

T = TypeVar("T")


_LISTS: dict[str, tuple[str, str, str]] = {
    # method: (the capability a server needs for it, the result's list, the member renamed)
    "tools/list": ("tools", "tools", "name"),
    "prompts/list": ("prompts", "prompts", "name"),
    "resources/list": ("resources", "resources", "uri"),
    "resources/templates/list": ("resources", "resourceTemplates", "uriTemplate"),
}


# -- identity ----------------------------------------------------------------------------------


IDENTITY_WAIT = 5.0
"""How long `initialize` / `server/discover` wait for a server to start before answering
without it. Its start goes on: when it is up, the project's unified sessions are told the tool
list changed (it counts as left out). A client connecting does not wait for the slowest server's
whole timeout (which may be a minute)."""


async def unified_initialize_result(
    gateway: Gateway, access: UnifiedAccess, params: dict[str, Any]
) -> dict[str, Any]:
    """The `initialize` answer of the unified endpoint (every server is started for it)."""
    return handshake_answer(params, *await _identity(gateway, access))


async def _identity(
    gateway: Gateway, access: UnifiedAccess
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Capabilities, serverInfo and instructions, from the servers that answer."""
    answered = await _on_servers(gateway, access.servers, deadline=IDENTITY_WAIT)
    reachable = [(server, upstream) for server, upstream, _ in answered]
    offered = [upstream.capabilities for _, upstream in reachable]
    capabilities: dict[str, Any] = {"tools": {"listChanged": True}}
    if any("resources" in offer for offer in offered):
        capabilities["resources"] = {"listChanged": True}
        if any(offers_subscriptions(upstream) for _, upstream in reachable):
            capabilities["resources"]["subscribe"] = True
    if any("prompts" in offer for offer in offered):
        capabilities["prompts"] = {"listChanged": True}
    for optional in ("completions", "logging"):
        if any(optional in offer for offer in offered):
            capabilities[optional] = {}
    server_info = {
        "name": f"mcp-orch unified: {access.project_name}",
        "version": CLIENT_INFO["version"],
    }
    return capabilities, server_info, _instructions(access, reachable)


def _instructions(access: UnifiedAccess, reachable: Iterable[tuple[ServerAccess, Upstream]]) -> str:
    names = ", ".join(server.server_name for server in access.servers) or "none yet"
    parts = [
        f"The MCP servers of the mcp-orch project {access.project_name!r} ({names}) behind one "
        f"endpoint. Tools and prompts are named <server>{SEPARATOR}<name>, resource URIs are "
        f"{RESOURCE_SCHEME}:<server>/<the server's URI>."
    ]
    parts.extend(
        f"[{server.server_name}] {upstream.instructions}"
        for server, upstream in reachable
        if upstream.instructions
    )
    return "\n\n".join(parts)


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnifiedRoute:
    """The unified endpoint's side of the method table (methods.py): merged identity and
    lists, each name or URI routed to the server that owns it, URIs in results made unified."""

    access: UnifiedAccess
    redactor: None = None

    async def initialize(self, gateway: Gateway, params: dict[str, Any]) -> dict[str, Any]:
        return await unified_initialize_result(gateway, self.access, params)

    async def discover(self, gateway: Gateway) -> dict[str, Any]:
        return discover_answer(*await _identity(gateway, self.access))

    async def list(self, call: Call) -> dict[str, Any]:
        return await _list(call)

    def resource(self, uri: Any) -> tuple[ServerAccess, dict[str, Any]]:
        server, own = _resource_of(self.access, uri)
        return server, {"uri": own}

    def prompt(self, name: Any) -> tuple[ServerAccess, dict[str, Any]]:
        server, own = _prompt_of(self.access, name)
        return server, {"name": own}

    def completion(self, ref: Any) -> tuple[ServerAccess, dict[str, Any]]:
        kind = ref.get("type") if isinstance(ref, dict) else None
        if kind == "ref/prompt":
            server, name = _prompt_of(self.access, ref.get("name"))
            return server, {"ref": {**ref, "name": name}}
        if kind == "ref/resource":
            server, uri = _resource_of(self.access, ref.get("uri"))
            return server, {"ref": {**ref, "uri": uri}}
        raise ValueError("completion/complete needs a ref of type ref/prompt or ref/resource")

    async def tool(self, gateway: Gateway, name: str) -> tuple[ServerAccess, str] | None:
        return await _route_tool(gateway, self.access, name)

    def refuse_unknown_tool(self, call: Call, name: str) -> dict[str, Any]:
        return _refuse_unknown_tool(call.gateway, self.access, call.session, call.message, name)

    def content(self, server: ServerAccess, item: Any) -> Any:
        return unified_content(item, server.server_name)

    async def unknown_method(self, call: Call) -> dict[str, Any]:
        return error_response(
            call.message.get("id"),
            METHOD_NOT_FOUND,
            f"Method not found: the unified endpoint does not serve {call.message.get('method')}",
        )


async def _list(request: Call) -> dict[str, Any]:
    """Every server's list in one page, each item renamed for the unified endpoint (a client
    cursor is ignored: there is never a next page)."""
    method = request.message["method"]
    capability, key, member = _LISTS[method]

    async def pages(server: ServerAccess, upstream: Upstream) -> list[dict[str, Any]]:
        if capability not in upstream.capabilities:
            return []
        return await list_every_page(upstream, method, key, server.config.timeout_seconds)

    items: list[dict[str, Any]] = []
    taken: set[str] = set()
    for server, _upstream, listed in await _on_servers(
        request.gateway, request.access.servers, pages
    ):
        rename = _renamer(request.gateway, method, server, listed)
        for item in listed:
            original = item.get(member)
            name = rename(original) if isinstance(original, str) else None
            if name is not None and name not in taken:
                taken.add(name)
                items.append({**item, member: name})
    return {key: items}


def _renamer(
    gateway: Gateway, method: str, server: ServerAccess, listed: list[dict[str, Any]]
) -> Callable[[str], str | None]:
    """How the items of one server's list are named here (None: left out)."""
    if method == "prompts/list":
        return lambda name: prefixed_name(server.server_name, name)
    if method != "tools/list":
        return lambda uri: unified_uri(server.server_name, uri)
    index = _remember_tools(gateway, server, listed)
    # A tool that lost its unified name to another (a hash collision) is not in `names`.
    names = {tool: name for name, tool in index.items()}
    return lambda tool: None if tool in server.disabled_tools else names.get(tool)


def _remember_tools(
    gateway: Gateway, server: ServerAccess, listed: list[dict[str, Any]]
) -> dict[str, str]:
    tools = (tool["name"] for tool in listed if isinstance(tool.get("name"), str))
    return gateway.tool_names.remember(server.server_id, server.server_name, tools)


def _resource_of(access: UnifiedAccess, uri: Any) -> tuple[ServerAccess, str]:
    """The server of a unified resource URI (or template) and the URI it knows."""
    return _owner(
        access,
        uri,
        split_unified_uri,
        f"Unknown resource {uri!r}: resource URIs here are "
        f"{RESOURCE_SCHEME}:<server>/<the server's URI>; resources/list shows them",
    )


def _prompt_of(access: UnifiedAccess, name: Any) -> tuple[ServerAccess, str]:
    """The server of a unified prompt name and the prompt's own name."""
    return _owner(
        access,
        name,
        split_prefixed_name,
        f"Unknown prompt {name!r}: prompts here are named <server>{SEPARATOR}<prompt>; "
        "prompts/list shows them",
    )


def _owner(
    access: UnifiedAccess,
    value: Any,
    split: Callable[[str], tuple[str, str] | None],
    unknown: str,
) -> tuple[ServerAccess, str]:
    """(server, its own name for it) of a unified name ``split`` reads; ValueError(unknown)
    when it is not one or names no server of the endpoint."""
    parts = split(value) if isinstance(value, str) else None
    server = access.server(parts[0]) if parts is not None else None
    if parts is None or server is None:
        raise ValueError(unknown)
    return server, parts[1]


# -- tools/call --------------------------------------------------------------------------------


async def _route_tool(
    gateway: Gateway, access: UnifiedAccess, name: str
) -> tuple[ServerAccess, str] | None:
    """The server and tool a unified tool name stands for, from the servers' tool lists (listed
    again when the name is not in the last listing: a new tool, another process's client).

    A server that cannot be listed now gets the call anyway when the name splits into its name
    and a tool: the call then fails and is logged as that server's (not as an unknown tool).
    """
    candidates = [server for server in access.servers if may_name_tool_of(server.server_name, name)]
    found = _known_tool(gateway, candidates, name)
    if found is not None or not candidates:
        return found

    async def relist(server: ServerAccess, upstream: Upstream) -> None:
        tools = await list_every_page(
            upstream, "tools/list", "tools", server.config.timeout_seconds
        )
        _remember_tools(gateway, server, tools)

    listed = {server.server_id for server, _, _ in await _on_servers(gateway, candidates, relist)}
    found = _known_tool(gateway, candidates, name)
    if found is not None:
        return found
    natural = split_prefixed_name(name)
    server = access.server(natural[0]) if natural is not None else None
    if server is not None and server.server_id not in listed:
        return server, natural[1]
    return None


def _known_tool(
    gateway: Gateway, servers: Iterable[ServerAccess], name: str
) -> tuple[ServerAccess, str] | None:
    for server in servers:
        tool = gateway.tool_names.tool(server.server_id, server.server_name, name)
        if tool is not None:
            return server, tool
    return None


def _refuse_unknown_tool(
    gateway: Gateway,
    access: UnifiedAccess,
    session: LiveSession,
    message: dict[str, Any],
    name: str,
) -> dict[str, Any]:
    """The invalid-params error for a name no server has; logged as the named server's call
    when the name starts with one, else as a call of no server."""
    reason = (
        f"Unknown tool {name!r}: the tools of this unified endpoint are named "
        f"<server>{SEPARATOR}<tool>; tools/list shows them"
    )
    natural = split_prefixed_name(name)
    server = access.server(natural[0]) if natural is not None else None
    not_found = ToolCallErrorCode.TOOL_NOT_FOUND
    if server is None:
        return refuse_call(gateway, access, session, message, reason, code=not_found)
    return refuse_call(
        gateway, server, session, with_params(message, name=natural[1]), reason, code=not_found
    )


# -- asking every server -----------------------------------------------------------------------


async def _nothing(_server: ServerAccess, _upstream: Upstream) -> None:
    return None


async def _on_servers(
    gateway: Gateway,
    servers: Sequence[ServerAccess],
    work: Callable[[ServerAccess, Upstream], Awaitable[T]] = _nothing,
    *,
    deadline: float | None = None,
) -> list[tuple[ServerAccess, Upstream, T]]:
    """Start (or reuse) every server's upstream and run ``work`` on it, all at once, each
    within the server's own timeout (or ``deadline`` when shorter; a start cut short by it goes
    on in the pool). The servers that fail are left out (and reported)."""

    async def one(server: ServerAccess) -> tuple[ServerAccess, Upstream, T] | None:
        timeout = min(server.config.timeout_seconds, deadline or server.config.timeout_seconds)
        upstream: Upstream | None = None
        try:
            async with asyncio.timeout(timeout):
                upstream = await gateway.upstream(server)
                return server, upstream, await work(server, upstream)
        except (UpstreamFailure, UnusableList) as exc:
            reason = str(exc)
        except TimeoutError:
            what = "answer" if upstream is not None else "start and answer the MCP handshake"
            reason = f"MCP server '{server.server_name}' did not {what} within {timeout:g}s"
        _report_left_out(gateway, server, reason)
        return None

    answers = await asyncio.gather(*(one(server) for server in servers))
    return [answer for answer in answers if answer is not None]


def _report_left_out(gateway: Gateway, server: ServerAccess, reason: str) -> None:
    if not gateway.unified.left_out(server.server_id):
        return
    # The reason may quote the server (an HTTP error body): never its secrets, in no log.
    message = f"left out of the unified endpoint: {server.config.redactor.redact(reason)}"
    logger.warning("%s (project %s): %s", server.server_name, server.project_id, message)
    with contextlib.suppress(LogWriterClosed):
        gateway.writer.submit_server_log(
            project_id=server.project_id,
            server_id=server.server_id,
            category=ServerLogCategory.CONNECT,
            level=LogLevel.WARNING,
            message=message,
        )
