"""Server-to-client requests through mcp-orch (gateway/client_requests.py): real SDK clients with
sampling, elicitation and roots callbacks -> mcp-orch over HTTP -> the fixture server, which asks
its client from inside a tool (`ask_client`), as a stdio process and serving streamable HTTP.

The fixture runs with FIXTURE_HANDSHAKE_ONLY=1: the 2025-11-25 era is the one in which a server
sends its client requests. Each answer must reach the client whose call caused the request and
go back to the server; a client without the capability, one that declines, one that never
answers and a cancelled call end as they would without the gateway; the call's log row lists
the requests and their outcomes, never their content.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import mcp.types as types
import pytest
from mcp import MCPError

from mcp_orch_app import db
from mcp_orch_app.gateway.client_requests import INPUT_LOG_KEY, SERVER_META_KEY
from mcp_orch_app.models.enums import Transport
from mcp_orch_app.models.logs import ServerLog, ToolCallLog
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.helpers import FIXTURE_SERVER
from tests.integration.test_gateway_endpoints import flushed, handshake_session, rows, sse_session
from tests.integration.test_http_upstreams import HttpServer, free_port
from tests.live_app import LiveApp, running_app

HANDSHAKE_ONLY = {"FIXTURE_HANDSHAKE_ONLY": "1"}


@dataclass
class Project:
    id: uuid.UUID
    key: str


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@pytest.fixture
async def remote_fixture(tmp_path) -> AsyncIterator[HttpServer]:
    """The fixture serving streamable HTTP itself (a remote server of the project)."""
    server = HttpServer(
        command=[
            *(sys.executable, str(FIXTURE_SERVER)),
            *("--transport", "streamable-http", "--port", "{port}"),
        ],
        path="/mcp",
        transport=Transport.STREAMABLE_HTTP,
        log=tmp_path / "remote.log",
        env=HANDSHAKE_ONLY,
        port=free_port(),
    )
    await server.start()
    try:
        yield server
    finally:
        server.kill()


def _stdio_server(name: str, timeout: int) -> ServerIn:
    return ServerIn(
        name=name,
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env=HANDSHAKE_ONLY,
        timeout_seconds=timeout,
    )


@pytest.fixture
def project(engine, make_person, remote_fixture) -> Project:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        made = projects.create_project(s, owner.actor, "asking")
        servers.create_server(s, owner.actor, made.id, _stdio_server("local", 20))
        servers.create_server(s, owner.actor, made.id, _stdio_server("quick", 2))
        remote = ServerIn(
            name="remote",
            transport=Transport.STREAMABLE_HTTP,
            url=remote_fixture.url,
            timeout_seconds=20,
        )
        servers.create_server(s, owner.actor, made.id, remote)
        key = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="ci"))
    return Project(made.id, key.key)


def url(live, project: Project, server: str | None) -> str:
    if server is None:
        return f"{live.base_url}/projects/{project.id}/unified/mcp"
    return live.url(project.id, server)


class Human:
    """A client's callbacks: what it answers, and what it was asked."""

    def __init__(self, name: str = "ada", action: str = "accept", model: str = "m-1") -> None:
        self.name, self.action, self.model = name, action, model
        self.asked: list[tuple[str, Any]] = []
        self.never_answer = False

    async def elicit(self, context: Any, params: Any) -> types.ElicitResult:
        self.asked.append(("elicit", params))
        if self.never_answer:
            await asyncio.sleep(60)
        content = {"name": self.name} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)

    async def sample(self, context: Any, params: Any) -> types.CreateMessageResult:
        self.asked.append(("sample", params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"hello from {self.name}"),
            model=self.model,
        )

    async def roots(self, context: Any) -> types.ListRootsResult:
        self.asked.append(("roots", None))
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///home/{self.name}")])

    def callbacks(self) -> dict[str, Any]:
        return {
            "elicitation_callback": self.elicit,
            "sampling_callback": self.sample,
            "list_roots_callback": self.roots,
        }


