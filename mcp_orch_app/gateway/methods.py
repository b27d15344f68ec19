"""The MCP methods the client endpoints answer: one table for a server's endpoint and for a
project's unified endpoint (PRODUCT.md, "MCP endpoints").

`METHODS` maps each method to its one handler. A handler gets the request as a `Call` (the
gateway, the endpoint's access and route, the live session, the message, where progress goes)
and asks the call's route for whatever differs between the endpoints:

- `ServerRoute` (one server's endpoint): the identity is the upstream's own handshake, the
  lists are the server's (tools/list without the project's disabled tools), every name and URI
  is the server's own, results pass as they came, and a method the table does not know is
  forwarded as it came (the server decides whether it serves it).
- `UnifiedRoute` (gateway/unified.py): the identity and the lists are merged from every server
  of the project, tool/prompt names and resource URIs map to the server that owns them, the
  URIs in results are made unified, and a method the table does not know is method-not-found.

Every handler but `tools/call` answers through `forwarding.respond` (params check, upstream
failures as JSON-RPC errors, the result shaped for the client's era); `tools/call` answers and
logs itself (`forwarding.call_tool`). A new MCP method is one handler in `METHODS`; a new kind
of endpoint is one route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mcp_types import HEADER_MISMATCH

from mcp_orch_app.gateway.client_sessions import LOG_LEVELS, LiveSession
from mcp_orch_app.gateway.forwarding import (
    ProgressSink,
    call_tool,
    discover_result,
    error_response,
    forward_request,
    gateway_text,
    initialize_result,
    malformed_call,
    refuse_call,
    respond,
    subscribe_resource,
    unsubscribe_resource,
    with_params,
)
from mcp_orch_app.gateway.param_headers import header_mismatch, needs_check
from mcp_orch_app.gateway.runtime import EndpointAccess, Gateway, ServerAccess, UnifiedAccess
from mcp_orch_app.gateway.unified import UnifiedRoute
from mcp_orch_app.gateway.upstream import UpstreamError, UpstreamFailure
from mcp_orch_app.models.enums import ToolCallErrorCode
from mcp_orch_app.security.redaction import Redactor


@dataclass(frozen=True, slots=True)
class Call:
    """One client request, as its method's handler gets it."""

    gateway: Gateway
    access: EndpointAccess
    route: Route
    session: LiveSession
    message: dict[str, Any]
    progress: ProgressSink | None = None

    @property
    def method(self) -> str:
        return self.message["method"]

    @property
    def params(self) -> dict[str, Any]:
        """The request's params (`respond` has refused params that are not an object)."""
        params = self.message.get("params")
        return params if isinstance(params, dict) else {}

    @property
    def modern(self) -> bool:
        """Whether the client speaks the 2026-07-28 era."""
        return self.session.modern

    async def forward(self, server: ServerAccess, **params: Any) -> dict[str, Any]:
        """The request to ``server``, with the params it names its own way replaced.

        The gateway's own failure texts (which may quote the server) lose ``server``'s secrets
        here when the route has no redactor of its own (the unified endpoint: its failures
        come from whichever server a request went to); the server's JSON-RPC errors pass as
        they came, as on the server's endpoint."""
        message = with_params(self.message, **params) if params else self.message
        try:
            return await forward_request(self.gateway, server, self.session, message, self.progress)
        except UpstreamFailure as exc:
            redactor = server.config.redactor
            if self.route.redactor is not None or not redactor or not gateway_text(exc):
                raise
            if isinstance(exc, UpstreamError):
                raise type(exc)(
                    exc.code, redactor.redact(exc.message), redactor.redact_value(exc.data)
                ) from None
            raise type(exc)(redactor.redact(str(exc))) from None


Owner = tuple[ServerAccess, dict[str, Any]]
"""The server a name or URI belongs to, and the params to replace so that it knows them."""


