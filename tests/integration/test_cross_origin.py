"""Browsers on other origins get nothing from mcp-orch unless the operator lists them (issue 9,
defect 4): `Origin: null` is refused by the MCP endpoints' browser guard; CORS answers carry no
`Access-Control-Allow-Origin` for foreign origins (nor for `null`); an origin listed in
MCP_ORCH_CORS_ORIGINS gets CORS answers; the UI's websocket takes its own host's pages.

The app is assembled the way Reflex assembles it in production (App.__call__ without the page
compile): Reflex's own API (/ping, /_event) mounted inside create_api(), Reflex's CORS layer on
both, from rxconfig.py as loaded by Reflex.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx2
import pytest
import reflex as rx
from reflex.app import App
from reflex_base.config import reload_config
from reflex_base.registry import RegistrationContext
from starlette.applications import Starlette

from mcp_orch_app import config, db
from mcp_orch_app.api.app import create_api
from mcp_orch_app.cross_origin import restrict_socket_origins
from mcp_orch_app.services import projects, servers
from mcp_orch_app.services.schemas import ProjectPatch
from tests.integration.test_gateway_endpoints import fixture_server_in
from tests.live_app import LiveApp, running_app

FRIEND = "https://tools.example.com:8443"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
EVIL = "https://evil.example"


def _reflex_layers(lifespan):
    """What App.__call__ builds around the api_transformer, with rxconfig.py freshly loaded."""
    # A fresh registration context: a Reflex context holds one App, and rxconfig.py is read
    # again into it (with this test's environment).
    with RegistrationContext.ensure_context().fork():
        reload_config()
        reflex_app = rx.App(api_transformer=None)
        restrict_socket_origins(reflex_app)
        api = create_api()
        App._add_cors(api)
        api.mount("", reflex_app._api)
        top = Starlette(lifespan=lifespan)
        top.mount("", api)
        App._add_cors(top)
    return top


@pytest.fixture(params=["default", "configured"])
async def live(request, engine, monkeypatch) -> AsyncIterator[tuple[LiveApp, str]]:
    if request.param == "configured":
        monkeypatch.setenv("MCP_ORCH_CORS_ORIGINS", f"{FRIEND}, http://localhost:6274")
    else:
        monkeypatch.delenv("MCP_ORCH_CORS_ORIGINS", raising=False)
    monkeypatch.delenv("REFLEX_ENV_MODE", raising=False)
    config.reset_settings_cache()
    try:
        async with running_app(engine, wrap=_reflex_layers) as app:
            yield app, request.param
    finally:
        config.reset_settings_cache()


@pytest.fixture
def open_project(engine, make_person, tmp_path) -> uuid.UUID:
    """A project open to anonymous MCP clients: only the Origin check stands in the way."""
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "open")
        servers.create_server(
            s, owner.actor, project.id, fixture_server_in("fixture", tmp_path / "calls.log")
        )
        projects.update_project(s, owner.actor, project.id, ProjectPatch(allow_anonymous=True))
    return project.id


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    }


async def test_origin_null_is_refused_on_every_mcp_endpoint(live, open_project):
    app, _ = live
    body = INITIALIZE
    accept = {"Accept": "application/json, text/event-stream"}
    urls = [
        app.url(open_project, "fixture"),
        f"{app.base_url}/projects/{open_project}/unified/mcp",
    ]
    async with httpx2.AsyncClient(timeout=30) as http:
        for url in urls:
            # Anyone may call the open project from a program...
            assert (await http.post(url, json=body, headers=accept)).status_code == 200
            refused = await http.post(url, json=body, headers={**accept, "Origin": "null"})
            assert refused.status_code == 403, refused.text
            assert "access-control-allow-origin" not in refused.headers
        sse = await http.get(app.url(open_project, "fixture", "sse"), headers={"Origin": "null"})
        assert sse.status_code == 403


@pytest.mark.parametrize("path", ["/api/auth/me", "/ping", "/projects/{p}/servers/fixture/mcp"])
async def test_foreign_and_null_origins_get_no_cors_answers(live, open_project, path):
    app, mode = live
    url = app.base_url + path.format(p=open_project)
    async with httpx2.AsyncClient(timeout=30) as http:
        for origin in (EVIL, "null"):
            preflight = await http.options(url, headers=_preflight(origin))
            assert "access-control-allow-origin" not in preflight.headers, preflight.headers
            plain = await http.get(url, headers={"Origin": origin, "Cookie": "a=b"})
            assert "access-control-allow-origin" not in plain.headers, plain.headers
        friendly = await http.options(url, headers=_preflight(FRIEND))
        if mode == "configured":
            assert friendly.headers.get("access-control-allow-origin") == FRIEND
            assert friendly.headers.get("access-control-allow-credentials") == "true"
        else:
            assert "access-control-allow-origin" not in friendly.headers


async def test_a_configured_origin_passes_the_mcp_origin_check(live, open_project):
    app, mode = live
    body = INITIALIZE
    headers = {"Accept": "application/json, text/event-stream", "Origin": FRIEND}
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(app.url(open_project, "fixture"), json=body, headers=headers)
    assert answer.status_code == (200 if mode == "configured" else 403)


async def _websocket_status(base_url: str, origin: str | None, host: str | None = None) -> int:
    """The HTTP status of a real websocket handshake on Reflex's /_event."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /_event/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: {host or parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return int(status_line.split()[1])


async def test_the_ui_websocket_takes_its_own_origin_and_refuses_others(live):
    app, mode = live
    own = app.base_url
    assert await _websocket_status(own, own) == 101
    assert await _websocket_status(own, None) == 101
    assert await _websocket_status(own, EVIL) != 101
    assert await _websocket_status(own, "null") != 101
    assert (await _websocket_status(own, FRIEND) == 101) is (mode == "configured")


async def test_the_ui_ping_still_answers_same_origin(live):
    app, _ = live
    async with httpx2.AsyncClient(timeout=30) as http:
        ping = await http.get(app.base_url + "/ping", headers={"Origin": app.base_url})
    assert ping.status_code == 200
