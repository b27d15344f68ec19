"""The per-server MCP endpoints, end to end: real SDK clients -> mcp-orch over HTTP -> real
MCP server processes.

mcp-orch's FastAPI app runs under uvicorn on a free loopback port with the gateway's lifespan;
the project, its API key and its servers are made through the services, so authorization reads
the real rows. The parity tests (one client scenario run directly and through the gateway, for
our fixture and third-party servers, every client transport and mode) are in
test_gateway_parity.py; here an auto-mode client's answers are also checked against a direct
run, for what its session records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, ClientSession, MCPError, StdioServerParameters, stdio_client, types
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import update
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models import ApiKey, ToolPreference
from mcp_orch_app.models.logs import ClientSession as ClientSessionRow
from mcp_orch_app.models.logs import ServerLog, ToolCallLog
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ProjectPatch, ServerIn
from tests.helpers import FIXTURE_SERVER, install_server_everything
from tests.live_app import LiveApp, running_app

# --- the running app ------------------------------------------------------------------------


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


# --- a project with a key and servers ---------------------------------------------------------


@dataclass
class Setup:
    project_id: uuid.UUID
    key: str
    key_id: uuid.UUID
    owner: Any
    call_log: Path
    fixture_id: uuid.UUID


def fixture_server_in(name: str, call_log: Path, **fields: Any) -> ServerIn:
    return ServerIn(
        name=name,
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env={"FIXTURE_CALL_LOG": str(call_log)},
        timeout_seconds=fields.pop("timeout_seconds", 20),
        **fields,
    )


@pytest.fixture
def setup(engine, make_person, tmp_path) -> Setup:
    owner = make_person("owner")
    call_log = tmp_path / "calls.log"
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "gateway")
        fixture = servers.create_server(
            s, owner.actor, project.id, fixture_server_in("fixture", call_log)
        )
        servers.create_server(
            s, owner.actor, project.id, fixture_server_in("slowpoke", call_log, timeout_seconds=1)
        )
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="ci"))
    return Setup(project.id, key.key, key.id, owner, call_log, fixture.id)


def http_client(key: str | None, **headers: str) -> httpx2.AsyncClient:
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx2.AsyncClient(headers=headers, timeout=30)


@asynccontextmanager
async def handshake_session(url: str, key: str | None, **options: Any):
    """SDK `ClientSession.initialize()` over streamable HTTP."""
    async with (
        http_client(key) as http,
        streamable_http_client(url, http_client=http) as (r, w),
        ClientSession(r, w, **options) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def sse_session(url: str, key: str | None, **options: Any):
    """SDK `ClientSession.initialize()` over the SSE transport."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        sse_client(url, headers=headers) as (r, w),
        ClientSession(r, w, **options) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def auto_client(url: str, key: str | None):
    """`mcp.Client` in its default auto mode (server/discover, falling back to initialize)."""
    async with (
        http_client(key) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


@asynccontextmanager
async def direct_fixture(call_log: Path, *, auto: bool = False):
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env={"FIXTURE_CALL_LOG": str(call_log), "PATH": os.environ["PATH"]},
    )
    if auto:
        async with Client(params) as client:
            yield client
        return
    async with stdio_client(params) as (r, w), ClientSession(r, w) as session:
        await session.initialize()
        yield session


def rows(engine, model, *where) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model).where(*where)))


async def flushed(live: LiveApp) -> None:
    await asyncio.to_thread(live.writer.flush, 10)


# --- the parity scenario --------------------------------------------------------------------


async def fixture_scenario(client: Any) -> dict[str, Any]:
    """What a client sees of the fixture server, in comparable plain values."""
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    tools = await client.list_tools()
    echo = await client.call_tool("echo", {"text": "héllo"})
    added = await client.call_tool("add", {"a": 2, "b": 3.5})
    failed = await client.call_tool("fail", {"message": "no luck"})
    stepped = await client.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
    resources = await client.list_resources()
    templates = await client.list_resource_templates()
    greeting = await client.read_resource("fixture://greeting")
    item = await client.read_resource("fixture://items/42")
    prompts = await client.list_prompts()
    prompt = await client.get_prompt("greet", {"name": "Ada"})
    return {
        "tools": sorted(
            (t.name, t.description, json.dumps(t.input_schema, sort_keys=True)) for t in tools.tools
        ),
        "echo": (echo.content[0].text, echo.structured_content, echo.is_error),
        "add": (added.content[0].text, added.structured_content, added.is_error),
        "fail": (failed.content[0].text, failed.is_error),
        "progress": (stepped.content[0].text, progress),
        "resources": sorted(str(r.uri) for r in resources.resources),
        "templates": [t.uri_template for t in templates.resource_templates],
        "greeting": greeting.contents[0].text,
        "item": item.contents[0].text,
        "prompts": [p.name for p in prompts.prompts],
        "prompt": prompt.messages[0].content.text,
    }


