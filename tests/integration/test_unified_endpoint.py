"""The unified endpoint of a project, end to end: real SDK clients -> mcp-orch over HTTP -> the
project's real MCP server processes, all behind `/projects/{id}/unified/{mcp,sse}`.

The project has two copies of our fixture server, `alpha` and `beta`, each with its own call
log, so a test sees which process a call reached. Parity: a client scenario run directly
against the fixture (stdio) and through the unified endpoint, with the names prefixed, gives
the same answers, over streamable HTTP (`ClientSession` handshake), SSE, and `mcp.Client` in
auto mode (the 2026-07-28 era). At the end: `subscriptions/listen` streams (2026-07-28), on a
server's endpoint and on the unified one.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import MCPError
from mcp.shared.subscriptions import ToolsListChanged
from mcp.types import PromptReference

from mcp_orch_app import db
from mcp_orch_app.gateway import unified
from mcp_orch_app.models import ToolPreference
from mcp_orch_app.models.logs import ClientSession as ClientSessionRow
from mcp_orch_app.models.logs import ServerLog, ToolCallLog
from mcp_orch_app.services import api_keys, client_config, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ProjectPatch, ServerIn
from tests.helpers import FIXTURE_SERVER, install_server_everything
from tests.integration.test_gateway_endpoints import (
    _status_of_initialize,
    auto_client,
    direct_fixture,
    fixture_server_in,
    flushed,
    handshake_session,
    http_client,
    rows,
    sse_session,
)
from tests.live_app import LiveApp, running_app

PROJECT_NAME = "Unified demo"
LONG_NAME = "a-server-whose-name-is-so-long-that-every-tool-name-is-cut60"


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@pytest.fixture(scope="session")
def server_everything() -> Path:
    return install_server_everything()


@dataclass
class Project:
    id: uuid.UUID
    key: str
    owner: Any
    call_logs: dict[str, Path]
    server_ids: dict[str, uuid.UUID]

    def calls_to(self, server: str) -> list[str]:
        """The tools the server's process ran (from its call log)."""
        log = self.call_logs[server]
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines if not line.startswith("server:")]


@pytest.fixture
def project(engine, make_person, tmp_path) -> Project:
    owner = make_person("owner")
    call_logs = {name: tmp_path / f"{name}.log" for name in ("alpha", "beta")}
    with db.session_scope(engine) as s:
        created = projects.create_project(s, owner.actor, PROJECT_NAME)
        server_ids = {
            name: servers.create_server(s, owner.actor, created.id, fixture_server_in(name, log)).id
            for name, log in call_logs.items()
        }
        key = api_keys.create_api_key(s, owner.actor, created.id, ApiKeyIn(name="ci")).key
    return Project(created.id, key, owner, call_logs, server_ids)


def add_server(engine, project: Project, server: ServerIn) -> uuid.UUID:
    with db.session_scope(engine) as s:
        return servers.create_server(s, project.owner.actor, project.id, server).id


def add_everything(engine, project: Project, server_everything: Path) -> None:
    add_server(
        engine,
        project,
        ServerIn(name="everything", command=str(server_everything), args=["stdio"]),
    )


class Notifications:
    """A client callback (message_handler, logging_callback) keeping what it got; `method`
    keeps only the server notifications of that method."""

    def __init__(self, method: str | None = None) -> None:
        self.method = method
        self.received: list[Any] = []
        self._arrived = asyncio.Event()

    async def __call__(self, item: Any) -> None:
        notification = getattr(item, "root", item)
        if self.method is None or getattr(notification, "method", None) == self.method:
            self.received.append(notification)
            self._arrived.set()

    async def first(self, seconds: float = 10) -> Any:
        await asyncio.wait_for(self._arrived.wait(), seconds)
        return self.received[0]


def unified_url(live: LiveApp, project_id: Any, path: str = "mcp") -> str:
    return f"{live.base_url}/projects/{project_id}/unified/{path}"


def connect(
    live: LiveApp, project: Project, mode: str, **options: Any
) -> AbstractAsyncContextManager:
    """A client of the unified endpoint: ClientSession over streamable HTTP or SSE, or
    mcp.Client in auto mode."""
    if mode == "sse":
        return sse_session(unified_url(live, project.id, "sse"), project.key, **options)
    if mode == "auto":
        return auto_client(unified_url(live, project.id), project.key)
    return handshake_session(unified_url(live, project.id), project.key, **options)


