"""Request body limits (api/body_limits.py) on the real app over HTTP, and the bound on what is
read from remote upstreams (gateway/http_upstream.py).

Each family (REST, the servers JSON import, MCP messages) refuses a body past its limit with a
413 that names the limit and its setting, whether the body declares its length or streams in
chunks, without buffering it: the backend's peak RSS (this process: the app runs in-process)
grows by far less than the body while other requests keep being answered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_orch_app import config, db
from mcp_orch_app.gateway.upstream import UpstreamUnavailable
from mcp_orch_app.models.enums import Transport
from mcp_orch_app.services import api_keys, projects
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.integration.test_http_upstreams import fixture_server, make_upstream
from tests.integration.test_upstream_pool import call_tool, text_of
from tests.live_app import LiveApp, running_app

MIB = 1 << 20
BIG_BODY = 200 * MIB
RSS_GROWTH_BOUND = 20 * MIB
"""Peak RSS growth allowed on top of what the family's limit lets the app read."""


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


@pytest.fixture
def project(engine, make_person) -> dict[str, Any]:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        created = projects.create_project(s, owner.actor, "limits")
        key = api_keys.create_api_key(s, owner.actor, created.id, ApiKeyIn(name="ci"))
    return {"id": created.id, "key": key.key, "owner": owner}


def families(project: dict[str, Any]) -> dict[str, tuple[str, dict[str, str], str]]:
    """path, headers and the setting named in the refusal, per route family."""
    json_type = {"content-type": "application/json"}
    return {
        "login": ("/api/auth/login", json_type, "MCP_ORCH_MAX_BODY_REST"),
        "rest": (
            f"/api/projects/{project['id']}/servers",
            {**json_type, **project["owner"].headers},
            "MCP_ORCH_MAX_BODY_REST",
        ),
        "import": (
            f"/api/projects/{project['id']}/servers/import",
            {**json_type, **project["owner"].headers},
            "MCP_ORCH_MAX_BODY_IMPORT",
        ),
        "mcp": (
            f"/projects/{project['id']}/unified/mcp",
            {
                **json_type,
                "accept": "application/json, text/event-stream",
                "authorization": f"Bearer {project['key']}",
            },
            "MCP_ORCH_MAX_BODY_MCP",
        ),
    }


def limit_of(setting: str) -> int:
    settings = config.get_settings()
    return {
        "MCP_ORCH_MAX_BODY_REST": settings.max_body_rest,
        "MCP_ORCH_MAX_BODY_IMPORT": settings.max_body_import,
        "MCP_ORCH_MAX_BODY_MCP": settings.max_body_mcp,
    }[setting]