async def test_auto_mode_client_uses_the_modern_era_and_gets_the_same_answers(live, setup):
    async with direct_fixture(setup.call_log, auto=True) as direct:
        expected = await fixture_scenario(direct)
    async with auto_client(live.url(setup.project_id, "fixture"), setup.key) as client:
        assert client.session.protocol_version == "2026-07-28"
        assert await fixture_scenario(client) == expected
    await flushed(live)
    (row,) = rows(
        live.writer._engine, ClientSessionRow, ClientSessionRow.project_id == setup.project_id
    )
    assert row.protocol_version == "2026-07-28" and row.client_name == "mcp"
    assert row.total_calls == 4 and row.successful_calls == 3 and row.failed_calls == 1


# --- authorization --------------------------------------------------------------------------


async def _status_of_initialize(url: str, key: str | None) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    async with http_client(key) as http:
        return await http.post(
            url, json=body, headers={"Accept": "application/json, text/event-stream"}
        )


async def test_requests_without_a_usable_key_are_refused_with_401(live, setup, engine, make_person):
    url = live.url(setup.project_id, "fixture")
    for key in (None, "mch_not-a-real-key", "not-even-an-api-key"):
        response = await _status_of_initialize(url, key)
        assert response.status_code == 401, key
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "API key" in response.json()["error"]["message"]

    other = make_person("other")
    with db.session_scope(engine) as s:
        theirs = projects.create_project(s, other.actor, "theirs")
        their_key = api_keys.create_api_key(s, other.actor, theirs.id, ApiKeyIn(name="k")).key
    assert (await _status_of_initialize(url, their_key)).status_code == 401

    # A key in use is refused at once after it is revoked (no waiting for a cache to expire).
    assert (await _status_of_initialize(url, setup.key)).status_code == 200
    with db.session_scope(engine) as s:
        api_keys.revoke_api_key(s, setup.owner.actor, setup.project_id, setup.key_id)
    revoked = await _status_of_initialize(url, setup.key)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]

    with db.session_scope(engine) as s:
        expiring = api_keys.create_api_key(
            s, setup.owner.actor, setup.project_id, ApiKeyIn(name="old")
        )
        s.execute(
            update(ApiKey)
            .where(ApiKey.id == expiring.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    expired = await _status_of_initialize(url, expiring.key)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


async def test_an_owner_can_open_a_project_to_anonymous_clients(live, setup, engine):
    url = live.url(setup.project_id, "fixture")
    assert (await _status_of_initialize(url, None)).status_code == 401
    with db.session_scope(engine) as s:
        projects.update_project(
            s, setup.owner.actor, setup.project_id, ProjectPatch(allow_anonymous=True)
        )
    async with handshake_session(url, None) as session:
        result = await session.call_tool("echo", {"text": "anyone"})
        assert result.content[0].text == "anyone"


async def test_unknown_project_server_or_session_answers_404(live, setup):
    assert (
        await _status_of_initialize(live.url(uuid.uuid4(), "fixture"), setup.key)
    ).status_code == 404
    assert (
        await _status_of_initialize(live.url(setup.project_id, "nope"), setup.key)
    ).status_code == 404
    async with http_client(setup.key) as http:
        response = await http.post(
            live.url(setup.project_id, "fixture"),
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            headers={
                "mcp-session-id": uuid.uuid4().hex,
                "Accept": "application/json, text/event-stream",
            },
        )
        assert response.status_code == 404
        response = await http.post(
            live.url(setup.project_id, "fixture", "messages") + f"?session_id={uuid.uuid4().hex}",
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        )
        assert response.status_code == 404


async def test_foreign_host_and_origin_are_refused(live, setup):
    url = live.url(setup.project_id, "fixture")
    async with http_client(setup.key) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert (
            await http.post(url, json=body, headers={"Host": "evil.example"})
        ).status_code == 421
        refused = await http.post(url, json=body, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403


# --- protocol errors and tool preferences ---------------------------------------------------


async def test_a_request_before_initialize_is_refused_and_logged(live, setup, engine):
    url = live.url(setup.project_id, "fixture")
    async with http_client(setup.key) as http:
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "x"}},
        }
        response = await http.post(url, json=call)
        assert response.status_code == 400
        assert "initialize" in response.json()["error"]["message"]
        garbage = await http.post(
            url, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 400 and garbage.json()["error"]["code"] == -32700
        batch = await http.post(url, json=[call])
        assert batch.status_code == 400 and batch.json()["error"]["code"] == -32600
    with pytest.raises(MCPError, match="tool name"):
        await _raw_call(url, setup.key, {"name": 42})
    await flushed(live)
    codes = sorted(
        r.error_code for r in rows(engine, ToolCallLog, ToolCallLog.project_id == setup.project_id)
    )
    assert codes == ["INITIALIZATION_INCOMPLETE", "INVALID_PARAMETERS"]


async def _raw_call(url: str, key: str, params: dict[str, Any]) -> None:
    """A tools/call with malformed params inside a real session, sent by hand."""
    async with http_client(key) as http:
        init = await _status_of_initialize(url, key)
        session_id = init.headers["mcp-session-id"]
        response = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": params},
            headers={"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"},
        )
        error = response.json()["error"]
        raise MCPError(error["code"], error["message"])


