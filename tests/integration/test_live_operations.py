"""The live server operations over REST, end to end: refresh (one / all), restart and tool calls.

mcp-orch's FastAPI app runs under uvicorn on a free loopback port with the gateway's lifespan;
the project and its servers are made through the services, the servers are real processes (the
fixture MCP server over stdio, a command that does not exist, a process that never answers).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from sqlmodel import Session, col, select

from mcp_orch_app import db
from mcp_orch_app.gateway import operations
from mcp_orch_app.models import (
    Activity,
    McpServer,
    McpTool,
    ServerLog,
    ServerLogCategory,
    ToolCallLog,
)
from mcp_orch_app.models.enums import Role
from mcp_orch_app.services import projects, servers
from mcp_orch_app.services.schemas import ServerIn, ServerPatch
from tests.helpers import FIXTURE_SERVER, ok
from tests.live_app import LiveApp, running_app

HANG_TIMEOUT = 2


# --- the running app ------------------------------------------------------------------------


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


# --- a project with people and servers --------------------------------------------------------


def fixture_server_in(name: str, **fields: Any) -> ServerIn:
    env = {"PATH": os.environ["PATH"], **fields.pop("env", {})}
    return ServerIn(
        name=name,
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env=env,
        timeout_seconds=fields.pop("timeout_seconds", 20),
        **fields,
    )


@dataclass
class World:
    live: LiveApp
    project_id: uuid.UUID
    owner: Any
    developer: Any
    reporter: Any
    engine: Any

    def url(self, suffix: str) -> str:
        return f"{self.live.base_url}/api/projects/{self.project_id}/servers{suffix}"

    def add_server(self, data: ServerIn) -> uuid.UUID:
        with db.session_scope(self.engine) as s:
            return servers.create_server(s, self.owner.actor, self.project_id, data).id

    async def post(self, who: Any, suffix: str, json: Any = None) -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as http:
            return await http.post(self.url(suffix), json=json, headers=who.headers)

    async def flushed(self) -> None:
        await asyncio.to_thread(self.live.writer.flush, 10)


@pytest.fixture
def world(live, engine, make_person) -> World:
    owner, developer, reporter = make_person("Olivia"), make_person("Dimitri"), make_person("Rita")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "live")
        projects.add_member(s, owner.actor, project.id, developer.email, Role.DEVELOPER)
        projects.add_member(s, owner.actor, project.id, reporter.email, Role.REPORTER)
    return World(live, project.id, owner, developer, reporter, engine)


def rows(engine, model, *where) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model).where(*where)))


async def fixture_tool_names(env: dict[str, str] | None = None) -> set[str]:
    """What the fixture server lists when asked directly (no gateway in between)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env={"PATH": os.environ["PATH"], **(env or {})},
    )
    async with Client(params) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


# --- refresh ----------------------------------------------------------------------------------


async def test_refresh_puts_the_server_online_and_syncs_its_tools(world):
    env = {"FIXTURE_PARAM_HEADER_TOOL": "1"}
    expected = await fixture_tool_names(env)
    assert "routed" in expected
    sid = world.add_server(fixture_server_in("fixture", env=env))

    server = ok(await world.post(world.reporter, f"/{sid}/refresh"))

    assert server["status"] == "online"
    assert server["tools_count"] == len(expected)
    assert server["last_error"] is None
    assert server["last_checked_at"] is not None
    cached = {t.name for t in rows(world.engine, McpTool, McpTool.server_id == sid)}
    assert cached == expected
    (change,) = rows(
        world.engine,
        ServerLog,
        ServerLog.server_id == sid,
        ServerLog.category == ServerLogCategory.STATUS_CHANGE,
    )
    assert change.details["new_status"] == "online"
    (feed,) = rows(world.engine, Activity, Activity.action == "server.status_changed")
    assert feed.actor_id == world.reporter.id
    assert "fixture is online" in feed.description