def peak_rss_reset() -> int:
    """Reset this process's peak RSS (VmHWM) to its current RSS and return that, in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


def peak_rss() -> int:
    return _status_kib("VmHWM") * 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


async def chunks(total: int, size: int = MIB) -> AsyncIterator[bytes]:
    """``total`` bytes in chunks of one reused buffer: the client holds no more than a chunk."""
    chunk = b"x" * size
    sent = 0
    while sent < total:
        part = chunk if total - sent >= size else chunk[: total - sent]
        sent += len(part)
        yield part


def assert_refusal(response: httpx.Response, setting: str, json_rpc: bool) -> str:
    assert response.status_code == 413, f"{response.status_code}: {response.text[:300]}"
    body = response.json()
    if json_rpc:
        assert body["jsonrpc"] == "2.0" and body["id"] is None
        message = body["error"]["message"]
        assert body["error"]["code"] == -32600
    else:
        message = body["detail"]
    assert setting in message and "too large" in message, message
    return message


@pytest.mark.parametrize("family", ["login", "rest", "import", "mcp"])
async def test_a_200_mb_chunked_body_is_refused_with_413_without_being_buffered(
    live, project, family
):
    path, headers, setting = families(project)[family]
    me = project["owner"].headers
    async with httpx.AsyncClient(base_url=live.base_url, timeout=60) as client:
        baseline = peak_rss_reset()
        began = time.monotonic()
        upload = asyncio.create_task(client.post(path, content=chunks(BIG_BODY), headers=headers))
        # Other requests keep being answered while the body streams in.
        answered = []
        while not upload.done():
            asked = time.monotonic()
            ok = await client.get("/api/auth/me", headers=me)
            assert ok.status_code == 200, ok.text
            answered.append(time.monotonic() - asked)
            await asyncio.sleep(0.02)
        response = await upload
        elapsed = time.monotonic() - began
        growth = peak_rss() - baseline
    assert_refusal(response, setting, json_rpc=family == "mcp")
    assert "content-length" not in response.request.headers  # really streamed in chunks
    assert elapsed < 20, f"the 413 took {elapsed:.1f}s"
    # Up to the family's limit is read before the refusal (twice: chunks, then joined).
    bound = RSS_GROWTH_BOUND + 2 * limit_of(setting)
    assert growth < bound, f"peak RSS grew by {growth / MIB:.1f} MiB (bound {bound / MIB:.0f})"
    assert max(answered, default=0) < 2.0, f"slowest concurrent answer {max(answered):.2f}s"


async def _raw_request(base_url: str, head: str, body: bytes) -> tuple[int, bytes]:
    """Send a request head and the start of its body on a raw socket; the status and body of
    the answer, read without sending the rest."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await reader.readexactly(length)
    finally:
        writer.close()


@pytest.mark.parametrize("family", ["login", "import", "mcp"])
async def test_a_declared_oversize_length_is_refused_before_the_body_is_sent(live, project, family):
    path, headers, setting = families(project)[family]
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {BIG_BODY}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = "\r\n".join(lines) + "\r\n\r\n"
    status, body = await _raw_request(live.base_url, head, b"{")
    assert status == 413
    message = json.loads(body)
    text = message["error"]["message"] if family == "mcp" else message["detail"]
    assert setting in text


async def test_a_body_at_the_limit_is_served_and_one_byte_more_is_refused(live, project):
    path, headers, setting = families(project)["login"]
    limit = config.get_settings().max_body_rest
    prefix = b'{"email": "nobody@example.com", "password": "'
    padding = limit - len(prefix) - 2
    at_limit = prefix + b"p" * padding + b'"}'
    assert len(at_limit) == limit
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        served = await client.post(path, content=at_limit, headers=headers)
        assert served.status_code in (401, 422), served.text[:200]
        streamed = await client.post(path, content=chunks(limit, 64 * 1024), headers=headers)
        assert streamed.status_code == 422, streamed.text[:200]  # not JSON, but read whole
        over = await client.post(path, content=at_limit + b" ", headers=headers)
        assert_refusal(over, setting, json_rpc=False)
        over_chunked = await client.post(
            path, content=chunks(limit + 1, 64 * 1024), headers=headers
        )
        assert_refusal(over_chunked, setting, json_rpc=False)


async def test_an_import_just_under_its_limit_is_imported(live, project):
    path, headers, _ = families(project)["import"]
    limit = config.get_settings().max_body_import
    document = {
        "mcpServers": {
            "big": {"command": "python3", "args": ["-V"], "description": ""},
        }
    }
    base = len(json.dumps(document).encode())
    document["padding"] = "p" * (limit - base - 100)
    body = json.dumps(document).encode()
    assert limit - 200 < len(body) <= limit
    async with httpx.AsyncClient(base_url=live.base_url, timeout=60) as client:
        response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert [item["name"] for item in response.json()["created"]] == ["big"]