async def test_modern_requests_are_checked_like_the_sdk_server_checks_them(live, setup):
    url = live.url(setup.project_id, "fixture")
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}
    headers = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"}
    async with http_client(setup.key) as http:
        listed = await http.post(url, json=request, headers=headers)
        assert listed.status_code == 200 and listed.json()["result"]["resultType"] == "complete"
        assert "mcp-session-id" not in listed.headers
        mismatch = await http.post(url, json=request, headers={**headers, "mcp-method": "ping"})
        assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
        bare = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        missing = await http.post(url, json=bare, headers=headers)
        assert missing.json()["error"]["code"] == -32602


async def test_a_disabled_tool_is_hidden_and_refused(live, setup, engine):
    with db.session_scope(engine) as s:
        s.add(
            ToolPreference(
                project_id=setup.project_id,
                server_id=setup.fixture_id,
                tool_name="add",
                enabled=False,
            )
        )
    async with handshake_session(live.url(setup.project_id, "fixture"), setup.key) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert "echo" in names and "add" not in names
        refused = await session.call_tool("add", {"a": 1, "b": 2})
        assert refused.is_error and "disabled" in refused.content[0].text
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "add")
    assert (row.status, row.error_code) == ("error", "TOOL_DISABLED")
    assert "add" not in (setup.call_log.read_text() if setup.call_log.exists() else "")


async def test_a_call_of_a_tool_the_server_lacks_is_logged_as_tool_not_found(live, setup, engine):
    async with handshake_session(live.url(setup.project_id, "fixture"), setup.key) as session:
        try:
            answer = await session.call_tool("no_such_tool", {})
        except MCPError:
            answer = None  # a server may answer with a JSON-RPC error instead
        assert answer is None or answer.is_error
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "no_such_tool")
    assert (row.status, row.error_code) == ("error", "TOOL_NOT_FOUND")


# --- recording ------------------------------------------------------------------------------


async def test_a_tool_call_is_logged_once_with_its_details(live, setup, engine):
    url = live.url(setup.project_id, "fixture")
    async with handshake_session(url, setup.key) as session:
        await session.call_tool("echo", {"text": "logged"})
    await flushed(live)
    (call,) = rows(engine, ToolCallLog, ToolCallLog.project_id == setup.project_id)
    assert (call.server_name, call.tool_name, call.status, call.error_code) == (
        "fixture",
        "echo",
        "success",
        None,
    )
    assert call.arguments == {"text": "logged"}
    assert call.result["content"][0]["text"] == "logged"
    assert call.api_key_id == setup.key_id and call.client_name == "mcp"
    assert call.duration_ms >= 0 and call.server_id == setup.fixture_id
    (client,) = rows(engine, ClientSessionRow, ClientSessionRow.id == call.session_id)
    assert client.transport == "streamable_http" and client.protocol_version == "2025-11-25"
    assert client.ip == "127.0.0.1" and client.user_agent.startswith("python-httpx")
    assert client.total_calls == 1 and client.successful_calls == 1
    assert client.ended_at is not None  # the SDK client sends DELETE when it closes
    starts = rows(
        engine, ServerLog, ServerLog.server_id == setup.fixture_id, ServerLog.category == "start"
    )
    assert len(starts) == 1


