"""Cross-origin behaviour of the real production app (`reflex run --env prod --single-port`),
issue 9 defect 4: the UI still works same-origin (its websocket connects: sign-up goes through
Reflex events), while foreign and `null` origins get no CORS answers, cannot open the UI's
websocket, and are refused by the MCP endpoints."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.e2e.steps import email_for, sign_up

pytestmark = pytest.mark.e2e


async def _websocket_status(base_url: str, origin: str | None) -> int:
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [
        "GET /_event/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return int(status_line.split()[1])


async def test_the_ui_works_same_origin_and_other_origins_get_nothing(
    app_url, new_context, js_errors
):
    context = await new_context()
    page = await context.new_page()
    await sign_up(page, "Owner", email_for("cors-owner"))  # Reflex events over the websocket

    assert await _websocket_status(app_url, app_url) == 101
    for origin in ("https://evil.example", "null"):
        assert await _websocket_status(app_url, origin) != 101
    async with httpx2.AsyncClient(timeout=30) as http:
        for origin in ("https://evil.example", "null"):
            for path in ("/api/auth/me", "/ping"):
                preflight = await http.options(
                    app_url + path,
                    headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
                )
                assert "access-control-allow-origin" not in preflight.headers
                plain = await http.get(app_url + path, headers={"Origin": origin})
                assert "access-control-allow-origin" not in plain.headers
        mcp = f"{app_url}/projects/{uuid.uuid4()}/unified/mcp"
        refused = await http.post(
            mcp,
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"Origin": "null", "Accept": "application/json, text/event-stream"},
        )
        assert refused.status_code == 403
    assert js_errors == []
