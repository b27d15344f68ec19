"""Parity and faults through the gateway, with real third-party MCP servers upstream.

In the style of sparfenyuk/mcp-proxy's tests, one client scenario (`scenario`) runs directly
against an upstream and through mcp-orch's per-server endpoint, and both runs must give the same
answers: the full tool definitions, tool results and errors, progress notifications, resources,
resource templates and reads, prompts and get_prompt. It is parametrised over
- the upstream: our fixture server, `@modelcontextprotocol/server-everything` (npm, TypeScript
  SDK) and `mcp-server-time` (PyPI, requirements-test.txt) run by the gateway over stdio, and the
  fixture and server-everything serving streamable HTTP and SSE themselves on 127.0.0.1, as the
  project's remote servers;
- the client's transport to the gateway: streamable HTTP and SSE;
- the client's mode: `ClientSession.initialize()` (the 2025-11-25 handshake) and `mcp.Client`
  in auto mode (server/discover first: the gateway serves it the 2026-07-28 era whatever the
  upstream speaks).
The direct run uses the same mode over the upstream's own transport (stdio, or its URL), once
per upstream and mode; every HTTP server runs once per module. The gateway's SSE endpoint serves
the handshake era only, so there an auto-mode client lands on 2025-11-25 and is compared with
the direct handshake run (`landing_mode`). Volatile values (the current time, creation
timestamps) are masked by the `view` of the request that returns them.

Also through the gateway: the headers of a remote server's configuration reach it, the client's
API key and headers do not; resource subscriptions are offered to a handshake-era client only
where they work; a third-party upstream killed from outside in the middle of a call (stdio,
streamable HTTP, SSE) fails that call at once and the next one works; a hanging call on a remote
upstream times out once and is not retried. (The fixture over stdio has those fault tests and
the 32 x 50 concurrency test in test_gateway_endpoints.py; the real app's shutdown is in
test_app_shutdown.py.)
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mcp_orch_app import db
from mcp_orch_app.gateway.forwarding import UPSTREAM_UNAVAILABLE_ERROR
from mcp_orch_app.models.enums import Transport
from mcp_orch_app.models.logs import ServerLog, ToolCallLog
from mcp_orch_app.services import servers
from mcp_orch_app.services.schemas import ServerIn
from tests.helpers import FIXTURE_SERVER
from tests.integration.test_gateway_endpoints import (
    Setup,
    flushed,
    live,  # noqa: F401  (the app under uvicorn, per test)
    rows,
    server_everything,  # noqa: F401  (the npm install, once per session)
    setup,  # noqa: F401  (a project with an API key)
)
from tests.integration.test_http_upstreams import HttpServer, everything_server, fixture_server
from tests.integration.test_upstream_pool import call_log_lines, eventually
from tests.live_app import LiveApp

CLIENT_TRANSPORTS = ["streamable_http", "sse"]
MODES = ["handshake", "auto"]
UPSTREAM_HEADERS = {"X-Api-Key": "sk-upstream-7731"}


# --- what the scenario asks ------------------------------------------------------------------


def _as_is(answer: Any) -> Any:
    return answer


@dataclass(frozen=True)
class Ask:
    """One request of the scenario (a tool, a resource URI or a prompt) and how its answer is
    compared: `view` turns the plain answer into what must be equal on both runs."""

    target: str
    arguments: dict[str, Any] | None = None
    view: Callable[[Any], Any] = _as_is


@dataclass(frozen=True)
class Script:
    """What the scenario asks of one server."""

    calls: tuple[Ask, ...]
    reads: tuple[Ask, ...] = ()
    prompts: tuple[Ask, ...] = ()
    progress: Ask | None = None

    @property
    def tool_calls(self) -> int:
        return len(self.calls) + (self.progress is not None)


def _plain(result: Any) -> Any:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def _answer(ask: Ask, request: Awaitable[Any]) -> Any:
    """The answer as plain values, a protocol error as its code and message."""
    try:
        answer = _plain(await request)
    except MCPError as error:
        answer = {"error": error.code, "message": error.message}
    return ask.view(answer)


def _failed(answer: dict[str, Any]) -> bool:
    """Only that the request failed: the SDK server's code and message for an unknown prompt
    differ between the eras (0 with the reason in the handshake era, -32603 without it in the
    2026-07-28 era), and the gateway speaks the upstream's newest era whatever the client's."""
    return "error" in answer


async def scenario(client: Any, script: Script) -> dict[str, Any]:
    """Everything a client sees of a server, as plain comparable values (a `ClientSession` after
    `initialize()` and an `mcp.Client` have the same methods for all of it)."""
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    session = _session_of(client)
    tools = await client.list_tools()
    answers: dict[str, Any] = {
        # The features offered, not their flags: the gateway passes list changes of a modern
        # upstream on to a handshake-era client (it listens for them), which the server itself
        # does not offer in that era. Resource subscriptions have a test of their own.
        "server": (
            _plain(session.server_info),
            sorted(_plain(session.server_capabilities)),
            session.instructions,
        ),
        "tools": sorted((_plain(tool) for tool in tools.tools), key=lambda tool: tool["name"]),
        "calls": [
            await _answer(ask, client.call_tool(ask.target, ask.arguments)) for ask in script.calls
        ],
    }
    if script.progress is not None:
        ask = script.progress
        result = await _answer(
            ask, client.call_tool(ask.target, ask.arguments, progress_callback=on_progress)
        )
        answers["progress"] = (result, progress)
    answers["resources"] = _plain(await client.list_resources())
    answers["templates"] = _plain(await client.list_resource_templates())
    answers["reads"] = [
        await _answer(ask, client.read_resource(ask.target)) for ask in script.reads
    ]
    answers["prompts"] = _plain(await client.list_prompts())
    answers["prompt"] = [
        await _answer(ask, client.get_prompt(ask.target, ask.arguments)) for ask in script.prompts
    ]
    return answers


def _text(answer: dict[str, Any], index: int = 0) -> str:
    return answer["content"][index]["text"]


# The scripts of the three servers ------------------------------------------------------------

FIXTURE_SCRIPT = Script(
    calls=(
        Ask("echo", {"text": "héllo"}),
        Ask("add", {"a": 2, "b": 3.5}),
        Ask("fail", {"message": "no luck"}),
        Ask("add", {"a": "two"}),
        Ask("no-such-tool", {}),
    ),
    reads=(Ask("fixture://greeting"), Ask("fixture://items/42"), Ask("fixture://nothing")),
    prompts=(Ask("greet", {"name": "Ada"}), Ask("no-such-prompt", view=_failed)),
    progress=Ask("progress", {"steps": 3}),
)


def _fixture_answers_are_real(answers: dict[str, Any]) -> None:
    echo, added, failed, invalid, _ = answers["calls"]
    assert _text(echo) == "héllo" and added["structuredContent"] == {"result": 5.5}
    assert failed["isError"] and _text(failed).endswith("no luck") and invalid["isError"]
    assert answers["progress"][1] == [(s, 3, f"step {s} of 3") for s in (1, 2, 3)]
    assert [read.get("contents", [{}])[0].get("text") for read in answers["reads"][:2]] == [
        "hello from the fixture",
        "item 42",
    ]
    assert "error" in answers["reads"][2] and answers["prompt"][1] is True


_CLOCK = re.compile(r"\b\d{1,2}:\d{2}:\d{2}( [AP]M)?")


def _without_clock_times(answer: Any) -> Any:
    """server-everything stamps its dynamic resources with the time they were made."""
    if isinstance(answer, str):
        return _CLOCK.sub("<time>", answer)
    if isinstance(answer, dict):
        return {key: _without_clock_times(value) for key, value in answer.items()}
    if isinstance(answer, list):
        return [_without_clock_times(value) for value in answer]
    return answer


EVERYTHING_SCRIPT = Script(
    calls=(
        Ask("echo", {"message": "hi"}),
        Ask("get-sum", {"a": 2, "b": 3.5}),
        Ask("get-sum", {"a": "two"}),
        Ask("get-structured-content", {"location": "New York"}),
        Ask("get-annotated-message", {"messageType": "error", "includeImage": True}),
        Ask("get-tiny-image", {}),
        Ask(
            "get-resource-reference",
            {"resourceType": "Text", "resourceId": 3},
            view=_without_clock_times,
        ),
        Ask("no-such-tool", {}),
    ),
    reads=(
        Ask("demo://resource/static/document/features.md"),
        Ask("demo://resource/dynamic/text/1", view=_without_clock_times),
    ),
    prompts=(
        Ask("simple-prompt"),
        Ask("args-prompt", {"city": "Paris", "state": "TX"}),
        Ask(
            "resource-prompt",
            {"resourceType": "Text", "resourceId": "2"},
            view=_without_clock_times,
        ),
    ),
    progress=Ask("trigger-long-running-operation", {"duration": 0.3, "steps": 3}),
)


def _everything_answers_are_real(answers: dict[str, Any]) -> None:
    echo, added, invalid, structured, *_ = answers["calls"]
    assert _text(echo) == "Echo: hi" and _text(added) == "The sum of 2 and 3.5 is 5.5."
    assert invalid["isError"] and "expected number" in _text(invalid)
    assert set(structured["structuredContent"]) == {"temperature", "conditions", "humidity"}
    assert [value for value, _, _ in answers["progress"][1]] == [1, 2, 3]
    assert {"echo", "get-sum", "trigger-long-running-operation"} <= {
        tool["name"] for tool in answers["tools"]
    }
    assert "<time>" in answers["reads"][1]["contents"][0]["text"]


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEKDAY = re.compile(r"\b(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b")


def _undated(answer: Any) -> Any:
    """convert_time converts a wall-clock time of *today*: the date is not part of the answer."""
    return _WEEKDAY.sub("<day>", _DATE.sub("<date>", str(answer)))


def _time_shape(answer: dict[str, Any]) -> Any:
    """get_current_time changes every second: compare the shape and the timezone only."""
    now = answer.get("structuredContent", {})
    return (
        answer.get("isError"),
        sorted(now),
        now.get("timezone"),
        str(now.get("datetime", "")).endswith("+00:00"),
    )


TIME_SCRIPT = Script(
    calls=(
        Ask(
            "convert_time",
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Kolkata"},
            view=_undated,
        ),
        Ask(
            "convert_time",
            {"source_timezone": "UTC", "time": "25:99", "target_timezone": "Asia/Tokyo"},
        ),
        Ask("get_current_time", {"timezone": "Mars/Olympus_Mons"}),
        Ask("get_current_time", {"timezone": "UTC"}, view=_time_shape),
        Ask("no-such-tool", {}),
    ),
)


def _time_answers_are_real(answers: dict[str, Any]) -> None:
    converted, bad_time, bad_zone, now, unknown = answers["calls"]
    assert "'time_difference': '+5.5h'" in converted and "T17:30:00+05:30" in converted
    assert bad_time["isError"] and "Invalid time format" in _text(bad_time)
    assert bad_zone["isError"] and "Invalid timezone" in _text(bad_zone)
    assert now == (False, ["datetime", "day_of_week", "is_dst", "timezone"], "UTC", True)
    assert unknown == {"error": -32602, "message": "Unknown tool: no-such-tool"}
    assert {tool["name"] for tool in answers["tools"]} == {"get_current_time", "convert_time"}


# --- the upstreams -------------------------------------------------------------------------------

Connector = Callable[[], Any]
"""Opens a fresh client transport (an async context manager giving the two streams)."""


@dataclass
class Subject:
    """One upstream: how the project configures it, how to reach it directly, what to ask."""

    server: ServerIn
    direct: Connector
    script: Script
    check: Callable[[dict[str, Any]], None]
    """Asserts that the direct answers are the real ones (not two equal failures)."""


def _stdio(command: str, *args: str) -> Connector:
    params = StdioServerParameters(
        command=command, args=list(args), env={"PATH": os.environ["PATH"]}
    )
    return lambda: stdio_client(params)


def _stdio_subject(name: str, script: Script, check, command: str, *args: str) -> Subject:
    return Subject(
        ServerIn(name=name, command=command, args=list(args), timeout_seconds=20),
        _stdio(command, *args),
        script,
        check,
    )


def _remote_subject(name: str, process: HttpServer, script: Script, check) -> Subject:
    server = ServerIn(
        name=name,
        transport=process.transport.value,
        url=process.url,
        headers=UPSTREAM_HEADERS,
        timeout_seconds=20,
    )
    if process.transport is Transport.SSE:
        return Subject(server, lambda: sse_client(process.url), script, check)
    return Subject(server, lambda: _streamable(process.url, {}), script, check)


@pytest.fixture(scope="module")
def http_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("parity-http-servers")


async def _serving(process: HttpServer) -> AsyncIterator[HttpServer]:
    await process.start()
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="module")
async def fixture_streamable(http_dir) -> AsyncIterator[HttpServer]:
    async for process in _serving(fixture_server(http_dir, Transport.STREAMABLE_HTTP)):
        yield process


@pytest.fixture(scope="module")
async def fixture_sse(http_dir) -> AsyncIterator[HttpServer]:
    async for process in _serving(fixture_server(http_dir, Transport.SSE)):
        yield process


@pytest.fixture(scope="module")
async def everything_streamable(http_dir, server_everything) -> AsyncIterator[HttpServer]:  # noqa: F811
    server = everything_server(http_dir, server_everything, Transport.STREAMABLE_HTTP)
    async for process in _serving(server):
        yield process


@pytest.fixture(scope="module")
async def everything_sse(http_dir, server_everything) -> AsyncIterator[HttpServer]:  # noqa: F811
    async for process in _serving(everything_server(http_dir, server_everything, Transport.SSE)):
        yield process


@pytest.fixture(params=["fixture_streamable", "fixture_sse"])
def fixture_remote(request) -> HttpServer:
    """The fixture server serving streamable HTTP, then SSE."""
    return request.getfixturevalue(request.param)


SUBJECTS = [
    "fixture-stdio",
    "everything-stdio",
    "time-stdio",
    "fixture-streamable",
    "fixture-sse",
    "everything-streamable",
    "everything-sse",
]


@pytest.fixture(params=SUBJECTS)
def subject(request) -> Subject:
    name = request.param
    if name == "fixture-stdio":
        return _stdio_subject(
            name, FIXTURE_SCRIPT, _fixture_answers_are_real, sys.executable, str(FIXTURE_SERVER)
        )
    if name == "time-stdio":
        return _stdio_subject(
            name,
            TIME_SCRIPT,
            _time_answers_are_real,
            sys.executable,
            "-m",
            "mcp_server_time",
            "--local-timezone",
            "UTC",
        )
    everything = request.getfixturevalue("server_everything")
    if name == "everything-stdio":
        return _stdio_subject(
            name, EVERYTHING_SCRIPT, _everything_answers_are_real, str(everything), "stdio"
        )
    process = request.getfixturevalue(name.replace("-", "_"))
    if name.startswith("fixture"):
        return _remote_subject(name, process, FIXTURE_SCRIPT, _fixture_answers_are_real)
    return _remote_subject(name, process, EVERYTHING_SCRIPT, _everything_answers_are_real)


# --- clients -------------------------------------------------------------------------------------


@asynccontextmanager
async def _streamable(url: str, headers: dict[str, str]):
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


def through_gateway(
    app: LiveApp, project: Setup, server: str, client_transport: str, **headers: str
) -> Any:
    """A client transport to the server's gateway endpoint, with the project's API key."""
    headers = {"Authorization": f"Bearer {project.key}", **headers}
    if client_transport == "sse":
        return sse_client(app.url(project.project_id, server, "sse"), headers=headers)
    return _streamable(app.url(project.project_id, server), headers)


@asynccontextmanager
async def connected(transport: Any, mode: str) -> AsyncIterator[Any]:
    """A `ClientSession` after `initialize()` (handshake) or an `mcp.Client` (auto mode)."""
    if mode == "auto":
        async with Client(transport) as client:
            yield client
        return
    async with transport as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def landing_mode(client_transport: str, mode: str) -> str:
    """The mode whose direct run a gateway client must match: the era it lands in.

    The gateway's SSE endpoint serves the handshake era only (HTTP+SSE is the 2024-11-05
    transport, deprecated since 2025-03-26), so an auto-mode client falls back to `initialize`
    there and must see what a handshake client sees directly.
    """
    return "auto" if mode == "auto" and client_transport == "streamable_http" else "handshake"


def _session_of(client: Any) -> ClientSession:
    return client.session if isinstance(client, Client) else client


@pytest.fixture(scope="module")
def direct_answers() -> Callable[[Subject, str], Awaitable[dict[str, Any]]]:
    """The scenario's answers straight from the upstream, once per upstream and mode."""
    answers: dict[tuple[str, str], dict[str, Any]] = {}

    async def of(subject: Subject, mode: str) -> dict[str, Any]:
        key = (subject.server.name, mode)
        if key not in answers:
            async with connected(subject.direct(), mode) as client:
                answers[key] = await scenario(client, subject.script)
            subject.check(answers[key])
        return answers[key]

    return of


