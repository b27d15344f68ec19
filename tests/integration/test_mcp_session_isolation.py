"""A live MCP session is reachable only by requests authorized for it (issue 9, defect 1).

A victim holds a real SDK session (streamable HTTP and SSE, per-server and unified endpoint).
Requests that are refused (no key, wrong key, another project's key, unknown project or server,
a foreign Origin) or that come from another principal of the same project name the victim's
session id in `mcp-session-id` / `?session_id=`; afterwards the victim's next call still works.
The id the REST API shows for the session (its row id) does not work as a session id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from mcp_orch_app import db
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.integration.test_gateway_endpoints import (
    fixture_server_in,
    handshake_session,
    sse_session,
)
from tests.live_app import LiveApp, running_app

ACCEPT = "application/json, text/event-stream"


@dataclass
class Victim:
    project_id: uuid.UUID
    key: str
    same_project_other_key: str
    other_project_key: str
    owner_headers: dict[str, str]


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@pytest.fixture
def victim(engine, make_person, tmp_path) -> Victim:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "victim")
        servers.create_server(
            s, owner.actor, project.id, fixture_server_in("fixture", tmp_path / "calls.log")
        )
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="victim"))
        other = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="colleague"))
        elsewhere = projects.create_project(s, owner.actor, "elsewhere")
        foreign = api_keys.create_api_key(s, owner.actor, elsewhere.id, ApiKeyIn(name="x"))
    return Victim(project.id, key.key, other.key, foreign.key, owner.headers)


def _endpoint(live: LiveApp, project_id: Any, server: str | None, path: str) -> str:
    if server is None:
        return f"{live.base_url}/projects/{project_id}/unified/{path}"
    return live.url(project_id, server, path)


@asynccontextmanager
async def _victim_session(live: LiveApp, victim: Victim, transport: str, server: str | None):
    """The victim's SDK session and the secret id the gateway gave it."""
    before = set(live.gateway.sessions)
    if transport == "sse":
        opened = sse_session(_endpoint(live, victim.project_id, server, "sse"), victim.key)
    else:
        opened = handshake_session(_endpoint(live, victim.project_id, server, "mcp"), victim.key)
    async with opened as session:
        (secret,) = set(live.gateway.sessions) - before
        yield session, secret


def _refused_requests(victim: Victim, server: str | None) -> list[tuple[str, Any, str, dict]]:
    """(what, project id, server, headers) of requests that must not reach the session."""
    theirs = server or "fixture"
    return [
        ("no key", victim.project_id, server, {}),
        ("wrong key", victim.project_id, server, {"Authorization": "Bearer mch_not-a-key"}),
        (
            "another project's key",
            victim.project_id,
            server,
            {"Authorization": f"Bearer {victim.other_project_key}"},
        ),
        ("unknown project", uuid.uuid4(), server, {"Authorization": f"Bearer {victim.key}"}),
        ("unknown server", victim.project_id, "nope", {"Authorization": f"Bearer {victim.key}"}),
        (
            "foreign origin",
            victim.project_id,
            server,
            {"Authorization": f"Bearer {victim.key}", "Origin": "https://evil.example"},
        ),
        (
            "another key of the project",
            victim.project_id,
            theirs if server else None,
            {"Authorization": f"Bearer {victim.same_project_other_key}"},
        ),
    ]


async def _attack(http: httpx2.AsyncClient, live: LiveApp, victim: Victim, server, secret) -> None:
    """Every refused kind, on every verb that names a session, with the victim's id."""
    body = {"jsonrpc": "2.0", "id": 99, "method": "tools/list"}
    for what, project_id, target, headers in _refused_requests(victim, server):
        named = {**headers, "mcp-session-id": secret, "Accept": ACCEPT}
        mcp = _endpoint(live, project_id, target, "mcp")
        messages = _endpoint(live, project_id, target, "messages") + f"?session_id={secret}"
        answers = [
            await http.post(mcp, json=body, headers=named),
            await http.post(mcp, content=b"x", headers=named),
            await http.delete(mcp, headers=named),
            await http.post(messages, json=body, headers=headers),
        ]
        for answer in answers:
            assert answer.status_code in (400, 401, 403, 404, 415), (
                what,
                answer.status_code,
                answer.text,
            )