def shortened(full: str) -> str:
    """The documented form of a unified tool name over 64 characters, computed here."""
    return f"{full[:55]}_{hashlib.sha256(full.encode()).hexdigest()[:8]}"


async def eventually(check: Callable[[], Awaitable[bool] | bool], seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        outcome = check()
        if isinstance(outcome, Awaitable):
            outcome = await outcome
        if outcome:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


# --- parity: the same answers, with the server's prefix ----------------------------------------


async def scenario(
    client: Any, tool: Callable[[str], str], uri: Callable[[str], str]
) -> dict[str, Any]:
    """What a client gets from one fixture server; ``tool`` and ``uri`` name things the way
    the endpoint under test does."""
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    echo = await client.call_tool(tool("echo"), {"text": "héllo"})
    added = await client.call_tool(tool("add"), {"a": 2, "b": 3.5})
    failed = await client.call_tool(tool("fail"), {"message": "no luck"})
    stepped = await client.call_tool(tool("progress"), {"steps": 3}, progress_callback=on_progress)
    greeting = await client.read_resource(uri("fixture://greeting"))
    item = await client.read_resource(uri("fixture://items/42"))
    prompt = await client.get_prompt(tool("greet"), {"name": "Ada"})
    return {
        "echo": (echo.content[0].text, echo.structured_content, echo.is_error),
        "add": (added.content[0].text, added.structured_content, added.is_error),
        "fail": (failed.content[0].text, failed.is_error),
        "progress": (stepped.content[0].text, progress),
        "greeting": (
            greeting.contents[0].text,
            greeting.contents[0].uri == uri("fixture://greeting"),
        ),
        "item": (item.contents[0].text, item.contents[0].uri == uri("fixture://items/42")),
        "prompt": prompt.messages[0].content.text,
    }


def _tool_view(tools: Any, prefix: str = "") -> list[tuple[str, str | None, Any]]:
    return sorted(
        (t.name.removeprefix(prefix), t.description, sorted(t.input_schema)) for t in tools.tools
    )


@pytest.mark.parametrize("mode", ["handshake", "sse", "auto"])
async def test_a_call_reaches_the_named_server_and_answers_like_the_direct_call(
    live, project, engine, tmp_path, mode
):
    async with direct_fixture(tmp_path / "direct.log", auto=mode == "auto") as direct:
        expected_tools = _tool_view(await direct.list_tools())
        expected = await scenario(direct, lambda name: name, lambda uri: uri)

    async with connect(live, project, mode) as client:
        listed = await client.list_tools()
        names = {t.name for t in listed.tools}
        assert {f"alpha__{name}" for name, _, _ in expected_tools} <= names
        beta = [t for t in listed.tools if t.name.startswith("beta__")]
        assert _tool_view(type(listed)(tools=beta), "beta__") == expected_tools
        answers = await scenario(
            client, lambda name: f"beta__{name}", lambda uri: f"mcp-orch:beta/{uri}"
        )
    assert answers == expected
    assert expected["progress"][1] == [
        (1, 3, "step 1 of 3"),
        (2, 3, "step 2 of 3"),
        (3, 3, "step 3 of 3"),
    ]
    assert project.calls_to("beta") == ["echo", "add", "fail", "progress"]
    assert project.calls_to("alpha") == []

    await flushed(live)
    calls = rows(engine, ToolCallLog, ToolCallLog.project_id == project.id)
    assert sorted(c.tool_name for c in calls) == ["add", "echo", "fail", "progress"]
    assert {(c.server_name, c.server_id) for c in calls} == {("beta", project.server_ids["beta"])}
    (session_id,) = {c.session_id for c in calls}
    (session,) = rows(engine, ClientSessionRow, ClientSessionRow.id == session_id)
    assert session.server_id is None and session.project_id == project.id
    assert session.total_calls == 4 and session.failed_calls == 1
    era = "2026-07-28" if mode == "auto" else "2025-11-25"
    assert session.protocol_version == era
    assert session.transport == ("sse" if mode == "sse" else "streamable_http")


async def test_initialize_names_the_project_and_offers_what_the_servers_offer(live, project):
    async with connect(live, project, "handshake") as session:
        assert session.server_info.name == f"mcp-orch unified: {PROJECT_NAME}"
        capabilities = session.server_capabilities
        assert capabilities.tools is not None and capabilities.tools.list_changed
        assert capabilities.resources is not None and capabilities.resources.list_changed
        # The fixture speaks 2026-07-28 upstream: a resources/subscribe becomes a URI of its
        # listen stream (tests/integration/test_resource_subscriptions.py).
        assert capabilities.resources.subscribe
        assert capabilities.prompts is not None and capabilities.prompts.list_changed
        instructions = session.instructions or ""
        assert "alpha, beta" in instructions and "<server>__<name>" in instructions
    async with connect(live, project, "auto") as client:
        assert client.session.protocol_version == "2026-07-28"
        assert client.session.server_info.name == f"mcp-orch unified: {PROJECT_NAME}"


# --- names -------------------------------------------------------------------------------------


async def test_a_tool_name_over_64_characters_is_shortened_stably_and_callable(
    live, project, engine, tmp_path
):
    long_log = tmp_path / "long.log"
    long_id = add_server(engine, project, fixture_server_in(LONG_NAME, long_log))
    echo = shortened(f"{LONG_NAME}__echo")
    async with connect(live, project, "handshake") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert echo in names and f"{LONG_NAME}__echo" not in names
        long_ones = [name for name in names if name.startswith(LONG_NAME[:55])]
        assert len(long_ones) == len([name for name in names if name.startswith("alpha__")])
        assert all(len(name) == 64 for name in long_ones)
        assert (await session.call_tool(echo, {"text": "long way"})).content[0].text == "long way"

    # Another gateway (a restart, another worker) routes the name without a listing of its own.
    async with running_app(engine) as other:
        async with connect(other, project, "handshake") as session:
            result = await session.call_tool(echo, {"text": "again"})
            assert result.content[0].text == "again"
        await flushed(other)
    assert long_log.read_text().splitlines().count("echo") == 2
    calls = rows(engine, ToolCallLog, ToolCallLog.server_id == long_id)
    assert [(c.server_name, c.tool_name, c.status) for c in calls] == [
        (LONG_NAME, "echo", "success")
    ] * 2


async def test_a_disabled_tool_is_hidden_and_refused_but_its_namesake_on_another_server_is_not(
    live, project, engine
):
    with db.session_scope(engine) as s:
        s.add(
            ToolPreference(
                project_id=project.id,
                server_id=project.server_ids["alpha"],
                tool_name="add",
                enabled=False,
            )
        )
    async with connect(live, project, "handshake") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert "alpha__add" not in names and "beta__add" in names and "alpha__echo" in names
        refused = await session.call_tool("alpha__add", {"a": 1, "b": 2})
        assert refused.is_error and "disabled" in refused.content[0].text
        assert (await session.call_tool("beta__add", {"a": 1, "b": 2})).content[0].text == "3.0"
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.error_code == "TOOL_DISABLED")
    assert (row.server_name, row.server_id, row.tool_name) == (
        "alpha",
        project.server_ids["alpha"],
        "add",
    )
    assert project.calls_to("alpha") == [] and project.calls_to("beta") == ["add"]


