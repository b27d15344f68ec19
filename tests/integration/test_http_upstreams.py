"""The SSE and streamable-HTTP upstreams against real MCP servers listening on 127.0.0.1.

Four real servers, each its own process on a free port: our fixture (Python SDK 2.3) over
streamable HTTP and over SSE, which both open in the 2026-07-28 era, and the TypeScript
`@modelcontextprotocol/server-everything` serving `streamableHttp` and `sse` itself, which speaks
the 2025-11-25 handshake era. server-everything listens on every interface by default; a
`--require` preload (tests/fixtures/listen_on_localhost.cjs) keeps it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_orch_app.gateway.http_upstream import SseUpstream, StreamableHttpUpstream
from mcp_orch_app.gateway.pool import UpstreamPool
from mcp_orch_app.gateway.upstream import (
    Era,
    UpstreamConfig,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcp_orch_app.models.enums import LogLevel, ServerLogCategory, Transport
from tests.integration.test_upstream_pool import (
    FIXTURE_SERVER,
    Events,
    announced_tool_changes,
    call_log_lines,
    call_tool,
    eventually,
    server_everything,  # noqa: F401  (the npm install, shared with the stdio tests)
    text_of,
)

LOCALHOST_PRELOAD = Path(__file__).resolve().parents[1] / "fixtures" / "listen_on_localhost.cjs"
CONFIGURED_HEADERS = {"X-Api-Key": "sk-upstream-7731", "Authorization": "Bearer upstream-secret"}


# --- real servers as subprocesses -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HttpServer:
    """One MCP server process serving HTTP on 127.0.0.1:port, in its own process group."""

    command: list[str]
    path: str
    transport: Transport
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        env = {**os.environ, **self.env, "PORT": str(self.port)}
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                command, env=env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not start: {self.log.read_text()[-500:]}"
                    ) from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def config(self, name: str = "remote", **fields: Any) -> UpstreamConfig:
        return UpstreamConfig(
            server_id=fields.pop("server_id", str(uuid.uuid4())),
            name=name,
            transport=self.transport,
            url=fields.pop("url", self.url),
            headers=fields.pop("headers", CONFIGURED_HEADERS),
            timeout_seconds=fields.pop("timeout_seconds", 20.0),
            **fields,
        )


def fixture_server(tmp: Path, transport: Transport) -> HttpServer:
    mode = "sse" if transport is Transport.SSE else "streamable-http"
    return HttpServer(
        command=[sys.executable, str(FIXTURE_SERVER), "--transport", mode, "--port", "{port}"],
        path="/sse" if transport is Transport.SSE else "/mcp",
        transport=transport,
        log=tmp / f"fixture-{mode}.log",
        env={"FIXTURE_CALL_LOG": str(tmp / f"fixture-{mode}.calls")},
    )


def everything_server(tmp: Path, binary: Path, transport: Transport) -> HttpServer:
    mode = "sse" if transport is Transport.SSE else "streamableHttp"
    script = binary.resolve()  # the .bin link points at dist/index.js
    return HttpServer(
        command=["node", "--require", str(LOCALHOST_PRELOAD), str(script), mode],
        path="/sse" if transport is Transport.SSE else "/mcp",
        transport=transport,
        log=tmp / f"everything-{mode}.log",
    )


def make_upstream(config: UpstreamConfig, **options: Any):
    kind = SseUpstream if config.transport is Transport.SSE else StreamableHttpUpstream
    return kind(config, **options)


@dataclass
class Remote:
    """A running server and one started upstream connection to it."""

    server: HttpServer
    upstream: StreamableHttpUpstream | SseUpstream
    everything: bool

    @property
    def calls(self) -> list[str]:
        return call_log_lines(Path(self.server.env["FIXTURE_CALL_LOG"]))


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("http-upstreams")


async def _remote(server: HttpServer, everything: bool) -> AsyncIterator[Remote]:
    await server.start()
    upstream = make_upstream(server.config())
    try:
        await upstream.start()
        yield Remote(server, upstream, everything)
    finally:
        await upstream.stop()
        server.kill()


@pytest.fixture(scope="module")
async def fixture_streamable(server_dir) -> AsyncIterator[Remote]:
    async for remote in _remote(fixture_server(server_dir, Transport.STREAMABLE_HTTP), False):
        yield remote


@pytest.fixture(scope="module")
async def fixture_sse(server_dir) -> AsyncIterator[Remote]:
    async for remote in _remote(fixture_server(server_dir, Transport.SSE), False):
        yield remote


@pytest.fixture(scope="module")
async def everything_streamable(server_dir, server_everything) -> AsyncIterator[Remote]:  # noqa: F811
    server = everything_server(server_dir, server_everything, Transport.STREAMABLE_HTTP)
    async for remote in _remote(server, True):
        yield remote


@pytest.fixture(scope="module")
async def everything_sse(server_dir, server_everything) -> AsyncIterator[Remote]:  # noqa: F811
    server = everything_server(server_dir, server_everything, Transport.SSE)
    async for remote in _remote(server, True):
        yield remote


ALL_REMOTES = ["fixture_streamable", "fixture_sse", "everything_streamable", "everything_sse"]
FIXTURE_REMOTES = ["fixture_streamable", "fixture_sse"]


@pytest.fixture(params=ALL_REMOTES)
def remote(request) -> Remote:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=FIXTURE_REMOTES)
def fixture_remote(request) -> Remote:
    return request.getfixturevalue(request.param)


async def echo(remote: Remote, text: str, **options: Any) -> str:
    if remote.everything:
        result = await call_tool(remote.upstream, "echo", {"message": text}, **options)
        return text_of(result).removeprefix("Echo: ")
    return text_of(await call_tool(remote.upstream, "echo", {"text": text}, **options))


# --- the protocol over both transports, both eras --------------------------------------------


async def test_handshake_lands_in_the_newest_era_each_server_speaks(remote):
    upstream = remote.upstream
    if remote.everything:
        assert (upstream.era, upstream.protocol_version) == (Era.HANDSHAKE, "2025-11-25")
        assert upstream.server_info["name"] == "mcp-servers/everything"
    else:
        assert (upstream.era, upstream.protocol_version) == (Era.MODERN, "2026-07-28")
        assert upstream.server_info == {"name": "mcp-orch-fixture", "version": "1.0.0"}
    if remote.everything and isinstance(upstream, StreamableHttpUpstream):
        assert upstream.session_id  # handed out by initialize, sent on every later request
    tools = await upstream.request("tools/list", None, timeout=10)
    assert "echo" in {tool["name"] for tool in tools["tools"]}
    assert await echo(remote, "héllo wörld") == "héllo wörld"


async def test_16_concurrent_callers_each_get_their_own_answers(remote):
    async def caller(index: int) -> list[str]:
        return [await echo(remote, f"{index}:{call}") for call in range(20)]

    answers = await asyncio.gather(*(caller(index) for index in range(16)))
    for index, texts in enumerate(answers):
        assert texts == [f"{index}:{call}" for call in range(20)]
    assert remote.upstream.in_flight == 0


async def test_progress_reaches_only_the_caller_that_asked(remote):
    # Both callers use the same token, as two independent clients may: it must not matter.
    first: list[dict] = []
    second: list[dict] = []
    unsolicited: list[dict] = []
    unsubscribe = remote.upstream.subscribe(unsolicited.append)

    def progress(steps: int, on_notification=None):
        if remote.everything:
            tool, arguments = "trigger-long-running-operation", {"duration": 0.1 * steps}
            arguments["steps"] = steps
        else:
            tool, arguments = "progress", {"steps": steps}
        if on_notification is None:
            return call_tool(remote.upstream, tool, arguments)
        return call_tool(
            remote.upstream,
            tool,
            arguments,
            meta={"progressToken": "tok"},
            on_notification=on_notification,
        )

    try:
        await asyncio.gather(progress(3, first.append), progress(5, second.append), progress(2))
    finally:
        unsubscribe()
    assert [n["params"]["progress"] for n in first] == [1, 2, 3]
    assert [n["params"]["progress"] for n in second] == [1, 2, 3, 4, 5]
    assert {n["params"]["progressToken"] for n in first + second} == {"tok"}
    assert [m for m in unsolicited if m["method"] == "notifications/progress"] == []


async def test_configured_headers_reach_the_upstream_and_nothing_else_is_added(fixture_remote):
    async def header(name: str) -> str:
        result = await call_tool(fixture_remote.upstream, "request_header", {"name": name})
        return text_of(result)

    assert await header("X-Api-Key") == "sk-upstream-7731"
    assert await header("Authorization") == "Bearer upstream-secret"
    assert (await header("User-Agent")).startswith("mcp-orch/")
    assert await header("Cookie") == ""
    if isinstance(fixture_remote.upstream, StreamableHttpUpstream):
        # The 2026-07-28 routing headers the SDK client sends with every request.
        assert await header("MCP-Protocol-Version") == "2026-07-28"
        assert await header("Mcp-Method") == "tools/call"
        assert await header("Mcp-Name") == "request_header"


async def test_arguments_a_tool_routes_on_go_out_as_mcp_param_headers(tmp_path):
    server = fixture_server(tmp_path, Transport.STREAMABLE_HTTP)
    server.env["FIXTURE_PARAM_HEADER_TOOL"] = "1"
    await server.start()
    upstream = StreamableHttpUpstream(server.config())
    try:
        await upstream.start()
        # The server refuses a call without `Mcp-Param-Region` before running it; the
        # upstream learns the header from tools/list and sends the call again.
        for region in ("eu-west", "ünïcode"):
            result = await call_tool(upstream, "routed", {"region": region})
            assert text_of(result) == region
        calls = call_log_lines(Path(server.env["FIXTURE_CALL_LOG"]))
        assert calls.count("routed") == 2
    finally:
        await upstream.stop()
        server.kill()


async def test_server_notifications_arrive_on_the_get_stream(everything_streamable):
    received: list[dict] = []
    upstream = everything_streamable.upstream
    unsubscribe = upstream.subscribe(received.append)
    try:
        await call_tool(upstream, "toggle-simulated-logging", {})
        await eventually(
            lambda: any(m["method"] == "notifications/message" for m in received), 5.0, "a log"
        )
        await call_tool(upstream, "toggle-simulated-logging", {})
    finally:
        unsubscribe()


async def test_slow_call_times_out_and_is_never_retried(fixture_remote):
    before = fixture_remote.calls.count("slow")
    began = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not answer tools/call within 0\.5s"):
        await call_tool(fixture_remote.upstream, "slow", {"seconds": 30}, timeout=0.5)
    assert time.monotonic() - began < 2.0
    # Told to stop: a closed response stream (2026-07-28 over streamable HTTP) or
    # notifications/cancelled (SSE).
    await eventually(
        lambda: fixture_remote.calls.count("slow:cancelled") == before + 1, 3.0, "the cancel"
    )
    await asyncio.sleep(0.3)  # room for a retry, were there one
    assert fixture_remote.calls.count("slow") == before + 1
    assert await echo(fixture_remote, "still up") == "still up"
    assert fixture_remote.upstream.in_flight == 0


# --- sessions (streamable HTTP, handshake era) -----------------------------------------------


async def test_a_handshake_era_session_answers_the_servers_own_requests(fixture_streamable):
    upstream = StreamableHttpUpstream(fixture_streamable.server.config(), era=Era.HANDSHAKE)
    await upstream.start()
    try:
        assert upstream.protocol_version == "2025-11-25" and upstream.session_id
        # Our replies to the server's requests are POSTed back on the session.
        answers = [
            text_of(await call_tool(upstream, "ask_client", {"what": what}))
            for what in ("ping", "roots", "sampling")
        ]
        assert answers[:2] == ["pong", "roots: 0"]
        assert answers[2].startswith("error -32601: mcp-orch does not pass sampling/createMessage")
        received: list[dict] = []
        upstream.subscribe(received.append)
        await call_tool(upstream, "announce_tools_changed", {})
        await eventually(lambda: received, 2.0, "the list_changed notification")
        assert received[0]["method"] == "notifications/tools/list_changed"
    finally:
        await upstream.stop()


async def test_a_modern_servers_list_changes_arrive_on_a_listen_stream(fixture_streamable):
    # 2026-07-28: no session and no GET stream; the upstream keeps a subscriptions/listen
    # request open and publishes what arrives on it.
    upstream = StreamableHttpUpstream(fixture_streamable.server.config())
    received = await announced_tool_changes(upstream, settle=0.3)
    assert [m["method"] for m in received] == ["notifications/tools/list_changed"]


async def _forget_session(upstream: StreamableHttpUpstream) -> str:
    """End the upstream's session behind its back, as a server restart would."""
    lost = upstream.session_id
    async with httpx.AsyncClient() as client:
        await client.delete(upstream.url, headers={"mcp-session-id": lost})
    return lost