async def test_a_crash_fails_the_call_in_flight_and_the_next_call_works(live, setup, engine):
    async with handshake_session(live.url(setup.project_id, "fixture"), setup.key) as session:
        with pytest.raises(MCPError, match=r"exited|killed|closed"):
            await session.call_tool("crash", {})
        deadline = time.monotonic() + 10
        while True:
            try:
                result = await session.call_tool("echo", {"text": "back"})
                break
            except MCPError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        assert result.content[0].text == "back"
    await flushed(live)
    crash = next(r for r in rows(engine, ToolCallLog, ToolCallLog.tool_name == "crash"))
    assert (crash.status, crash.error_code) == ("error", "UPSTREAM_UNAVAILABLE")
    assert rows(engine, ServerLog, ServerLog.category == "crash")


def _messages(exc: BaseException) -> list[str]:
    if isinstance(exc, BaseExceptionGroup):
        return [text for inner in exc.exceptions for text in _messages(inner)]
    return [str(exc)]


async def started_despite_load(url: str, key: str) -> None:
    """The server's 1 s timeout also bounds its start, which a loaded machine can take longer
    for: connect until the pooled upstream is up, so the test measures the call's own timeout."""
    for _ in range(30):
        try:
            async with handshake_session(url, key) as session:
                await session.list_tools()
            return
        except Exception as exc:
            if not any("handshake" in text for text in _messages(exc)):
                raise
            await asyncio.sleep(0.5)
    pytest.fail("the upstream never finished its handshake within 1 s in 30 tries")


async def test_a_slow_tool_times_out_once_and_is_not_retried(live, setup, engine):
    await started_despite_load(live.url(setup.project_id, "slowpoke"), setup.key)
    async with handshake_session(live.url(setup.project_id, "slowpoke"), setup.key) as session:
        with pytest.raises(MCPError, match="did not answer tools/call within 1s"):
            await session.call_tool("slow", {"seconds": 3})
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "slow")
    assert (row.status, row.error_code) == ("timeout", "TIMEOUT")
    assert 900 <= row.duration_ms < 3000
    await asyncio.sleep(2.5)
    assert setup.call_log.read_text().splitlines().count("slow") == 1


async def test_a_cancelled_call_is_cancelled_upstream_and_logged(live, setup, engine):
    async with handshake_session(live.url(setup.project_id, "fixture"), setup.key) as session:
        slow = asyncio.create_task(session.call_tool("slow", {"seconds": 5}))
        await asyncio.sleep(0.5)
        slow.cancel()  # the SDK client sends notifications/cancelled
        with contextlib.suppress(asyncio.CancelledError):
            await slow
        assert (await session.call_tool("echo", {"text": "still here"})).content[0].text == (
            "still here"
        )
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "slow")
    assert row.status == "cancelled" and row.duration_ms < 4000


async def test_revoking_a_key_ends_its_open_sessions_at_once(live, setup, engine):
    url = live.url(setup.project_id, "fixture")
    async with handshake_session(url, setup.key) as session:
        await session.call_tool("echo", {"text": "x"})
        assert len(live.gateway.sessions) == 1
        with db.session_scope(engine) as s:
            api_keys.revoke_api_key(s, setup.owner.actor, setup.project_id, setup.key_id)
        deadline = time.monotonic() + 5
        while live.gateway.sessions:
            assert time.monotonic() < deadline, "the session outlived its key"
            await asyncio.sleep(0.02)
        with pytest.raises(MCPError):
            await session.call_tool("echo", {"text": "y"})
    await flushed(live)
    (row,) = rows(engine, ClientSessionRow, ClientSessionRow.project_id == setup.project_id)
    assert row.ended_at is not None


async def test_disabling_a_server_stops_its_process_and_ends_its_sessions(live, setup, engine):
    url = live.url(setup.project_id, "fixture")
    async with handshake_session(url, setup.key) as session:
        await session.call_tool("echo", {"text": "x"})
        pid = live.gateway.pool.running(str(setup.fixture_id)).pid
        with db.session_scope(engine) as s:
            servers.toggle_server(s, setup.owner.actor, setup.project_id, setup.fixture_id)
        deadline = time.monotonic() + 10
        while _alive(pid) or live.gateway.sessions:
            assert time.monotonic() < deadline, "the disabled server kept running"
            await asyncio.sleep(0.05)
        assert (await _status_of_initialize(url, setup.key)).status_code == 404


async def test_concurrent_clients_each_get_their_answers_and_every_call_is_logged(
    live, setup, engine
):
    url = live.url(setup.project_id, "fixture")

    async def client(n: int) -> None:
        async with handshake_session(url, setup.key) as session:
            for i in range(50):
                result = await session.call_tool("echo", {"text": f"{n}-{i}"})
                assert result.content[0].text == f"{n}-{i}"

    await asyncio.gather(*(client(n) for n in range(32)))
    await flushed(live)
    assert len(rows(engine, ToolCallLog, ToolCallLog.project_id == setup.project_id)) == 1600
    sessions = rows(engine, ClientSessionRow, ClientSessionRow.project_id == setup.project_id)
    assert len(sessions) == 32 and {s.total_calls for s in sessions} == {50}