async def test_a_tool_removed_upstream_disappears_from_the_cache_on_refresh(world):
    sid = world.add_server(fixture_server_in("fixture", env={"FIXTURE_PARAM_HEADER_TOOL": "1"}))
    ok(await world.post(world.developer, f"/{sid}/refresh"))
    with db.session_scope(world.engine) as s:
        # The edited env means a new process (the pool compares the connection settings).
        servers.update_server(
            s,
            world.owner.actor,
            world.project_id,
            sid,
            ServerPatch(env={"PATH": os.environ["PATH"]}),
        )

    server = ok(await world.post(world.developer, f"/{sid}/refresh"))

    cached = {t.name for t in rows(world.engine, McpTool, McpTool.server_id == sid)}
    assert "routed" not in cached
    assert cached == await fixture_tool_names()
    assert server["tools_count"] == len(cached)
    assert server["status"] == "online"


async def test_a_server_whose_command_does_not_exist_is_offline_with_a_readable_error(world):
    sid = world.add_server(ServerIn(name="ghost", command="mcp-orch-no-such-command-42"))

    server = ok(await world.post(world.reporter, f"/{sid}/refresh"))

    assert server["status"] == "offline"
    assert "mcp-orch-no-such-command-42" in server["last_error"]
    assert server["last_checked_at"] is not None
    (feed,) = rows(world.engine, Activity, Activity.action == "server.status_changed")
    assert feed.description.startswith("server ghost went offline: ")


async def test_refreshing_a_disabled_server_is_refused_with_409(world):
    sid = world.add_server(fixture_server_in("fixture", enabled=False))
    response = await world.post(world.developer, f"/{sid}/refresh")
    assert response.status_code == 409
    assert "disabled" in response.json()["detail"]
    assert world.live.gateway.pool.running(str(sid)) is None


async def test_refresh_all_checks_concurrently_so_a_hanging_server_costs_one_timeout(world):
    good = [world.add_server(fixture_server_in(f"good-{i}")) for i in range(3)]
    ghost = world.add_server(ServerIn(name="ghost", command="mcp-orch-no-such-command-42"))
    hanging = world.add_server(
        ServerIn(name="hanging", command="sleep", args=["600"], timeout_seconds=HANG_TIMEOUT)
    )
    off = world.add_server(fixture_server_in("switched-off", enabled=False))

    started = time.monotonic()
    listed = ok(await world.post(world.reporter, "/refresh"))
    elapsed = time.monotonic() - started

    by_id = {uuid.UUID(s["id"]): s for s in listed}
    assert set(by_id) == {*good, ghost, hanging, off}
    assert all(by_id[sid]["status"] == "online" for sid in good)
    assert by_id[ghost]["status"] == "offline"
    assert by_id[hanging]["status"] == "offline"
    assert f"{HANG_TIMEOUT}s" in by_id[hanging]["last_error"]
    assert by_id[off]["status"] == "disabled"
    assert by_id[off]["last_checked_at"] is None
    # Sequential would cost the hanging timeout plus every start; concurrent costs about one.
    assert elapsed < 2.5 * HANG_TIMEOUT, elapsed


async def test_reporter_may_refresh_but_not_restart_or_call(world):
    sid = world.add_server(fixture_server_in("fixture"))
    restart = await world.post(world.reporter, f"/{sid}/restart")
    call = await world.post(world.reporter, f"/{sid}/tools/echo/call", {"arguments": {"text": "x"}})
    assert restart.status_code == call.status_code == 403
    assert world.live.gateway.pool.running(str(sid)) is None
    await world.flushed()
    assert rows(world.engine, ToolCallLog) == []


# --- restart ----------------------------------------------------------------------------------


async def test_restart_starts_a_new_process_and_counts_it(world):
    sid = world.add_server(fixture_server_in("fixture"))
    ok(await world.post(world.developer, f"/{sid}/refresh"))
    first_pid = world.live.gateway.pool.running(str(sid)).pid

    server = ok(await world.post(world.developer, f"/{sid}/restart"))

    assert server["restart_count"] == 1
    assert server["status"] == "online"
    second_pid = world.live.gateway.pool.running(str(sid)).pid
    assert second_pid != first_pid
    (feed,) = rows(world.engine, Activity, Activity.action == "server.restarted")
    assert feed.actor_id == world.developer.id
    await world.flushed()
    categories = {log.category for log in rows(world.engine, ServerLog, ServerLog.server_id == sid)}
    assert ServerLogCategory.RESTART in categories


