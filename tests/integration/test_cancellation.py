"""A client's `notifications/cancelled` through mcp-orch, sent as raw JSON-RPC over HTTP.

Two clients share one pooled stdio upstream (the fixture server, which records `slow:cancelled`
in its call log when it is told to stop), per-server and unified. The gateway renumbers the
requests it sends a shared upstream, so a cancellation must reach the upstream under the
upstream's id: both clients use the same JSON-RPC id for their calls and only the one that
cancels loses its call. A session cannot cancel another session's call by naming its id. A call
that holds a server-to-client request (elicitation waiting for the client) drops it: the client
is told with `notifications/cancelled` for that request. Every cancelled call's log row says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_orch_app import db
from mcp_orch_app.models.logs import ToolCallLog
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.helpers import FIXTURE_SERVER
from tests.integration.test_gateway_endpoints import auto_client, flushed, rows
from tests.live_app import LiveApp, running_app

VERSION = "2025-11-25"


@dataclass
class Project:
    id: uuid.UUID
    key: str
    call_log: Path

    def calls(self) -> list[str]:
        lines = self.call_log.read_text().splitlines() if self.call_log.exists() else []
        return [line for line in lines if not line.startswith("server:")]


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@pytest.fixture
def project(engine, make_person, tmp_path) -> Project:
    owner = make_person("owner")
    call_log = tmp_path / "calls.log"
    with db.session_scope(engine) as s:
        made = projects.create_project(s, owner.actor, "cancelling")
        server = ServerIn(
            name="local",
            command=sys.executable,
            args=[str(FIXTURE_SERVER)],
            env={"FIXTURE_HANDSHAKE_ONLY": "1", "FIXTURE_CALL_LOG": str(call_log)},
            timeout_seconds=30,
        )
        servers.create_server(s, owner.actor, made.id, server)
        key = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="ci"))
    return Project(made.id, key.key, call_log)


def endpoint(live: LiveApp, project: Project, unified: bool) -> str:
    if unified:
        return f"{live.base_url}/projects/{project.id}/unified/mcp"
    return live.url(project.id, "local")


class RawClient:
    """One handshake-era MCP session spoken as plain JSON-RPC over HTTP."""

    def __init__(self, http: httpx.AsyncClient, url: str, tool_prefix: str) -> None:
        self.http, self.url, self.prefix = http, url, tool_prefix
        self.session_id: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"accept": "application/json, text/event-stream"}
        if self.session_id is not None:
            headers |= {"mcp-session-id": self.session_id, "mcp-protocol-version": VERSION}
        return headers

    async def open(self, capabilities: dict[str, Any] | None = None) -> RawClient:
        params = {
            "protocolVersion": VERSION,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "raw", "version": "1"},
        }
        message = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
        answer = await self.http.post(self.url, json=message, headers=self.headers())
        assert answer.status_code == 200, answer.text
        self.session_id = answer.headers["mcp-session-id"]
        await self.notify("notifications/initialized")
        return self

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        answer = await self.http.post(self.url, json=message, headers=self.headers())
        assert answer.status_code == 202, answer.text

    async def cancel(self, request_id: Any) -> None:
        await self.notify("notifications/cancelled", {"requestId": request_id, "reason": "test"})

    def call_message(self, request_id: Any, tool: str, arguments: dict[str, Any]) -> dict:
        params = {"name": self.prefix + tool, "arguments": arguments}
        return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}

    async def call(self, request_id: Any, tool: str, arguments: dict[str, Any]) -> list[dict]:
        """Every message the call's POST answered with (SSE events or one JSON body)."""
        message = self.call_message(request_id, tool, arguments)
        async with self.http.stream(
            "POST", self.url, json=message, headers=self.headers()
        ) as answer:
            assert answer.status_code == 200
            if answer.headers["content-type"].startswith("application/json"):
                return [json.loads(await answer.aread())]
            return [event async for event in sse_messages(answer)]