class Route(Protocol):
    """What differs between the endpoints, for the method handlers."""

    redactor: Redactor | None
    """Clears the gateway's own failure texts (which may quote a server) of secrets."""

    async def initialize(self, gateway: Gateway, params: dict[str, Any]) -> dict[str, Any]:
        """The `initialize` result."""
        ...

    async def discover(self, gateway: Gateway) -> dict[str, Any]:
        """The `server/discover` result (2026-07-28)."""
        ...

    async def list(self, call: Call) -> dict[str, Any]:
        """The result of tools/list, prompts/list, resources/list or resources/templates/list."""
        ...

    async def resource(self, call: Call, uri: Any) -> Owner:
        """The server of a resource URI (ValueError: none). Empty params: the server knows
        the URI as the client named it, and the URIs of the answer stay the server's own."""
        ...

    async def prompt(self, call: Call, name: Any) -> Owner:
        """The server of a prompt name (ValueError: none)."""
        ...

    async def completion(self, call: Call, ref: Any) -> Owner:
        """The server of a completion/complete ref (ValueError: none)."""
        ...

    async def tool(self, call: Call, name: str) -> tuple[ServerAccess, str] | None:
        """The server of a tool name and the tool's own name there (None: no such tool)."""
        ...

    def refuse_unknown_tool(self, call: Call, name: str) -> dict[str, Any]:
        """The (logged) error answer to a call of a tool no server has."""
        ...

    def content(self, server: ServerAccess, item: Any) -> Any:
        """A content item of ``server``'s result as the client must see it."""
        ...

    async def unknown_method(self, call: Call) -> dict[str, Any]:
        """The answer to a method the table does not know."""
        ...


@dataclass(frozen=True, slots=True)
class ServerRoute:
    """One server's endpoint: everything is the server's own."""

    access: ServerAccess

    @property
    def redactor(self) -> Redactor:
        return self.access.config.redactor

    async def initialize(self, gateway: Gateway, params: dict[str, Any]) -> dict[str, Any]:
        return await initialize_result(gateway, self.access, params)

    async def discover(self, gateway: Gateway) -> dict[str, Any]:
        return await discover_result(gateway, self.access)

    async def list(self, call: Call) -> dict[str, Any]:
        answer = await call.forward(self.access)
        disabled = self.access.disabled_tools
        if call.method == "tools/list" and disabled and isinstance(answer.get("tools"), list):
            answer["tools"] = [
                tool
                for tool in answer["tools"]
                if not (isinstance(tool, dict) and tool.get("name") in disabled)
            ]
        return answer

    async def resource(self, call: Call, uri: Any) -> Owner:
        return self.access, {}

    async def prompt(self, call: Call, name: Any) -> Owner:
        return self.access, {}

    async def completion(self, call: Call, ref: Any) -> Owner:
        return self.access, {}

    async def tool(self, call: Call, name: str) -> tuple[ServerAccess, str] | None:
        return self.access, name  # the server says whether it has it

    def refuse_unknown_tool(self, call: Call, name: str) -> dict[str, Any]:
        reason = f"Unknown tool {name!r}"
        not_found = ToolCallErrorCode.TOOL_NOT_FOUND
        return refuse_call(
            call.gateway, self.access, call.session, call.message, reason, code=not_found
        )

    def content(self, server: ServerAccess, item: Any) -> Any:
        return item

    async def unknown_method(self, call: Call) -> dict[str, Any]:
        return await _answered(lambda: call.forward(self.access), call)


def route_for(access: EndpointAccess) -> Route:
    """The route of the endpoint ``access`` was granted for."""
    if isinstance(access, UnifiedAccess):
        return UnifiedRoute(access)
    return ServerRoute(access)


async def handle_request(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession,
    message: dict[str, Any],
    progress: ProgressSink | None = None,
) -> dict[str, Any]:
    """Answer one request of an initialized session (or a session-less modern client)."""
    route = route_for(access)
    call = Call(gateway, access, route, session, message, progress)
    handler = METHODS.get(message.get("method"))
    if handler is None:
        return await route.unknown_method(call)
    return await handler(call)


async def initialize_endpoint(
    gateway: Gateway, access: EndpointAccess, params: dict[str, Any]
) -> dict[str, Any]:
    """The `initialize` result of the endpoint ``access`` was granted for."""
    return await route_for(access).initialize(gateway, params)


# -- the handlers ------------------------------------------------------------------------------

Handler = Callable[[Call], Awaitable[dict[str, Any]]]
"""Answers one request with its JSON-RPC response."""


def _answered(result: Callable[[], Awaitable[dict[str, Any]]], call: Call) -> Awaitable[Any]:
    return respond(call.gateway, call.session, call.message, result, redactor=call.route.redactor)


def _result(handler: Callable[[Call], Awaitable[dict[str, Any]]]) -> Handler:
    """A handler of a method answered through `respond`, from what makes its result."""

    def answer(call: Call) -> Awaitable[dict[str, Any]]:
        return _answered(lambda: handler(call), call)

    return answer


async def _ping(call: Call) -> dict[str, Any]:
    return {}


