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
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models import Activity, McpServer, ServerLog, ToolCallLog
from mcp_orch_app.models.enums import Role
from mcp_orch_app.security.redaction import REDACTED
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.helpers import FIXTURE_SERVER
from tests.live_app import running_app

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
