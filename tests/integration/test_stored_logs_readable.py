"""Stored logs stay readable whatever was stored (mcp_orch_app/stored_json.py): rows written
before the bounds existed (put straight into the database here, as the old log writer stored
them) and rows the gateway writes today, on SQLite and PostgreSQL.

Each case reads back through the real REST routes over HTTP (the tool-call list and detail, the
server logs, the activity feed, the sessions) and expects 200 with a marker where a document
could not be kept whole, never a 500.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from mcp import MCPError

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import EncodedJSON, LogWriter
from mcp_orch_app.models import Activity
from mcp_orch_app.models.logs import ServerLog, ToolCallLog
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import servers
from mcp_orch_app.services.schemas import ServerIn
from mcp_orch_app.stored_json import DEPTH_MARKER, MAX_STORED_DEPTH
from tests.integration import test_gateway_endpoints as gateway
from tests.integration.test_gateway_endpoints import Setup, handshake_session

# The running app and a project with our fixture server and an API key, as the gateway tests.
live = gateway.live
setup = gateway.setup


def deep_object(levels: int) -> str:
    """JSON text of ``levels`` nested objects around one number, built without recursion."""
    return '{"a":' * levels + "1" + "}" * levels


def nested(levels: int, leaf: Any = "leaf") -> Any:
    value = leaf
    for _ in range(levels):
        value = {"down": value}
    return value


def depth_of(value: Any) -> int:
    levels = 0
    while isinstance(value, dict | list) and value:
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
        levels += 1
    return levels


def _raw_table(table: sa.Table) -> sa.TableClause:
    """The table with its JSON columns bound as plain text: documents go in exactly as given,
    past the engine's serializer, like rows stored before the bounds existed."""
    columns = [
        sa.column(c.name, sa.Text() if isinstance(c.type, sa.JSON) else c.type)
        for c in table.columns
        if c.name != "id"
    ]
    return sa.table(table.name, *columns)


def insert_raw_call(engine, project_id: uuid.UUID, tool: str, arguments: str, result: str):
    row = {
        "project_id": project_id,
        "server_id": None,
        "server_name": "old",
        "tool_name": tool,
        "session_id": None,
        "api_key_id": None,
        "client_name": None,
        "arguments": arguments,
        "result": result,
        "status": "success",
        "error_code": None,
        "error_message": None,
        "duration_ms": 3,
        "created_at": utcnow() - timedelta(minutes=1),
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(_raw_table(ToolCallLog.__table__)), [row])


@pytest.fixture
def owner_headers(setup: Setup) -> dict[str, str]:
    return setup.owner.headers


async def get_json(live, path: str, headers: dict[str, str]) -> Any:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        response = await client.get(path, headers=headers)
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    return response.json()


def assert_depth_bounded(value: Any) -> None:
    assert depth_of(value) <= MAX_STORED_DEPTH + 1


async def test_rows_stored_300_and_5000_deep_are_listed_and_shown_with_a_marker(
    engine, live, setup, owner_headers
):
    insert_raw_call(engine, setup.project_id, "deep300", deep_object(300), deep_object(300))
    insert_raw_call(engine, setup.project_id, "deep5000", deep_object(5000), deep_object(5000))
    base = f"/api/projects/{setup.project_id}/tool-calls"
    page = await get_json(live, base, owner_headers)
    items = {item["tool_name"]: item for item in page["items"]}
    assert set(items) == {"deep300", "deep5000"}

    deep300 = items["deep300"]
    assert_depth_bounded(deep300["arguments"])
    assert DEPTH_MARKER in json.dumps(deep300["arguments"])
    assert DEPTH_MARKER in json.dumps(deep300["result"])
    deep5000 = items["deep5000"]
    for document in (deep5000["arguments"], deep5000["result"]):
        assert document["truncated"] is True and "deeper than" in document["reason"]

    for item in items.values():
        detail = await get_json(live, f"{base}/{item['id']}", owner_headers)
        assert detail == item
    # The free-text search reads the same rows.
    found = await get_json(live, f"{base}?q=a", owner_headers)
    assert len(found["items"]) == 2


async def test_old_rows_with_nan_and_lone_surrogates_are_readable(
    engine, live, setup, owner_headers
):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's jsonb never accepted NaN or lone surrogates")
    # SQLite kept whatever text it was given.
    lone = '{"text":"\\ud800 alone","pair":"\\ud83d\\ude00"}'
    insert_raw_call(engine, setup.project_id, "odd", '{"n":NaN,"m":-Infinity}', lone)
    page = await get_json(live, f"/api/projects/{setup.project_id}/tool-calls", owner_headers)
    (item,) = page["items"]
    assert item["arguments"] == {"n": "NaN", "m": "-Infinity"}
    assert item["result"] == {"text": "\ufffd alone", "pair": "\U0001f600"}