async def test_a_lost_session_is_renewed_once_and_refused_requests_replayed(tmp_path):
    server = fixture_server(tmp_path, Transport.STREAMABLE_HTTP)
    await server.start()
    upstream = StreamableHttpUpstream(server.config(), era=Era.HANDSHAKE)
    try:
        await upstream.start()
        assert upstream.era is Era.HANDSHAKE and upstream.session_id
        calls = Path(server.env["FIXTURE_CALL_LOG"])
        lost = await _forget_session(upstream)
        results = await asyncio.gather(
            *(call_tool(upstream, "echo", {"text": str(n)}) for n in range(8))
        )
        assert [text_of(result) for result in results] == [str(n) for n in range(8)]
        assert upstream.session_id not in (None, lost)
        assert call_log_lines(calls).count("echo") == 8  # each ran exactly once

        # A call the server was already running when the session went may have run: it fails
        # and is not sent again.
        running = asyncio.create_task(call_tool(upstream, "slow", {"seconds": 3}))
        await eventually(lambda: "slow" in call_log_lines(calls), 3.0, "the slow call")
        await _forget_session(upstream)
        with pytest.raises(UpstreamUnavailable, match="not retried"):
            await running
        assert text_of(await call_tool(upstream, "echo", {"text": "after"})) == "after"
        assert call_log_lines(calls).count("slow") == 1
    finally:
        await upstream.stop()
        server.kill()


