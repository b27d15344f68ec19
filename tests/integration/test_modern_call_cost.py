"""What one 2026-07-28 tools/call costs the gateway beside a handshake-era one (issue 10,
item 6): counted, not timed. A session-less request must not do more per call than a
request of a session: no extra reads of the ASGI channel (until this was counted, every
such request left a receive() pending to notice the client closing it, and started two
tasks), no extra tasks, no database work of its own (rows go through the log
writer's batches in both eras).

Counted in the app served in this process, with the real SDK clients (`ClientSession` and
`mcp.Client`) and the fixture server behind it, through the per-server and unified endpoints.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event

from mcp_orch_app.gateway import http_endpoints
from tests.integration import test_encode_once
from tests.integration.test_gateway_endpoints import auto_client, flushed, handshake_session

live, setup = test_encode_once.live, test_encode_once.setup  # the same app and project
CALLS = 20
_IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)


@dataclass
class Work:
    """What the gateway did for the MCP POSTs of a run of calls: ASGI receive() calls, tasks
    started while answering, database statements (of any thread)."""

    requests: int = 0
    receives: int = 0
    tasks: int = 0
    statements: list[str] = field(default_factory=list)
    undo: list[Any] = field(default_factory=list)

    def restore(self) -> None:
        for step in self.undo:
            step()


def count_work(monkeypatch: pytest.MonkeyPatch, engine) -> Work:
    work = Work()
    answer = http_endpoints.McpEndpointsMiddleware.__call__

    async def counted(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await answer(self, scope, receive, send)

        async def counted_receive() -> Any:
            work.receives += 1
            return await receive()

        work.requests += 1
        token = _IN_REQUEST.set(True)
        try:
            await answer(self, scope, counted_receive, send)
        finally:
            _IN_REQUEST.reset(token)

    monkeypatch.setattr(http_endpoints.McpEndpointsMiddleware, "__call__", counted)
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop, coro, **options):
        if _IN_REQUEST.get():
            work.tasks += 1
        if previous is not None:
            return previous(loop, coro, **options)
        return asyncio.Task(coro, loop=loop, **options)

    loop.set_task_factory(factory)
    work.undo.append(lambda: loop.set_task_factory(previous))

    def statement(conn, cursor, text, parameters, context, executemany) -> None:
        work.statements.append(text.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", statement)
    work.undo.append(lambda: event.remove(engine, "before_cursor_execute", statement))
    work.undo.append(monkeypatch.undo)
    return work


async def _calls(client: Any, tool: str, monkeypatch, engine, live) -> Work:
    await client.call_tool(tool, {"text": "warm"})  # the upstream and the session are up
    await flushed(live)
    work = count_work(monkeypatch, engine)
    try:
        for i in range(CALLS):
            answer = await client.call_tool(tool, {"text": f"call {i}"})
            assert answer.content[0].text == f"call {i}"
    finally:
        work.restore()
    return work


@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_a_modern_call_does_no_more_work_than_a_handshake_era_call(
    live, setup, engine, monkeypatch, unified
):
    project = setup.project_id
    url = (
        f"{live.base_url}/projects/{project}/unified/mcp"
        if unified
        else live.url(project, "fixture")
    )
    tool = "fixture__echo" if unified else "echo"
    async with handshake_session(url, setup.key) as session:
        old = await _calls(session, tool, monkeypatch, engine, live)
    async with auto_client(url, setup.key) as client:
        modern = await _calls(client, tool, monkeypatch, engine, live)

    assert old.requests == modern.requests == CALLS  # one POST per call in both eras
    # The body, read once: a quick call never waits on the channel for a disconnect.
    assert modern.receives == old.receives == CALLS
    assert modern.tasks <= old.tasks
    # No database statement on the request path of either era: the only ones are the log
    # writer's batched rows (its thread), never a session row looked up or written per call.
    assert "SELECT" not in modern.statements
    assert modern.statements.count("INSERT") <= CALLS
