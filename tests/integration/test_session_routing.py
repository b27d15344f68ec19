"""Any member of a cluster answers any handshake-era client session (cluster/routing.py).

Two members run in this process: two apps (tests/live_app.py), each with its own gateway and
its own bus of one fresh namespace on the machine's Redis, on one database. In front of them a
small round-robin reverse proxy (`RoundRobin`) alternates every request between the members,
streaming the answers, as a load balancer without session affinity does. Real SDK clients
(streamable HTTP and SSE) talk through it to real fixture servers; requests naming a session
of the other member are forwarded to it over the bus and answered there.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import redis.asyncio as aioredis
import uvicorn
from mcp import ClientSession, types
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.cluster import ClusterBus, routing
from mcp_orch_app.cluster.routing import REQUEST, encode_frame
from mcp_orch_app.models.logs import ClientSession as ClientSessionRow
from mcp_orch_app.models.logs import ToolCallLog
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.helpers import FIXTURE_SERVER, initialize_request, needs_redis
from tests.live_app import LiveApp, free_port, running_app

pytestmark = needs_redis

REDIS_URL = "redis://127.0.0.1:6379/1"
KEEPALIVE = 0.3
"""Seconds between the owner's keepalives in these tests (the asker gives up after 3 missed)."""
MODERN = "2026-07-28"


# -- the cluster -----------------------------------------------------------------------------


def _bus(namespace: str) -> ClusterBus:
    return ClusterBus(REDIS_URL, namespace=namespace)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """An ASGI app under uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    server.install_signal_handlers = lambda: None
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"host", b"content-length"}


class RoundRobin:
    """A reverse proxy sending each request to the next backend in turn, streaming the answer
    back (and closing the backend's stream when its client leaves)."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._turn = itertools.count()
        self.client = httpx2.AsyncClient(timeout=httpx2.Timeout(60, read=None))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        base = self.backends[next(self._turn) % len(self.backends)]
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        query = scope["query_string"].decode()
        request = self.client.build_request(
            scope["method"],
            f"{base}{scope['path']}" + (f"?{query}" if query else ""),
            headers=[(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP],
            content=b"".join(chunks),
        )
        response = await self.client.send(request, stream=True)

        async def pump() -> None:
            headers = [
                (k.encode(), v.encode())
                for k, v in response.headers.multi_items()
                if k.encode() not in _HOP_BY_HOP
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        async def left() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        pumping, leaving = asyncio.ensure_future(pump()), asyncio.ensure_future(left())
        try:
            await asyncio.wait({pumping, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pumping, leaving):
                task.cancel()
            await response.aclose()


@dataclass
class Cluster:
    a: LiveApp
    b: LiveApp
    proxy: str

    def url(self, project_id: Any, server: str | None, path: str = "mcp", base: str = "") -> str:
        tail = "unified" if server is None else f"servers/{server}"
        return f"{base or self.proxy}/projects/{project_id}/{tail}/{path}"


@pytest.fixture
async def cluster(engine, monkeypatch) -> AsyncIterator[Cluster]:
    monkeypatch.setattr(routing, "KEEPALIVE_SECONDS", KEEPALIVE)
    namespace = f"test-routing:{secrets.token_hex(8)}"
    async with (
        running_app(engine, cluster=_bus(namespace)) as a,
        running_app(engine, cluster=_bus(namespace)) as b,
    ):
        proxy = RoundRobin([a.base_url, b.base_url])
        try:
            async with serving(proxy) as url:
                yield Cluster(a, b, url)
        finally:
            await proxy.client.aclose()


# -- a project -------------------------------------------------------------------------------


@dataclass
class Project:
    id: uuid.UUID
    key: str
    other_key: str


@pytest.fixture
def project(engine, make_person) -> Project:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        made = projects.create_project(s, owner.actor, "routed")
        for name, env in (("fixture", {}), ("asking", {"FIXTURE_HANDSHAKE_ONLY": "1"})):
            server = ServerIn(
                name=name, command=sys.executable, args=[str(FIXTURE_SERVER)], env=env
            )
            servers.create_server(s, owner.actor, made.id, server)
        key = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="one"))
        other = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="two"))
    return Project(made.id, key.key, other.key)


def _http(key: str, **headers: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {key}", **headers}, timeout=httpx2.Timeout(30)
    )