async def sse_messages(answer: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    data: list[str] = []
    async for line in answer.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield json.loads("\n".join(data))
            data = []


async def eventually(check, seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def logged(engine, tool: str) -> list[ToolCallLog]:
    return sorted(rows(engine, ToolCallLog, ToolCallLog.tool_name == tool), key=lambda r: r.id)


@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_notifications_cancelled_stops_only_that_sessions_call_upstream(
    live, project, engine, unified
):
    url = endpoint(live, project, unified)
    prefix = "local__" if unified else ""
    headers = {"Authorization": f"Bearer {project.key}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        alice = await RawClient(http, url, prefix).open()
        bob = await RawClient(http, url, prefix).open()
        # The same JSON-RPC id in both sessions: upstream, mcp-orch numbers them apart.
        alices = asyncio.create_task(alice.call(7, "slow", {"seconds": 6}))
        await eventually(lambda: project.calls().count("slow") == 1, 10, "alice's call")
        bobs = asyncio.create_task(bob.call(7, "slow", {"seconds": 2}))
        await eventually(lambda: project.calls().count("slow") == 2, 10, "bob's call")

        # Bob names an id that is only in flight in alice's session (and one nobody uses):
        # nothing of alice's stops.
        await bob.cancel(8)
        await alice.cancel(99)
        # Alice cancels her own call 7: the upstream stops alice's call, not bob's.
        await alice.cancel(7)
        await eventually(lambda: "slow:cancelled" in project.calls(), 5, "the upstream to stop")
        (bobs_answer,) = await asyncio.wait_for(bobs, 10)
        assert bobs_answer["id"] == 7
        assert bobs_answer["result"]["content"][0]["text"] == "slept 2.0s"
        (alices_answer,) = await asyncio.wait_for(alices, 10)
        assert alices_answer["id"] == 7 and alices_answer["error"]["code"] == -32800
        assert project.calls().count("slow:cancelled") == 1

        # Bob cannot cancel alice's call by guessing its id either.
        alices = asyncio.create_task(alice.call(11, "slow", {"seconds": 1.5}))
        await eventually(lambda: project.calls().count("slow") == 3, 10, "alice's second call")
        await bob.cancel(11)
        (answer,) = await asyncio.wait_for(alices, 10)
        assert answer["result"]["content"][0]["text"] == "slept 1.5s"
        assert project.calls().count("slow:cancelled") == 1

    await flushed(live)
    assert [row.status for row in logged(engine, "slow")] == ["cancelled", "success", "success"]


@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_cancelling_a_call_drops_its_held_elicitation(live, project, engine, unified):
    url = endpoint(live, project, unified)
    prefix = "local__" if unified else ""
    headers = {"Authorization": f"Bearer {project.key}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        alice = await RawClient(http, url, prefix).open({"elicitation": {"form": {}}})
        message = alice.call_message("ask", "ask_client", {"what": "elicit"})
        seen: list[dict[str, Any]] = []
        async with http.stream("POST", url, json=message, headers=alice.headers()) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            async for event in sse_messages(answer):
                seen.append(event)
                if event.get("method") == "elicitation/create":
                    # The question waits for alice; she cancels the call instead.
                    await alice.cancel("ask")
        question, *rest = seen
        assert question["method"] == "elicitation/create", seen
        dropped = [event for event in rest if event.get("method") == "notifications/cancelled"]
        assert [event["params"]["requestId"] for event in dropped] == [question["id"]], seen
        final = rest[-1]
        assert final["id"] == "ask" and final["error"]["code"] == -32800, seen
        # An answer to the dropped question is not an error for the session.
        late = {"jsonrpc": "2.0", "id": question["id"], "result": {"action": "decline"}}
        reply = await http.post(url, json=late, headers=alice.headers())
        assert reply.status_code in (202, 200), reply.text
        (echo,) = await alice.call(1, "echo", {"text": "still here"})
        assert echo["result"]["content"][0]["text"] == "still here"

    await flushed(live)
    (row,) = logged(engine, "ask_client")
    assert row.status == "cancelled"


@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_a_modern_client_cancels_by_closing_its_request(live, project, engine, unified):
    """2026-07-28 over HTTP: closing a request's response stream is its cancellation (the SDK
    client sends no notifications/cancelled); the upstream is told to stop all the same."""
    url = endpoint(live, project, unified)
    name = "local__slow" if unified else "slow"
    async with auto_client(url, project.key) as client:
        call = asyncio.create_task(client.call_tool(name, {"seconds": 6}))
        await eventually(lambda: "slow" in project.calls(), 10, "the call to start")
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        await eventually(lambda: "slow:cancelled" in project.calls(), 5, "the upstream to stop")
        still = await client.call_tool("local__echo" if unified else "echo", {"text": "here"})
        assert still.content[0].text == "here"
    await flushed(live)
    (row,) = logged(engine, "slow")
    assert row.status == "cancelled"