# --- tool calls -------------------------------------------------------------------------------


async def test_tool_call_returns_the_result_logs_it_and_counts_it(world):
    sid = world.add_server(fixture_server_in("fixture"))
    ok(await world.post(world.developer, f"/{sid}/refresh"))  # fills the tool cache

    result = ok(
        await world.post(world.developer, f"/{sid}/tools/echo/call", {"arguments": {"text": "hé"}})
    )

    assert result["content"][0] == {"type": "text", "text": "hé"}
    assert result.get("isError") in (None, False)
    await world.flushed()
    (row,) = rows(world.engine, ToolCallLog)
    assert (row.tool_name, row.status, row.client_name) == ("echo", "success", "mcp-orch API")
    assert row.server_id == sid and row.server_name == "fixture"
    assert row.arguments == {"text": "hé"}
    assert row.session_id is None and row.api_key_id is None
    (echo,) = rows(world.engine, McpTool, McpTool.server_id == sid, McpTool.name == "echo")
    assert echo.call_count == 1
    assert echo.avg_duration_ms == pytest.approx(row.duration_ms)
    listed = ok(
        await httpx.AsyncClient().get(
            world.url(f"/{sid}/tools"), headers=world.reporter.headers, timeout=10
        )
    )
    assert {t["name"]: t["call_count"] for t in listed}["echo"] == 1


async def test_tool_figures_are_a_running_average_over_calls(world):
    sid = world.add_server(fixture_server_in("fixture"))
    ok(await world.post(world.developer, f"/{sid}/refresh"))
    for seconds in (0.0, 0.3):
        ok(
            await world.post(
                world.developer, f"/{sid}/tools/slow/call", {"arguments": {"seconds": seconds}}
            )
        )
        await world.flushed()
    durations = [r.duration_ms for r in rows(world.engine, ToolCallLog)]
    (slow,) = rows(world.engine, McpTool, McpTool.server_id == sid, McpTool.name == "slow")
    assert slow.call_count == 2
    assert slow.avg_duration_ms == pytest.approx(sum(durations) / 2)
    assert slow.avg_duration_ms >= 150


async def test_tool_error_result_is_returned_with_200_and_logged_as_error(world):
    sid = world.add_server(fixture_server_in("fixture"))
    result = ok(
        await world.post(
            world.developer, f"/{sid}/tools/fail/call", {"arguments": {"message": "no luck"}}
        )
    )
    assert result["isError"] is True
    assert "no luck" in result["content"][0]["text"]
    await world.flushed()
    (row,) = rows(world.engine, ToolCallLog)
    assert row.status == "error" and row.error_code is None


async def test_disabled_tool_is_refused_on_call_and_logged_with_tool_disabled(world):
    sid = world.add_server(fixture_server_in("fixture", env={"FIXTURE_CALL_LOG": os.devnull}))
    ok(await world.post(world.developer, f"/{sid}/refresh"))
    async with httpx.AsyncClient(timeout=10) as http:
        ok(
            await http.put(
                world.url(f"/{sid}/tools/echo"),
                json={"enabled": False},
                headers=world.developer.headers,
            )
        )

    result = ok(
        await world.post(world.developer, f"/{sid}/tools/echo/call", {"arguments": {"text": "x"}})
    )

    assert result["isError"] is True
    assert "disabled" in result["content"][0]["text"]
    await world.flushed()
    (row,) = rows(world.engine, ToolCallLog)
    assert (row.status, row.error_code) == ("error", "TOOL_DISABLED")
    (echo,) = rows(world.engine, McpTool, McpTool.server_id == sid, McpTool.name == "echo")
    assert echo.call_count == 0  # it never reached the server


