"""A server's own secrets never reach what mcp-orch stores or shows, whatever the server echoes.

The fixture MCP server runs over stdio with a secret in its env. It prints its environment to
stderr, returns the secret in tool results (plain, URL-encoded, base64), fails with it in the
error, and a second one dies at start quoting it. Every ServerLog, ToolCallLog, Activity and
status row, and every REST answer a person sees, must hold ``[redacted]`` instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models import Activity, McpServer, ServerLog, ToolCallLog
from mcp_orch_app.models.enums import Role
from mcp_orch_app.security.redaction import REDACTED
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.helpers import FIXTURE_SERVER
from tests.live_app import free_port, running_app

SECRET = "sk-live/8f3a+Q9z=token"
DYING_SECRET = "pw-4711-dying-secret"


def _forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


FORBIDDEN = _forms(SECRET) + _forms(DYING_SECRET)


def _leaks(text: Any) -> list[str]:
    text = text if isinstance(text, str) else json.dumps(text, default=str)
    return [form for form in FORBIDDEN if form in text]


def _server_in(name: str, env: dict[str, str]) -> ServerIn:
    return ServerIn(
        name=name,
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env={"PATH": os.environ["PATH"], **env},
        timeout_seconds=20,
    )


def _stored_text(engine) -> list[tuple[str, str]]:
    """Every stored column mcp-orch fills from upstream text, as (where, text) pairs."""
    found: list[tuple[str, str]] = []
    with Session(engine) as s:
        for log in s.exec(select(ServerLog)):
            found.append(("server_logs", json.dumps([log.message, log.details], default=str)))
        for call in s.exec(select(ToolCallLog)):
            found.append(
                (
                    f"tool_calls {call.tool_name}",
                    json.dumps([call.arguments, call.result, call.error_message], default=str),
                )
            )
        for event in s.exec(select(Activity)):
            found.append(("activity", json.dumps([event.description, event.details], default=str)))
        for server in s.exec(select(McpServer)):
            found.append(("last_error", server.last_error or ""))
    return found


@pytest.fixture
async def live(engine):
    async with running_app(engine) as app:
        yield app


async def test_server_secrets_are_redacted_in_logs_statuses_and_answers(live, engine, make_person):
    owner, reporter = make_person("Owner"), make_person("Reporter")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "secrets")
        projects.add_member(s, owner.actor, project.id, reporter.email, Role.REPORTER)
        leaky = servers.create_server(
            s,
            owner.actor,
            project.id,
            _server_in("leaky", {"API_TOKEN": SECRET, "FIXTURE_PRINT_ENV": "1"}),
        )
        dying = servers.create_server(
            s,
            owner.actor,
            project.id,
            _server_in(
                "dying",
                {
                    "DB_PASSWORD": DYING_SECRET,
                    "FIXTURE_EXIT_AT_START": "3",
                    "FIXTURE_EXIT_MESSAGE": f"cannot log in with {DYING_SECRET}",
                },
            ),
        )
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="ci")).key
    base = f"{live.base_url}/api/projects/{project.id}"
    answers: list[tuple[str, Any]] = []

    async with httpx.AsyncClient(timeout=60, headers=owner.headers) as http:

        async def call(server_id: Any, tool: str, arguments: dict[str, Any]) -> httpx.Response:
            response = await http.post(
                f"{base}/servers/{server_id}/tools/{tool}/call", json={"arguments": arguments}
            )
            answers.append((f"call {tool}", response.text))
            return response

        refreshed = await http.post(f"{base}/servers/{leaky.id}/refresh")
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["status"] == "online"

        echoed = await call(leaky.id, "env", {"name": "API_TOKEN"})
        assert echoed.status_code == 200, echoed.text
        assert REDACTED in echoed.text
        for form in _forms(SECRET)[1:]:
            await call(leaky.id, "echo", {"text": f"encoded: {form}!"})
        failed = await call(leaky.id, "fail", {"message": f"token {SECRET} was refused"})
        assert REDACTED in failed.text
        await call(leaky.id, "write_stderr", {"lines": [f"auth={quote(SECRET, safe='')}"]})

        down = await http.post(f"{base}/servers/{dying.id}/refresh")
        answers.append(("refresh dying", down.text))
        assert down.json()["status"] in {"offline", "error"}, down.text
        assert REDACTED in down.json()["last_error"]
        unreachable = await call(dying.id, "echo", {"text": "hi"})
        assert unreachable.status_code == 502

    # An MCP client's call is stored the same way (its answer is the tool's, for the client).
    mcp_url = live.url(project.id, "leaky")
    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as mcp_http,
        Client(streamable_http_client(mcp_url, http_client=mcp_http)) as client,
    ):
        await client.call_tool("env", {"name": "API_TOKEN"})
    # The gateway's own error texts to an MCP client lose the secrets too.
    failures: list[str] = []
    for endpoint in (
        live.url(project.id, "dying"),
        f"{live.base_url}/projects/{project.id}/unified/mcp",
    ):
        try:
            async with (
                httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as h,
                Client(streamable_http_client(endpoint, http_client=h)) as client,
            ):
                answer = await client.call_tool(
                    "echo" if "dying" in endpoint else "dying__echo", {"text": "hi"}
                )
                failures.append(answer.model_dump_json())
        except Exception as exc:  # the refusal is what is inspected, whatever its type
            failures.append(repr(exc))
    answers += [("mcp client", text) for text in failures]
    assert any("cannot log in with" in text or "dying" in text for text in failures), failures

    await asyncio.to_thread(live.writer.flush, 10)

    async with httpx.AsyncClient(timeout=60, headers=reporter.headers) as http:
        for path in ("/server-logs?limit=200", "/tool-calls?limit=200", "/servers"):
            response = await http.get(base + path)
            assert response.status_code == 200, response.text
            answers.append((path, response.text))

    stored = _stored_text(engine)
    assert any(where == "server_logs" and "API_TOKEN=" + REDACTED in text for where, text in stored)
    assert [(where, _leaks(text)) for where, text in stored if _leaks(text)] == []
    assert [(where, _leaks(text)) for where, text in answers if _leaks(text)] == []


HEADER_SECRET = "hk-9f2e7c1d4b6a-header-secret"


class RejectingServer:
    """A streamable-HTTP MCP server that completes the handshake, then answers every other
    request with HTTP 502 and a body that quotes the API key it was sent."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await send({"type": "http.response.start", "status": 405, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        if request.get("method") == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "serverInfo": {"name": "rejecting", "version": "1"},
                "capabilities": {"resources": {}},
            }
            answer = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result})
            status, content = 200, answer.encode()
        elif "id" not in request:
            status, content = 202, b""
        else:
            status, content = 502, f"key {headers.get('x-api-key')} is not valid".encode()
        kind = b"application/json" if status == 200 else b"text/plain"
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]}
        )
        await send({"type": "http.response.body", "body": content})