async def test_server_everything_session_renewal_and_delete_on_stop(
    tmp_path,
    server_everything,  # noqa: F811
):
    # server-everything answers an unknown session with 400 rather than the spec's 404.
    server = everything_server(tmp_path, server_everything, Transport.STREAMABLE_HTTP)
    await server.start()
    upstream = StreamableHttpUpstream(server.config())
    try:
        await upstream.start()
        await _forget_session(upstream)
        result = await call_tool(upstream, "echo", {"message": "renewed"})
        assert text_of(result) == "Echo: renewed"
        session = upstream.session_id
        await upstream.stop()
        await eventually(
            lambda: f"termination request for session {session}" in server.log.read_text(),
            3.0,
            "the DELETE of the session",
        )
    finally:
        await upstream.stop()
        server.kill()


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", [Transport.STREAMABLE_HTTP, Transport.SSE])
async def test_nothing_listening_is_unavailable_with_a_readable_message(transport):
    port = free_port()
    config = UpstreamConfig(
        server_id="gone",
        name="gone",
        transport=transport,
        url=f"http://127.0.0.1:{port}/mcp?api_key=sk-in-the-query",
    )
    events = Events()
    pool = UpstreamPool(on_event=events)
    try:
        with pytest.raises(UpstreamUnavailable) as error:
            await pool.get(config)
    finally:
        await pool.stop_all()
    message = str(error.value)
    assert f"MCP server 'gone' is not reachable at http://127.0.0.1:{port}/mcp" in message
    assert "sk-in-the-query" not in message
    [(_, _, level, logged, _)] = events.of(ServerLogCategory.START)
    assert level is LogLevel.ERROR and "is not reachable" in logged