async def test_no_upstream_process_is_left_after_shutdown(engine, setup):
    async with running_app(engine) as app:
        async with handshake_session(app.url(setup.project_id, "fixture"), setup.key) as session:
            await session.call_tool("echo", {"text": "x"})
        pid = app.gateway.pool.running(str(setup.fixture_id)).pid
        assert _alive(pid)
    assert not _alive(pid)
    stops = rows(
        engine, ServerLog, ServerLog.server_id == setup.fixture_id, ServerLog.category == "stop"
    )
    assert len(stops) == 1  # written before the writer was drained


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- @modelcontextprotocol/server-everything (TypeScript, 2025-11-25 handshake era) -----------


@pytest.fixture(scope="session")
def server_everything() -> Path:
    """The npm package, installed once into the git-ignored .cache/ (shared with the pool tests)."""
    return install_server_everything()


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
async def test_server_log_messages_reach_the_client_stream(live, setup, engine, server_everything):
    with db.session_scope(engine) as s:
        servers.create_server(
            s,
            setup.owner.actor,
            setup.project_id,
            ServerIn(name="everything", command=str(server_everything), args=["stdio"]),
        )
    received: list[Any] = []
    logged = asyncio.Event()

    async def on_log(params: Any) -> None:
        received.append(params)
        logged.set()

    url = live.url(setup.project_id, "everything")
    async with handshake_session(url, setup.key, logging_callback=on_log) as session:
        await session.set_logging_level("debug")
        await asyncio.sleep(0.2)  # the client opens its GET stream in the background
        await session.call_tool("toggle-simulated-logging", {})
        try:
            await asyncio.wait_for(logged.wait(), 10)
        finally:
            await session.call_tool("toggle-simulated-logging", {})
    assert received[0].level in (
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    )


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
async def test_a_handshake_client_gets_a_modern_servers_logs_at_the_level_it_set(live, setup):
    # The fixture upstream speaks 2026-07-28, which logs only for requests naming a level in
    # their `_meta`. A handshake client that never sent logging/setLevel gets every level, as
    # from a handshake server; one that set a level gets that level and above only.
    url = live.url(setup.project_id, "fixture")
    everything: list[Any] = []
    warnings_only: list[Any] = []

    async def keep_everything(params: Any) -> None:
        everything.append(params)

    async def keep_warnings(params: Any) -> None:
        warnings_only.append(params)

    async with (
        handshake_session(url, setup.key, logging_callback=keep_everything) as unset,
        handshake_session(url, setup.key, logging_callback=keep_warnings) as picky,
    ):
        await picky.set_logging_level("warning")
        await asyncio.sleep(0.2)  # the clients open their GET streams in the background
        assert (await unset.call_tool("log", {"message": "from unset"})).is_error is False
        assert (await picky.call_tool("log", {"message": "from picky"})).is_error is False
        deadline = time.monotonic() + 10
        while not everything and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything else on its way
        # The picky call asked the server for warnings and above, so its info message was
        # never sent (as a direct server would not send it); the unset session's info message,
        # fanned out to every session of the server, is below what the picky session wants.
        assert [(item.level, item.data) for item in everything] == [("info", "from unset")]
        assert warnings_only == []
        # A level that is none of the spec's would make every later request fail upstream.
        loud = types.SetLevelRequest(
            params=types.SetLevelRequestParams.model_construct(level="loud")
        )
        with pytest.raises(MCPError, match="needs a level"):
            await picky.send_request(loud, types.EmptyResult)


async def test_a_modern_servers_tool_list_change_reaches_a_handshake_client(live, setup):
    # The fixture upstream speaks 2026-07-28: its list changes come over the listen stream the
    # pooled upstream opened, and the gateway passes them to the client's GET stream.
    changed = asyncio.Event()
    seen: list[str] = []

    async def on_message(message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method is not None:
            seen.append(method)
        if method == "notifications/tools/list_changed":
            changed.set()

    url = live.url(setup.project_id, "fixture")
    async with handshake_session(url, setup.key, message_handler=on_message) as session:
        await asyncio.sleep(0.2)  # the client opens its GET stream in the background
        await session.call_tool("announce_tools_changed", {})
        await asyncio.wait_for(changed.wait(), 10)
    assert "notifications/subscriptions/acknowledged" not in seen