async def test_an_unknown_tool_name_is_an_invalid_params_error_logged_as_tool_not_found(
    live, project, engine
):
    async with connect(live, project, "handshake") as session:
        for name in ("alpha__nope", "nobody__echo", "echo"):
            with pytest.raises(MCPError) as refused:
                await session.call_tool(name, {})
            assert refused.value.code == -32602 and "Unknown tool" in str(refused.value)
        assert (await session.call_tool("alpha__echo", {"text": "ok"})).content[0].text == "ok"
    await flushed(live)
    refusals = rows(engine, ToolCallLog, ToolCallLog.error_code == "TOOL_NOT_FOUND")
    assert sorted((r.server_name, r.tool_name, r.status) for r in refusals) == [
        ("", "echo", "error"),
        ("", "nobody__echo", "error"),
        ("alpha", "nope", "error"),
    ]
    assert all(r.session_id is not None for r in refusals)
    assert project.calls_to("alpha") == ["echo"]


# --- resources, templates, prompts, completion -----------------------------------------------


async def test_resources_templates_and_prompts_of_every_server_are_listed_and_readable(
    live, project
):
    async with connect(live, project, "handshake") as session:
        resources = {str(r.uri) for r in (await session.list_resources()).resources}
        assert resources == {
            "mcp-orch:alpha/fixture://greeting",
            "mcp-orch:beta/fixture://greeting",
        }
        templates = {
            t.uri_template for t in (await session.list_resource_templates()).resource_templates
        }
        assert templates == {
            "mcp-orch:alpha/fixture://items/{item_id}",
            "mcp-orch:beta/fixture://items/{item_id}",
        }
        read = await session.read_resource("mcp-orch:alpha/fixture://items/7")
        assert (read.contents[0].text, read.contents[0].uri) == (
            "item 7",
            "mcp-orch:alpha/fixture://items/7",
        )
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert prompts == {"alpha__greet", "beta__greet"}
        prompt = await session.get_prompt("alpha__greet", {"name": "Grace"})
        assert prompt.messages[0].content.text == "Please greet Grace warmly."
        for bad in ("fixture://greeting", "mcp-orch:nobody/fixture://greeting"):
            with pytest.raises(MCPError, match="Unknown resource"):
                await session.read_resource(bad)
        with pytest.raises(MCPError, match="Unknown prompt"):
            await session.get_prompt("greet", {"name": "x"})


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed as of 2026-07-28")
async def test_server_everything_behind_the_unified_endpoint(
    live, project, engine, server_everything
):
    add_everything(engine, project, server_everything)
    updates = Notifications("notifications/resources/updated")
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with connect(live, project, "handshake", message_handler=updates) as session:
        assert session.server_capabilities.resources.subscribe
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"everything__echo", "everything__get-resource-links", "alpha__echo"} <= names

        links = await session.call_tool("everything__get-resource-links", {"count": 2})
        uris = [item.uri for item in links.content if item.type == "resource_link"]
        assert len(uris) == 2 and all(u.startswith("mcp-orch:everything/demo://") for u in uris)
        read = await session.read_resource(uris[1])
        assert read.contents[0].uri == uris[1]

        long_run = await session.call_tool(
            "everything__trigger-long-running-operation",
            {"duration": 0.3, "steps": 3},
            progress_callback=on_progress,
        )
        assert not long_run.is_error and progress == [1, 2, 3]

        completion = await session.complete(
            PromptReference(type="ref/prompt", name="everything__completable-prompt"),
            {"name": "department", "value": "E"},
        )
        assert completion.completion.values == ["Engineering"]

        await asyncio.sleep(0.2)  # the client opens its GET stream in the background
        await session.subscribe_resource(uris[1])
        await session.call_tool("everything__toggle-subscriber-updates", {})
        try:
            assert (await updates.first()).params.uri == uris[1]
        finally:
            await session.call_tool("everything__toggle-subscriber-updates", {})


