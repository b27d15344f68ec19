"""``GET /healthz`` and ``GET /readyz`` as a load balancer sees them, on SQLite and PostgreSQL.

The app runs under uvicorn with the gateway's lifespan (tests/live_app.py). /healthz answers
without touching anything; /readyz is 200 only while the gateway runs, the database answers and
its schema is at head, and 503 with the reason in each other case: the schema behind this code,
the database gone, the gateway not started or shut down (draining). Neither needs credentials,
neither is slowed by the login throttle, and neither body carries more than a status and reason.
(The real production app answers them too: test_backend_workers.py.)
"""

from __future__ import annotations

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from mcp_orch_app import config
from mcp_orch_app.api.app import create_api
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.gateway.runtime import Gateway, gateway_lifespan
from mcp_orch_app.migrations import head_revision
from tests.live_app import running_app


def _check(response: httpx2.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) <= {"status", "reason"}
    return body


async def test_healthz_and_readyz_answer_without_credentials(engine):
    async with running_app(engine) as app, httpx2.AsyncClient(base_url=app.base_url) as http:
        assert _check(await http.get("/healthz"), 200) == {"status": "ok"}
        assert _check(await http.get("/readyz"), 200) == {"status": "ready"}
        # Lock this client's address out of logins: the probes are not throttled.
        for _ in range(25):
            await http.post("/api/auth/login", json={"email": "x@example.com", "password": "no"})
        assert (
            await http.post("/api/auth/login", json={"email": "x@example.com", "password": "no"})
        ).status_code == 429
        for _ in range(50):
            _check(await http.get("/healthz"), 200)
            _check(await http.get("/readyz"), 200)
        assert (await http.post("/readyz")).status_code == 405


async def test_readyz_is_503_while_the_schema_is_behind_this_code(engine):
    head = head_revision()
    async with running_app(engine) as app, httpx2.AsyncClient(base_url=app.base_url) as http:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        try:
            body = _check(await http.get("/readyz"), 503)
            assert body == {
                "status": "not ready",
                "reason": f"database schema at revision 0004, expected {head}",
            }
            assert _check(await http.get("/healthz"), 200) == {"status": "ok"}
        finally:
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE alembic_version SET version_num = :head"), {"head": head}
                )
        assert _check(await http.get("/readyz"), 200) == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_unreachable(engine, monkeypatch):
    async with running_app(engine) as app, httpx2.AsyncClient(base_url=app.base_url) as http:
        unreachable = "postgresql://mcp:hunter2-secret@127.0.0.1:1/gone"
        monkeypatch.setenv("DATABASE_URL", unreachable)
        config.reset_settings_cache()
        try:
            response = await http.get("/readyz")
            body = _check(response, 503)
            assert body == {"status": "not ready", "reason": "database unreachable"}
            assert "hunter2" not in response.text and "127.0.0.1:1" not in response.text
            assert _check(await http.get("/healthz"), 200) == {"status": "ok"}
        finally:
            monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
            config.reset_settings_cache()
        assert _check(await http.get("/readyz"), 200) == {"status": "ready"}


async def _probe(api: FastAPI, path: str) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=api)
    async with httpx2.AsyncClient(transport=transport, base_url="http://app") as http:
        return await http.get(path)


async def test_readyz_is_503_before_the_gateway_starts_and_once_it_drains(engine):
    api = create_api()
    not_running = {"status": "not ready", "reason": "gateway not running (starting or draining)"}
    assert _check(await _probe(api, "/readyz"), 503) == not_running
    assert _check(await _probe(api, "/healthz"), 200) == {"status": "ok"}
    writer = LogWriter(engine, flush_interval=0.05)
    async with gateway_lifespan(Gateway(writer=writer)):
        assert _check(await _probe(api, "/readyz"), 200) == {"status": "ready"}
    # The lifespan has shut down: a balancer must stop sending here.
    assert _check(await _probe(api, "/readyz"), 503) == not_running


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_the_probes_are_not_in_the_openapi_document(engine, path):
    document = (await _probe(create_api(), "/api/openapi.json")).json()
    assert path not in document["paths"]