async def test_an_mcp_message_just_under_its_limit_is_answered(live, project):
    path, headers, setting = families(project)["mcp"]
    limit = config.get_settings().max_body_mcp
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {"experimental": {"padding": {}}},
            "clientInfo": {"name": "limits", "version": "1"},
        },
    }
    base = len(json.dumps(message).encode())
    message["params"]["capabilities"]["experimental"]["padding"] = {"p": "p" * (limit - base - 20)}
    body = json.dumps(message).encode()
    assert limit - 100 < len(body) <= limit
    async with httpx.AsyncClient(base_url=live.base_url, timeout=60) as client:
        answered = await client.post(path, content=body, headers=headers)
        assert answered.status_code == 200, answered.text[:300]
        assert answered.json()["result"]["serverInfo"]
        refused = await client.post(path, content=chunks(limit + 1), headers=headers)
    assert_refusal(refused, setting, json_rpc=True)


async def test_limits_follow_their_settings(live, project, monkeypatch):
    monkeypatch.setenv("MCP_ORCH_MAX_BODY_REST", "2048")
    config.reset_settings_cache()
    try:
        path, headers, setting = families(project)["login"]
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
            response = await client.post(path, content=b"x" * 2049, headers=headers)
        message = assert_refusal(response, setting, json_rpc=False)
        assert "2 KiB" in message
    finally:
        monkeypatch.delenv("MCP_ORCH_MAX_BODY_REST")
        config.reset_settings_cache()


# --- what is read from remote upstreams ------------------------------------------------------


@pytest.fixture
def small_upstream_limit(monkeypatch):
    monkeypatch.setenv("MCP_ORCH_MAX_UPSTREAM_MESSAGE", str(MIB))
    config.reset_settings_cache()
    yield MIB
    monkeypatch.delenv("MCP_ORCH_MAX_UPSTREAM_MESSAGE")
    config.reset_settings_cache()


@pytest.mark.parametrize("transport", [Transport.STREAMABLE_HTTP, Transport.SSE])
async def test_an_oversize_answer_from_an_http_upstream_fails_the_call_cleanly(
    tmp_path, small_upstream_limit, transport
):
    server = fixture_server(tmp_path, transport)
    await server.start()
    try:
        upstream = make_upstream(server.config())
        await upstream.start()
        try:
            # MessageTooLarge for the call it answered; on SSE, the crash it caused, same words.
            with pytest.raises(UpstreamUnavailable) as refused:
                await call_tool(upstream, "echo", {"text": "y" * (2 * MIB)}, timeout=20)
            message = str(refused.value)
            assert "MCP_ORCH_MAX_UPSTREAM_MESSAGE" in message and "1 MiB" in message
            if transport is Transport.STREAMABLE_HTTP:
                # Only that call failed: the connection serves the next one.
                answer = await call_tool(upstream, "echo", {"text": "still here"})
                assert text_of(answer) == "still here"
            else:
                # One stream carries every answer: it is dropped like a crash, named.
                assert "MCP_ORCH_MAX_UPSTREAM_MESSAGE" in (upstream.exit_reason or "")
        finally:
            await upstream.stop()
        again = make_upstream(server.config())
        await again.start()
        try:
            assert text_of(await call_tool(again, "echo", {"text": "ok"})) == "ok"
        finally:
            await again.stop()
    finally:
        server.kill()


def test_body_limits_module_is_installed_outermost():
    """Every route family passes through the limit: it wraps the MCP endpoints' middleware.
    Only the security headers sit outside it, so that a 413 carries them too."""
    from mcp_orch_app.api.app import create_api
    from mcp_orch_app.api.body_limits import BodyLimitMiddleware
    from mcp_orch_app.api.security_headers import SecurityHeadersMiddleware

    api = create_api()
    outermost = [entry.cls for entry in api.user_middleware[:2]]
    assert outermost == [SecurityHeadersMiddleware, BodyLimitMiddleware]


async def test_a_client_waiting_for_100_continue_gets_the_413_instead(live, project):
    path, headers, setting = families(project)["login"]
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {BIG_BODY}"]
    lines += ["Expect: 100-continue", *(f"{name}: {value}" for name, value in headers.items())]
    status, body = await _raw_request(live.base_url, "\r\n".join(lines) + "\r\n\r\n", b"")
    assert status == 413
    assert setting in json.loads(body)["detail"]
