"""A streamable-HTTP upstream whose SSE streams drop before the answer (SEP-1699, 2025-11-25).

A real HTTP server (uvicorn on a free loopback port, a small ASGI app speaking the handshake era)
answers `tools/call` with an SSE stream that sends a priming event (`id` + `retry`, empty data)
and then ends — cleanly, or by breaking the connection mid-body — and delivers the answer on the
GET that resumes it with `Last-Event-ID`, as the conformance suite's `sse-retry` mock does. The
call must come back with that answer after waiting the server's `retry`, without the request
being sent again; a stream with no id, a refused resumption and a server that keeps dropping
the stream fail the call with a clear error, after a bounded number of attempts.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from mcp_orch_app.gateway import http_upstream
from mcp_orch_app.gateway.http_upstream import StreamableHttpUpstream
from mcp_orch_app.gateway.upstream import Era, UpstreamConfig, UpstreamTimeout, UpstreamUnavailable
from mcp_orch_app.models.enums import Transport
from tests.live_app import free_port

SESSION = "session-7"
RETRY_MS = 300


class Broken(Exception):
    """Raised by the app to make uvicorn cut a response off mid-body."""


@dataclass
class DroppingServer:
    """What the server does with a `tools/call`, and what it saw.

    ``priming``: the SSE lines sent first on the call's stream (None: nothing); ``ending``:
    "close" ends the body cleanly, "break" cuts the connection; ``resume``: what a GET with
    Last-Event-ID gets — "answer" (a fresh id, then the answer), "drop" (the stream ends at
    once, nothing new), "refuse" (405).
    """

    priming: str | None = f"id: call-1\nretry: {RETRY_MS}\ndata: \n\n"
    tail: str = ""  # sent last on the call's stream, before it ends
    ending: str = "close"
    resume: str = "answer"
    listen: str = "refuse"  # the standing GET: "refuse" (405) or "drop-then-keep"
    posts: list[str] = field(default_factory=list)
    gets: list[dict[str, str]] = field(default_factory=list)
    get_times: list[float] = field(default_factory=list)
    stream_closed_at: float | None = None
    pending: Any = None
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if scope["method"] == "GET":
            await self._get(headers, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        method = request.get("method")
        self.posts.append(method or "reply")
        if method == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "serverInfo": {"name": "dropping", "version": "1"},
                "capabilities": {"tools": {}},
            }
            await _json(send, {"jsonrpc": "2.0", "id": request["id"], "result": result})
        elif method == "tools/call":
            self.pending = request["id"]
            await self._call_stream(send)
        elif "id" in request:
            await _json(send, {"jsonrpc": "2.0", "id": request["id"], "result": {}})
        else:
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def _call_stream(self, send) -> None:
        await _sse_start(send)
        progress = {"jsonrpc": "2.0", "method": "notifications/message"}
        progress["params"] = {"level": "info", "data": "working"}
        first = self.priming or ""
        first += f"event: message\ndata: {json.dumps(progress)}\n\n"
        await send({"type": "http.response.body", "body": first.encode(), "more_body": True})
        if self.tail:
            await send(
                {"type": "http.response.body", "body": self.tail.encode(), "more_body": True}
            )
        await asyncio.sleep(0.05)
        self.stream_closed_at = time.monotonic()
        if self.ending == "break":
            raise Broken
        await send({"type": "http.response.body", "body": b""})

    async def _get(self, headers: dict[str, str], send) -> None:
        last_id = headers.get("last-event-id")
        self.gets.append(headers)
        self.get_times.append(time.monotonic())
        if (last_id is None and self.listen == "refuse") or self.resume == "refuse":
            await send({"type": "http.response.start", "status": 405, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await _sse_start(send)
        if last_id is None or self.pending is None:
            # The standing notification stream: an id, then it drops once; kept open after.
            await send({"type": "http.response.body", "body": b"id: n-1\n\n", "more_body": True})
            if len(self.gets) == 1:
                await send({"type": "http.response.body", "body": b""})
                return
            await asyncio.sleep(30)
            return
        if self.resume == "drop":
            await send({"type": "http.response.body", "body": b""})
            return
        answer = {"jsonrpc": "2.0", "id": self.pending}
        answer["result"] = {"content": [{"type": "text", "text": f"resumed after {last_id}"}]}
        events = f"id: call-2\ndata: \n\nid: call-3\nevent: message\ndata: {json.dumps(answer)}\n\n"
        await send({"type": "http.response.body", "body": events.encode(), "more_body": True})
        await asyncio.sleep(30)  # the client closes the stream once it has the answer


async def _json(send, message: dict[str, Any]) -> None:
    headers = [(b"content-type", b"application/json"), (b"mcp-session-id", SESSION.encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(message).encode()})


async def _sse_start(send) -> None:
    headers = [(b"content-type", b"text/event-stream"), (b"mcp-session-id", SESSION.encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})


async def connected(server: DroppingServer) -> StreamableHttpUpstream:
    config = UpstreamConfig(
        server_id=str(uuid.uuid4()),
        name="dropping",
        transport=Transport.STREAMABLE_HTTP,
        url=server.url,
        headers={},
        timeout_seconds=10.0,
    )
    upstream = StreamableHttpUpstream(config, era=Era.HANDSHAKE)
    await upstream.start()
    return upstream


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    """serve(app) -> (app, an upstream connected to it): the app runs under uvicorn on its
    port, both until the test ends."""
    running: list[tuple[uvicorn.Server, asyncio.Task, StreamableHttpUpstream]] = []

    async def start(app: DroppingServer) -> tuple[DroppingServer, StreamableHttpUpstream]:
        config = uvicorn.Config(app, host="127.0.0.1", port=app.port, log_level="critical")
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        upstream = await connected(app)
        running.append((server, task, upstream))
        return app, upstream

    yield start
    for server, task, upstream in running:
        await upstream.stop()
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, 10)


async def call(upstream: StreamableHttpUpstream, timeout: float = 10.0) -> dict[str, Any]:
    return await upstream.request("tools/call", {"name": "slow", "arguments": {}}, timeout=timeout)


def resumptions(server: DroppingServer) -> list[dict[str, str]]:
    return [headers for headers in server.gets if "last-event-id" in headers]


@pytest.mark.parametrize("ending", ["close", "break"])
async def test_a_dropped_answer_stream_is_resumed_with_last_event_id_after_retry(serve, ending):
    server, upstream = await serve(DroppingServer(ending=ending))
    result = await call(upstream)
    assert result["content"][0]["text"] == "resumed after call-1"
    [resumed] = resumptions(server)
    assert resumed["last-event-id"] == "call-1"
    assert resumed["mcp-session-id"] == SESSION
    assert resumed["accept"] == "text/event-stream"
    waited = server.get_times[-1] - server.stream_closed_at
    assert RETRY_MS / 1000 - 0.05 <= waited < RETRY_MS / 1000 + 0.5
    assert server.posts.count("tools/call") == 1  # never sent again
    assert upstream.healthy  # a dropped stream is no crash
    # The connection still serves calls afterwards.
    server.pending = None
    assert (await upstream.request("ping", None, timeout=5)) == {}


async def test_without_an_event_id_a_dropped_stream_fails_the_call_unretried(serve):
    server, upstream = await serve(DroppingServer(priming=None))
    with pytest.raises(UpstreamUnavailable, match=r"without answering it.*not retried"):
        await call(upstream)
    assert resumptions(server) == []
    assert server.posts.count("tools/call") == 1


@pytest.mark.parametrize(
    "tail",
    [
        f"id: {'x' * (http_upstream.MAX_EVENT_ID + 1)}\nretry: 10\ndata: \n\n",
        "id: bad\x7fid\nretry: 10\ndata: \n\n",
        "id: call-1\ndata: \n\nid:\nretry: 10\ndata: \n\n",  # an empty id resets it
        "id: call-1\nretry: 10\n",  # the event never completed: its id is not in force
    ],
    ids=["too-long", "unprintable", "reset", "incomplete"],
)
async def test_an_id_that_cannot_be_sent_back_is_not_resumed(serve, tail):
    server, upstream = await serve(DroppingServer(priming=None, tail=tail))
    with pytest.raises(UpstreamUnavailable, match="without answering it"):
        await call(upstream)
    assert resumptions(server) == []


async def test_a_refused_resumption_fails_the_call_with_the_status(serve):
    server, upstream = await serve(DroppingServer(resume="refuse"))
    with pytest.raises(UpstreamUnavailable, match=r"HTTP 405.*not retried"):
        await call(upstream)
    assert len(resumptions(server)) == 1
    assert server.posts.count("tools/call") == 1


async def test_a_server_that_keeps_dropping_is_given_up_after_bounded_attempts(serve):
    server, upstream = await serve(DroppingServer(resume="drop"))
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match=r"resuming it failed 3 times in a row"):
        await call(upstream)
    assert len(resumptions(server)) == http_upstream.MAX_RESUMPTIONS
    # Each attempt waited the server's retry, no more.
    elapsed = time.monotonic() - started
    assert RETRY_MS / 1000 * http_upstream.MAX_RESUMPTIONS <= elapsed < 5


async def test_the_calls_timeout_bounds_the_resumption(serve):
    server, upstream = await serve(DroppingServer(priming="id: call-1\nretry: 5000\ndata: \n\n"))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not answer tools/call within 1s"):
        await call(upstream, timeout=1.0)
    assert time.monotonic() - started < 3
    assert resumptions(server) == []  # it was still waiting the server's retry


async def test_the_notification_stream_is_reopened_with_last_event_id(serve):
    server, _ = await serve(DroppingServer(listen="drop-then-keep"))
    deadline = time.monotonic() + 5
    while len(server.gets) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    first, second = server.gets[:2]
    assert "last-event-id" not in first
    assert second["last-event-id"] == "n-1"
    assert second["mcp-session-id"] == SESSION