async def test_http_failure_texts_are_redacted_on_the_server_and_unified_endpoints(
    live, engine, make_person
):
    """The gateway's own failure text quotes the server's HTTP error body; the server's header
    secret in it is replaced on its endpoint and on the unified one alike."""
    owner = make_person("Owner")
    port = free_port()
    upstream = uvicorn.Server(uvicorn.Config(RejectingServer(), port=port, log_level="critical"))
    upstream.install_signal_handlers = lambda: None
    serving = asyncio.create_task(upstream.serve())
    try:
        while not upstream.started:
            assert not serving.done()
            await asyncio.sleep(0.01)
        with db.session_scope(engine) as s:
            project = projects.create_project(s, owner.actor, "http-secrets")
            servers.create_server(
                s,
                owner.actor,
                project.id,
                ServerIn(
                    name="rejecting",
                    transport="streamable_http",
                    url=f"http://127.0.0.1:{port}/mcp",
                    headers={"X-Api-Key": HEADER_SECRET},
                    timeout_seconds=20,
                ),
            )
            key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="ci")).key
        refusals: dict[str, str] = {}
        for endpoint, uri in (
            (live.url(project.id, "rejecting"), "fixture://static"),
            (
                f"{live.base_url}/projects/{project.id}/unified/mcp",
                "mcp-orch:rejecting/fixture://static",
            ),
        ):
            async with (
                httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as h,
                Client(streamable_http_client(endpoint, http_client=h)) as client,
            ):
                with pytest.raises(MCPError) as refused:
                    await client.read_resource(uri)
            refusals[endpoint] = str(refused.value)
        for endpoint, text in refusals.items():
            assert "502" in text and f"key {REDACTED} is not valid" in text, (endpoint, text)
            assert HEADER_SECRET not in text, (endpoint, text)
    finally:
        upstream.should_exit = True
        await asyncio.wait_for(serving, 10)
