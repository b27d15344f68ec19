"""Input for a server across the eras (gateway/input_rounds.py): real SDK clients with
sampling, elicitation and roots callbacks, in the 2026-07-28 era (input-required results, the
SDK client's own retry loop) and in the handshake era (real server-to-client requests), ->
mcp-orch over HTTP -> the fixture server as a stdio process and serving streamable HTTP, as a
handshake-era upstream (`ask_client`, FIXTURE_HANDSHAKE_ONLY=1) and as a 2026-07-28 one
(`ask_input`, which answers with an input-required result).

- modern client, handshake upstream: the upstream's request becomes an input-required result;
  the client's retry answers it and gets the call's result; the held call is the key's own,
  expires, and malformed input responses are refused without losing it.
- handshake client, modern upstream: the input requests reach the client as real requests.
- modern on both sides: passed through (the unified endpoint names the asking server).
- Unknown `Mcp-Param-*` headers of a modern client reach a modern HTTP upstream, bounded.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import mcp.types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_orch_app import db
from mcp_orch_app.gateway import input_rounds
from mcp_orch_app.gateway.client_requests import SERVER_META_KEY
from mcp_orch_app.models.enums import Transport
from mcp_orch_app.models.logs import ToolCallLog
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.helpers import FIXTURE_SERVER
from tests.integration.test_gateway_endpoints import flushed, handshake_session, http_client, rows
from tests.integration.test_http_upstreams import HttpServer, free_port
from tests.integration.test_server_to_client import HANDSHAKE_ONLY, Human, input_log, stored
from tests.live_app import LiveApp, running_app

MODERN = "2026-07-28"


@dataclass
class Project:
    id: uuid.UUID
    key: str
    other_key: str


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


async def _http_fixture(tmp_path, name: str, env: dict[str, str]) -> HttpServer:
    server = HttpServer(
        command=[
            *(sys.executable, str(FIXTURE_SERVER)),
            *("--transport", "streamable-http", "--port", "{port}"),
        ],
        path="/mcp",
        transport=Transport.STREAMABLE_HTTP,
        log=tmp_path / f"{name}.log",
        env=env,
        port=free_port(),
    )
    await server.start()
    return server


@asynccontextmanager
async def http_fixtures(
    tmp_path, envs: dict[str, dict[str, str]]
) -> AsyncIterator[dict[str, HttpServer]]:
    """The fixture serving streamable HTTP itself, one process per name with its environment."""
    made: dict[str, HttpServer] = {}
    try:
        for name, env in envs.items():
            made[name] = await _http_fixture(tmp_path, name, env)
        yield made
    finally:
        for server in made.values():
            server.kill()


@pytest.fixture
async def remotes(tmp_path) -> AsyncIterator[dict[str, HttpServer]]:
    """The fixture serving streamable HTTP itself: handshake-era and 2026-07-28."""
    async with http_fixtures(tmp_path, {"remote": HANDSHAKE_ONLY, "modern_remote": {}}) as made:
        yield made


def make_project(
    engine, owner: Any, name: str, stdio: dict[str, dict[str, str]], remotes: dict[str, HttpServer]
) -> Project:
    """A project with the fixture as stdio servers (name -> environment) and the remotes, and
    two API keys."""
    with db.session_scope(engine) as s:
        made = projects.create_project(s, owner.actor, name)
        for server_name, env in stdio.items():
            server = ServerIn(
                name=server_name,
                command=sys.executable,
                args=[str(FIXTURE_SERVER)],
                env=env,
                timeout_seconds=20,
            )
            servers.create_server(s, owner.actor, made.id, server)
        for server_name, remote in remotes.items():
            server = ServerIn(
                name=server_name,
                transport=Transport.STREAMABLE_HTTP,
                url=remote.url,
                timeout_seconds=20,
            )
            servers.create_server(s, owner.actor, made.id, server)
        key = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="ci"))
        other = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="other"))
    return Project(made.id, key.key, other.key)


@pytest.fixture
def project(engine, make_person, remotes) -> Project:
    stdio = {"local": HANDSHAKE_ONLY, "modern": {}}
    return make_project(engine, make_person("owner"), "asking-modern", stdio, remotes)


def url(live, project: Project, server: str | None) -> str:
    if server is None:
        return f"{live.base_url}/projects/{project.id}/unified/mcp"
    return live.url(project.id, server)


@asynccontextmanager
async def modern_client(endpoint: str, key: str, human: Human):
    """`mcp.Client` pinned to 2026-07-28, with the human's callbacks (its own retry loop),
    named after the human (so two humans are two clients)."""
    async with (
        http_client(key) as http,
        Client(
            streamable_http_client(endpoint, http_client=http),
            mode=MODERN,
            client_info=types.Implementation(name=f"client-of-{human.name}", version="1"),
            **human.callbacks(),
        ) as client,
    ):
        yield client


def text(result: Any) -> str:
    return result.content[0].text


ASKS = [
    ("elicit", "accept: ada"),
    ("sample", "m-1: hello from ada"),
    ("root_uris", "file:///home/ada"),
    ("elicit_url", "accept"),
]


def _check_asked(human: Human, server: str, unified: bool) -> None:
    assert [kind for kind, _ in human.asked] == ["elicit", "sample", "roots", "elicit"]
    form, url_mode = human.asked[0][1], human.asked[3][1]
    if unified:
        assert form.message == f"[{server}] What is your name?"
        assert (form.meta or {}).get(SERVER_META_KEY) == server
    else:
        assert form.message == "What is your name?"
        assert SERVER_META_KEY not in (form.meta or {})
    assert url_mode.mode == "url" and url_mode.url == "https://example.org/login"


def _final_rows(engine, tool: str) -> dict[str, Any]:
    """The input requests of each finished call (rows whose result is not input-required)."""
    logged = {}
    for row in rows(engine, ToolCallLog, ToolCallLog.tool_name == tool):
        result = stored(row.result)
        if isinstance(result, dict) and result.get("resultType") == "input_required":
            continue
        logged[stored(row.arguments)["what"]] = input_log(row)
    return logged


# --- every request kind, every combination of eras ---------------------------------------


@pytest.mark.parametrize("upstream", ["local", "remote"])
@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_a_modern_client_answers_a_handshake_upstream_by_retrying(
    live, project, engine, upstream, unified
):
    human = Human()
    name = f"{upstream}__ask_client" if unified else "ask_client"
    async with modern_client(
        url(live, project, None if unified else upstream), project.key, human
    ) as c:
        for what, said in ASKS:
            assert text(await c.call_tool(name, {"what": what})) == said
        # ping: a 2026-07-28 client has none; mcp-orch answers it.
        assert text(await c.call_tool(name, {"what": "ping"})) == "pong"
    _check_asked(human, upstream, unified)
    assert len(live.gateway.held) == 0  # nothing left held

    await flushed(live)
    logged = _final_rows(engine, "ask_client")
    assert logged["elicit"] == [
        {"method": "elicitation/create", "mode": "form", "outcome": "accept"}
    ]
    assert logged["sample"] == [
        {"method": "sampling/createMessage", "outcome": "answered", "model": "m-1"}
    ]
    assert logged["root_uris"] == [{"method": "roots/list", "outcome": "answered", "roots": 1}]
    assert logged["ping"] == [{"method": "ping", "outcome": "answered by mcp-orch"}]
    assert all("ada" not in json.dumps(records) for records in logged.values())


async def test_two_modern_clients_sharing_one_upstream_each_get_only_their_own(live, project):
    ada, bob = Human("ada"), Human("bob")
    endpoint = url(live, project, "remote")
    async with (
        modern_client(endpoint, project.key, ada) as first,
        modern_client(endpoint, project.key, bob) as second,
    ):

        async def asks(client: Any) -> list[str]:
            return [
                text(await client.call_tool("ask_client", {"what": "elicit"})) for _ in range(4)
            ]

        # The streamable-HTTP upstream names the call: both may ask at once.
        answers = await asyncio.gather(asks(first), asks(second))
    assert answers == [["accept: ada"] * 4, ["accept: bob"] * 4]
    assert [kind for kind, _ in ada.asked] == ["elicit"] * 4
    assert [kind for kind, _ in bob.asked] == ["elicit"] * 4


@pytest.mark.parametrize("upstream", ["modern", "modern_remote"])
@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_a_handshake_client_is_asked_for_a_modern_upstreams_input(
    live, project, engine, upstream, unified
):
    human = Human()
    name = f"{upstream}__ask_input" if unified else "ask_input"
    endpoint = url(live, project, None if unified else upstream)
    async with handshake_session(endpoint, project.key, **human.callbacks()) as session:
        for what, said in ASKS:
            assert text(await session.call_tool(name, {"what": what})) == said
    _check_asked(human, upstream, unified)
    await flushed(live)
    logged = _final_rows(engine, "ask_input")
    assert logged["elicit"] == [
        {"method": "elicitation/create", "mode": "form", "outcome": "accept"}
    ]
    assert logged["root_uris"] == [{"method": "roots/list", "outcome": "answered", "roots": 1}]


@pytest.mark.parametrize("upstream", ["modern", "modern_remote"])
@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_modern_on_both_sides_passes_through(live, project, engine, upstream, unified):
    human = Human()
    name = f"{upstream}__ask_input" if unified else "ask_input"
    async with modern_client(
        url(live, project, None if unified else upstream), project.key, human
    ) as c:
        for what, said in ASKS:
            assert text(await c.call_tool(name, {"what": what})) == said
    _check_asked(human, upstream, unified)
    await flushed(live)
    asked = [
        input_log(row)
        for row in rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_input")
        if stored(row.result).get("resultType") == "input_required"
    ]
    assert len(asked) == 4
    assert asked[0] == [
        {"method": "elicitation/create", "mode": "form", "outcome": "asked the client"}
    ]


async def test_a_handshake_client_without_the_capability_is_not_offered_it(live, project):
    """A modern upstream is told what the client declared: none, so it asks nothing."""
    async with handshake_session(url(live, project, "modern"), project.key) as session:
        result = await session.call_tool("request_meta", {})
    seen = json.loads(text(result))
    assert seen["io.modelcontextprotocol/clientCapabilities"] == {}


async def test_a_handshake_clients_capabilities_reach_a_modern_upstream(live, project):
    async with handshake_session(
        url(live, project, "modern"), project.key, **Human().callbacks()
    ) as session:
        seen = json.loads(text(await session.call_tool("request_meta", {})))
    declared = seen["io.modelcontextprotocol/clientCapabilities"]
    assert set(declared) == {"sampling", "elicitation", "roots"}


# --- the held call, by hand ----------------------------------------------------------------


def meta(capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-modern", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": capabilities
        if capabilities is not None
        else {"elicitation": {}},
    }


async def call(
    endpoint: str, key: str, params: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    params = {"_meta": meta(), **params}
    head = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": params["name"]}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    async with http_client(key) as http:
        answer = await http.post(endpoint, json=body, headers={**head, **(headers or {})})
    return answer.status_code, answer.json()


ELICIT = {"name": "ask_client", "arguments": {"what": "elicit"}}


async def first_round(endpoint: str, key: str) -> tuple[str, str]:
    """Start the call: (the input request's key, the requestState)."""
    status, body = await call(endpoint, key, ELICIT)
    assert status == 200, body
    result = body["result"]
    assert result["resultType"] == "input_required", result
    ((ask_key, ask),) = result["inputRequests"].items()
    assert ask["method"] == "elicitation/create"
    assert ask["params"]["message"] == "What is your name?"
    assert result["requestState"].startswith(input_rounds.HELD_STATE_PREFIX)
    return ask_key, result["requestState"]


def retry(ask_key: str, state: str, response: Any) -> dict[str, Any]:
    return {**ELICIT, "inputResponses": {ask_key: response}, "requestState": state}


ACCEPT = {"action": "accept", "content": {"name": "zed"}}


def assert_invalid_state(status: int, body: dict[str, Any]) -> None:
    assert (status, body["error"]["code"]) == (400, -32602), body
    assert body["error"]["data"] == {"reason": "invalid_request_state"}


@pytest.mark.parametrize("upstream", ["local", "remote"])
async def test_nobody_else_can_resume_a_held_call(live, project, upstream):
    endpoint = url(live, project, upstream)
    ask_key, state = await first_round(endpoint, project.key)
    # Another key of the same project, the unified endpoint, another tool: as if unknown.
    assert_invalid_state(*await call(endpoint, project.other_key, retry(ask_key, state, ACCEPT)))
    unified = {**retry(ask_key, state, ACCEPT), "name": f"{upstream}__ask_client"}
    assert_invalid_state(*await call(url(live, project, None), project.key, unified))
    other_tool = {**retry(ask_key, state, ACCEPT), "name": "echo", "arguments": {"text": "x"}}
    assert_invalid_state(*await call(endpoint, project.key, other_tool))
    # The owner still resumes it.
    status, body = await call(endpoint, project.key, retry(ask_key, state, ACCEPT))
    assert status == 200 and body["result"]["content"][0]["text"] == "accept: zed", body
    # Once: the state is spent.
    assert_invalid_state(*await call(endpoint, project.key, retry(ask_key, state, ACCEPT)))


async def test_a_held_call_expires(live, project, monkeypatch):
    monkeypatch.setattr(input_rounds, "HOLD_SECONDS", 0.5)
    endpoint = url(live, project, "local")
    ask_key, state = await first_round(endpoint, project.key)
    await asyncio.sleep(1.0)
    status, body = await call(endpoint, project.key, retry(ask_key, state, ACCEPT))
    assert_invalid_state(status, body)
    assert "expired" in body["error"]["message"]
    # The upstream was told: its next call is served at once.
    status, body = await call(endpoint, project.key, {"name": "echo", "arguments": {"text": "hi"}})
    assert body["result"]["content"][0]["text"] == "hi"


@pytest.mark.parametrize(
    "responses",
    [
        "not an object",
        {"__key__": "accept"},
        {"__key__": {"content": {"name": "zed"}}},
        {"__key__": {"action": "maybe"}},
    ],
    ids=["not-an-object", "not-a-result", "no-action", "bad-action"],
)
async def test_malformed_input_responses_are_refused_and_the_call_kept(live, project, responses):
    endpoint = url(live, project, "local")
    ask_key, state = await first_round(endpoint, project.key)
    if isinstance(responses, dict):
        responses = {ask_key: responses["__key__"]}
    bad = {**ELICIT, "inputResponses": responses, "requestState": state}
    status, body = await call(endpoint, project.key, bad)
    assert (status, body["error"]["code"]) == (400, -32602), body
    status, body = await call(endpoint, project.key, retry(ask_key, state, ACCEPT))
    assert body["result"]["content"][0]["text"] == "accept: zed", body


async def test_a_retry_without_the_answer_is_asked_again(live, project):
    endpoint = url(live, project, "local")
    ask_key, state = await first_round(endpoint, project.key)
    status, body = await call(endpoint, project.key, {**ELICIT, "requestState": state})
    assert status == 200 and body["result"]["resultType"] == "input_required", body
    assert list(body["result"]["inputRequests"]) == [ask_key]
    status, body = await call(endpoint, project.key, retry(ask_key, state, ACCEPT))
    assert body["result"]["content"][0]["text"] == "accept: zed", body


async def test_a_request_state_mcp_orch_never_gave_is_refused(live, project):
    endpoint = url(live, project, "local")
    forged = {**ELICIT, "requestState": input_rounds.HELD_STATE_PREFIX + "guessed"}
    assert_invalid_state(*await call(endpoint, project.key, forged))
    assert_invalid_state(*await call(endpoint, project.key, {**ELICIT, "requestState": "x"}))


@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_a_capability_the_client_did_not_declare_is_32021(live, project, unified):
    endpoint = url(live, project, None if unified else "local")
    name = "local__ask_client" if unified else "ask_client"
    params = {"name": name, "arguments": {"what": "sample"}, "_meta": meta({"elicitation": {}})}
    status, body = await call(endpoint, project.key, params)
    assert (status, body["error"]["code"]) == (400, -32021), body
    assert body["error"]["data"] == {"requiredCapabilities": {"sampling": {}}}
    params = {"name": name, "arguments": {"what": "elicit_url"}, "_meta": meta({"elicitation": {}})}
    status, body = await call(endpoint, project.key, params)
    assert (status, body["error"]["code"]) == (400, -32021), body
    assert body["error"]["data"] == {"requiredCapabilities": {"elicitation": {"url": {}}}}


async def test_held_calls_are_bounded_per_key(live, project, monkeypatch):
    monkeypatch.setattr(input_rounds, "MAX_HELD_PER_KEY", 2)
    endpoint = url(live, project, "remote")
    await first_round(endpoint, project.key)
    await first_round(endpoint, project.key)
    _status, body = await call(endpoint, project.key, ELICIT)
    assert body["error"]["code"] == -32600 and "too many calls" in body["error"]["message"]
    # Another key has its own allowance.
    await first_round(endpoint, project.other_key)


# --- Mcp-Param-* headers -----------------------------------------------------------------


@pytest.mark.parametrize("unified", [False, True], ids=["per-server", "unified"])
async def test_unknown_mcp_param_headers_reach_a_modern_http_upstream(live, project, unified):
    endpoint = url(live, project, None if unified else "modern_remote")
    name = "modern_remote__request_header" if unified else "request_header"

    async def seen(header: str, headers: dict[str, str]) -> str:
        params = {"name": name, "arguments": {"name": header}}
        status, body = await call(endpoint, project.key, params, headers)
        assert status == 200, body
        return body["result"]["content"][0]["text"]

    assert await seen("mcp-param-tenant", {"Mcp-Param-Tenant": "acme"}) == "acme"
    # Bounded: an oversized value is not passed on, nor are headers past the count limit.
    assert await seen("mcp-param-big", {"Mcp-Param-Big": "x" * 5000}) == ""
    many = {f"Mcp-Param-H{n:02d}": str(n) for n in range(40)}
    assert await seen("mcp-param-h00", many) == "0"
    assert await seen("mcp-param-h39", many) == ""
    # Other headers are not passed on.
    assert await seen("x-secret", {"X-Secret": "s3"}) == ""
