"""What the unified endpoint of a project does with each request: every enabled server of the
project behind one MCP endpoint (PRODUCT.md, "MCP endpoints"; names: gateway/namespace.py).

- `initialize` / `server/discover`: serverInfo "mcp-orch unified: <project>"; capabilities the
  union of what the servers offer (list_changed always: the set of servers changes too);
  instructions saying how names are made, followed by each server's own.
- `tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`: every server is
  asked at once, each within its own timeout, following its `nextCursor` pages (bounded); the
  answer is one page. A server that cannot start, fails or times out is left out of the answer
  and reported (server log, at most once a minute); it never breaks the other servers.
- names follow the project's naming setting (`UnifiedAccess.naming`): ``{server}__{name}``
  always, or bare names when one server offers them (gateway/namespace.py says how they stay
  stable; the session's `SessionNames` lives on its `LiveSession`). A call of
  ``{server}__{tool}`` resolves in both settings.
- `tools/call` of `{server}__{tool}` (or of its bare name) goes to that server through `forwarding.call_tool` with
  that server's access: a disabled tool is refused (TOOL_DISABLED), the ToolCallLog row names
  the real server and tool and the unified session. An unknown name is an invalid-params
  error, logged (INVALID_PARAMETERS).
- `resources/read`, `resources/subscribe` / `unsubscribe`, `prompts/get` and
  `completion/complete` go to the server their URI, name or ref names; resource URIs in the
  answers are made unified. Lists always show unified resource URIs; with bare names a server's
  own URI is accepted too when exactly one enabled server can own it (the project's only
  server, else the one whose resources/list has it or whose resource templates match it,
  asked at once; `_bare_resource_owner`), and a read's `contents[].uri` then stay the server's
  own, the URI the client asked for (a subscription is kept under the unified URI its updates
  carry). A URI more than one server can own is an invalid-params error naming the unified
  URIs to choose from.
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
    Offer,
    SessionNames,
    ToolNames,
    assign_names,
    bare_holders,
    matches_uri_template,
    may_be_bare,
    may_name_tool_of,
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
from mcp_orch_app.models.enums import LogLevel, ServerLogCategory, ToolCallErrorCode, UnifiedNaming

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
    if access.naming is UnifiedNaming.BARE:
        naming = (
            "Tools and prompts keep their own names when one server offers them and are named "
            f"<server>{SEPARATOR}<name> when more do (<server>{SEPARATOR}<name> always works)"
        )
    else:
        naming = f"Tools and prompts are named <server>{SEPARATOR}<name>"
    parts = [
        f"The MCP servers of the mcp-orch project {access.project_name!r} ({names}) behind one "
        f"endpoint. {naming}, resource URIs are {RESOURCE_SCHEME}:<server>/<the server's URI>."
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

    async def resource(self, call: Call, uri: Any) -> tuple[ServerAccess, dict[str, Any]]:
        server, own = await _resource_of(call, uri)
        return server, {"uri": own} if own != uri else {}

    async def prompt(self, call: Call, name: Any) -> tuple[ServerAccess, dict[str, Any]]:
        server, own = await _prompt_of(call, name)
        return server, {"name": own}

    async def completion(self, call: Call, ref: Any) -> tuple[ServerAccess, dict[str, Any]]:
        kind = ref.get("type") if isinstance(ref, dict) else None
        if kind == "ref/prompt":
            server, name = await _prompt_of(call, ref.get("name"))
            return server, {"ref": {**ref, "name": name}}
        if kind == "ref/resource":
            server, uri = await _resource_of(call, ref.get("uri"))
            return server, {"ref": {**ref, "uri": uri}}
        raise ValueError("completion/complete needs a ref of type ref/prompt or ref/resource")

    async def tool(self, call: Call, name: str) -> tuple[ServerAccess, str] | None:
        return await _route_tool(call, name)

    def refuse_unknown_tool(self, call: Call, name: str) -> dict[str, Any]:
        return _refuse_unknown_tool(call, name)

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

    answered = [
        (server, listed)
        for server, _upstream, listed in await _on_servers(
            request.gateway, request.access.servers, pages
        )
    ]
    names = _named(request, _NAMED[method], answered) if method in _NAMED else None

    def rename(server: ServerAccess, original: str) -> str | None:
        if names is None:
            return unified_uri(server.server_name, original)
        return names.get((server.server_id, original))

    items: list[dict[str, Any]] = []
    taken: set[str] = set()
    for server, listed in answered:
        for item in listed:
            original = item.get(member)
            name = rename(server, original) if isinstance(original, str) else None
            if name is not None and name not in taken:
                taken.add(name)
                items.append({**item, member: name})
    return {key: items}


_NAMED = {"tools/list": "tools", "prompts/list": "prompts"}


def _cache(gateway: Gateway, kind: str) -> ToolNames:
    return gateway.tool_names if kind == "tools" else gateway.prompt_names


def _own_names(listed: Iterable[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in listed if isinstance(item.get("name"), str)]


def _named(
    call: Call, kind: str, answered: Sequence[tuple[ServerAccess, list[dict[str, Any]]]]
) -> dict[tuple[str, str], str]:
    """(server id, own name) -> the name the client sees, for the servers that answered;
    servers left out count with their last list (gateway/namespace.py, "Bare names")."""
    access = _unified(call)
    cache = _cache(call.gateway, kind)
    offers: list[Offer] = []
    prefixed: dict[tuple[str, str], str] | None = {} if kind == "tools" else None
    for server, listed in answered:
        own = _own_names(listed)
        index = cache.remember(server.server_id, server.server_name, own)
        offered = own
        if prefixed is not None:
            # A tool that lost its unified name to another (a hash collision) has none here.
            prefixed.update({(server.server_id, tool): name for name, tool in index.items()})
            offered = [tool for tool in own if tool not in server.disabled_tools]
        offers.append(Offer(server.server_id, server.server_name, offered, own))
    answering = {server.server_id for server, _ in answered}
    offers.extend(_last_lists(call.gateway, kind, access, but=answering))
    servers = [server.server_name for server in access.servers]
    return assign_names(kind, access.naming, offers, servers, _seen(call), prefixed)


def _unified(call: Call) -> UnifiedAccess:
    access = call.access
    assert isinstance(access, UnifiedAccess)
    return access


def _last_lists(
    gateway: Gateway, kind: str, access: UnifiedAccess, *, but: set[str] | None = None
) -> list[Offer]:
    """The last lists of the endpoint's servers (but those in ``but``), as offers of nothing:
    they only decide which names collide."""
    cache = _cache(gateway, kind)
    offers = []
    for server in access.servers:
        names = cache.names(server.server_id, server.server_name)
        if names is not None and server.server_id not in (but or ()):
            offers.append(Offer(server.server_id, server.server_name, (), names))
    return offers


def _seen(call: Call) -> SessionNames | None:
    """What the client's session was shown (None: prefixed names, or a session-less
    2026-07-28 client, whose names are a function of the servers' lists alone)."""
    naming = _unified(call).naming
    if call.session.modern:
        return None
    if naming is not UnifiedNaming.BARE:
        call.session.unified_names = None  # forgotten: the names changed (and were announced)
        return None
    seen = call.session.unified_names
    if seen is None or seen.naming is not naming:
        seen = call.session.unified_names = SessionNames(naming)
    return seen