@asynccontextmanager
async def client(endpoint: str, key: str, transport: str, human: Human | None):
    opened = sse_session if transport == "sse" else handshake_session
    options = human.callbacks() if human is not None else {}
    target = endpoint.removesuffix("/mcp") + "/sse" if transport == "sse" else endpoint
    async with opened(target, key, **options) as session:
        yield session


def stored(value: Any) -> Any:
    """A JSON column's value (text or a parsed document, depending on the database)."""
    return json.loads(value) if isinstance(value, str) else value


def input_log(row: ToolCallLog) -> list[dict[str, Any]] | None:
    """The server-to-client requests a call's log row lists."""
    result = stored(row.result)
    meta = result.get("_meta") if isinstance(result, dict) else None
    return meta.get(INPUT_LOG_KEY) if isinstance(meta, dict) else None


def text(result: Any) -> str:
    return result.content[0].text


# --- every request kind, per-server and unified, stdio and streamable HTTP -----------------


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
@pytest.mark.parametrize("upstream", ["local", "remote"])
@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_each_request_reaches_the_client_and_its_answer_the_server(
    live, project, engine, upstream, unified, transport
):
    human = Human()
    endpoint = url(live, project, None if unified else upstream)
    name = f"{upstream}__ask_client" if unified else "ask_client"
    async with client(endpoint, project.key, transport, human) as session:
        assert text(await session.call_tool(name, {"what": "elicit"})) == "accept: ada"
        assert text(await session.call_tool(name, {"what": "sample"})) == "m-1: hello from ada"
        assert text(await session.call_tool(name, {"what": "root_uris"})) == "file:///home/ada"
        assert text(await session.call_tool(name, {"what": "elicit_url"})) == "accept"
        assert text(await session.call_tool(name, {"what": "ping"})) == "pong"
    kinds = [kind for kind, _ in human.asked]
    assert kinds == ["elicit", "sample", "roots", "elicit"]
    form, url_mode = human.asked[0][1], human.asked[3][1]
    if unified:
        # The client sees which server asks.
        assert form.message == f"[{upstream}] What is your name?"
        assert (form.meta or {}).get(SERVER_META_KEY) == upstream
    else:
        assert form.message == "What is your name?"
        assert SERVER_META_KEY not in (form.meta or {})
    assert url_mode.mode == "url" and url_mode.url == "https://example.org/login"

    await flushed(live)
    logged = {
        stored(row.arguments)["what"]: input_log(row)
        for row in rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_client")
    }
    assert logged["ping"] == [{"method": "ping", "outcome": "answered"}]
    assert logged["elicit"] == [
        {"method": "elicitation/create", "mode": "form", "outcome": "accept"}
    ]
    assert logged["elicit_url"] == [
        {"method": "elicitation/create", "mode": "url", "outcome": "accept"}
    ]
    assert logged["sample"] == [
        {"method": "sampling/createMessage", "outcome": "answered", "model": "m-1"}
    ]
    assert logged["root_uris"] == [{"method": "roots/list", "outcome": "answered", "roots": 1}]
    # Never the content: the name the human typed is in no log row.
    assert all("ada" not in json.dumps(records) for records in logged.values())


# --- who gets what ------------------------------------------------------------------------


@pytest.mark.parametrize("upstream", ["local", "remote"])
async def test_two_clients_sharing_one_upstream_each_get_only_their_own_requests(
    live, project, upstream
):
    ada, bob = Human("ada"), Human("bob")
    endpoint = url(live, project, upstream)
    async with (
        client(endpoint, project.key, "streamable_http", ada) as first,
        client(endpoint, project.key, "streamable_http", bob) as second,
    ):

        async def asks(session: Any) -> list[str]:
            return [
                text(await session.call_tool("ask_client", {"what": "elicit"})) for _ in range(5)
            ]

        if upstream == "remote":
            # The POST stream names the call: both clients may ask at once.
            answers = await asyncio.gather(asks(first), asks(second))
            assert answers == [["accept: ada"] * 5, ["accept: bob"] * 5]
        else:
            # Over stdio nothing names the call: one client's calls at a time are unambiguous.
            assert await asks(first) == ["accept: ada"] * 5
            assert await asks(second) == ["accept: bob"] * 5
    assert [kind for kind, _ in ada.asked] == ["elicit"] * 5
    assert [kind for kind, _ in bob.asked] == ["elicit"] * 5


