"""Requests an upstream server sends its client — `sampling/createMessage`,
`elicitation/create` (form and URL modes), `roots/list`, `ping` — passed on to the gateway
client whose request caused them, and the client's answer back to the server.

An upstream connection is shared by every client session of its server, so mcp-orch is the
server's one client. Its `initialize` announces the capabilities of the client whose request
started the upstream (as far as they can be routed: sampling, elicitation form/url, roots), so
a server offers what that client could use directly (server-everything, for one, lists its
sampling and elicitation tools only to clients that have them); a server started with none
announced never asks. Each request is then answered for the client it belongs to, as that
client would answer it directly:

- Which client (multiplexed_upstream.py decides, `InputHandler.owner` names the session):
  a streamable-HTTP upstream sends the request on the response stream of the POST that caused
  it, which names the call exactly. Over stdio, SSE and a streamable-HTTP GET stream nothing in
  the transport or in the message (the spec and the SDK put no related request id on the
  wire) ties a request to a call: it goes to the caller when every call in flight on the
  connection that can take one belongs to the same client session (the newest of them is the
  one recorded); when calls of two or more sessions are in flight it is ambiguous and refused
  with an error to the server — never delivered to a possibly wrong client. A request outside
  any call goes to the session whose call the upstream served last (the one that holds its
  attention), if that session still has a way to receive it; else mcp-orch answers it as it
  did before it routed any (ping: `{}`, roots/list: no roots, anything else refused).
- A client that lacks the capability gets nothing; the server gets the error the SDK client
  gives in that case (-32600 "Sampling not supported", ...). A 2026-07-28 client has no
  server-to-client requests: it is asked with input-required results instead
  (gateway/input_rounds.py), and so is a handshake-era client of a 2026-07-28 server asked
  with these requests.
- Where it goes: the client request's own stream (the SSE response of the streamable-HTTP POST,
  opened when the first such request comes; the SSE transport's stream), under an id of the
  gateway's own (`mcp-orch-ask-<n>`); the answer the client POSTs back (`deliver_answer`) goes
  to the server under the server's id.
- On the unified endpoint the client sees which server asks: `_meta` carries
  `SERVER_META_KEY: <server name>` and an elicitation's message starts with `[<server>] `.
- Timeouts and cancellation as for calls: a client that does not answer within the server's
  timeout makes the server get an error (-32001); when the call that caused the request ends
  first (cancelled, timed out, the client went away), the client is told with
  `notifications/cancelled` and the server gets an error answer.
- The call's ToolCallLog row lists each request and its outcome under
  `result._meta[INPUT_LOG_KEY]`: the method, an elicitation's mode and action, a sampling
  answer's model and stop reason, how many roots — never the content (a form's values, the
  messages, a URL may carry secrets).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from mcp_orch_app.gateway.client_sessions import LiveSession
from mcp_orch_app.gateway.upstream import UpstreamError

INVALID_REQUEST = -32600
CLIENT_TIMEOUT_ERROR = -32001

SERVER_META_KEY = "io.github.mcp-orch/server"
"""Names the asking server in a request relayed to a unified endpoint's client."""

INPUT_LOG_KEY = "io.github.mcp-orch/inputRequests"
"""Where a ToolCallLog row's result lists the server-to-client requests of the call."""

STARTING_CLIENT: ContextVar[dict[str, Any] | None] = ContextVar("starting_client", default=None)
"""The capabilities of the client whose request is being served: an upstream started for it
announces them (`announced_capabilities`). A context variable, so the pool's start task,
created inside the request, sees them."""


def announced_capabilities() -> dict[str, Any]:
    """The client capabilities a handshake-era upstream starting now is told: those of the
    client whose request starts it, as far as mcp-orch routes them (sampling, elicitation,
    roots); none when mcp-orch starts it on its own."""
    return routable_capabilities(STARTING_CLIENT.get())


