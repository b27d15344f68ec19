"""The 2026-07-28 era as its spec says (issue 10, item 3), per-server and unified: raw HTTP
requests for each status and method rule, a real SDK modern client still served, and the
fixture server (a 2026-07-28 upstream over stdio) telling what `_meta` each request reached it
with.

- An error answered through the normal path goes out with the HTTP status of its code
  (-32601: 404; -32602, -32021, ...: 400), as the SDK's own server does; handshake-era clients
  keep getting 200.
- The requests the era removed (`initialize`, `ping`, `logging/setLevel`,
  `resources/subscribe` / `unsubscribe`) are -32601 with 404 for a modern client; a
  handshake-era session is still served them.
- A request to a modern upstream carries the calling client's clientInfo and its routable
  capabilities (sampling, elicitation, roots), not mcp-orch's own with none.
- SEP-2243: a tools/call whose `Mcp-Param-*` headers disagree with the arguments the tool's
  inputSchema marks with `x-mcp-header` (missing, different, a malformed base64 form) is 400
  with -32020 before the tool runs, and logged as refused; the plain and the
  `=?base64?...?=` forms of the right value pass. The upstream is stdio: the gateway checks.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.gateway.namespace import unified_uri
from mcp_orch_app.models.logs import ToolCallLog
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.integration.test_gateway_endpoints import (
    auto_client,
    fixture_server_in,
    handshake_session,
    http_client,
)
from tests.live_app import LiveApp, running_app

MODERN = "2026-07-28"
REMOVED = ("initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe")


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@dataclass
class Project:
    id: uuid.UUID
    key: str


@pytest.fixture
def project(engine, make_person, tmp_path) -> Project:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        made = projects.create_project(s, owner.actor, "modern")
        servers.create_server(
            s, owner.actor, made.id, fixture_server_in("fixture", tmp_path / "calls.log")
        )
        key = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="ci"))
    return Project(made.id, key.key)


@pytest.fixture
def routed_project(engine, make_person, tmp_path) -> Project:
    """A project whose fixture server has the tool `routed` (`region`: `x-mcp-header: Region`)."""
    owner = make_person("owner")
    spec = fixture_server_in("fixture", tmp_path / "calls.log")
    spec.env["FIXTURE_PARAM_HEADER_TOOL"] = "1"
    with db.session_scope(engine) as s:
        made = projects.create_project(s, owner.actor, "routed")
        servers.create_server(s, owner.actor, made.id, spec)
        key = api_keys.create_api_key(s, owner.actor, made.id, ApiKeyIn(name="ci"))
    return Project(made.id, key.key)


def endpoint(live: LiveApp, project: Project, kind: str) -> str:
    if kind == "unified":
        return f"{live.base_url}/projects/{project.id}/unified/mcp"
    return live.url(project.id, "fixture")


def meta(**extra: Any) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-modern", "version": "7.1"},
        "io.modelcontextprotocol/clientCapabilities": {},
        **extra,
    }


async def modern_post(
    url: str,
    key: str,
    method: str,
    params: dict[str, Any],
    request_id: int = 1,
    extra_headers: Any = (),
) -> tuple[int, dict[str, Any]]:
    headers: Any = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if method in ("tools/call", "prompts/get"):
        headers["Mcp-Name"] = params["name"]
    elif method == "resources/read":
        headers["Mcp-Name"] = params["uri"]
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    headers = [*headers.items(), *extra_headers]  # pairs: a header may come twice
    async with http_client(key) as http:
        answer = await http.post(url, json=body, headers=headers)
    return answer.status_code, answer.json()


KINDS = ["per-server", "unified"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", REMOVED)
async def test_methods_the_era_removed_are_not_found_for_a_modern_client(
    live, project, kind, method
):
    status, body = await modern_post(
        endpoint(live, project, kind), project.key, method, {"_meta": meta()}, 500
    )
    assert (status, body["error"]["code"], body["id"]) == (404, -32601, 500), body


@pytest.mark.parametrize("kind", KINDS)
async def test_a_handshake_session_keeps_the_removed_methods(live, project, kind):
    async with handshake_session(endpoint(live, project, kind), project.key) as session:
        await session.send_ping()
        await session.set_logging_level("warning")


@pytest.mark.parametrize("kind", KINDS)
async def test_an_unknown_method_is_404(live, project, kind):
    status, body = await modern_post(
        endpoint(live, project, kind), project.key, "unknown/method", {"_meta": meta()}, 601
    )
    assert (status, body["error"]["code"], body["id"]) == (404, -32601, 601), body


@pytest.mark.parametrize("kind", KINDS)
async def test_invalid_params_answered_through_the_normal_path_are_400(live, project, kind):
    # A resource no server has: the server's -32602 (per-server), the gateway's own (unified).
    url = endpoint(live, project, kind)
    uri = "fixture://nothing-here"
    if kind == "unified":
        uri = unified_uri("fixture", uri)
    status, body = await modern_post(
        url, project.key, "resources/read", {"_meta": meta(), "uri": uri}, 7
    )
    assert (status, body["error"]["code"], body["id"]) == (400, -32602, 7), body


@pytest.mark.parametrize("kind", KINDS)
async def test_a_listen_without_a_filter_is_400(live, project, kind):
    status, body = await modern_post(
        endpoint(live, project, kind),
        project.key,
        "subscriptions/listen",
        {"_meta": meta(), "notifications": "everything"},
    )
    assert (status, body["error"]["code"]) == (400, -32602), body


@pytest.mark.parametrize("kind", KINDS)
async def test_a_modern_result_is_still_200(live, project, kind):
    status, body = await modern_post(
        endpoint(live, project, kind), project.key, "tools/list", {"_meta": meta()}
    )
    assert status == 200 and body["result"]["resultType"] == "complete", body


async def test_a_handshake_client_still_gets_200_for_an_error(live, project):
    url = endpoint(live, project, "per-server")
    accept = {"Accept": "application/json, text/event-stream"}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw-handshake", "version": "1"},
        },
    }
    async with http_client(project.key, **accept) as http:
        opened = await http.post(url, json=init)
        headers = {
            "mcp-session-id": opened.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        }
        unknown = {"jsonrpc": "2.0", "id": 2, "method": "unknown/method"}
        answer = await http.post(url, json=unknown, headers=headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (200, -32601), answer.text


def tool_name(kind: str) -> str:
    return "fixture__request_meta" if kind == "unified" else "request_meta"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_modern_upstream_gets_the_calling_clients_envelope(live, project, kind):
    capabilities = {
        "sampling": {"tools": {}},
        "elicitation": {"form": {}},
        "roots": {},
        "experimental": {"x": {}},  # nothing routes it back: not passed on
    }
    status, body = await modern_post(
        endpoint(live, project, kind),
        project.key,
        "tools/call",
        {
            "name": tool_name(kind),
            "arguments": {},
            "_meta": meta(**{"io.modelcontextprotocol/clientCapabilities": capabilities}),
        },
    )
    assert status == 200, body
    seen = json.loads(body["result"]["content"][0]["text"])
    assert seen["io.modelcontextprotocol/clientInfo"] == {"name": "raw-modern", "version": "7.1"}
    assert seen["io.modelcontextprotocol/clientCapabilities"] == {
        "sampling": {"tools": {}},
        "elicitation": {"form": {}},
        "roots": {},
    }
    assert seen["io.modelcontextprotocol/protocolVersion"] == MODERN


@pytest.mark.parametrize("kind", KINDS)
async def test_a_handshake_client_is_not_announced_to_a_modern_upstream(live, project, kind):
    """A handshake-era client that declared nothing to ask: the upstream is told of no
    capabilities, and of mcp-orch as the client."""
    async with handshake_session(endpoint(live, project, kind), project.key) as session:
        result = await session.call_tool(tool_name(kind), {})
    seen = json.loads(result.content[0].text)
    assert seen["io.modelcontextprotocol/clientCapabilities"] == {}
    assert seen["io.modelcontextprotocol/clientInfo"]["name"] == "mcp-orch"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_real_sdk_modern_client_is_still_served(live, project, kind):
    async with auto_client(endpoint(live, project, kind), project.key) as client:
        echo = "fixture__echo" if kind == "unified" else "echo"
        result = await client.call_tool(echo, {"text": "still here"})
        assert result.content[0].text == "still here"
        seen = json.loads((await client.call_tool(tool_name(kind), {})).content[0].text)
    assert seen["io.modelcontextprotocol/protocolVersion"] == MODERN
    assert seen["io.modelcontextprotocol/clientInfo"]["name"] != "mcp-orch"


def named(kind: str, tool: str) -> str:
    return f"fixture__{tool}" if kind == "unified" else tool


@pytest.mark.parametrize("kind", KINDS)
async def test_a_missing_client_capability_is_400(live, project, kind):
    """The upstream's -32021 for a capability the client did not declare reaches the client
    with its data and the status the spec gives it (the suite's server-stateless)."""
    status, body = await modern_post(
        endpoint(live, project, kind),
        project.key,
        "tools/call",
        {"name": named(kind, "test_missing_capability"), "arguments": {}, "_meta": meta()},
        401,
    )
    assert (status, body["error"]["code"], body["id"]) == (400, -32021, 401), body
    assert body["error"]["data"]["requiredCapabilities"] == {"sampling": {}}


@pytest.mark.parametrize("kind", KINDS)
async def test_an_input_required_result_asks_only_for_what_the_client_declared(live, project, kind):
    """The suite's input-required-result-capability-check: a client declaring sampling but not
    elicitation gets an input-required result asking for sampling only."""
    status, body = await modern_post(
        endpoint(live, project, kind),
        project.key,
        "tools/call",
        {
            "name": named(kind, "test_input_required_result_capabilities"),
            "arguments": {},
            "_meta": meta(**{"io.modelcontextprotocol/clientCapabilities": {"sampling": {}}}),
        },
    )
    assert status == 200, body
    result = body["result"]
    assert result["resultType"] == "input_required", result
    methods = {ask["method"] for ask in result["inputRequests"].values()}
    assert methods == {"sampling/createMessage"}


def b64(text: str) -> str:
    return f"=?base64?{base64.b64encode(text.encode()).decode()}?="


async def call_routed(
    live: LiveApp, project: Project, kind: str, arguments: dict[str, Any], headers: Any, rid: int
) -> tuple[int, dict[str, Any]]:
    params = {"name": named(kind, "routed"), "arguments": arguments, "_meta": meta()}
    return await modern_post(
        endpoint(live, project, kind), project.key, "tools/call", params, rid, headers
    )


def routed_runs(tmp_path) -> int:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines().count("routed") if log.exists() else 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "header",
    [
        pytest.param([("Mcp-Param-Region", "eu-west")], id="plain"),
        pytest.param([("mcp-param-region", "eu-west")], id="lowercase-name"),
        pytest.param([("Mcp-Param-Region", b64("eu-west"))], id="base64"),
    ],
)
async def test_a_matching_param_header_passes(live, routed_project, tmp_path, kind, header):
    status, body = await call_routed(live, routed_project, kind, {"region": "eu-west"}, header, 3)
    assert status == 200, body
    assert body["result"]["content"][0]["text"] == "eu-west"
    assert routed_runs(tmp_path) == 1