async def _set_log_level(call: Call) -> dict[str, Any]:
    """The upstream is shared by every client of the server: the level is kept on the session
    and filters the log messages fanned out to it."""
    level = call.params.get("level")
    if level not in LOG_LEVELS:
        raise ValueError(f"logging/setLevel needs a level, one of {', '.join(LOG_LEVELS)}")
    call.session.log_level = level
    return {}


async def _discover(call: Call) -> dict[str, Any]:
    return await call.route.discover(call.gateway)


async def _list(call: Call) -> dict[str, Any]:
    return await call.route.list(call)


async def _read(call: Call) -> dict[str, Any]:
    server, params = await call.route.resource(call, call.params.get("uri"))
    answer = await call.forward(server, **params)
    # The contents name the URIs the client asked with: renamed only when its URI was.
    if params and isinstance(answer.get("contents"), list):
        answer["contents"] = [call.route.content(server, item) for item in answer["contents"]]
    return answer


async def _subscribe(call: Call) -> dict[str, Any]:
    named = call.params.get("uri")
    server, params = await call.route.resource(call, named)
    if not params and isinstance(named, str):
        # Kept under the URI the server's updates are shown to the session with.
        named = call.route.content(server, {"uri": named})["uri"]
    change = subscribe_resource if call.method == "resources/subscribe" else unsubscribe_resource
    message = with_params(call.message, **params) if params else call.message
    return await change(call.gateway, server, call.session, message, named)


async def _get_prompt(call: Call) -> dict[str, Any]:
    server, params = await call.route.prompt(call, call.params.get("name"))
    answer = await call.forward(server, **params)
    if isinstance(answer.get("messages"), list):
        answer["messages"] = [
            {**item, "content": call.route.content(server, item.get("content"))}
            if isinstance(item, dict) and "content" in item
            else item
            for item in answer["messages"]
        ]
    return answer


async def refuse_param_headers(
    gateway: Gateway,
    access: EndpointAccess,
    session: LiveSession,
    message: dict[str, Any],
    headers: Mapping[str, str],
) -> dict[str, Any] | None:
    """2026-07-28: the HEADER_MISMATCH answer to a tools/call whose `Mcp-Param-*` headers
    disagree with its arguments (gateway/param_headers.py), logged as a refused call; None
    when the call may go on (a malformed call or an unknown tool is refused by the call)."""
    if message.get("method") != "tools/call" or malformed_call(message) is not None:
        return None
    params = message["params"]
    arguments = params.get("arguments") or {}
    if not needs_check(arguments, headers):
        return None
    route = route_for(access)
    owner = await route.tool(Call(gateway, access, route, session, message), params["name"])
    if owner is None:
        return None
    server, tool = owner
    reason = await header_mismatch(gateway, server, tool, arguments, headers)
    if reason is None:
        return None
    # Logged as the server's call of its own tool, as a call that went through would be.
    logged = message if tool == params["name"] else with_params(message, name=tool)
    refuse_call(gateway, server, session, logged, reason, code=ToolCallErrorCode.PROTOCOL_ERROR)
    return error_response(message.get("id"), HEADER_MISMATCH, reason)


async def _complete(call: Call) -> dict[str, Any]:
    server, params = await call.route.completion(call, call.params.get("ref"))
    return await call.forward(server, **params)


async def _call_tool(call: Call) -> dict[str, Any]:
    """Route a tools/call to the server whose tool it names; the call itself is the server's
    (`forwarding.call_tool`: the rules every call follows and its ToolCallLog row)."""
    malformed = malformed_call(call.message)
    if malformed is not None:
        return refuse_call(call.gateway, call.access, call.session, call.message, malformed)
    name = call.message["params"]["name"]
    owner = await call.route.tool(call, name)
    if owner is None:
        return call.route.refuse_unknown_tool(call, name)
    server, tool = owner
    message = call.message if tool == name else with_params(call.message, name=tool)
    return await call_tool(
        call.gateway,
        server,
        call.session,
        message,
        call.progress,
        lambda item: call.route.content(server, item),
    )


_LIST_METHODS = ("tools/list", "prompts/list", "resources/list", "resources/templates/list")

METHODS: dict[Any, Handler] = {
    "ping": _result(_ping),
    "logging/setLevel": _result(_set_log_level),
    "server/discover": _result(_discover),
    **dict.fromkeys(_LIST_METHODS, _result(_list)),
    "resources/read": _result(_read),
    "resources/subscribe": _result(_subscribe),
    "resources/unsubscribe": _result(_subscribe),
    "prompts/get": _result(_get_prompt),
    "completion/complete": _result(_complete),
    "tools/call": _call_tool,
}
"""Every MCP method the endpoints answer, by name: its one handler."""