# --- failures ----------------------------------------------------------------------------------


async def test_servers_that_cannot_start_or_hang_are_left_out_and_the_others_work(
    live, project, engine
):
    hanging = {"command": sys.executable, "args": ["-c", "import time; time.sleep(600)"]}
    broken = {
        server.name: add_server(engine, project, server)
        for server in (
            ServerIn(name="ghost", command="/nonexistent/mcp-server"),
            ServerIn(name="sleeper", timeout_seconds=2, **hanging),
            ServerIn(name="sleeper2", timeout_seconds=2, **hanging),
        )
    }
    async with connect(live, project, "handshake") as session:
        started = time.monotonic()
        names = {t.name for t in (await session.list_tools()).tools}
        # The servers are asked at once: two 2 s timeouts cost about 2 s, not 4.
        assert time.monotonic() - started < 3.5
        assert "alpha__echo" in names and "beta__echo" in names
        assert not any(name.split("__")[0] in broken for name in names)
        assert (await session.call_tool("alpha__echo", {"text": "fine"})).content[0].text == "fine"
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert prompts == {"alpha__greet", "beta__greet"}
    await flushed(live)
    for name, server_id in broken.items():
        left_out = [
            log
            for log in rows(engine, ServerLog, ServerLog.server_id == server_id)
            if "left out of the unified endpoint" in log.message
        ]
        assert len(left_out) == 1, name  # reported once a minute, not on every list
        assert left_out[0].level == "warning"
    (ghost,) = [
        log.message
        for log in rows(engine, ServerLog, ServerLog.server_id == broken["ghost"])
        if "left out" in log.message
    ]
    assert "nonexistent" in ghost or "not found" in ghost.lower()


