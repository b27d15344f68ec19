"""Input-required results (2026-07-28 multi round-trip requests) across the two eras.

In the 2026-07-28 era a server asks its client for input (sampling, elicitation, roots) by
answering `tools/call`, `prompts/get` or `resources/read` with an input-required result
(`resultType: "input_required"`, `inputRequests` keyed by the server, an opaque
`requestState`); the client retries the request with `inputResponses` under the same keys and
the `requestState` echoed. The handshake era sends real requests to the client during the
call instead (gateway/client_requests.py). mcp-orch translates whenever the two sides differ:

- A 2026-07-28 client, a handshake-era upstream (`held_round`): the upstream call runs in a
  task of its own, a `HeldCall`. The upstream's requests during it are answered by the
  HeldCall, which puts them in an input-required result of the client's request under keys of
  mcp-orch's own (`mcp-orch-<n>`), with a `requestState` that names the held call
  (`mcp-orch/held/<secret>`). The client's retry delivers each response to the upstream as
  the answer to its request, and is answered with the call's result, or with the next
  input-required result if the upstream asks again (a response the retry lacks is asked for
  again, as the spec says). The held call:
  - belongs to the principal and endpoint that started it (project, endpoint, API key) and to
    the same request (method and tool/prompt name or URI): a retry of anyone else, or of
    another request, gets the same "invalid or expired requestState" error (-32602, HTTP
    400) as an unknown or expired state, so nothing tells that it exists;
  - waits at most HOLD_SECONDS for the retry (and never longer than the server's timeout,
    which runs from the first request): then it is abandoned (the upstream is told) and its
    state expires;
  - counts: at most MAX_HELD_PER_KEY per principal and MAX_HELD in all;
  - asks only for what the request's clientCapabilities declare: a request the client cannot
    take ends the round with -32021 (MissingRequiredClientCapability, HTTP 400) naming the
    capability, and the upstream gets the SDK client's error; ping is answered by mcp-orch.
- A handshake-era client, a 2026-07-28 upstream (`answer_input_required`): the upstream is
  told the client's routable capabilities; each of its input requests goes to the client as
  a real request over the client's session (InputRelay, as in the handshake era), and the
  answers go back to the upstream as the retry, for at most MAX_ROUNDS rounds.
- 2026-07-28 on both sides: passed through as it came (the upstream's requestState is the
  upstream's); on the unified endpoint each input request names the asking server
  (`client_requests.labelled`).

The call's ToolCallLog rows list the input requests of each round (INPUT_LOG_KEY), never
their content.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from mcp_types import CLIENT_CAPABILITIES_META_KEY

from mcp_orch_app.gateway.client_requests import (
    elicitation_mode,
    labelled,
    missing_capability,
    outcome_of,
    routable_capabilities,
)
from mcp_orch_app.gateway.upstream import (
    InputHandler,
    Upstream,
    UpstreamCancelled,
    UpstreamError,
)

INPUT_REQUIRED_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})
"""The requests a server may answer with an input-required result (the spec's table)."""

HELD_STATE_PREFIX = "mcp-orch/held/"
"""How a requestState of mcp-orch's own starts (the rest is a secret naming the held call)."""

HOLD_SECONDS = 300.0
"""How long a held call waits for the client's retry."""
MAX_HELD_PER_KEY = 16
"""Held calls one principal (project endpoint and API key) may have at once."""
MAX_HELD = 1024
"""Held calls of all clients at once."""
MAX_ROUNDS = 10
"""Input-required rounds of a 2026-07-28 upstream passed to a handshake-era client, at most
(the SDK clients' default)."""
MAX_INPUT_REQUESTS = 32
"""Input requests of one round, at most (either direction)."""

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
MISSING_CAPABILITY = -32021

_keys = itertools.count(1)

Principal = tuple[str, str | None, Any]
"""(project id, the endpoint's server id or None for the unified endpoint, API key id)."""


def is_input_required(result: Any) -> bool:
    return isinstance(result, dict) and result.get("resultType") == "input_required"


def invalid_state(reason: str) -> UpstreamError:
    """The one answer to a requestState mcp-orch cannot resume, whatever the reason."""
    return UpstreamError(
        INVALID_PARAMS,
        f"Invalid or expired requestState: {reason}",
        {"reason": "invalid_request_state"},
    )


def _request_name(method: str, params: dict[str, Any]) -> Any:
    return params.get("uri" if method == "resources/read" else "name")


@dataclass(eq=False)
class _Ask:
    method: str
    params: dict[str, Any]
    future: asyncio.Future[dict[str, Any]]
    record: dict[str, Any]


@dataclass(eq=False)
class HeldCall:
    """One upstream call of a 2026-07-28 client, waiting for the client's input between its
    rounds; it answers the upstream's requests (an InputHandler)."""

    principal: Principal
    session_id: Hashable
    method: str
    name: Any
    capabilities: dict[str, Any]
    server_name: str | None
    """The asking server, named to the client (the unified endpoint); None: not named."""
    token: str = field(default_factory=lambda: HELD_STATE_PREFIX + secrets.token_urlsafe(32))
    task: asyncio.Task[dict[str, Any]] | None = None
    pending: dict[str, _Ask] = field(default_factory=dict)
    missing: tuple[dict[str, Any], str] | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    progress: Callable[[dict[str, Any]], None] | None = None
    progress_token: Any = None
    expiry: asyncio.TimerHandle | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def owner(self) -> Hashable:
        return self.session_id

    # -- the upstream's side ---------------------------------------------------------------

    async def __call__(self, method: str, params: Any) -> dict[str, Any]:
        record: dict[str, Any] = {"method": method}
        self.records.append(record)
        params = params if isinstance(params, dict) else {}
        mode = elicitation_mode(method, params)
        if mode is not None:
            record["mode"] = mode
        if method == "ping":  # no such request in 2026-07-28: mcp-orch is there
            record["outcome"] = "answered by mcp-orch"
            return {}
        if method not in ("sampling/createMessage", "elicitation/create", "roots/list"):
            record["outcome"] = "refused"
            raise UpstreamError(-32601, f"mcp-orch cannot pass {method} on to a 2026-07-28 client")
        missing = missing_capability(self.capabilities, method, mode)
        if missing is not None:
            record["outcome"] = "not supported by the client"
            self.missing = missing
            self.changed.set()
            raise UpstreamError(INVALID_REQUEST, missing[1])
        if len(self.pending) >= MAX_INPUT_REQUESTS:
            record["outcome"] = "refused"
            raise UpstreamError(INVALID_REQUEST, "too many questions for the client at once")
        key = f"mcp-orch-{next(_keys)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        record["outcome"] = "asked the client"
        if mode == "url":  # 2026-07-28 removed it (there is no elicitation/complete)
            params = {k: v for k, v in params.items() if k != "elicitationId"}
        self.pending[key] = _Ask(method, labelled(method, params, self.server_name), future, record)
        self.changed.set()
        try:
            result = await future
        except asyncio.CancelledError:
            record["outcome"] = "cancelled"
            raise
        finally:
            self.pending.pop(key, None)
        record.update(outcome_of(method, result))
        return result

    def relay_progress(self, message: dict[str, Any]) -> None:
        """Progress of the call goes to the round being served, under its own token."""
        if self.progress is None or self.progress_token is None:
            return
        params = {**(message.get("params") or {}), "progressToken": self.progress_token}
        self.progress({**message, "params": params})

    # -- the client's side -----------------------------------------------------------------

    def answer(self, responses: Any) -> None:
        """Deliver the client's inputResponses (validated first: UpstreamError -32602 for a
        malformed one, and nothing is delivered). Responses to keys not asked are ignored."""
        if responses is None:
            return
        if not isinstance(responses, dict):
            raise UpstreamError(INVALID_PARAMS, "inputResponses must be an object")
        chosen: list[tuple[_Ask, dict[str, Any]]] = []
        for key, ask in self.pending.items():
            if key not in responses:
                continue
            response = responses[key]
            reason = _malformed_response(ask.method, response)
            if reason is not None:
                raise UpstreamError(INVALID_PARAMS, f"inputResponses[{key!r}] {reason}")
            chosen.append((ask, response))
        for ask, response in chosen:
            for key in [k for k, v in self.pending.items() if v is ask]:
                del self.pending[key]
            if not ask.future.done():
                ask.future.set_result(response)

    async def round(self) -> dict[str, Any]:
        """The call's result, or an input-required result for the questions it waits on.
        Raises the call's UpstreamFailure, or -32021 for a question the client cannot take."""
        assert self.task is not None
        while True:
            if self.missing is not None:
                required, text = self.missing
                raise UpstreamError(
                    MISSING_CAPABILITY,
                    f"{text}: the server asks for a capability the client did not declare",
                    {"requiredCapabilities": required},
                )
            if self.task.done():
                if self.task.cancelled():
                    raise UpstreamCancelled(f"{self.method} was cancelled")
                return self.task.result()
            if self.pending:
                return self._input_required()
            self.changed.clear()
            waiter = asyncio.ensure_future(self.changed.wait())
            try:
                await asyncio.wait({self.task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()

    def _input_required(self) -> dict[str, Any]:
        return {
            "resultType": "input_required",
            "inputRequests": {
                key: {"method": ask.method, "params": ask.params}
                for key, ask in self.pending.items()
            },
            "requestState": self.token,
        }

    def abandon(self) -> None:
        """Stop the upstream call (the server is told, its questions answered with errors)."""
        if self.expiry is not None:
            self.expiry.cancel()
        if self.task is not None and not self.task.done():
            self.task.cancel()


_RESPONSE_SHAPES = {
    "elicitation/create": ("action",),
    "sampling/createMessage": ("role", "content", "model"),
    "roots/list": ("roots",),
}


def _malformed_response(method: str, response: Any) -> str | None:
    """Why a client's response cannot be the answer to a ``method`` request (None: it can)."""
    if not isinstance(response, dict):
        return "must be a result object"
    missing = [key for key in _RESPONSE_SHAPES.get(method, ()) if key not in response]
    if missing:
        return f"is not a {method} result: it lacks {', '.join(missing)}"
    if method == "elicitation/create" and response["action"] not in ("accept", "decline", "cancel"):
        return "has an action that is not accept, decline or cancel"
    if method == "roots/list" and not isinstance(response["roots"], list):
        return "has roots that are not a list"
    return None


class HeldCalls:
    """The held calls of the gateway, by their requestState."""

    def __init__(self) -> None:
        self._held: dict[str, HeldCall] = {}

    def __len__(self) -> int:
        return len(self._held)

    def take(self, state: Any, principal: Principal, method: str, name: Any) -> HeldCall:
        """The held call a retry resumes (no longer held until `keep`), or invalid_state."""
        held = self._held.get(state) if isinstance(state, str) else None
        if held is None:
            raise invalid_state("mcp-orch holds no such call (it ended, expired or never was)")
        if held.principal != principal or (held.method, held.name) != (method, name):
            raise invalid_state("mcp-orch holds no such call (it ended, expired or never was)")
        del self._held[state]
        if held.expiry is not None:
            held.expiry.cancel()
        return held

    def keep(self, held: HeldCall, seconds: float) -> None:
        """Hold the call until its client retries, for ``seconds`` at most."""
        mine = sum(1 for other in self._held.values() if other.principal == held.principal)
        if mine >= MAX_HELD_PER_KEY or len(self._held) >= MAX_HELD:
            held.abandon()
            limit = MAX_HELD_PER_KEY if mine >= MAX_HELD_PER_KEY else MAX_HELD
            raise UpstreamError(
                INVALID_REQUEST,
                f"too many calls wait for the client's input ({limit}): answer or abandon "
                "them first",
            )
        self._held[held.token] = held
        held.expiry = asyncio.get_running_loop().call_later(seconds, self._expire, held.token)

    def _expire(self, token: str) -> None:
        held = self._held.pop(token, None)
        if held is not None:
            held.abandon()

    def clear(self) -> None:
        for held in self._held.values():
            held.abandon()
        self._held.clear()


async def held_round(
    held_calls: HeldCalls,
    upstream: Upstream,
    session: Any,
    message: dict[str, Any],
    *,
    timeout: float,
    server_name: str | None,
    progress: Callable[[dict[str, Any]], None] | None,
    call_key: Hashable,
    inputs: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """One request of a 2026-07-28 client to a handshake-era upstream that may ask it for
    input: the first round starts the call, a retry (our requestState) resumes it."""
    method = message["method"]
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    principal: Principal = (session.project_id, session.server_id, session.api_key_id)
    name = _request_name(method, params)
    state = params.get("requestState")
    meta = params.get("_meta")
    if state is not None:
        responses = params.get("inputResponses")
        if responses is not None and not isinstance(responses, dict):
            raise UpstreamError(INVALID_PARAMS, "inputResponses must be an object")
        if not isinstance(state, str) or not state.startswith(HELD_STATE_PREFIX):
            raise invalid_state("it is not one mcp-orch gave")
        held = held_calls.take(state, principal, method, name)
        try:
            held.answer(responses)
        except UpstreamError:
            held_calls.keep(held, _remaining(held, timeout))
            raise
    else:
        capabilities = meta.get(CLIENT_CAPABILITIES_META_KEY) if isinstance(meta, dict) else None
        held = HeldCall(
            principal, session.id, method, name, routable_capabilities(capabilities), server_name
        )
        forwarded = {k: v for k, v in params.items() if k not in ("inputResponses", "requestState")}
        # The upstream always gets a progress token: a later round may ask for progress (it
        # goes to the round being served, under that round's token, relay_progress).
        forwarded["_meta"] = {**(meta if isinstance(meta, dict) else {}), "progressToken": 0}
        held.task = asyncio.create_task(
            upstream.request(
                method,
                forwarded,
                timeout=timeout,
                on_notification=held.relay_progress,
                call_key=call_key,
                on_input=held,
            )
        )
        # An outcome no round collects (the call held until it expired) is not an error.
        held.task.add_done_callback(lambda task: task.cancelled() or task.exception())
    held.progress = progress
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    held.progress_token = token
    try:
        result = await held.round()
    except BaseException:
        held.abandon()
        raise
    finally:
        held.progress = None  # this round's stream is over: no more progress for it
        if inputs is not None:
            inputs[:] = [dict(record) for record in held.records]
    if is_input_required(result):
        held_calls.keep(held, _remaining(held, timeout))
        return result
    held.abandon()
    return result


def _remaining(held: HeldCall, timeout: float) -> float:
    """How long the call may still wait for its client: HOLD_SECONDS, within the server's
    timeout that runs from the first request."""
    return max(0.0, min(HOLD_SECONDS, timeout - (time.monotonic() - held.started)))


# -- a handshake-era client, a 2026-07-28 upstream ----------------------------------------


def with_client_capabilities(params: Any, capabilities: dict[str, Any]) -> Any:
    """A handshake-era client's request as a 2026-07-28 upstream must see it: its routable
    capabilities in the `_meta` envelope (stamped_envelope passes them on)."""
    routable = routable_capabilities(capabilities)
    if not routable:
        return params
    params = dict(params) if isinstance(params, dict) else {}
    meta = params.get("_meta")
    params["_meta"] = {
        **(meta if isinstance(meta, dict) else {}),
        CLIENT_CAPABILITIES_META_KEY: routable,
    }
    return params


async def answer_input_required(
    result: dict[str, Any],
    retry: Callable[[dict[str, Any]], Any],
    ask: InputHandler,
) -> dict[str, Any]:
    """Drive a 2026-07-28 upstream's input-required results to the final result: each input
    request goes to the client (``ask``), and ``retry(extra_params)`` sends the request again
    with the inputResponses and requestState. UpstreamError: the server asked for more rounds
    than MAX_ROUNDS, sent a malformed result, or the client's answer was an error."""
    backoff = 0.05
    for _ in range(MAX_ROUNDS):
        if not is_input_required(result):
            return result
        requests = result.get("inputRequests")
        state = result.get("requestState")
        if requests is not None and not isinstance(requests, dict):
            raise UpstreamError(
                INTERNAL_ERROR, "the server sent inputRequests that are not an object"
            )
        if (not requests and state is None) or len(requests or {}) > MAX_INPUT_REQUESTS:
            raise UpstreamError(INTERNAL_ERROR, "the server sent a malformed input-required result")
        extra: dict[str, Any] = {}
        if requests:
            extra["inputResponses"] = await _ask_all(requests, ask)
        else:
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 0.25)
        if isinstance(state, str):
            extra["requestState"] = state
        result = await retry(extra)
    if is_input_required(result):
        raise UpstreamError(
            INTERNAL_ERROR, f"the server kept asking for input for more than {MAX_ROUNDS} rounds"
        )
    return result


async def _ask_all(requests: dict[str, Any], ask: InputHandler) -> dict[str, Any]:
    async def one(key: str, request: Any) -> tuple[str, dict[str, Any]]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            raise UpstreamError(
                INTERNAL_ERROR, f"the server sent a malformed input request {key!r}"
            )
        return key, await ask(request["method"], _handshake_params(request))

    tasks = [asyncio.create_task(one(str(key), request)) for key, request in requests.items()]
    try:
        return dict(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


def _handshake_params(request: dict[str, Any]) -> Any:
    """An input request's params as a handshake-era request carries them: a URL elicitation
    names itself (elicitationId, required before 2026-07-28, which removed it)."""
    params = request.get("params")
    if elicitation_mode(request["method"], params) != "url" or "elicitationId" in params:
        return params
    return {**params, "elicitationId": f"mcp-orch-elicitation-{next(_keys)}"}


def input_records(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The log's records of a passed-through input-required result's requests."""
    requests = result.get("inputRequests")
    records = []
    values = requests.values() if isinstance(requests, dict) else ()
    for request in itertools.islice(values, MAX_INPUT_REQUESTS):
        method = request.get("method") if isinstance(request, dict) else None
        record: dict[str, Any] = {"method": str(method)[:100]}
        mode = elicitation_mode(
            str(method), request.get("params") if isinstance(request, dict) else None
        )
        if mode is not None:
            record["mode"] = mode
        record["outcome"] = "asked the client"
        records.append(record)
    return records


def label_input_requests(result: dict[str, Any], server_name: str) -> dict[str, Any]:
    """A passed-through input-required result on the unified endpoint: each request names the
    asking server."""
    requests = result.get("inputRequests")
    if not isinstance(requests, dict):
        return result
    named = {}
    for key, request in requests.items():
        if isinstance(request, dict) and isinstance(request.get("params"), dict):
            method = str(request.get("method"))
            request = {**request, "params": labelled(method, request["params"], server_name)}
        named[key] = request
    return {**result, "inputRequests": named}
