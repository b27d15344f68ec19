"""A tool call's result is JSON-encoded once: the client's answer and the ToolCallLog row's copy
are made from the same bytes (issue 10, item 6), through the per-server and the unified
endpoint, in both eras, and for a result past the log's 64 KiB cap.

Every JSON encoding the gateway makes goes through mcp_orch_app/fast_json.py (orjson, else the
stdlib encoder); the tests count the encodings that hold the call's result, in the app served
in this process, with real SDK clients and the real fixture server behind it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from mcp_orch_app import db, fast_json
from mcp_orch_app.models.logs import ToolCallLog
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.integration.test_gateway_endpoints import (
    Setup,
    auto_client,
    fixture_server_in,
    flushed,
    handshake_session,
    rows,
)
from tests.live_app import running_app


@pytest.fixture
async def live(engine):
    async with running_app(engine) as app:
        yield app


@pytest.fixture
def setup(engine, make_person, tmp_path) -> Setup:
    """A project with an API key and the fixture server over stdio."""
    owner = make_person("owner")
    call_log = tmp_path / "calls.log"
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "encode once")
        fixture = servers.create_server(
            s, owner.actor, project.id, fixture_server_in("fixture", call_log)
        )
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="ci"))
    return Setup(project.id, key.key, key.id, owner, call_log, fixture.id)


class ResultEncodings:
    """Counts the encodings (orjson's and the stdlib's) whose output holds ``marker`` inside a
    result's `content` (the upstream's request holds it too, as an argument: not counted)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, marker: str) -> None:
        self.marker = marker
        self.count = 0
        self.seen: list[str] = []
        fast, plain = fast_json._fast, json.JSONEncoder.encode

        def counted_fast(value: Any) -> bytes | None:
            encoded = fast(value)
            if encoded is not None:
                self._saw(encoded.decode("utf-8"))
            return encoded

        def counted_plain(encoder: json.JSONEncoder, value: Any) -> str:
            text = plain(encoder, value)
            self._saw(text)
            return text

        monkeypatch.setattr(fast_json, "_fast", counted_fast)
        monkeypatch.setattr(json.JSONEncoder, "encode", counted_plain)

    def _saw(self, text: str) -> None:
        if '"content"' in text and self.marker in text:
            self.count += 1
            self.seen.append(text)


def _marker(size: int = 0) -> str:
    return f"once-{uuid.uuid4().hex}-" + "x" * size


async def _logged_result(live, engine, marker: str) -> Any:
    await flushed(live)
    # The arguments may be capped too: the call is the one whose stored JSON names the marker.
    calls = rows(engine, ToolCallLog, ToolCallLog.tool_name == "echo")
    (call,) = [call for call in calls if marker[:40] in json.dumps(call.arguments)]
    return call.result


async def test_a_handshake_clients_call_is_encoded_once_for_answer_and_log(
    live, setup, engine, monkeypatch
):
    marker = _marker()
    async with handshake_session(live.url(setup.project_id, "fixture"), setup.key) as session:
        await session.call_tool("echo", {"text": "warm"})  # the upstream is running
        encodings = ResultEncodings(monkeypatch, marker)
        answer = await session.call_tool("echo", {"text": marker})
        assert encodings.count == 1
    assert answer.content[0].text == marker and not answer.is_error
    result = await _logged_result(live, engine, marker)
    assert result["content"] == [{"type": "text", "text": marker}]
    assert "resultType" not in result  # the client's era: what it got


async def test_a_modern_clients_call_is_encoded_once_and_logged_as_answered(
    live, setup, engine, monkeypatch
):
    marker = _marker()
    async with auto_client(live.url(setup.project_id, "fixture"), setup.key) as client:
        await client.call_tool("echo", {"text": "warm"})
        encodings = ResultEncodings(monkeypatch, marker)
        answer = await client.call_tool("echo", {"text": marker})
        assert encodings.count == 1
    assert answer.content[0].text == marker
    result = await _logged_result(live, engine, marker)
    assert result["content"][0]["text"] == marker and result["resultType"] == "complete"


async def test_a_result_past_the_log_cap_is_cut_from_the_answers_bytes(
    live, setup, engine, monkeypatch
):
    marker = _marker(100_000)
    async with handshake_session(live.url(setup.project_id, "fixture"), setup.key) as session:
        await session.call_tool("echo", {"text": "warm"})
        encodings = ResultEncodings(monkeypatch, marker)
        answer = await session.call_tool("echo", {"text": marker})
        assert encodings.count == 1  # the 64 KiB cut encodes only its preview string
    assert answer.content[0].text == marker
    stored = await _logged_result(live, engine, marker)
    assert stored["truncated"] is True
    (result_text,) = encodings.seen  # the one encoding: the result, as the client got it
    preview = stored["preview"]
    assert stored["original_bytes"] == len(result_text.encode()) > 100_000
    assert len(preview) > 60_000 and result_text.startswith(preview)


async def test_a_unified_call_is_encoded_once(live, setup, engine, monkeypatch):
    url = f"{live.base_url}/projects/{setup.project_id}/unified/mcp"
    marker = _marker()
    async with handshake_session(url, setup.key) as session:
        await session.call_tool("fixture__echo", {"text": "warm"})
        encodings = ResultEncodings(monkeypatch, marker)
        answer = await session.call_tool("fixture__echo", {"text": marker})
        assert encodings.count == 1
    assert answer.content[0].text == marker
    assert (await _logged_result(live, engine, marker))["content"][0]["text"] == marker


async def test_a_redacted_log_copy_leaves_the_answer_whole(live, setup, engine, tmp_path):
    secret = "s3cr3t-" + uuid.uuid4().hex
    server = fixture_server_in("keeper", tmp_path / "keeper.log")
    server.env["API_TOKEN"] = secret
    with db.session_scope(engine) as s:
        servers.create_server(s, setup.owner.actor, setup.project_id, server)
    text = f"say {secret} once"
    async with handshake_session(live.url(setup.project_id, "keeper"), setup.key) as session:
        answer = await session.call_tool("echo", {"text": text})
    assert answer.content[0].text == text  # the client's answer is never redacted
    await flushed(live)
    (call,) = rows(engine, ToolCallLog, ToolCallLog.tool_name == "echo")
    assert secret not in json.dumps([call.arguments, call.result])
    assert call.result["content"][0]["text"].startswith("say ")