async def test_a_header_that_cannot_be_sent_is_named_without_its_value():
    config = UpstreamConfig(
        server_id="bad",
        name="bad",
        transport=Transport.STREAMABLE_HTTP,
        url="http://127.0.0.1:9/mcp",
        headers={"X-Api-Key": "sk-clé\r\nInjected: yes"},
    )
    with pytest.raises(UpstreamUnavailable) as error:
        await make_upstream(config).start()
    assert str(error.value) == (
        "MCP server 'bad': the value of header 'X-Api-Key' cannot be sent over HTTP "
        "(use printable ASCII, no line breaks)"
    )


async def test_a_wrong_path_says_what_answered(fixture_streamable, fixture_sse):
    wrong = make_upstream(fixture_streamable.server.config(url=fixture_streamable.server.url + "x"))
    with pytest.raises(UpstreamUnavailable, match="is this the server's MCP endpoint URL"):
        await wrong.start()
    wrong = make_upstream(fixture_sse.server.config(url=fixture_sse.server.url + "x"))
    with pytest.raises(UpstreamUnavailable, match=r"HTTP 404 .* is this its SSE URL"):
        await wrong.start()


@pytest.mark.parametrize("transport", [Transport.STREAMABLE_HTTP, Transport.SSE])
async def test_refused_credentials_are_named(transport):
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    config = UpstreamConfig(
        server_id="locked",
        name="locked",
        transport=transport,
        url=f"http://127.0.0.1:{port}/mcp",
        headers={"Authorization": "Bearer wrong"},
    )
    try:
        with pytest.raises(UpstreamUnavailable) as error:
            await make_upstream(config).start()
    finally:
        listener.close()
    assert "MCP server 'locked' refused the configured credentials (HTTP 401" in str(error.value)
    assert "wrong" not in str(error.value)