async def test_a_non_ascii_value_passes_in_its_base64_form(live, routed_project, tmp_path):
    header = [("Mcp-Param-Region", b64("ünïcode"))]
    status, body = await call_routed(
        live, routed_project, "per-server", {"region": "ünïcode"}, header, 4
    )
    assert status == 200 and body["result"]["content"][0]["text"] == "ünïcode", body


BAD_HEADERS = [
    pytest.param([("Mcp-Param-Region", "us-east")], "does not match", id="mismatch"),
    pytest.param([], "is missing", id="missing"),
    pytest.param([("Mcp-Param-Region", "=?base64?ZXUtd2VzdA?=")], "malformed", id="bad-padding"),
    pytest.param([("Mcp-Param-Region", "=?base64?ZX!!d2VzdA==?=")], "malformed", id="bad-chars"),
    pytest.param([("Mcp-Param-Region", b64("us-east"))], "does not match", id="base64-mismatch"),
    pytest.param(
        [("Mcp-Param-Region", "eu-west"), ("Mcp-Param-Region", "us-east")],
        "more than once",
        id="twice",
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("header", "why"), BAD_HEADERS)
async def test_a_disagreeing_param_header_is_400_before_the_tool_runs(
    live, routed_project, engine, tmp_path, kind, header, why
):
    status, body = await call_routed(live, routed_project, kind, {"region": "eu-west"}, header, 9)
    assert (status, body["error"]["code"], body["id"]) == (400, -32020, 9), body
    assert why in body["error"]["message"] and "Mcp-Param-Region" in body["error"]["message"]
    assert routed_runs(tmp_path) == 0
    await asyncio.to_thread(live.writer.flush, 10)
    with Session(engine) as s:
        (row,) = s.exec(select(ToolCallLog).where(ToolCallLog.project_id == routed_project.id))
    assert (row.tool_name, row.server_name, row.status) == ("routed", "fixture", "error")
    assert row.error_code == "PROTOCOL_ERROR" and why in row.error_message


@pytest.mark.parametrize("kind", KINDS)
async def test_a_param_header_without_its_argument_is_400(live, routed_project, tmp_path, kind):
    header = [("Mcp-Param-Region", "eu-west")]
    status, body = await call_routed(live, routed_project, kind, {}, header, 10)
    assert (status, body["error"]["code"]) == (400, -32020), body
    assert routed_runs(tmp_path) == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_tool_without_header_annotations_ignores_param_headers(live, routed_project, kind):
    params = {"name": named(kind, "echo"), "arguments": {"text": "hi"}, "_meta": meta()}
    status, body = await modern_post(
        endpoint(live, routed_project, kind),
        routed_project.key,
        "tools/call",
        params,
        11,
        [("Mcp-Param-Region", "anything")],
    )
    assert status == 200 and body["result"]["content"][0]["text"] == "hi", body