@asynccontextmanager
async def streamable(url: str, key: str, **options: Any) -> AsyncIterator[ClientSession]:
    async with (
        _http(key) as http,
        streamable_http_client(url, http_client=http) as (r, w),
        ClientSession(r, w, **options) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def over_sse(url: str, key: str, **options: Any) -> AsyncIterator[ClientSession]:
    async with (
        sse_client(url, headers={"Authorization": f"Bearer {key}"}) as (r, w),
        ClientSession(r, w, **options) as session,
    ):
        await session.initialize()
        yield session


def _tool(server: str | None, name: str) -> str:
    return name if server is not None else f"fixture__{name}"


def _rows(engine, model: Any, *where: Any) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model).where(*where)))


async def _flushed(cluster: Cluster) -> None:
    for member in (cluster.a, cluster.b):
        await asyncio.to_thread(member.writer.flush, 10)


HANDSHAKE = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


async def _open_session(http: httpx2.AsyncClient, url: str) -> str:
    """initialize + initialized over raw HTTP; the session id."""
    answer = await http.post(
        url,
        headers=HANDSHAKE,
        json=initialize_request("raw"),
    )
    assert answer.status_code == 200, answer.text
    session_id = answer.headers["mcp-session-id"]
    notified = await http.post(
        url,
        headers={**HANDSHAKE, "mcp-session-id": session_id},
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
    )
    assert notified.status_code == 202
    return session_id


def _call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


# -- streamable HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["fixture", None], ids=["per-server", "unified"])
async def test_a_streamable_session_works_whichever_member_gets_each_request(
    engine, cluster, project, server
):
    changed = asyncio.Event()

    async def on_message(message: Any) -> None:
        if getattr(getattr(message, "root", message), "method", None) == (
            "notifications/tools/list_changed"
        ):
            changed.set()

    url = cluster.url(project.id, server)
    async with streamable(url, project.key, message_handler=on_message) as session:
        for turn in range(50):
            result = await session.call_tool(_tool(server, "echo"), {"text": f"t{turn}"})
            assert result.is_error is False
            assert result.content[0].text == f"t{turn}"
        await session.call_tool(_tool(server, "announce_tools_changed"), {})
        await asyncio.wait_for(changed.wait(), 10)
    await _flushed(cluster)
    calls = _rows(engine, ToolCallLog, ToolCallLog.tool_name == "echo")
    assert len(calls) == 50  # each call ran once
    assert sorted(row.arguments["text"] for row in calls) == sorted(f"t{i}" for i in range(50))
    (row,) = _rows(engine, ClientSessionRow, ClientSessionRow.id == calls[0].session_id)
    assert row.ended_at is not None  # the SDK's DELETE ended it, wherever it landed


async def test_the_notification_stream_and_delete_work_through_the_other_member(
    engine, cluster, project
):
    owner, other = cluster.a.base_url, cluster.b.base_url
    async with _http(project.key) as http:
        session_id = await _open_session(http, cluster.url(project.id, "fixture", base=owner))
        named = {**HANDSHAKE, "mcp-session-id": session_id}
        other_url = cluster.url(project.id, "fixture", base=other)
        async with http.stream("GET", other_url, headers=named) as stream:
            assert stream.status_code == 200
            assert stream.headers["mcp-session-id"] == session_id
            told = await http.post(
                cluster.url(project.id, "fixture", base=owner),
                headers=named,
                json=_call(1, "announce_tools_changed", {}),
            )
            assert told.status_code == 200
            lines = stream.aiter_lines()
            async with asyncio.timeout(10):
                async for line in lines:
                    if "notifications/tools/list_changed" in line:
                        break
        # The client left: the owner's stream ended, so the session takes a new one (while
        # one is open a second GET gets 409).
        async with asyncio.timeout(5):
            while True:
                async with http.stream("GET", other_url, headers=named) as again:
                    if again.status_code == 200:
                        break
                    assert again.status_code == 409
                await asyncio.sleep(0.05)
        deleted = await http.delete(other_url, headers=named)
        assert deleted.status_code == 200
        after = await http.post(other_url, headers=named, json=_call(2, "echo", {"text": "x"}))
        assert after.status_code == 404
        assert "Session not found" in after.json()["error"]["message"]
    await _flushed(cluster)
    (row,) = _rows(engine, ClientSessionRow, ClientSessionRow.client_name == "raw")
    assert row.ended_at is not None


