"""Input rounds beyond tools/call (gateway/input_rounds.py): real SDK clients of both eras ->
mcp-orch over HTTP -> the fixture server (FIXTURE_ASKING=1: the prompt `ask_prompt` and the
resource template `fixture://asking/{topic}` ask the client for a name in their connection's
era) as a handshake-era upstream and as a 2026-07-28 one, over stdio and streamable HTTP.

- prompts/get and resources/read ask the client and get the answer, in every combination of
  the eras (held rounds, relayed input-required results, pass-through, plain requests);
- a 2026-07-28 client that drops its stream mid-round: the held call is abandoned, the
  upstream told (its tool cancelled), the log row says the caller went away; a held call
  nobody resumes answers the upstream's question with an error;
- two 2026-07-28 clients on one stdio upstream: one at a time each is asked exactly; calls
  of both at once get the "cannot tell which client" refusal, never the wrong client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mcp_orch_app.gateway import input_rounds
from mcp_orch_app.models.logs import ToolCallLog
from tests.integration import test_server_to_client_modern
from tests.integration.test_gateway_endpoints import flushed, handshake_session, http_client, rows
from tests.integration.test_http_upstreams import HttpServer
from tests.integration.test_server_to_client import HANDSHAKE_ONLY, Human, input_log, stored
from tests.integration.test_server_to_client_modern import (
    ACCEPT,
    MODERN,
    Project,
    call,
    http_fixtures,
    make_project,
    meta,
    modern_client,
    text,
)
from tests.live_app import LiveApp

ASKING = {"FIXTURE_ASKING": "1"}

live = test_server_to_client_modern.live  # the fixture: the app, serving


@dataclass
class Setup(Project):
    call_log: Path


@pytest.fixture
async def remotes(tmp_path) -> AsyncIterator[dict[str, HttpServer]]:
    envs = {"remote": {**HANDSHAKE_ONLY, **ASKING}, "modern_remote": ASKING}
    async with http_fixtures(tmp_path, envs) as made:
        yield made


@pytest.fixture
def setup(engine, make_person, remotes, tmp_path) -> Setup:
    call_log = tmp_path / "local-calls.log"
    stdio = {
        "local": {**HANDSHAKE_ONLY, **ASKING, "FIXTURE_CALL_LOG": str(call_log)},
        "modern": ASKING,
    }
    made = make_project(engine, make_person("owner"), "asking-rounds", stdio, remotes)
    return Setup(made.id, made.key, made.other_key, call_log)


def endpoint(live: LiveApp, setup: Setup, server: str) -> str:
    return live.url(setup.id, server)


@contextlib.asynccontextmanager
async def any_client(era: str, url: str, key: str, human: Human):
    if era == MODERN:
        async with modern_client(url, key, human) as client:
            yield client
    else:
        async with handshake_session(url, key, **human.callbacks()) as session:
            yield session


# --- prompts/get and resources/read ------------------------------------------------------


@pytest.mark.parametrize("upstream", ["local", "remote", "modern", "modern_remote"])
@pytest.mark.parametrize("era", [MODERN, "handshake"])
async def test_prompts_and_resources_ask_the_client_in_every_era(live, setup, era, upstream):
    human = Human("ada")
    async with any_client(era, endpoint(live, setup, upstream), setup.key, human) as client:
        prompt = await client.get_prompt("ask_prompt", {"topic": "tea"})
        assert prompt.messages[0].content.text == "Write about tea for accept: ada."
        read = await client.read_resource("fixture://asking/tea")
        assert read.contents[0].text == "tea for accept: ada"
    assert [kind for kind, _ in human.asked] == ["elicit", "elicit"]
    assert all(params.message == "What is your name?" for _, params in human.asked)
    assert len(live.gateway.held) == 0


def _raw_meta() -> dict[str, Any]:
    return meta({"elicitation": {}})


async def _post(url: str, key: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("uri" if method == "resources/read" else "name")
    head = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method, "Mcp-Name": str(name)}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {"_meta": _raw_meta(), **params}}
    async with http_client(key) as http:
        answer = await http.post(url, json=body, headers=head)
    return answer.json()


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("prompts/get", {"name": "ask_prompt", "arguments": {"topic": "tea"}}),
        ("resources/read", {"uri": "fixture://asking/tea"}),
    ],
    ids=["prompts-get", "resources-read"],
)
async def test_a_held_prompt_or_read_is_resumed_only_by_the_same_request(
    live, setup, method, params
):
    """By hand: the held call's requestState resumes the same prompt or URI only."""
    url = endpoint(live, setup, "local")
    first = (await _post(url, setup.key, method, params))["result"]
    assert first["resultType"] == "input_required", first
    ((ask_key, ask),) = first["inputRequests"].items()
    assert ask["method"] == "elicitation/create"
    state = first["requestState"]
    assert state.startswith(input_rounds.HELD_STATE_PREFIX)
    retry = {**params, "inputResponses": {ask_key: ACCEPT}, "requestState": state}
    other = (
        {**retry, "uri": "fixture://asking/coffee"}
        if method == "resources/read"
        else {**retry, "name": "greet", "arguments": {"name": "x"}}
    )
    refused = await _post(url, setup.key, method, other)
    assert refused["error"]["code"] == -32602, refused
    assert refused["error"]["data"] == {"reason": "invalid_request_state"}
    # Another key cannot either.
    refused = await _post(url, setup.other_key, method, retry)
    assert refused["error"]["data"] == {"reason": "invalid_request_state"}, refused
    done = (await _post(url, setup.key, method, retry))["result"]
    if method == "prompts/get":
        assert done["messages"][0]["content"]["text"] == "Write about tea for accept: zed."
    else:
        assert done["contents"][0]["text"] == "tea for accept: zed"
    assert len(live.gateway.held) == 0


