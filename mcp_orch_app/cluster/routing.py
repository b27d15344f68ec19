"""Requests of a client session answered by the member that owns the session, whichever member
the load balancer sent them to.

A handshake-era session (streamable HTTP `mcp-session-id`, SSE `session_id`) lives in the
memory of the backend process that opened it: its upstream requests in flight, its GET or SSE
stream, the server-to-client requests waiting for the client's answer. Moving that state
between processes is not possible (an open stream is a socket), so requests go to the state
instead: the session id names its owner (``<member_id>.<secret>``,
gateway/client_sessions.py), and a member that receives a request naming a session of another
member forwards the raw HTTP request to it over the cluster bus (bus.py). The owner runs the
very same ASGI endpoint for it (gateway/http_endpoints.py ``serve_endpoint``), so every check
(authorization, the session's ownership, the body) and every answer and log row are the
owner's, exactly as for a request it received itself. Reading the owner from the id costs no
lookup per request, and a member that is gone is known at once: ``PUBLISH`` reaches nobody.

The exchange, in frames on the members' own channels (one request id per asking member):

- asker -> owner: ``q`` the request (method, path, query, headers, client address as the asker
  saw them, and the whole body: body limits were applied by the asker, api/body_limits.py);
  ``x`` the client went away (the owner's ``receive()`` then yields ``http.disconnect`` and its
  stream ends as for a local client).
- owner -> asker: ``s`` a part of the response (the status and headers come with the first
  body chunk, so a plain JSON answer is one frame: a routed call costs two publishes); ``k``
  keepalives, one frame per asker every KEEPALIVE_SECONDS naming its requests still running.

The asker replays the parts on its own connection. It answers 404 "Session not found" (the
spec's signal to re-initialize) when the owner is gone (nobody received the request), 503 when
Redis cannot be reached, and gives up on a request after GIVE_UP_KEEPALIVES keepalives missed
(the owner died between frames): 404 if the owner left the bus, else 503; a response already
begun just ends. A request is answered once: its id is forgotten when it ends, and a late frame
for it is dropped. A forwarded request is never forwarded again: the owner serves it with
``serve_endpoint``, which has no routing step, and its scope says who forwarded it
(FORWARDED_BY_SCOPE_KEY).

A frame is ``!H`` header length, an orjson header, then raw body bytes; frames are bounded
(MAX_HEAD_BYTES, MAX_CHUNK_BYTES, the MCP body limit) and parsed defensively: Redis is trusted
like the database, but a malformed frame is logged and dropped, never answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from mcp_types import INVALID_REQUEST
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_orch_app.cluster.bus import ClusterBus
from mcp_orch_app.config import get_settings
from mcp_orch_app.gateway.client_sessions import SESSION_NOT_FOUND

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 2.0
GIVE_UP_KEEPALIVES = 3
"""Keepalives an asker may miss before it gives a forwarded request up."""
MAX_FORWARDED = 1000
"""Forwarded requests in flight per member, each way (asked of others, served for others)."""
MAX_HEAD_BYTES = 64 * 1024
MAX_CHUNK_BYTES = 256 * 1024
"""A response body is sent in frames of at most this many bytes."""
COALESCE_SECONDS = 0.005
"""How long the start of a response waits for its first body chunk to share its frame (a
stream that has nothing to say yet still gets its headers to the client at once)."""
FORWARDED_BY_SCOPE_KEY = "mcp_orch.forwarded_by"

_LENGTH = struct.Struct("!H")
REQUEST, GONE, PART, KEEPALIVE = "q", "x", "s", "k"


class MalformedFrame(ValueError):
    """A frame that is not one of ours (dropped and logged)."""


def encode_frame(head: dict[str, Any], body: bytes = b"") -> bytes:
    encoded = orjson.dumps(head)
    return _LENGTH.pack(len(encoded)) + encoded + body


def decode_frame(frame: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and body of a frame, or MalformedFrame."""
    if len(frame) < _LENGTH.size:
        raise MalformedFrame("shorter than its length prefix")
    (length,) = _LENGTH.unpack_from(frame)
    if length > MAX_HEAD_BYTES or _LENGTH.size + length > len(frame):
        raise MalformedFrame("header length out of bounds")
    try:
        head = orjson.loads(frame[_LENGTH.size : _LENGTH.size + length])
    except orjson.JSONDecodeError:
        raise MalformedFrame("header is not JSON") from None
    if not isinstance(head, dict) or not isinstance(head.get("t"), str):
        raise MalformedFrame("header is not a frame header")
    return head, frame[_LENGTH.size + length :]


