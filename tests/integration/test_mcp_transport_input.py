"""What the MCP endpoints do with input the transport spec or mcp-orch refuses (issue 9,
defects 8 and 3, MCP side): answered with the spec's status / JSON-RPC error, never a 500 or
-32603, the refused tools/call logged and its row readable through the REST API on SQLite and
PostgreSQL, and the session still usable afterwards.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from mcp_orch_app import db
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.integration.test_gateway_endpoints import fixture_server_in
from tests.live_app import LiveApp, running_app

ACCEPT = "application/json, text/event-stream"


@dataclass
class Site:
    live: LiveApp
    project_id: uuid.UUID
    key: str
    owner_headers: dict[str, str]

    def mcp(self, unified: bool = False) -> str:
        if unified:
            return f"{self.live.base_url}/projects/{self.project_id}/unified/mcp"
        return self.live.url(self.project_id, "fixture")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
async def site(engine, make_person, tmp_path) -> AsyncIterator[Site]:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "inputs")
        servers.create_server(
            s, owner.actor, project.id, fixture_server_in("fixture", tmp_path / "calls.log")
        )
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="k"))
    async with running_app(engine) as live:
        yield Site(live, project.id, key.key, owner.headers)


async def _initialize(http: httpx2.AsyncClient, site: Site, unified: bool = False) -> str:
    answer = await http.post(
        site.mcp(unified),
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "probe", "version": "1"},
            },
        },
        headers={**site.auth, "Accept": ACCEPT},
    )
    assert answer.status_code == 200, answer.text
    return answer.headers["mcp-session-id"]


def _session_headers(site: Site, session_id: str) -> dict[str, str]:
    return {
        **site.auth,
        "Accept": ACCEPT,
        "Content-Type": "application/json",
        "mcp-session-id": session_id,
        "mcp-protocol-version": "2025-11-25",
    }


async def _echo_works(http: httpx2.AsyncClient, site: Site, sid: str, unified=False) -> None:
    tool = "fixture__echo" if unified else "echo"
    body = {
        "jsonrpc": "2.0",
        "id": 77,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {"text": "still fine"}},
    }
    answer = await http.post(site.mcp(unified), json=body, headers=_session_headers(site, sid))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["content"][0]["text"] == "still fine"


async def _tool_calls(http: httpx2.AsyncClient, site: Site, wanted: int) -> list[dict[str, Any]]:
    """The project's tool-call rows through the REST API, once ``wanted`` rows are there."""
    await asyncio.to_thread(site.live.writer.flush, 10)
    url = f"{site.live.base_url}/api/projects/{site.project_id}/tool-calls"
    for _ in range(100):
        answer = await http.get(url, headers=site.owner_headers)
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        if len(items) >= wanted:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {wanted} tool-call rows, got {items}")