def add_server(engine, project: Setup, server: ServerIn) -> uuid.UUID:
    """Add the server to the project; returns its id."""
    with db.session_scope(engine) as s:
        return servers.create_server(s, project.owner.actor, project.project_id, server).id


# --- parity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("client_transport", CLIENT_TRANSPORTS)
async def test_a_client_gets_the_same_answers_directly_and_through_the_gateway(
    live,  # noqa: F811
    setup,  # noqa: F811
    engine,
    subject,
    client_transport,
    mode,
    direct_answers,
):
    add_server(engine, setup, subject.server)
    era = landing_mode(client_transport, mode)
    expected = await direct_answers(subject, era)
    gateway = through_gateway(live, setup, subject.server.name, client_transport)
    async with connected(gateway, mode) as client:
        assert _session_of(client).protocol_version == (
            "2026-07-28" if era == "auto" else "2025-11-25"
        )
        assert await scenario(client, subject.script) == expected
    await flushed(live)
    calls = rows(engine, ToolCallLog, ToolCallLog.project_id == setup.project_id)
    assert len(calls) == subject.script.tool_calls
    assert {call.server_name for call in calls} == {subject.server.name}


# --- remote servers: headers ----------------------------------------------------------------


@pytest.mark.parametrize("client_transport", CLIENT_TRANSPORTS)
async def test_configured_headers_reach_a_remote_server_and_the_clients_key_does_not(
    live,  # noqa: F811
    setup,  # noqa: F811
    engine,
    fixture_remote,
    client_transport,
):
    process = fixture_remote
    configured = {
        "keyed": {"X-Api-Key": "sk-upstream-7731"},
        "bearer": {"Authorization": "Bearer upstream-secret"},
    }
    transport = process.transport.value
    for name, headers in configured.items():
        server = ServerIn(name=name, transport=transport, url=process.url, headers=headers)
        add_server(engine, setup, server)
    asked = ("X-Api-Key", "Authorization", "X-Client-Secret", "Cookie")
    for name, headers in configured.items():
        gateway = through_gateway(
            live, setup, name, client_transport, **{"X-Client-Secret": "s3cret", "Cookie": "a=b"}
        )
        async with connected(gateway, "handshake") as client:
            seen = {
                header: _text(_plain(await client.call_tool("request_header", {"name": header})))
                for header in asked
            }
        # Only the server's own configuration goes upstream: never the client's mch_ key or
        # anything else the client sent.
        assert seen == {header: headers.get(header, "") for header in asked}