async def test_initialize_does_not_wait_for_a_slow_server_whose_tools_come_later(
    live, project, engine, monkeypatch
):
    monkeypatch.setattr(unified, "IDENTITY_WAIT", 0.5)
    late = ServerIn(
        name="late",
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env={"FIXTURE_START_DELAY": "3"},
        timeout_seconds=30,
    )
    late_id = str(add_server(engine, project, late))
    changed = Notifications("notifications/tools/list_changed")
    async with connect(live, project, "handshake", message_handler=changed) as session:
        # Answered while the slow server is still starting...
        assert live.gateway.pool.running(late_id) is None
        await asyncio.sleep(0.2)  # the client opens its GET stream in the background
        # ...which is said to the client once it is up, and its tools are then listed.
        await changed.first(20)
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"alpha__echo", "late__echo"} <= names


async def test_a_cancelled_call_is_cancelled_on_its_server_and_logged(live, project, engine):
    async with connect(live, project, "handshake") as session:
        slow = asyncio.create_task(session.call_tool("beta__slow", {"seconds": 5}))
        await eventually(lambda: "slow" in project.calls_to("beta"), 5, "the call to start")
        slow.cancel()  # the SDK client sends notifications/cancelled
        with pytest.raises(asyncio.CancelledError):
            await slow
        await eventually(
            lambda: "slow:cancelled" in project.calls_to("beta"), 5, "beta to stop the call"
        )
        assert (await session.call_tool("beta__echo", {"text": "still"})).content[0].text == "still"
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "slow")
    assert (row.server_name, row.status) == ("beta", "cancelled") and row.duration_ms < 4000


async def test_a_servers_tool_list_change_reaches_unified_sessions(live, project):
    changed = Notifications("notifications/tools/list_changed")
    async with connect(live, project, "sse", message_handler=changed) as session:
        await session.call_tool("alpha__announce_tools_changed", {})
        await changed.first()


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
async def test_log_messages_of_a_server_reach_unified_sessions_named_by_it(
    live, project, engine, server_everything
):
    add_everything(engine, project, server_everything)
    logged = Notifications()
    async with connect(live, project, "handshake", logging_callback=logged) as session:
        await session.set_logging_level("debug")
        await asyncio.sleep(0.2)  # the client opens its GET stream in the background
        await session.call_tool("everything__toggle-simulated-logging", {})
        try:
            assert (await logged.first()).logger.startswith("everything")
        finally:
            await session.call_tool("everything__toggle-simulated-logging", {})


# --- access ------------------------------------------------------------------------------------


async def test_requests_without_a_usable_key_are_refused_and_a_turned_off_endpoint_is_404(
    live, project, engine, make_person
):
    url = unified_url(live, project.id)
    for key in (None, "mch_not-a-real-key"):
        response = await _status_of_initialize(url, key)
        assert response.status_code == 401, key
        assert response.headers["www-authenticate"].startswith("Bearer")

    other = make_person("other")
    with db.session_scope(engine) as s:
        theirs = projects.create_project(s, other.actor, "theirs")
        their_key = api_keys.create_api_key(s, other.actor, theirs.id, ApiKeyIn(name="k")).key
    assert (await _status_of_initialize(url, their_key)).status_code == 401
    assert (
        await _status_of_initialize(unified_url(live, theirs.id), project.key)
    ).status_code == 401
    assert (await _status_of_initialize(url, project.key)).status_code == 200

    with db.session_scope(engine) as s:
        projects.update_project(
            s, project.owner.actor, project.id, ProjectPatch(unified_enabled=False)
        )
    turned_off = await _status_of_initialize(url, project.key)
    assert turned_off.status_code == 404 and "turned off" in turned_off.json()["error"]["message"]
    # The per-server endpoints stay open.
    server_url = f"{live.base_url}/projects/{project.id}/servers/alpha/mcp"
    assert (await _status_of_initialize(server_url, project.key)).status_code == 200