async def test_deep_server_log_details_and_activity_details_are_readable(
    engine, live, setup, owner_headers
):
    now = utcnow() - timedelta(minutes=1)
    server_log = {
        "project_id": setup.project_id,
        "server_id": setup.fixture_id,
        "level": "error",
        "category": "stderr",
        "message": "deep details",
        "details": deep_object(5000),
        "created_at": now,
    }
    activity = {
        "project_id": setup.project_id,
        "team_id": None,
        "actor_id": None,
        "actor_name": "system",
        "action": "server.updated",
        "target_type": "server",
        "target_id": str(setup.fixture_id),
        "description": "deep details",
        "details": deep_object(300),
        "created_at": now,
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(_raw_table(ServerLog.__table__)), [server_log])
        conn.execute(sa.insert(_raw_table(Activity.__table__)), [activity])
    logs = await get_json(live, f"/api/projects/{setup.project_id}/server-logs", owner_headers)
    (line,) = [entry for entry in logs if entry["message"] == "deep details"]
    assert line["details"]["truncated"] is True
    feed = await get_json(live, f"/api/projects/{setup.project_id}/activity", owner_headers)
    (entry,) = [entry for entry in feed if entry["description"] == "deep details"]
    assert_depth_bounded(entry["details"])
    assert DEPTH_MARKER in json.dumps(entry["details"])
    await get_json(live, f"/api/projects/{setup.project_id}/sessions", owner_headers)


async def test_a_60_deep_call_through_the_gateway_is_stored_whole_and_a_deeper_one_bounded(
    live, setup, owner_headers
):
    within = nested(59)  # with the arguments object: 60 levels
    beyond = nested(100)
    async with handshake_session(live.url(setup.project_id, "fixture"), setup.key) as session:
        await session.call_tool("echo", {"text": "within", "nested": within})
        # An input depth limit of the gateway may refuse this one; it is logged either way.
        with contextlib.suppress(MCPError):
            await session.call_tool("echo", {"text": "beyond", "nested": beyond})
    await live.writer.aflush()
    base = f"/api/projects/{setup.project_id}/tool-calls"
    page = await get_json(live, f"{base}?tool=echo", owner_headers)
    calls = {(item["arguments"] or {}).get("text"): item for item in page["items"]}
    assert calls["within"]["arguments"] == {"text": "within", "nested": within}
    assert calls["within"]["status"] == "success"
    for item in page["items"]:
        assert_depth_bounded(item["arguments"])
        detail = await get_json(live, f"{base}/{item['id']}", owner_headers)
        assert detail == item
    if "beyond" in calls:
        stored = calls["beyond"]["arguments"]["nested"]
        assert depth_of(stored) == MAX_STORED_DEPTH - 1
        assert DEPTH_MARKER in json.dumps(stored)


def test_nul_lone_surrogates_nan_and_depth_are_made_storable_at_write_time(engine, make_person):
    owner = make_person("owner")
    from mcp_orch_app.services import projects

    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "odd values")
        server = servers.create_server(
            s, owner.actor, project.id, ServerIn(name="odd", command="python", args=["-V"])
        )
    writer = LogWriter(engine, flush_interval=0.05)
    try:
        writer.submit_tool_call(
            project_id=project.id,
            server_id=server.id,
            server_name="odd",
            tool_name="odd",
            arguments={"nul": "a\x00b", "lone": "\udc80", "deep": nested(300), "nan": float("inf")},
            # An upstream's raw answer, stored as it came: escapes jsonb refuses, 300 deep.
            result=EncodedJSON(
                '{"content":[{"type":"text","text":"\\ud800\\u0000"}],"n":NaN,"deep":'
                + deep_object(300)
                + "}"
            ),
            error_message="bad \x00 and \ud800",
        )
        writer.submit_server_log(
            project_id=project.id,
            server_id=server.id,
            category="stderr",
            message="line \x00 \udfff",
            details={"deep": nested(5000)},
        )
        assert writer.flush(timeout=30)
        stats = writer.stats()
        assert (stats.dropped_rows, stats.retries) == (0, 0)
    finally:
        writer.close(timeout=30)
    with db.session_scope(engine) as s:
        (call,) = s.exec(sa.select(ToolCallLog).where(ToolCallLog.project_id == project.id))
        call = call[0] if isinstance(call, tuple | sa.Row) else call
        (log,) = s.exec(sa.select(ServerLog).where(ServerLog.server_id == server.id))
        log = log[0] if isinstance(log, tuple | sa.Row) else log
    assert call.arguments["nul"] == "a\ufffdb" and call.arguments["lone"] == "\ufffd"
    assert call.arguments["nan"] == "Infinity"
    assert depth_of(call.arguments["deep"]) == MAX_STORED_DEPTH - 1
    assert call.result["content"][0]["text"] == "\ufffd\ufffd"
    assert call.result["n"] == "NaN"
    assert DEPTH_MARKER in json.dumps(call.result["deep"])
    assert call.error_message == "bad \ufffd and \ufffd"
    assert log.message == "line \ufffd \ufffd"
    assert depth_of(log.details) == MAX_STORED_DEPTH