# -- SSE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["fixture", None], ids=["per-server", "unified"])
async def test_an_sse_session_gets_every_answer_whichever_member_gets_its_posts(
    engine, cluster, project, server
):
    async with over_sse(cluster.url(project.id, server, "sse"), project.key) as session:
        for turn in range(50):
            result = await session.call_tool(_tool(server, "add"), {"a": turn, "b": 1})
            assert result.is_error is False
            assert result.structured_content == {"result": turn + 1}
    await _flushed(cluster)
    assert len(_rows(engine, ToolCallLog, ToolCallLog.tool_name == "add")) == 50


# -- server-to-client requests ---------------------------------------------------------------


async def test_a_client_answer_landing_on_the_other_member_completes_the_call(cluster, project):
    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "ada"})

    url = cluster.url(project.id, "asking")
    async with streamable(url, project.key, elicitation_callback=elicit) as session:
        # Each call takes two requests (the call, the answer): a ping in between swaps which
        # member gets which, so the answer lands once on each.
        first = await session.call_tool("ask_client", {"what": "elicit"})
        await session.send_ping()
        second = await session.call_tool("ask_client", {"what": "elicit"})
    assert [first.content[0].text, second.content[0].text] == ["accept: ada"] * 2
    assert len(asked) == 2


# -- the owner gone ----------------------------------------------------------------------------


async def test_a_session_of_a_stopped_member_is_not_found_at_once(engine, monkeypatch, project):
    monkeypatch.setattr(routing, "KEEPALIVE_SECONDS", KEEPALIVE)
    namespace = f"test-routing:{secrets.token_hex(8)}"
    async with running_app(engine, cluster=_bus(namespace)) as survivor:
        async with (
            running_app(engine, cluster=_bus(namespace)) as owner,
            _http(project.key) as http,
        ):
            session_id = await _open_session(
                http, f"{owner.base_url}/projects/{project.id}/servers/fixture/mcp"
            )
        async with _http(project.key) as http:
            started = time.monotonic()
            answer = await http.post(
                f"{survivor.base_url}/projects/{project.id}/servers/fixture/mcp",
                headers={**HANDSHAKE, "mcp-session-id": session_id},
                json=_call(1, "echo", {"text": "x"}),
            )
            elapsed = time.monotonic() - started
    assert answer.status_code == 404
    assert "Session not found" in answer.json()["error"]["message"]
    assert elapsed < KEEPALIVE  # at once, not after a timeout


async def test_a_call_in_flight_when_its_owner_dies_fails_within_the_keepalive_bound(
    engine, cluster, project
):
    owner = cluster.a
    async with _http(project.key) as http:
        session_id = await _open_session(
            http, cluster.url(project.id, "fixture", base=owner.base_url)
        )
        call = asyncio.ensure_future(
            http.post(
                cluster.url(project.id, "fixture", base=cluster.b.base_url),
                headers={**HANDSHAKE, "mcp-session-id": session_id},
                json=_call(1, "slow", {"seconds": 30}),
            )
        )
        await asyncio.sleep(KEEPALIVE * 3)  # keepalives keep the slow call alive meanwhile
        assert not call.done()
        # As a SIGKILL: the owner sends nothing more and leaves the bus at once.
        await owner.gateway.router.stop()
        await owner.gateway.cluster.stop()
        died = time.monotonic()
        answer = await asyncio.wait_for(call, 10)
        waited = time.monotonic() - died
    assert answer.status_code == 404
    assert "Session not found" in answer.json()["error"]["message"]
    assert waited < KEEPALIVE * (routing.GIVE_UP_KEEPALIVES + 2)


# -- ownership, frames, Redis --------------------------------------------------------------------