async def test_over_stdio_calls_of_two_clients_at_once_never_ask_the_wrong_one(live, project):
    ada, bob = Human("ada"), Human("bob")
    endpoint = url(live, project, "local")
    async with (
        client(endpoint, project.key, "streamable_http", ada) as first,
        client(endpoint, project.key, "streamable_http", bob) as second,
    ):
        # ada's call is in flight on the shared process while bob's call asks.
        held = asyncio.create_task(first.call_tool("slow", {"seconds": 2}))
        await asyncio.sleep(0.5)
        answer = text(await second.call_tool("ask_client", {"what": "elicit"}))
        assert answer.startswith("error -32600: mcp-orch cannot tell which of its clients")
        await held
        # Alone again, bob is asked.
        assert text(await second.call_tool("ask_client", {"what": "elicit"})) == "accept: bob"
    assert ada.asked == [] and [kind for kind, _ in bob.asked] == ["elicit"]


# --- refusals, declines, timeouts, cancellation ----------------------------------------------


@pytest.mark.parametrize("upstream", ["local", "remote"])
async def test_a_client_without_the_capability_answers_as_the_sdk_client_would(
    live, project, upstream
):
    async with client(url(live, project, upstream), project.key, "streamable_http", None) as s:
        # No callbacks: mcp-orch announced them upstream, so it answers what the client would.
        assert text(await s.call_tool("ask_client", {"what": "sampling"})).startswith(
            "error -32600: Sampling not supported"
        )
        assert text(await s.call_tool("ask_client", {"what": "roots"})).startswith(
            "error -32600: List roots not supported"
        )
        assert text(await s.call_tool("ask_client", {"what": "ping"})) == "pong"


async def test_a_client_that_declines_is_answered_decline_and_logged(live, project, engine):
    human = Human(action="decline")
    async with client(url(live, project, "remote"), project.key, "streamable_http", human) as s:
        assert text(await s.call_tool("ask_client", {"what": "elicit"})) == "decline"
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_client")
    assert input_log(row) == [
        {"method": "elicitation/create", "mode": "form", "outcome": "decline"}
    ]


async def test_a_client_that_never_answers_fails_the_call_after_the_timeout(live, project, engine):
    human = Human()
    human.never_answer = True
    async with client(url(live, project, "quick"), project.key, "streamable_http", human) as s:
        # The question has the call's time: the server's 2 s timeout.
        with pytest.raises(MCPError, match="did not answer tools/call within 2s"):
            await s.call_tool("ask_client", {"what": "elicit"})
        human.never_answer = False
        # The server got its error answer and serves the next question as usual.
        assert text(await s.call_tool("ask_client", {"what": "elicit"})) == "accept: ada"
    await flushed(live)
    timed_out, answered = sorted(
        rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_client"), key=lambda r: r.id
    )
    assert timed_out.status == "timeout"
    assert input_log(timed_out) == [
        {"method": "elicitation/create", "mode": "form", "outcome": "timeout"}
    ]
    assert input_log(answered)[0]["outcome"] == "accept"


@pytest.mark.parametrize("upstream", ["local", "remote"])
async def test_a_cancelled_call_cancels_its_pending_question(live, project, engine, upstream):
    human = Human()
    human.never_answer = True
    async with client(url(live, project, upstream), project.key, "streamable_http", human) as s:
        call = asyncio.create_task(s.call_tool("ask_client", {"what": "elicit"}))
        for _ in range(100):
            if human.asked:
                break
            await asyncio.sleep(0.05)
        assert human.asked, "the question never reached the client"
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        assert text(await s.call_tool("echo", {"text": "still here"})) == "still here"
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_client")
    assert row.status == "cancelled"
    assert input_log(row) == [
        {"method": "elicitation/create", "mode": "form", "outcome": "cancelled"}
    ]
    # Neither side of the gateway broke: the server logged no traceback.
    server_logs = [log.message for log in rows(engine, ServerLog)]
    assert not [line for line in server_logs if "Traceback" in line or "Error" in line], server_logs