def _rid(head: dict[str, Any]) -> int:
    rid = head.get("r")
    if not isinstance(rid, int) or isinstance(rid, bool):
        raise MalformedFrame("no request id")
    return rid


def _member(head: dict[str, Any]) -> str:
    member = head.get("f")
    if not isinstance(member, str) or not 0 < len(member) <= 64:
        raise MalformedFrame("no sender")
    return member


def _str_pairs(value: Any) -> list[tuple[bytes, bytes]]:
    if not isinstance(value, list) or len(value) > 500:
        raise MalformedFrame("headers are not a list of pairs")
    pairs = []
    for pair in value:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str)
        ):
            raise MalformedFrame("a header is not a pair of strings")
        try:
            pairs.append((pair[0].encode("latin-1"), pair[1].encode("latin-1")))
        except UnicodeEncodeError:
            raise MalformedFrame("a header is not latin-1") from None
    return pairs


def _text_pairs(headers: Any) -> list[list[str]]:
    return [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers]


def json_rpc_refusal(status: int, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A refusal as the endpoints give it: a JSON-RPC error with no id."""
    body = orjson.dumps(
        {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return status, headers, body


async def _respond(send: Send, refusal: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
    status, headers, body = refusal
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


REDIS_UNREACHABLE = (
    "Service unavailable: this session is served by another mcp-orch replica, and the cluster "
    "bus (Redis) that reaches it is not reachable right now; try again shortly."
)
OWNER_SILENT = (
    "Service unavailable: the mcp-orch replica serving this session stopped answering; "
    "try again shortly."
)
BUSY = "Service unavailable: too many requests are being relayed between replicas; try again."


@dataclass(eq=False)
class _Asked:
    """A request this member forwarded, waiting for its response parts."""

    owner: str
    parts: asyncio.Queue[tuple[dict[str, Any], bytes] | None] = field(default_factory=asyncio.Queue)
    heard: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class _Served:
    """A request this member serves for another."""

    asker: str
    rid: int
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class SessionRouter:
    """Forwards requests of other members' sessions and serves those forwarded to this one:
    see the module docstring. ``endpoint`` is the ASGI app that answers a forwarded request
    (the MCP endpoints, without their routing step)."""

    def __init__(
        self,
        bus: ClusterBus,
        endpoint: ASGIApp,
        *,
        keepalive: float | None = None,
    ) -> None:
        self.bus = bus
        self.endpoint = endpoint
        self.keepalive = KEEPALIVE_SECONDS if keepalive is None else keepalive
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._asked: dict[int, _Asked] = {}
        self._served: dict[tuple[str, int], _Served] = {}
        self._keeper: asyncio.Task[None] | None = None
        bus.on_direct(self._on_frame)

    @property
    def member_id(self) -> str:
        return self.bus.member_id

    def start(self) -> None:
        self._keeper = asyncio.create_task(self._keep_alive())

    async def stop(self) -> None:
        """Stop serving (the forwarded requests' askers hear nothing more and give up)."""
        tasks = [served.task for served in self._served.values() if served.task is not None]
        if self._keeper is not None:
            tasks.append(self._keeper)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._served.clear()
        for asked in self._asked.values():
            asked.parts.put_nowait(None)

    # -- asking --------------------------------------------------------------------------

    async def forward(self, scope: Scope, receive: Receive, send: Send, owner: str) -> None:
        """Answer the request on this connection with the response of ``owner``."""
        body = await _read_body(receive)
        if body is None:
            return  # the client left before its body arrived
        if len(self._asked) >= MAX_FORWARDED:
            await _respond(send, json_rpc_refusal(503, BUSY))
            return
        rid = next(self._ids)
        asked = self._asked[rid] = _Asked(owner)
        try:
            await self._relay(scope, receive, send, rid, asked, body)
        finally:
            del self._asked[rid]

    async def _relay(
        self, scope: Scope, receive: Receive, send: Send, rid: int, asked: _Asked, body: bytes
    ) -> None:
        head = {
            "t": REQUEST,
            "r": rid,
            "f": self.member_id,
            "m": scope["method"],
            "p": scope["path"],
            "rp": scope.get("root_path", ""),
            "qs": scope.get("query_string", b"").decode("latin-1"),
            "h": _text_pairs(scope["headers"]),
            "c": list(scope["client"]) if scope.get("client") else None,
            "sv": list(scope["server"]) if scope.get("server") else None,
            "s": scope.get("scheme", "http"),
        }
        try:
            received = await self.bus.send(asked.owner, encode_frame(head, body))
        except (RedisError, OSError) as exc:
            logger.warning("session routing: cannot reach Redis: %s", exc)
            await _respond(send, json_rpc_refusal(503, REDIS_UNREACHABLE))
            return
        if received == 0:
            await _respond(send, json_rpc_refusal(404, SESSION_NOT_FOUND))
            return
        started = False
        watcher: asyncio.Task[None] | None = None
        give_up = self.keepalive * GIVE_UP_KEEPALIVES
        try:
            while True:
                wait = asked.heard + give_up - time.monotonic()
                try:
                    item = await asyncio.wait_for(asked.parts.get(), max(wait, 0))
                except TimeoutError:
                    if asked.heard + give_up > time.monotonic():
                        continue  # a keepalive came meanwhile
                    await self._give_up(send, rid, asked, started)
                    return
                if item is None:  # the client went away, or this member stops
                    await self._tell_gone(asked.owner, rid)
                    return
                part, chunk = item
                if not started:
                    status, headers = part.get("st"), part.get("hd")
                    if not isinstance(status, int) or not 100 <= status <= 599:
                        logger.warning("session routing: a response without its status")
                        continue
                    await send(
                        {"type": "http.response.start", "status": status, "headers": headers}
                    )
                    started = True
                more = bool(part.get("mb"))
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    return
                if watcher is None:  # a stream: its client may leave before it ends
                    watcher = asyncio.ensure_future(_watch_disconnect(receive, asked))
        except OSError:  # the client's connection broke while the response was replayed
            await self._tell_gone(asked.owner, rid)
        finally:
            if watcher is not None:
                watcher.cancel()

    async def _give_up(self, send: Send, rid: int, asked: _Asked, started: bool) -> None:
        logger.warning(
            "session routing: member %s sent nothing for %.1f s; request given up",
            asked.owner,
            self.keepalive * GIVE_UP_KEEPALIVES,
        )
        await self._tell_gone(asked.owner, rid)
        if started:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        gone = False
        with contextlib.suppress(RedisError, OSError):
            gone = not await self.bus.is_member(asked.owner)
        refusal = (404, SESSION_NOT_FOUND) if gone else (503, OWNER_SILENT)
        await _respond(send, json_rpc_refusal(*refusal))

    async def _tell_gone(self, owner: str, rid: int) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.bus.send(owner, encode_frame({"t": GONE, "r": rid, "f": self.member_id}))

    # -- receiving -----------------------------------------------------------------------

    def _on_frame(self, frame: bytes) -> None:
        try:
            head, body = decode_frame(frame)
            kind = head["t"]
            if kind == PART:
                self._on_part(head, body)
            elif kind == KEEPALIVE:
                self._on_keepalive(head)
            elif kind == REQUEST:
                self._on_request(head, body)
            elif kind == GONE:
                served = self._served.get((_member(head), _rid(head)))
                if served is not None:
                    served.gone.set()
            else:
                raise MalformedFrame(f"unknown frame type {kind[:20]!r}")
        except MalformedFrame as exc:
            logger.warning("session routing: dropped a malformed frame (%s)", exc)

    def _on_part(self, head: dict[str, Any], body: bytes) -> None:
        if len(body) > MAX_CHUNK_BYTES:
            raise MalformedFrame("response chunk too large")
        asked = self._asked.get(_rid(head))
        if asked is None:
            return  # answered or given up already: it is never answered twice
        if "st" in head:
            head["hd"] = _str_pairs(head.get("hd"))
        asked.heard = time.monotonic()
        asked.parts.put_nowait((head, body))

    def _on_keepalive(self, head: dict[str, Any]) -> None:
        rids = head.get("rs")
        if not isinstance(rids, list):
            raise MalformedFrame("keepalive without its request ids")
        now = time.monotonic()
        for rid in rids[:MAX_FORWARDED]:
            asked = self._asked.get(rid) if isinstance(rid, int) else None
            if asked is not None:
                asked.heard = now

    def _on_request(self, head: dict[str, Any], body: bytes) -> None:
        asker, rid = _member(head), _rid(head)
        if len(body) > get_settings().max_body_mcp:
            raise MalformedFrame("request body past the MCP body limit")
        scope = _forwarded_scope(head, asker)
        key = (asker, rid)
        if key in self._served:
            raise MalformedFrame("request id already being served")
        served = _Served(asker, rid)
        if len(self._served) >= MAX_FORWARDED:
            refusal = asyncio.ensure_future(self._refuse_busy(served))
            self._tasks.add(refusal)
            refusal.add_done_callback(self._tasks.discard)
            return
        self._served[key] = served
        served.task = asyncio.ensure_future(self._serve(served, scope, body))
        served.task.add_done_callback(lambda _task: self._served.pop(key, None))

    # -- serving -------------------------------------------------------------------------

    async def _refuse_busy(self, served: _Served) -> None:
        status, headers, body = json_rpc_refusal(503, BUSY)
        part = {"t": PART, "r": served.rid, "st": status, "hd": _text_pairs(headers), "mb": False}
        with contextlib.suppress(RedisError, OSError):
            await self.bus.send(served.asker, encode_frame(part, body))

    async def _serve(self, served: _Served, scope: Scope, body: bytes) -> None:
        response = _ResponseFrames(self.bus, served)
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await served.gone.wait()
            return {"type": "http.disconnect"}

        try:
            await self.endpoint(scope, receive, response.send)
        except Exception:
            logger.exception("session routing: a forwarded request failed")
        await response.finish()

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive)
            by_asker: dict[str, list[int]] = {}
            for asker, rid in list(self._served):
                by_asker.setdefault(asker, []).append(rid)
            for asker, rids in by_asker.items():
                frame = encode_frame({"t": KEEPALIVE, "f": self.member_id, "rs": rids})
                try:
                    await self.bus.send(asker, frame)
                except (RedisError, OSError) as exc:
                    logger.warning("session routing: keepalive not sent: %s", exc)


class _ResponseFrames:
    """The ASGI ``send`` of a forwarded request: its messages as frames to the asker, the start
    coalesced with the first body chunk."""

    def __init__(self, bus: ClusterBus, served: _Served) -> None:
        self.bus = bus
        self.served = served
        self._start: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._flush: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._began = False
        self.finished = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._start = {
                "st": message["status"],
                "hd": _text_pairs(message.get("headers", ())),
            }
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(COALESCE_SECONDS, self._start_flushing)
        elif kind == "http.response.body":
            body = bytes(message.get("body", b""))
            more = message.get("more_body", False)
            async with self._lock:
                for offset in range(0, max(len(body), 1), MAX_CHUNK_BYTES):
                    last = offset + MAX_CHUNK_BYTES >= len(body)
                    await self._part(body[offset : offset + MAX_CHUNK_BYTES], more or not last)

    def _start_flushing(self) -> None:
        self._flushing = asyncio.ensure_future(self._send_start())

    async def _send_start(self) -> None:
        async with self._lock:
            if self._start is not None:
                await self._part(b"", True)

    async def _part(self, chunk: bytes, more: bool) -> None:
        if self.finished:
            return
        head: dict[str, Any] = {"t": PART, "r": self.served.rid, "mb": more}
        if self._start is not None:
            head.update(self._start)
            self._start = None
            self._began = True
            if self._flush is not None:
                self._flush.cancel()
        self.finished = not more
        try:
            received = await self.bus.send(self.served.asker, encode_frame(head, chunk))
        except (RedisError, OSError) as exc:
            logger.warning("session routing: response not relayed: %s", exc)
            received = 0
        if received == 0:  # the asker is gone: nobody reads the rest
            self.finished = True
            self.served.gone.set()

    async def finish(self) -> None:
        """End the response if the endpoint did not (it failed): a 503 if nothing was sent,
        else the end of what was begun."""
        async with self._lock:
            if self.finished:
                return
            if self._start is None and not self._began:
                status, headers, body = json_rpc_refusal(503, OWNER_SILENT)
                self._start = {"st": status, "hd": _text_pairs(headers)}
                await self._part(body, False)
                return
            await self._part(b"", False)


def _forwarded_scope(head: dict[str, Any], asker: str) -> Scope:
    method, path, root, query = head.get("m"), head.get("p"), head.get("rp"), head.get("qs")
    if not all(isinstance(value, str) for value in (method, path, root, query)):
        raise MalformedFrame("request line fields missing")
    if len(method) > 16 or len(path) > 8192 or len(query) > 8192 or len(root) > 1024:
        raise MalformedFrame("request line too long")
    client, server = head.get("c"), head.get("sv")
    try:
        query_string = query.encode("latin-1")
    except UnicodeEncodeError:
        raise MalformedFrame("query is not latin-1") from None
    return {
        "type": "http",
        # 2.3: a streaming response listens to receive() for the client leaving (the "x" frame).
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": head.get("s") if head.get("s") in ("http", "https") else "http",
        "path": path,
        "raw_path": path.encode("utf-8", "replace"),
        "root_path": root,
        "query_string": query_string,
        "headers": _str_pairs(head.get("h")),
        "client": _address(client),
        "server": _address(server),
        FORWARDED_BY_SCOPE_KEY: asker,
    }


def _address(value: Any) -> tuple[str, int] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    ):
        return value[0][:255], value[1]
    return None


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _watch_disconnect(receive: Receive, asked: _Asked) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    asked.parts.put_nowait(None)