async def test_unknown_sessions_and_sessions_of_other_endpoints_answer_404(live, project):
    url = unified_url(live, project.id)
    server_url = f"{live.base_url}/projects/{project.id}/servers/alpha/mcp"
    server_session = (await _status_of_initialize(server_url, project.key)).headers[
        "mcp-session-id"
    ]
    unified_session = (await _status_of_initialize(url, project.key)).headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    async with http_client(project.key) as http:
        for endpoint, session_id in (
            (url, uuid.uuid4().hex),
            (url, server_session),
            (server_url, unified_session),
        ):
            response = await http.post(
                endpoint, json=listing, headers={"mcp-session-id": session_id, **accept}
            )
            assert response.status_code == 404, (endpoint, session_id)
        ok = await http.post(
            url, json=listing, headers={"mcp-session-id": unified_session, **accept}
        )
        assert ok.status_code == 200 and "alpha__echo" in ok.text
        missing = await http.post(
            unified_url(live, project.id, "messages") + f"?session_id={uuid.uuid4().hex}",
            json=listing,
        )
        assert missing.status_code == 404


@pytest.mark.parametrize(
    ("client", "transport", "session_over"),
    [("cursor", "http", handshake_session), ("cline", "sse", sse_session)],
)
async def test_the_client_config_snippets_point_at_the_working_unified_endpoint(
    live, project, engine, client, transport, session_over
):
    with db.session_scope(engine) as s:
        snippet = client_config.client_config(
            s,
            project.owner.actor,
            project.id,
            client=client,
            unified=True,
            base_url=live.base_url,
            transport=transport,
        )
    assert snippet.url == unified_url(live, project.id, "mcp" if transport == "http" else "sse")
    assert snippet.url in snippet.content
    async with session_over(snippet.url, project.key) as session:
        assert (await session.call_tool("beta__echo", {"text": "hi"})).content[0].text == "hi"


# --- subscriptions/listen (2026-07-28) ----------------------------------------------------


async def _first_event(subscription: Any, seconds: float = 10) -> Any:
    return await asyncio.wait_for(anext(aiter(subscription)), seconds)


async def test_a_server_endpoint_passes_its_servers_tool_list_changes(live: LiveApp, project):
    url = live.url(project.id, "alpha")
    async with (
        auto_client(url, project.key) as client,
        auto_client(url, project.key) as caller,
        client.listen(
            tools_list_changed=True, prompts_list_changed=True, resource_subscriptions=["x://y"]
        ) as subscription,
    ):
        # What the fixture advertises: tools and prompts change, and resources can be
        # subscribed (test_resource_subscriptions.py has the updates themselves).
        assert subscription.honored.tools_list_changed is True
        assert subscription.honored.resource_subscriptions == ["x://y"]
        await caller.call_tool("announce_tools_changed", {})
        assert isinstance(await _first_event(subscription), ToolsListChanged)


async def test_the_unified_endpoint_passes_changes_and_says_when_servers_change(
    live: LiveApp, project: Project, engine, tmp_path
):
    url = unified_url(live, project.id)
    async with (
        auto_client(url, project.key) as client,
        auto_client(url, project.key) as caller,
        client.listen(tools_list_changed=True) as subscription,
    ):
        assert subscription.honored.tools_list_changed is True
        await caller.call_tool("beta__announce_tools_changed", {})
        assert isinstance(await _first_event(subscription), ToolsListChanged)

        # A server added to the project changes the unified tool list.
        with db.session_scope(engine) as s:
            servers.create_server(
                s,
                project.owner.actor,
                project.id,
                fixture_server_in("gamma", tmp_path / "gamma.log"),
            )
        assert isinstance(await _first_event(subscription), ToolsListChanged)


async def test_a_listen_without_a_filter_is_refused(live: LiveApp, project: Project):
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            live.url(project.id, "alpha"),
            json={
                "jsonrpc": "2.0",
                "id": 7,
                "method": "subscriptions/listen",
                "params": {"_meta": meta, "notifications": "everything"},
            },
            headers={
                "Authorization": f"Bearer {project.key}",
                "MCP-Protocol-Version": "2026-07-28",
                "Mcp-Method": "subscriptions/listen",
                "Accept": "application/json, text/event-stream",
            },
        )
    body = response.json()
    assert body["error"]["code"] == -32602, body
    assert "notifications filter" in body["error"]["message"]