@pytest.mark.slow
@pytest.mark.parametrize("which", ALL_REMOTES)
async def test_killed_server_fails_the_call_at_once_and_the_pool_restarts(
    which,
    tmp_path,
    server_everything,  # noqa: F811
):
    transport = Transport.SSE if which.endswith("sse") else Transport.STREAMABLE_HTTP
    if which.startswith("everything"):
        server = everything_server(tmp_path, server_everything, transport)
        tool, arguments = "trigger-long-running-operation", {"duration": 10, "steps": 10}
    else:
        server = fixture_server(tmp_path, transport)
        tool, arguments = "slow", {"seconds": 10}
    events = Events()
    pool = UpstreamPool(on_event=events, backoff_initial=0.3)
    config = server.config(timeout_seconds=30)
    await server.start()
    try:
        await pool.get(config)
        pending = asyncio.create_task(
            pool.request(config, "tools/call", {"name": tool, "arguments": arguments})
        )
        await asyncio.sleep(0.5)
        began = time.monotonic()
        server.kill()
        with pytest.raises(UpstreamUnavailable, match="MCP server 'remote'"):
            await pending
        assert time.monotonic() - began < 2.0, "the call waited for its timeout"
        await eventually(lambda: events.of(ServerLogCategory.CRASH), 2.0, "the crash report")
        [(_, _, level, _, _)] = events.of(ServerLogCategory.CRASH)
        assert level is LogLevel.ERROR

        await server.start()  # back on the same port
        await asyncio.sleep(0.4)  # past the backoff
        if which.startswith("everything"):
            result = await pool.request(
                config, "tools/call", {"name": "echo", "arguments": {"message": "back"}}
            )
            assert text_of(result) == "Echo: back"
        else:
            result = await pool.request(
                config, "tools/call", {"name": "echo", "arguments": {"text": "back"}}
            )
            assert text_of(result) == "back"
        [(_, _, _, restarted, _)] = events.of(ServerLogCategory.RESTART)
        assert restarted.startswith("started in")
    finally:
        await pool.stop_all()
        server.kill()