def _pinned(call: Call, kind: str, name: str) -> tuple[bool, ServerAccess | None]:
    """Whether the session knows ``name`` as a bare name, and the server it means (None:
    that server is no longer on the endpoint, and the name means nothing else)."""
    seen = _seen(call)
    key = seen.of(kind).bare.get(name) if seen is not None else None
    if key is None:
        return False, None
    return True, next((s for s in _unified(call).servers if s.server_id == key[0]), None)


async def _bare_owner(call: Call, kind: str, name: str) -> tuple[ServerAccess, str] | None:
    """The one server whose last list has ``name`` (listing the servers not listed yet, or
    all of them when none has it); None when none or more than one has it."""
    access = _unified(call)
    holders = await _holders(call.gateway, kind, access, name)
    if len(holders) != 1:
        return None
    server = next(s for s in access.servers if s.server_id == holders[0])
    seen = _seen(call)
    if seen is not None and not seen.full():
        seen.of(kind).bare.setdefault(name, (server.server_id, name))
    return server, name


def _remember_tools(
    gateway: Gateway, server: ServerAccess, listed: list[dict[str, Any]]
) -> dict[str, str]:
    return gateway.tool_names.remember(server.server_id, server.server_name, _own_names(listed))


async def _holders(gateway: Gateway, kind: str, access: UnifiedAccess, name: str) -> list[str]:
    """The servers whose last list has the bare ``name``; the servers never listed are listed
    first, and every server again when none has it (a name added since)."""
    cache = _cache(gateway, kind)
    servers = [server.server_name for server in access.servers]
    holders = bare_holders(kind, name, _last_lists(gateway, kind, access), servers)
    unlisted = [s for s in access.servers if cache.names(s.server_id, s.server_name) is None]
    if not holders and not unlisted and may_be_bare(kind, name, servers):
        unlisted = list(access.servers)
    if not unlisted or not may_be_bare(kind, name, servers):
        return holders
    method = f"{kind}/list"

    async def relist(server: ServerAccess, upstream: Upstream) -> None:
        listed: list[dict[str, Any]] = []
        if kind in upstream.capabilities:
            listed = await list_every_page(upstream, method, kind, server.config.timeout_seconds)
        cache.remember(server.server_id, server.server_name, _own_names(listed))

    await _on_servers(gateway, unlisted, relist)
    return bare_holders(kind, name, _last_lists(gateway, kind, access), servers)