async def test_tool_call_that_times_out_is_504_logged_and_not_retried(world, tmp_path):
    calls = tmp_path / "calls.log"
    sid = world.add_server(
        fixture_server_in("slowpoke", timeout_seconds=1, env={"FIXTURE_CALL_LOG": str(calls)})
    )
    response = await world.post(
        world.developer, f"/{sid}/tools/slow/call", {"arguments": {"seconds": 5}}
    )
    assert response.status_code == 504
    assert "timed out" in response.json()["detail"]
    await world.flushed()
    (row,) = rows(world.engine, ToolCallLog)
    assert (row.status, row.error_code) == ("timeout", "TIMEOUT")
    assert calls.read_text().splitlines().count("slow") == 1


async def test_tool_call_to_a_server_that_cannot_start_is_502(world):
    sid = world.add_server(ServerIn(name="ghost", command="mcp-orch-no-such-command-42"))
    response = await world.post(world.developer, f"/{sid}/tools/echo/call", {"arguments": {}})
    assert response.status_code == 502
    assert "mcp-orch-no-such-command-42" in response.json()["detail"]
    await world.flushed()
    (row,) = rows(world.engine, ToolCallLog)
    assert row.error_code == "UPSTREAM_UNAVAILABLE"


async def test_tool_call_of_another_projects_server_is_not_found(world, make_person):
    stranger = make_person("Stan")
    with db.session_scope(world.engine) as s:
        other = projects.create_project(s, stranger.actor, "other")
        theirs = servers.create_server(s, stranger.actor, other.id, fixture_server_in("theirs")).id
    response = await world.post(world.owner, f"/{theirs}/tools/echo/call", {"arguments": {}})
    assert response.status_code == 404
    await world.flushed()
    assert rows(world.engine, ToolCallLog) == []
    assert rows(world.engine, McpServer, col(McpServer.id) == theirs)[0].status == "unknown"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"arguments": "text=hi"}, ("arguments",)),
        ({"arguments": ["hi"]}, ("arguments",)),
        (b"{not json", ("json",)),
    ],
)
async def test_a_tool_call_with_a_bad_body_is_422_and_calls_nothing(world, body, words):
    sid = world.add_server(fixture_server_in("fixture"))
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            world.url(f"/{sid}/tools/echo/call"),
            headers={**world.developer.headers, "content-type": "application/json"},
            **({"content": body} if isinstance(body, bytes) else {"json": body}),
        )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and all(w in detail.lower() for w in words), detail
    await world.flushed()
    assert rows(world.engine, ToolCallLog) == []
    assert world.live.gateway.pool.running(str(sid)) is None  # nothing was started either


async def test_live_operations_on_a_malformed_server_id_are_refused(world):
    for suffix in ("/not-a-server/refresh", "/not-a-server/restart", "/not-a-server/tools/x/call"):
        response = await world.post(world.developer, suffix, {"arguments": {}})
        assert response.status_code in (404, 422), response.text
        assert isinstance(response.json()["detail"], str)
    await world.flushed()
    assert rows(world.engine, ToolCallLog) == []


async def test_disabling_a_refreshed_server_stops_its_process(world):
    sid = world.add_server(fixture_server_in("fixture"))
    ok(await world.post(world.developer, f"/{sid}/refresh"))
    assert world.live.gateway.pool.running(str(sid)) is not None

    async with httpx.AsyncClient(timeout=10) as http:
        toggled = ok(await http.post(world.url(f"/{sid}/toggle"), headers=world.developer.headers))
    assert toggled["status"] == "disabled"

    deadline = time.monotonic() + 10
    while world.live.gateway.pool.running(str(sid)) is not None:
        assert time.monotonic() < deadline, "the disabled server's process is still running"
        await asyncio.sleep(0.05)


# --- paging -----------------------------------------------------------------------------------


class PagedUpstream:
    """Answers tools/list in pages of one tool, like a server with many tools may."""

    def __init__(self, names: list[str], *, repeat_cursor: bool = False) -> None:
        self.names = names
        self.repeat_cursor = repeat_cursor
        self.requests: list[Any] = []

    async def request(self, method: str, params: Any, *, timeout: float) -> dict[str, Any]:
        self.requests.append(params)
        index = int((params or {}).get("cursor") or 0)
        result: dict[str, Any] = {"tools": [{"name": self.names[index], "inputSchema": {}}]}
        if index + 1 < len(self.names):
            result["nextCursor"] = "0" if self.repeat_cursor else str(index + 1)
        return result