def routable_capabilities(client: Any) -> dict[str, Any]:
    """A client's capabilities as far as mcp-orch routes them (sampling, elicitation form/url,
    roots), whichever era declared them."""
    client = client if isinstance(client, dict) else {}
    announced: dict[str, Any] = {}
    sampling, elicitation = client.get("sampling"), client.get("elicitation")
    if isinstance(sampling, dict):
        announced["sampling"] = {key: {} for key in ("context", "tools") if key in sampling}
    if isinstance(elicitation, dict):  # {} means form mode, for us as for the server
        announced["elicitation"] = {key: {} for key in ("form", "url") if key in elicitation}
    if isinstance(client.get("roots"), dict):
        announced["roots"] = {}  # roots/list_changed is not passed on
    return announced


_NEEDS = {
    "sampling/createMessage": ("sampling", "Sampling not supported"),
    "elicitation/create": ("elicitation", "Elicitation not supported"),
    "roots/list": ("roots", "List roots not supported"),
}
"""Method -> the client capability it needs, and the SDK client's error text without it."""

_ids = itertools.count(1)


def client_can_answer(session: LiveSession) -> bool:
    """Whether the session's client may be asked anything but ping."""
    if session.modern:
        return False
    return any(name in session.client_capabilities for name, _ in _NEEDS.values())


@dataclass(eq=False)
class InputRelay:
    """Passes the server-to-client requests of one client request to that client."""

    session: LiveSession
    sink: Callable[[dict[str, Any]], Any] | None
    """The client request's own stream; None: the session's stream (GET / SSE)."""
    server_name: str | None
    """The asking server, named to the client (the unified endpoint); None: not named."""
    timeout: float
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def owner(self) -> Hashable:
        return self.session.id

    async def __call__(self, method: str, params: Any) -> dict[str, Any]:
        """The client's result; UpstreamError is the error answer the server gets."""
        record: dict[str, Any] = {"method": method}
        self.records.append(record)
        params = params if isinstance(params, dict) else {}
        if method == "elicitation/create":
            record["mode"] = params.get("mode") if params.get("mode") == "url" else "form"
        refusal = self._refusal(method, record.get("mode"))
        if refusal is not None:
            record["outcome"] = "not supported by the client"
            raise UpstreamError(INVALID_REQUEST, refusal)
        request_id = f"mcp-orch-ask-{next(_ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.session.asks[request_id] = future
        message = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": method,
            "params": self._labelled(method, params),
        }
        try:
            if not self._send(message):
                if method == "ping":  # mcp-orch is there; the client cannot be reached now
                    record["outcome"] = "answered by mcp-orch"
                    return {}
                record["outcome"] = "no stream to the client"
                raise UpstreamError(INVALID_REQUEST, f"the client cannot receive {method} now")
            async with asyncio.timeout(self.timeout):
                answer = await future
        except TimeoutError:
            record["outcome"] = "timeout"
            self._send_cancelled(request_id, "timed out")
            raise UpstreamError(
                CLIENT_TIMEOUT_ERROR, f"the client did not answer {method} within {self.timeout:g}s"
            ) from None
        except asyncio.CancelledError:
            record["outcome"] = "cancelled"
            self._send_cancelled(request_id, "the request that caused it ended")
            raise
        finally:
            self.session.asks.pop(request_id, None)
        if "error" in answer:
            error = UpstreamError.from_wire(answer["error"])
            record["outcome"] = f"error {error.code}"
            raise error
        result = answer.get("result")
        result = result if isinstance(result, dict) else {}
        record.update(_outcome(method, result))
        return result

    def _refusal(self, method: str, mode: str | None) -> str | None:
        if self.session.modern:
            need = _NEEDS.get(method)
            return need[1] if need is not None else None
        missing = missing_capability(self.session.client_capabilities, method, mode)
        return missing[1] if missing is not None else None

    def _labelled(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return labelled(method, params, self.server_name)

    def _send(self, message: dict[str, Any]) -> bool:
        if self.session.ended:
            return False
        if self.sink is not None:
            self.sink(message)
            return True
        return self.session.send(message)

    def _send_cancelled(self, request_id: str, reason: str) -> None:
        params = {"requestId": request_id, "reason": reason}
        self._send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})