async def test_the_pool_builds_http_upstreams(fixture_streamable, fixture_sse):
    events = Events()
    pool = UpstreamPool(on_event=events)
    try:
        for remote, kind in (
            (fixture_streamable, StreamableHttpUpstream),
            (fixture_sse, SseUpstream),
        ):
            config = remote.server.config()
            upstream = await pool.get(config)
            assert type(upstream) is kind and upstream.healthy
            result = await pool.request(
                config, "tools/call", {"name": "echo", "arguments": {"text": "pooled"}}
            )
            assert text_of(result) == "pooled"
    finally:
        await pool.stop_all()
    starts = [row[3] for row in events.of(ServerLogCategory.START)]
    assert len(starts) == 2
    assert all("(modern era, protocol 2026-07-28)" in message for message in starts)


def _refusing_first_requests(refusals: int, seen: list[tuple[str, str, str]]):
    """A minimal 2026-07-28 server over raw HTTP that answers its first ``refusals`` requests
    with HTTP 400 / -32022 naming 2026-07-28 itself as supported (the conformance suite's
    request-metadata mock does this once), and serves discover and tools/list after that.
    ``seen`` gets (method, MCP-Protocol-Version header, _meta protocolVersion) of each POST."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lowered = {
            name.lower(): value
            for name, _, value in (line.partition(": ") for line in head.split("\r\n")[1:])
        }
        body = json.loads(await reader.readexactly(int(lowered.get("content-length", "0"))))
        meta = body.get("params", {}).get("_meta", {})
        seen.append(
            (
                body["method"],
                lowered.get("mcp-protocol-version", ""),
                meta.get("io.modelcontextprotocol/protocolVersion", ""),
            )
        )
        status = "200 OK"
        if len(seen) <= refusals:
            status = "400 Bad Request"
            answer = {
                "error": {
                    "code": -32022,
                    "message": "Unsupported protocol version",
                    "data": {"supported": ["2026-07-28"], "requested": "2026-07-28"},
                }
            }
        elif body["method"] == "server/discover":
            answer = {
                "result": {
                    "resultType": "complete",
                    "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "picky", "version": "1.0"},
                    "ttlMs": 0,
                    "cacheScope": "private",
                }
            }
        else:
            answer = {"result": {"resultType": "complete", "tools": []}}
        payload = json.dumps({"jsonrpc": "2.0", "id": body.get("id"), **answer}).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        writer.close()

    return serve


async def _picky_server(
    refusals: int, seen: list[tuple[str, str, str]]
) -> tuple[asyncio.Server, UpstreamConfig]:
    listener = await asyncio.start_server(_refusing_first_requests(refusals, seen), "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    config = UpstreamConfig(
        server_id=f"picky-{refusals}",
        name="picky",
        transport=Transport.STREAMABLE_HTTP,
        url=f"http://127.0.0.1:{port}/mcp",
    )
    return listener, config


async def test_a_refused_first_discover_is_retried_once_with_the_version_named():
    """SEP-2575: a -32022 naming a version both speak (even the one just sent) gets one retry
    with it, as the SDK client does; before, mcp-orch called the server incompatible."""
    seen: list[tuple[str, str, str]] = []
    listener, config = await _picky_server(1, seen)
    upstream = make_upstream(config)
    try:
        await upstream.start()
        assert (upstream.era, upstream.protocol_version) == (Era.MODERN, "2026-07-28")
        assert await upstream.request("tools/list", None, timeout=10) == {
            "resultType": "complete",
            "tools": [],
        }
    finally:
        await upstream.stop()
        listener.close()
    assert seen[:2] == [("server/discover", "2026-07-28", "2026-07-28")] * 2
    assert seen[2][0] == "tools/list"


async def test_a_server_refusing_every_version_it_names_is_given_up_on():
    """The retry is bounded: a server that keeps refusing the version it claims to support is
    an error after a few requests, never a loop."""
    seen: list[tuple[str, str, str]] = []
    listener, config = await _picky_server(100, seen)
    try:
        with pytest.raises((UpstreamUnavailable, UpstreamError)):
            await make_upstream(config).start()
    finally:
        listener.close()
    assert 2 <= len(seen) <= 4, seen