# --- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upstream", [Transport.STDIO, Transport.STREAMABLE_HTTP, Transport.SSE], ids=str
)
async def test_a_third_party_server_killed_mid_call_fails_that_call_and_the_next_call_works(
    live,  # noqa: F811
    setup,  # noqa: F811
    engine,
    server_everything,  # noqa: F811
    tmp_path,
    upstream,
):
    process = None
    if upstream is Transport.STDIO:
        server = ServerIn(name="victim", command=str(server_everything), args=["stdio"])
    else:
        process = everything_server(tmp_path, server_everything, upstream)
        await process.start()
        server = ServerIn(name="victim", transport=upstream.value, url=process.url)
    server_id = add_server(engine, setup, server)
    try:
        gateway = through_gateway(live, setup, "victim", "streamable_http")
        async with connected(gateway, "handshake") as client:
            await client.call_tool("echo", {"message": "warm"})
            long_run = {"duration": 30, "steps": 30}
            pending = asyncio.create_task(
                client.call_tool("trigger-long-running-operation", long_run)
            )
            await asyncio.sleep(0.5)
            killed = time.monotonic()
            if process is None:
                os.kill(live.gateway.pool.running(str(server_id)).pid, signal.SIGKILL)
            else:
                process.kill()
            with pytest.raises(MCPError) as failure:
                await pending
            assert time.monotonic() - killed < 5, "the call waited for its timeout"
            assert failure.value.code == UPSTREAM_UNAVAILABLE_ERROR
            if process is not None:
                await process.start()  # back on the same port
            assert await _echo_once_back(client) == "Echo: back"
    finally:
        if process is not None:
            process.kill()
    await flushed(live)
    (failed,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "trigger-long-running-operation")
    assert (failed.status, failed.error_code) == ("error", "UPSTREAM_UNAVAILABLE")
    assert failed.duration_ms < 5000
    assert rows(engine, ServerLog, ServerLog.server_id == server_id, ServerLog.category == "crash")