def missing_capability(
    capabilities: dict[str, Any], method: str, mode: str | None
) -> tuple[dict[str, Any], str] | None:
    """What a request of ``method`` (an elicitation's ``mode``) needs that the client did not
    declare in ``capabilities`` (as the spec's requiredCapabilities), and the SDK client's
    error text for it; None when the client may be asked (ping, or a method newer than
    mcp-orch: the client decides)."""
    need = _NEEDS.get(method)
    if need is None:
        return None
    capability, refusal = need
    offered = capabilities.get(capability)
    if not isinstance(offered, dict):
        return {capability: {}}, refusal
    # An empty elicitation capability means form mode (the spec's backward compatibility).
    if mode == "url" and "url" not in offered:
        return {capability: {"url": {}}}, "URL mode elicitation not supported"
    if mode == "form" and offered and "form" not in offered:
        return {capability: {"form": {}}}, "Form mode elicitation not supported"
    return None


def elicitation_mode(method: str, params: Any) -> str | None:
    """An elicitation's mode ("form" unless it says "url"); None for other methods."""
    if method != "elicitation/create":
        return None
    return "url" if isinstance(params, dict) and params.get("mode") == "url" else "form"


def labelled(method: str, params: dict[str, Any], server_name: str | None) -> dict[str, Any]:
    """A server's request to its client as a unified endpoint's client sees it: naming the
    asking server in `_meta` and, for an elicitation, at the start of its message."""
    if server_name is None:
        return params
    meta = params.get("_meta")
    named = {**params, "_meta": {**(meta if isinstance(meta, dict) else {})}}
    named["_meta"][SERVER_META_KEY] = server_name
    if method == "elicitation/create" and isinstance(params.get("message"), str):
        named["message"] = f"[{server_name}] {params['message']}"
    return named


def outcome_of(method: str, result: dict[str, Any]) -> dict[str, Any]:
    """What the log keeps of a client's answer: never its content."""
    return _outcome(method, result)


def _outcome(method: str, result: dict[str, Any]) -> dict[str, Any]:
    """What the log keeps of a client's answer: never its content."""
    if method == "elicitation/create":
        return {"outcome": str(result.get("action", "?"))}
    if method == "sampling/createMessage":
        outcome: dict[str, Any] = {"outcome": "answered"}
        for key in ("model", "stopReason"):
            if isinstance(result.get(key), str):
                outcome[key] = result[key][:200]
        return outcome
    if method == "roots/list":
        roots = result.get("roots")
        return {"outcome": "answered", "roots": len(roots) if isinstance(roots, list) else 0}
    return {"outcome": "answered"}


def deliver_answer(session: LiveSession, message: dict[str, Any]) -> bool:
    """A client's answer (a JSON-RPC response) to one of the requests relayed to it; False
    when it answers nothing the gateway asked (late, or not ours)."""
    request_id = message.get("id")
    future = session.asks.get(request_id) if isinstance(request_id, str) else None
    if future is None or future.done():
        return False
    future.set_result(message)
    return True


def with_input_log(result: Any, records: list[dict[str, Any]], status: str) -> Any:
    """The result as its ToolCallLog row keeps it: with the call's input requests listed (one
    still waiting for the client ended with the call, whose ``status`` it takes)."""
    if not records:
        return result
    for record in records:
        record.setdefault(
            "outcome", "unanswered" if status in ("success", "error") else str(status)
        )
    result = dict(result) if isinstance(result, dict) else {}
    meta = result.get("_meta")
    result["_meta"] = {**(meta if isinstance(meta, dict) else {}), INPUT_LOG_KEY: records}
    return result