async def test_tool_listing_follows_every_next_cursor_page():
    upstream = PagedUpstream(["a", "b", "c"])
    tools = await operations.list_all_tools(upstream, timeout=1)
    assert [t["name"] for t in tools] == ["a", "b", "c"]
    assert upstream.requests == [None, {"cursor": "1"}, {"cursor": "2"}]


async def test_tool_listing_that_never_ends_is_reported_not_looped():
    upstream = PagedUpstream(["a", "b"], repeat_cursor=True)
    with pytest.raises(Exception, match="never end"):
        await operations.list_all_tools(upstream, timeout=1)


# --- resources and prompts --------------------------------------------------------------------


async def _get(world: World, who: Any, suffix: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.get(world.url(suffix), headers=who.headers)


async def test_resources_templates_and_prompts_are_listed_read_and_logged(world):
    sid = world.add_server(fixture_server_in("fixture"))

    listed = ok(await _get(world, world.reporter, f"/{sid}/resources"))["items"]
    assert [(r["uri"], r["mimeType"]) for r in listed] == [("fixture://greeting", "text/plain")]
    templates = ok(await _get(world, world.reporter, f"/{sid}/resource-templates"))["items"]
    assert [t["uriTemplate"] for t in templates] == ["fixture://items/{item_id}"]
    prompts = ok(await _get(world, world.reporter, f"/{sid}/prompts"))["items"]
    assert [(p["name"], [a["name"] for a in p["arguments"]]) for p in prompts] == [
        ("greet", ["name"])
    ]

    read = ok(
        await world.post(world.developer, f"/{sid}/resources/read", {"uri": "fixture://greeting"})
    )
    assert read["contents"][0]["text"] == "hello from the fixture"
    filled = ok(
        await world.post(world.developer, f"/{sid}/resources/read", {"uri": "fixture://items/42"})
    )
    assert filled["contents"][0]["text"] == "item 42"
    got = ok(
        await world.post(
            world.developer, f"/{sid}/prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}
        )
    )
    assert "Please greet Ada warmly." in got["messages"][0]["content"]["text"]

    await world.flushed()
    logged = rows(
        world.engine,
        ServerLog,
        ServerLog.server_id == sid,
        ServerLog.category == ServerLogCategory.REQUEST,
    )
    assert sorted((row.details["method"], row.level) for row in logged) == [
        ("prompts/get", "info"),
        ("resources/read", "info"),
        ("resources/read", "info"),
    ]
    assert all("Dimitri" in row.message for row in logged)
    # Resource and prompt requests are not tool calls.
    assert rows(world.engine, ToolCallLog, ToolCallLog.server_id == sid) == []


async def test_resource_reads_need_a_developer_and_bad_requests_are_readable(world):
    sid = world.add_server(fixture_server_in("fixture"))
    refused = await world.post(
        world.reporter, f"/{sid}/resources/read", {"uri": "fixture://greeting"}
    )
    assert refused.status_code == 403
    for body in ({}, {"uri": ""}, {"uri": 5}):
        answer = await world.post(world.developer, f"/{sid}/resources/read", body)
        assert answer.status_code == 422, answer.text
    bad_prompt = await world.post(
        world.developer, f"/{sid}/prompts/get", {"name": "greet", "arguments": {"name": 3}}
    )
    assert bad_prompt.status_code == 422
    missing = await world.post(world.developer, f"/{sid}/resources/read", {"uri": "fixture://nope"})
    assert missing.status_code == 502 and "error" in missing.json()["detail"]
    await world.flushed()
    (failed,) = rows(
        world.engine,
        ServerLog,
        ServerLog.server_id == sid,
        ServerLog.category == ServerLogCategory.REQUEST,
    )
    assert failed.level == "warning" and "failed" in failed.message
    unknown = await _get(world, world.reporter, f"/{uuid.uuid4()}/resources")
    assert unknown.status_code == 404