async def _echo_once_back(client: Any, timeout: float = 10.0) -> str:
    """Call echo until the pool has the server back (it backs off after a crash)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _text(_plain(await client.call_tool("echo", {"message": "back"})))
        except MCPError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_a_hanging_call_on_a_remote_server_times_out_once_and_is_not_retried(
    live,  # noqa: F811
    setup,  # noqa: F811
    engine,
    fixture_remote,
):
    process = fixture_remote
    calls = Path(process.env["FIXTURE_CALL_LOG"])
    server = ServerIn(
        name="hanging", transport=process.transport.value, url=process.url, timeout_seconds=1
    )
    add_server(engine, setup, server)
    slow_before = call_log_lines(calls).count("slow")
    cancelled_before = call_log_lines(calls).count("slow:cancelled")
    async with connected(through_gateway(live, setup, "hanging", "sse"), "handshake") as client:
        with pytest.raises(MCPError, match="within 1s"):
            await client.call_tool("slow", {"seconds": 4})
        still_up = await client.call_tool("echo", {"text": "still up"})
        assert _text(_plain(still_up)) == "still up"
    # The server was told to stop the call (a closed stream or notifications/cancelled) ...
    await eventually(
        lambda: call_log_lines(calls).count("slow:cancelled") == cancelled_before + 1,
        3.0,
        "the cancellation upstream",
    )
    await asyncio.sleep(0.3)  # ... and had room to receive a retry, were there one.
    assert call_log_lines(calls).count("slow") == slow_before + 1
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "slow")
    assert (row.status, row.error_code) == ("timeout", "TIMEOUT")
    assert 900 <= row.duration_ms < 3000


@pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")
@pytest.mark.parametrize(
    "subject", ["fixture-stdio", "fixture-streamable", "everything-stdio"], indirect=True
)
async def test_a_handshake_client_is_offered_resource_subscriptions_only_where_they_work(
    live,  # noqa: F811
    setup,  # noqa: F811
    engine,
    subject,
):
    # A 2026-07-28 server (the fixture, to the gateway) offers resource updates on
    # subscriptions/listen; the handshake era's resources/subscribe does not exist there.
    add_server(engine, setup, subject.server)
    async with connected(subject.direct(), "handshake") as direct:
        offered_directly = _offers_subscriptions(direct)
    gateway = through_gateway(live, setup, subject.server.name, "streamable_http")
    async with connected(gateway, "handshake") as client:
        assert _offers_subscriptions(client) == offered_directly
        if offered_directly:
            uri = subject.script.reads[0].target
            await client.subscribe_resource(uri)
            await client.unsubscribe_resource(uri)


def _offers_subscriptions(session: ClientSession) -> bool:
    resources = session.server_capabilities.resources
    return bool(resources and resources.subscribe)