async def test_another_principals_session_id_is_not_found_through_the_other_member(
    cluster, project
):
    async with _http(project.key) as http:
        session_id = await _open_session(
            http, cluster.url(project.id, "fixture", base=cluster.a.base_url)
        )
    named = {**HANDSHAKE, "mcp-session-id": session_id}
    answers = []
    async with _http(project.other_key) as stranger:
        for member in (cluster.a, cluster.b):
            answer = await stranger.post(
                cluster.url(project.id, "fixture", base=member.base_url),
                headers=named,
                json=_call(1, "echo", {"text": "mine now"}),
            )
            answers.append((answer.status_code, answer.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
    async with _http(project.key) as http:  # the session is untouched
        answer = await http.post(
            cluster.url(project.id, "fixture", base=cluster.b.base_url),
            headers=named,
            json=_call(2, "echo", {"text": "still mine"}),
        )
    assert answer.json()["result"]["content"][0]["text"] == "still mine"


async def test_malformed_and_oversized_frames_are_dropped_without_harm(cluster, project, caplog):
    owner = cluster.a
    async with _http(project.key) as http:
        session_id = await _open_session(
            http, cluster.url(project.id, "fixture", base=owner.base_url)
        )
    channel = owner.gateway.cluster.channel_of(owner.gateway.cluster.member_id)
    garbage = [
        b"",
        b"\x00",
        b"\xff\xff" + b"x" * 10,
        b"\x00\x05nope!",
        encode_frame({"t": "?", "r": 1}),
        encode_frame({"t": REQUEST, "r": "one", "f": "x"}),
        encode_frame({"t": REQUEST, "r": 1, "f": "x", "m": 5}),
        encode_frame(
            {
                "t": REQUEST,
                "r": 2,
                "f": "x",
                "m": "POST",
                "p": "/",
                "rp": "",
                "qs": "",
                "h": "not pairs",
            }
        ),
        encode_frame({"t": "s", "r": 99, "st": 200, "hd": [], "mb": False}),  # nobody asked
        encode_frame({"t": "k", "rs": "all"}),
        encode_frame(
            {"t": REQUEST, "r": 3, "f": "x", "m": "POST", "p": "/", "rp": "", "qs": "", "h": []},
            b"x" * (5 * 1024 * 1024),
        ),  # past the MCP body limit
    ]
    publisher = aioredis.Redis.from_url(REDIS_URL)
    try:
        for frame in garbage:
            await publisher.publish(channel, frame)
    finally:
        await publisher.aclose()
    await asyncio.sleep(0.3)
    assert caplog.text.count("dropped a malformed frame") >= 9
    async with _http(project.key) as http:
        answer = await http.post(
            cluster.url(project.id, "fixture", base=cluster.b.base_url),
            headers={**HANDSHAKE, "mcp-session-id": session_id},
            json=_call(1, "echo", {"text": "fine"}),
        )
    assert answer.json()["result"]["content"][0]["text"] == "fine"


async def test_redis_unreachable_at_request_time_is_a_503_with_a_json_rpc_error(
    engine, cluster, project
):
    async with _http(project.key) as http:
        session_id = await _open_session(
            http, cluster.url(project.id, "fixture", base=cluster.a.base_url)
        )
    unreachable = ClusterBus(f"redis://127.0.0.1:{free_port()}/1", namespace="nowhere")
    async with running_app(engine, cluster=unreachable) as cut_off, _http(project.key) as http:
        answer = await http.post(
            cluster.url(project.id, "fixture", base=cut_off.base_url),
            headers={**HANDSHAKE, "mcp-session-id": session_id},
            json=_call(1, "echo", {"text": "x"}),
        )
    assert answer.status_code == 503
    assert "Redis" in answer.json()["error"]["message"]


# -- the 2026-07-28 era ------------------------------------------------------------------------


async def test_modern_requests_are_answered_by_whichever_member_gets_them(engine, cluster, project):
    # Without a session there is nothing to route: with the owner's bus gone, a modern request
    # carrying a stale session header is still answered by each member, itself.
    await cluster.a.gateway.router.stop()
    await cluster.a.gateway.cluster.stop()
    params = {
        "name": "echo",
        "arguments": {"text": "now"},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "echo",
        "mcp-session-id": f"{cluster.a.gateway.cluster.member_id}.{secrets.token_urlsafe(32)}",
    }
    async with _http(project.key) as http:
        for turn in range(4):
            body = {"jsonrpc": "2.0", "id": turn, "method": "tools/call", "params": params}
            answer = await http.post(cluster.url(project.id, "fixture"), headers=headers, json=body)
            assert answer.status_code == 200, answer.text
            assert answer.json()["result"]["content"][0]["text"] == "now"
    await _flushed(cluster)
    sessions = {
        row.session_id for row in _rows(engine, ToolCallLog, ToolCallLog.tool_name == "echo")
    }
    assert len(sessions) == 2  # one logging session per member: both answered