@pytest.mark.parametrize("bad_id", [{"a": 1}, [1], True, False, 1.5, None])
async def test_request_ids_that_are_not_strings_or_integers_are_invalid_requests(site, bad_id):
    async with httpx2.AsyncClient(timeout=30) as http:
        sid = await _initialize(http, site)
        body = {"jsonrpc": "2.0", "id": bad_id, "method": "tools/list"}
        answer = await http.post(site.mcp(), json=body, headers=_session_headers(site, sid))
        assert answer.status_code == 400
        reply = answer.json()
        assert reply["id"] is None and reply["error"]["code"] == -32600
        # initialize too, before any session exists
        init = {"jsonrpc": "2.0", "id": bad_id, "method": "initialize", "params": {}}
        headers = {**site.auth, "Accept": ACCEPT}
        answer = await http.post(site.mcp(), json=init, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == -32600
        await _echo_works(http, site, sid)


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_post_that_is_not_declared_json_is_415(site, content_type):
    async with httpx2.AsyncClient(timeout=30) as http:
        sid = await _initialize(http, site)
        headers = _session_headers(site, sid)
        headers.pop("Content-Type")
        if content_type:
            headers["Content-Type"] = content_type
        body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode()
        answer = await http.post(site.mcp(), content=body, headers=headers)
        assert answer.status_code == 415, answer.text
        assert answer.json()["error"]["code"] == -32600
        await _echo_works(http, site, sid)
        # charset parameters and case do not matter
        headers["Content-Type"] = "Application/JSON; charset=utf-8"
        assert (await http.post(site.mcp(), content=body, headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("", 406),  # httpx would send */* when none is given
        ("application/json", 406),
        ("text/event-stream", 406),
        ("text/html", 406),
        ("application/json, text/event-stream", 200),
        ("text/event-stream;q=0.9, application/json", 200),
        ("*/*", 200),
        ("application/*, text/*", 200),
    ],
)
async def test_a_streamable_post_must_accept_json_and_event_streams(site, accept, status):
    async with httpx2.AsyncClient(timeout=30) as http:
        sid = await _initialize(http, site)
        headers = _session_headers(site, sid)
        headers["Accept"] = accept
        body = {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}
        answer = await http.post(site.mcp(), json=body, headers=headers)
        assert answer.status_code == status, answer.text
        if status == 406:
            assert "text/event-stream" in answer.json()["error"]["message"]


async def test_a_call_refused_for_a_bogus_protocol_version_is_logged(site):
    body = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {
            "name": "echo",
            "arguments": {"text": "hi"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "1999-01-01",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {
        **site.auth,
        "Accept": ACCEPT,
        "MCP-Protocol-Version": "1999-01-01",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "echo",
    }
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(site.mcp(), json=body, headers=headers)
        assert answer.status_code < 500 and "error" in answer.json(), answer.text
        (row,) = await _tool_calls(http, site, 1)
    assert row["tool_name"] == "echo" and row["status"] == "error"
    assert row["error_code"] == "PROTOCOL_ERROR"
    assert "1999-01-01" in row["error_message"]


@pytest.mark.parametrize("unified", [False, True], ids=["server", "unified"])
async def test_a_lone_surrogate_in_arguments_is_invalid_params_and_logged(site, unified):
    tool = "fixture__echo" if unified else "echo"
    raw = (
        '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"' + tool + '",'
        '"arguments":{"text":"a\\ud800b"}}}'
    ).encode()
    async with httpx2.AsyncClient(timeout=30) as http:
        sid = await _initialize(http, site, unified)
        answer = await http.post(
            site.mcp(unified), content=raw, headers=_session_headers(site, sid)
        )
        assert answer.status_code == 200, answer.text
        error = answer.json()["error"]
        assert answer.json()["id"] == 5 and error["code"] == -32602
        assert "surrogate" in error["message"]
        # Not UTF-8 at all: a parse error.
        garbage = b'{"jsonrpc":"2.0","id":6,"method":"tools/list","x":"\xff\xfe"}'
        answer = await http.post(
            site.mcp(unified), content=garbage, headers=_session_headers(site, sid)
        )
        assert answer.status_code == 400 and answer.json()["error"]["code"] == -32700
        await _echo_works(http, site, sid, unified)
        rows = await _tool_calls(http, site, 2)
    refused = [r for r in rows if r["status"] == "error"]
    assert len(refused) == 1 and refused[0]["error_code"] == "INVALID_PARAMETERS"
    assert refused[0]["tool_name"] == tool


async def test_numbers_beyond_a_float_are_refused_not_forwarded_as_infinity(site):
    raw = b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"add","arguments":{"a":1e400,"b":1}}}'
    async with httpx2.AsyncClient(timeout=30) as http:
        sid = await _initialize(http, site)
        answer = await http.post(site.mcp(), content=raw, headers=_session_headers(site, sid))
        assert answer.status_code == 400 and answer.json()["error"]["code"] == -32700
        assert "out of range" in answer.json()["error"]["message"]
        await _echo_works(http, site, sid)


async def test_nul_characters_in_arguments_pass_and_their_row_is_stored(site):
    async with httpx2.AsyncClient(timeout=30) as http:
        sid = await _initialize(http, site)
        body = {
            "jsonrpc": "2.0",
            "id": 8,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "nul\u0000here"}},
        }
        answer = await http.post(site.mcp(), json=body, headers=_session_headers(site, sid))
        assert answer.status_code == 200 and "result" in answer.json(), answer.text
        (row,) = await _tool_calls(http, site, 1)
    assert row["status"] == "success"


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


@pytest.mark.parametrize("depth", [70, 300, 5000])
async def test_arguments_nested_too_deep_are_refused_logged_and_readable(site, depth):
    async with httpx2.AsyncClient(timeout=30) as http:
        sid = await _initialize(http, site)
        ok = {
            "jsonrpc": "2.0",
            "id": 10,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "x", "extra": _nested(40)}},
        }
        answer = await http.post(site.mcp(), json=ok, headers=_session_headers(site, sid))
        assert "result" in answer.json(), answer.text
        deep = {
            "jsonrpc": "2.0",
            "id": 11,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "x", "extra": _nested(depth)}},
        }
        raw = json.dumps(deep) if depth < 900 else _deep_text(depth)
        answer = await http.post(site.mcp(), content=raw, headers=_session_headers(site, sid))
        assert answer.status_code < 500, answer.text
        reply = answer.json()
        if depth < 900:
            assert reply["id"] == 11 and reply["error"]["code"] == -32602
        else:  # deeper than Python's parser goes: refused before any id is known
            assert reply["error"]["code"] in (-32600, -32602)
        assert "64" in reply["error"]["message"]
        assert "MCP_ORCH_MAX_JSON_DEPTH" in reply["error"]["message"]
        await _echo_works(http, site, sid)
        rows = await _tool_calls(http, site, 3)
    (row,) = [r for r in rows if r["status"] == "error"]
    assert row["tool_name"] == "echo"
    assert row["error_code"] == "INVALID_PARAMETERS" and "64" in row["error_message"]
    assert "not_stored" in json.dumps(row["arguments"])


def _deep_text(depth: int) -> str:
    return (
        '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","arguments":'
        + '{"d":' * depth
        + "1"
        + "}" * depth
        + "}}"
    )