# --- a client that goes away ---------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def held(url: str, key: str, tool: dict[str, Any]) -> tuple[str, str]:
    """Start a call whose upstream asks: (the input request's key, the requestState)."""
    status, body = await call(url, key, tool)
    assert status == 200 and body["result"]["resultType"] == "input_required", body
    ((ask_key, _ask),) = body["result"]["inputRequests"].items()
    return ask_key, body["result"]["requestState"]


async def _eventually(check, seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def test_a_modern_client_that_drops_its_stream_mid_round_abandons_the_call(
    live, setup, engine
):
    url = endpoint(live, setup, "local")
    tool = {"name": "ask_client", "arguments": {"what": "elicit_then_slow"}}
    ask_key, state = await held(url, setup.key, tool)
    # The retry answers, and asks for progress: the answer streams as SSE. The upstream
    # reports progress, then works on; the client reads the progress and drops the stream.
    params = {
        **tool,
        "inputResponses": {ask_key: ACCEPT},
        "requestState": state,
        "_meta": {**meta(), "progressToken": "p-1"},
    }
    request = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
    head = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "ask_client"}
    async with (
        http_client(setup.key) as http,
        http.stream("POST", url, json=request, headers=head) as answer,
    ):
        assert answer.headers["content-type"].startswith("text/event-stream")
        async for line in answer.aiter_lines():
            if line.startswith("data:") and "notifications/progress" in line:
                break  # mid-round: the call is still running
        else:
            raise AssertionError("no progress before the end of the stream")
    # The upstream is told: its tool is cancelled (no 10 s of work), nothing stays held.
    assert await _eventually(lambda: "ask_client:cancelled" in _lines(setup.call_log))
    assert len(live.gateway.held) == 0
    status, body = await call(url, setup.key, {"name": "echo", "arguments": {"text": "hi"}})
    assert body["result"]["content"][0]["text"] == "hi"
    # The retry cannot come back: the state is gone.
    status, body = await call(url, setup.key, {**tool, "requestState": state})
    assert (status, body["error"]["data"]) == (400, {"reason": "invalid_request_state"}), body

    await flushed(live)
    logged = rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_client")
    final = [row for row in logged if row.status == "cancelled"]
    assert len(final) == 1, [(row.status, row.error_message) for row in logged]
    assert final[0].error_message == "the caller went away before the answer"


async def test_a_held_call_nobody_resumes_answers_the_upstreams_question_with_an_error(
    live, setup, engine, monkeypatch
):
    monkeypatch.setattr(input_rounds, "HOLD_SECONDS", 0.5)
    url = endpoint(live, setup, "local")
    tool = {"name": "ask_client", "arguments": {"what": "elicit"}}
    await held(url, setup.key, tool)
    # The client never retries: the held call expires and is abandoned. The upstream's
    # pending elicitation gets an error answer or its call a cancellation, whichever it
    # reads first; either way it is not left waiting.
    told = {"ask_client:cancelled", "ask_client:error -32800"}
    assert await _eventually(lambda: bool(told & set(_lines(setup.call_log))))
    assert len(live.gateway.held) == 0
    await flushed(live)
    (row,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_client")
    assert stored(row.result)["resultType"] == "input_required"  # the one round it had


# --- two modern clients on one stdio upstream ----------------------------------------------


async def test_two_modern_clients_on_one_stdio_upstream_one_at_a_time_are_asked_exactly(
    live, setup
):
    ada, bob = Human("ada"), Human("bob")
    url = endpoint(live, setup, "local")
    async with (
        modern_client(url, setup.key, ada) as first,
        modern_client(url, setup.other_key, bob) as second,
    ):
        for _ in range(3):
            assert text(await first.call_tool("ask_client", {"what": "elicit"})) == "accept: ada"
            assert text(await second.call_tool("ask_client", {"what": "elicit"})) == "accept: bob"
        prompt = await second.get_prompt("ask_prompt", {"topic": "tea"})
        assert prompt.messages[0].content.text == "Write about tea for accept: bob."
    assert [kind for kind, _ in ada.asked] == ["elicit"] * 3
    assert [kind for kind, _ in bob.asked] == ["elicit"] * 4


async def test_two_modern_clients_at_once_on_one_stdio_upstream_never_ask_the_wrong_one(
    live, setup, engine
):
    url = endpoint(live, setup, "local")
    tool = {"name": "ask_client", "arguments": {"what": "elicit"}}
    # ada's call is held on the shared process (its question pending) while bob's call asks.
    ask_key, state = await held(url, setup.key, tool)
    status, answer = await call(url, setup.other_key, tool)
    assert status == 200, answer
    said = answer["result"]["content"][0]["text"]
    assert said.startswith("error -32600: mcp-orch cannot tell which of its clients"), answer
    # ada's held call is unharmed: her retry gets her answer.
    retry = {**tool, "inputResponses": {ask_key: ACCEPT}, "requestState": state}
    status, body = await call(url, setup.key, retry)
    assert body["result"]["content"][0]["text"] == "accept: zed", body
    # Alone again, bob is asked.
    status, body = await call(url, setup.other_key, tool)
    assert body["result"]["resultType"] == "input_required", body
    await flushed(live)
    logged = [
        input_log(row) for row in rows(engine, ToolCallLog, ToolCallLog.tool_name == "ask_client")
    ]
    assert all("zed" not in json.dumps(records) for records in logged)