@pytest.mark.parametrize("server", ["fixture", None], ids=["server", "unified"])
@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_refused_requests_naming_a_session_leave_it_alive(live, victim, transport, server):
    tool = "echo" if server else "fixture__echo"
    async with (
        _victim_session(live, victim, transport, server) as (session, secret),
        httpx2.AsyncClient(timeout=30) as http,
    ):
        assert (await session.call_tool(tool, {"text": "before"})).content[0].text == "before"
        await _attack(http, live, victim, server, secret)
        assert secret in live.gateway.sessions
        result = await session.call_tool(tool, {"text": "after"})
        assert not result.is_error and result.content[0].text == "after"


async def test_delete_by_another_key_is_not_found_and_the_session_stays(live, victim):
    url = live.url(victim.project_id, "fixture")
    async with (
        _victim_session(live, victim, "streamable_http", "fixture") as (session, secret),
        httpx2.AsyncClient(timeout=30) as http,
    ):
        deleted = await http.delete(
            url,
            headers={
                "Authorization": f"Bearer {victim.same_project_other_key}",
                "mcp-session-id": secret,
            },
        )
        assert deleted.status_code == 404
        assert (await session.call_tool("echo", {"text": "still"})).content[0].text == "still"
        mine = await http.delete(
            url, headers={"Authorization": f"Bearer {victim.key}", "mcp-session-id": secret}
        )
        assert mine.status_code == 200
        assert secret not in live.gateway.sessions


async def _shown_session_ids(http: httpx2.AsyncClient, live: LiveApp, victim: Victim) -> set[str]:
    """The session ids reporters can read: `/sessions` rows and `/tool-calls` session_id."""
    base = f"{live.base_url}/api/projects/{victim.project_id}"
    for _ in range(100):  # the rows are written by the batched log writer
        sessions = await http.get(f"{base}/sessions", headers=victim.owner_headers)
        calls = await http.get(f"{base}/tool-calls", headers=victim.owner_headers)
        assert sessions.status_code == 200 and calls.status_code == 200
        open_rows = [i for i in sessions.json()["items"] if i.get("ended_at") is None]
        called = [i["session_id"] for i in calls.json()["items"] if i.get("session_id")]
        if open_rows and called:
            return {str(item["id"]) for item in open_rows} | {str(i) for i in called}
        await asyncio.sleep(0.05)
    raise AssertionError("the session's rows never appeared")


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_the_session_id_the_rest_api_shows_is_not_a_capability(live, victim, transport):
    async with (
        _victim_session(live, victim, transport, "fixture") as (session, secret),
        httpx2.AsyncClient(timeout=30) as http,
    ):
        await session.call_tool("echo", {"text": "logged"})
        shown = await _shown_session_ids(http, live, victim)
        assert secret not in shown and all(secret != uuid.UUID(i).hex for i in shown)
        key = {"Authorization": f"Bearer {victim.key}"}
        body = {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}
        url = live.url(victim.project_id, "fixture")
        for row_id in shown:
            for spelling in (row_id, uuid.UUID(row_id).hex):
                used = await http.post(
                    url, json=body, headers={**key, "mcp-session-id": spelling, "Accept": ACCEPT}
                )
                assert used.status_code == 404
                posted = await http.post(
                    live.url(victim.project_id, "fixture", "messages") + f"?session_id={spelling}",
                    json=body,
                    headers=key,
                )
                assert posted.status_code in (400, 404)
                ended = await http.delete(url, headers={**key, "mcp-session-id": spelling})
                assert ended.status_code == 404
        assert (await session.call_tool("echo", {"text": "alive"})).content[0].text == "alive"


async def test_requests_of_another_principal_do_not_keep_a_session_alive(engine, victim):
    """Naming a session is not using it: only its owner's requests count as activity, so
    another key's requests neither end it nor hold it open past its idle timeout."""
    async with (
        running_app(engine, session_idle_timeout=1.0) as live,
        httpx2.AsyncClient(timeout=30) as http,
    ):
        url = live.url(victim.project_id, "fixture")
        opened = await http.post(
            url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {}},
            },
            headers={"Authorization": f"Bearer {victim.key}", "Accept": ACCEPT},
        )
        secret = opened.headers["mcp-session-id"]
        other = {
            "Authorization": f"Bearer {victim.same_project_other_key}",
            "mcp-session-id": secret,
            "Accept": ACCEPT,
        }
        for _ in range(15):  # 3 s of someone else's traffic naming the session
            answer = await http.post(
                url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=other
            )
            assert answer.status_code == 404
            await asyncio.sleep(0.2)
        assert secret not in live.gateway.sessions  # it idled out as if nobody had come