async def _resource_of(call: Call, uri: Any) -> tuple[ServerAccess, str]:
    """The server of a unified resource URI (or template) and the URI it knows; with bare
    names, also of a server's own URI that exactly one server can own (`_bare_resource_owner`)."""
    access = _unified(call)
    unknown = (
        f"Unknown resource {uri!r}: resource URIs here are "
        f"{RESOURCE_SCHEME}:<server>/<the server's URI>; resources/list shows them"
    )
    parts = split_unified_uri(uri) if isinstance(uri, str) else None
    if parts is not None and access.server(parts[0]) is not None:
        return _owner(access, uri, split_unified_uri, unknown)
    if access.naming is not UnifiedNaming.BARE or not isinstance(uri, str) or not uri:
        raise ValueError(unknown)
    return await _bare_resource_owner(call, uri, unknown), uri


async def _bare_resource_owner(call: Call, uri: str, unknown: str) -> ServerAccess:
    """The one server that can own a URI named as the server names it: the project's only
    server, else the one whose resources/list has it or whose templates match it. None or more
    than one: ValueError naming the unified forms."""
    access = _unified(call)
    if len(access.servers) == 1:
        return access.servers[0]

    async def owns(server: ServerAccess, upstream: Upstream) -> bool:
        if "resources" not in upstream.capabilities:
            return False
        timeout = server.config.timeout_seconds
        listed = await list_every_page(upstream, "resources/list", "resources", timeout)
        if any(item.get("uri") == uri for item in listed):
            return True
        method = "resources/templates/list"
        templates = await list_every_page(upstream, method, "resourceTemplates", timeout)
        return any(matches_uri_template(item.get("uriTemplate"), uri) for item in templates)

    owners = [
        server
        for server, _up, owned in await _on_servers(call.gateway, access.servers, owns)
        if owned
    ]
    if len(owners) == 1:
        return owners[0]
    if not owners:
        raise ValueError(unknown)
    choices = " or ".join(unified_uri(server.server_name, uri) for server in owners)
    raise ValueError(
        f"The resource URI {uri!r} is offered by more than one server: name it {choices}"
    )


async def _prompt_of(call: Call, name: Any) -> tuple[ServerAccess, str]:
    """The server of a unified prompt name and the prompt's own name."""
    access = _unified(call)
    bare = access.naming is UnifiedNaming.BARE and isinstance(name, str)
    if bare:
        known, server = _pinned(call, "prompts", name)
        if known:
            if server is None:
                raise ValueError(f"Unknown prompt {name!r}: its server left this endpoint")
            return server, name
    parts = split_prefixed_name(name) if isinstance(name, str) else None
    server = access.server(parts[0]) if parts is not None else None
    if parts is not None and server is not None:
        return server, parts[1]
    if bare:
        owner = await _bare_owner(call, "prompts", name)
        if owner is not None:
            return owner
    raise ValueError(_unknown_text(call, "prompts", name))


def _unknown_text(call: Call, kind: str, name: Any) -> str:
    """Why a tool or prompt name names nothing here."""
    access = _unified(call)
    singular = kind[:-1]
    if access.naming is not UnifiedNaming.BARE:
        return (
            f"Unknown {singular} {name!r}: {kind} here are named "
            f"<server>{SEPARATOR}<{singular}>; {kind}/list shows them"
        )
    servers = [server.server_name for server in access.servers]
    offers = _last_lists(call.gateway, kind, access)
    holders = bare_holders(kind, name, offers, servers) if isinstance(name, str) else []
    if len(holders) > 1:
        choices = " or ".join(
            f"{server.server_name}{SEPARATOR}{name}"
            for server in access.servers
            if server.server_id in holders
        )
        return f"The {singular} name {name!r} is offered by more than one server: call {choices}"
    return (
        f"Unknown {singular} {name!r}: {kind} here have their own name when one server offers "
        f"them, else <server>{SEPARATOR}<{singular}>; {kind}/list shows them"
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


async def _route_tool(call: Call, name: str) -> tuple[ServerAccess, str] | None:
    """The server and tool a unified tool name stands for: in bare mode the bare name the
    session knows, then the prefixed name, then the one server that lists the bare name."""
    access = _unified(call)
    bare = access.naming is UnifiedNaming.BARE
    if bare:
        known, server = _pinned(call, "tools", name)
        if known:
            return (server, name) if server is not None else None
    found = await _route_prefixed_tool(call.gateway, access, name)
    if found is not None or not bare:
        return found
    return await _bare_owner(call, "tools", name)


async def _route_prefixed_tool(
    gateway: Gateway, access: UnifiedAccess, name: str
) -> tuple[ServerAccess, str] | None:
    """The server and tool a prefixed tool name stands for, from the servers' tool lists
    (listed again when the name is not in the last listing: a new tool, another process's
    client).

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


def _refuse_unknown_tool(call: Call, name: str) -> dict[str, Any]:
    """The invalid-params error for a name no server has (or, in bare mode, more than one
    has); logged as the named server's call when the name starts with one, else as a call of
    no server."""
    gateway, session, message = call.gateway, call.session, call.message
    access = _unified(call)
    if access.naming is UnifiedNaming.BARE:
        reason = _unknown_text(call, "tools", name)
    else:
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
