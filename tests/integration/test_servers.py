"""MCP server registry: CRUD, masking, secrets at rest, toggle, JSON import and export."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import McpServer

SECRET = "sk-test-9f2c41d0e8b7a6c5"


def _project(client, person, name="Tools"):
    response = client.post("/api/projects", json={"name": name}, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _stdio(name="time", **extra):
    return {
        "name": name,
        "transport": "stdio",
        "command": "uvx",
        "args": ["mcp-server-time", "--local-timezone", "UTC"],
        "env": {"API_TOKEN": SECRET},
        **extra,
    }


def test_created_server_is_listed_from_cache_with_secrets_masked(api_client, make_person):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    created = api_client.post(f"/api/projects/{pid}/servers", json=_stdio(), headers=owner.headers)
    assert created.status_code == 201, created.text
    server = created.json()
    assert server["status"] == "unknown" and server["tools_count"] == 0
    assert server["env"] == {"API_TOKEN": "••••••c5"}
    listed = api_client.get(f"/api/projects/{pid}/servers", headers=owner.headers).json()
    assert [s["name"] for s in listed] == ["time"]
    assert SECRET not in str(listed)
    one = api_client.get(f"/api/projects/{pid}/servers/{server['id']}", headers=owner.headers)
    assert SECRET not in one.text


def test_env_and_header_values_never_reach_the_database_in_plain_text(
    api_client, make_person, engine
):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    api_client.post(f"/api/projects/{pid}/servers", json=_stdio(), headers=owner.headers)
    remote = {
        "name": "remote",
        "transport": "streamable_http",
        "url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": f"Bearer {SECRET}-hdr"},
    }
    assert (
        api_client.post(f"/api/projects/{pid}/servers", json=remote, headers=owner.headers)
    ).status_code == 201
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT env, headers FROM mcp_servers")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert SECRET not in stored
    if engine.dialect.name == "sqlite":
        # Also the raw file, WAL included: nothing of the secret is written anywhere.
        path = Path(engine.url.database)
        for candidate in (path, Path(f"{path}-wal")):
            if candidate.exists():
                assert SECRET.encode() not in candidate.read_bytes()
    with db.session_scope(engine) as s:
        env = {row.name: (row.env, row.headers) for row in s.exec(select(McpServer)).all()}
    assert env["time"][0] == {"API_TOKEN": SECRET}
    assert env["remote"][1] == {"Authorization": f"Bearer {SECRET}-hdr"}


def test_stdio_server_keeps_only_stdio_fields(api_client, make_person):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    body = _stdio(url="https://ignored.example.com", headers={"X-A": "b"})
    server = api_client.post(f"/api/projects/{pid}/servers", json=body, headers=owner.headers)
    assert server.json()["url"] is None and server.json()["headers"] == {}


def test_update_changes_fields_and_keeps_masked_secrets(api_client, make_person, engine):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    sid = api_client.post(
        f"/api/projects/{pid}/servers", json=_stdio(), headers=owner.headers
    ).json()["id"]
    shown = api_client.get(f"/api/projects/{pid}/servers/{sid}", headers=owner.headers).json()
    patched = api_client.patch(
        f"/api/projects/{pid}/servers/{sid}",
        json={"timeout_seconds": 15, "env": {**shown["env"], "EXTRA": "1"}},
        headers=owner.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["timeout_seconds"] == 15
    with db.session_scope(engine) as s:
        assert s.get(McpServer, uuid.UUID(sid)).env == {
            "API_TOKEN": SECRET,
            "EXTRA": "1",
        }


def test_transport_change_to_remote_needs_a_url(api_client, make_person):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    sid = api_client.post(
        f"/api/projects/{pid}/servers", json=_stdio(), headers=owner.headers
    ).json()["id"]
    missing = api_client.patch(
        f"/api/projects/{pid}/servers/{sid}", json={"transport": "sse"}, headers=owner.headers
    )
    assert missing.status_code == 422 and "url" in missing.json()["detail"]
    ok = api_client.patch(
        f"/api/projects/{pid}/servers/{sid}",
        json={"transport": "sse", "url": "http://127.0.0.1:9/sse"},
        headers=owner.headers,
    )
    assert ok.status_code == 200
    assert ok.json()["command"] is None and ok.json()["env"] == {}


def test_toggle_disables_and_enables_and_is_recorded(api_client, make_person):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    sid = api_client.post(
        f"/api/projects/{pid}/servers", json=_stdio(), headers=owner.headers
    ).json()["id"]
    off = api_client.post(f"/api/projects/{pid}/servers/{sid}/toggle", headers=owner.headers).json()
    assert off["enabled"] is False and off["status"] == "disabled"
    on = api_client.post(f"/api/projects/{pid}/servers/{sid}/toggle", headers=owner.headers).json()
    assert on["enabled"] is True and on["status"] == "unknown"
    actions = [
        a["action"]
        for a in api_client.get(f"/api/projects/{pid}/activity", headers=owner.headers).json()
    ]
    assert actions[:3] == ["server.enabled", "server.disabled", "server.created"]


def test_delete_removes_the_server(api_client, make_person):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    sid = api_client.post(
        f"/api/projects/{pid}/servers", json=_stdio(), headers=owner.headers
    ).json()["id"]
    assert (
        api_client.delete(f"/api/projects/{pid}/servers/{sid}", headers=owner.headers).status_code
        == 204
    )
    assert api_client.get(f"/api/projects/{pid}/servers", headers=owner.headers).json() == []
    gone = api_client.get(f"/api/projects/{pid}/servers/{sid}", headers=owner.headers)
    assert gone.status_code == 404


def test_import_claude_desktop_document_creates_each_kind(api_client, make_person, engine):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    document = {
        "mcpServers": {
            "everything": {
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-everything"],
                "env": {"TOKEN": SECRET},
            },
            "events": {"url": "http://127.0.0.1:8931/sse"},
            "api": {
                "type": "http",
                "url": "https://api.example.com/mcp",
                "headers": {"X-Key": "k"},
            },
            "off": {"command": "uvx", "args": ["mcp-server-git"], "disabled": True},
        }
    }
    result = api_client.post(
        f"/api/projects/{pid}/servers/import", json=document, headers=owner.headers
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["errors"] == []
    assert sorted(c["name"] for c in body["created"]) == ["api", "events", "everything", "off"]
    servers = {
        s["name"]: s
        for s in api_client.get(f"/api/projects/{pid}/servers", headers=owner.headers).json()
    }
    assert servers["events"]["transport"] == "sse"
    assert servers["api"]["transport"] == "streamable_http"
    assert servers["off"]["enabled"] is False and servers["off"]["status"] == "disabled"
    assert servers["everything"]["args"] == ["-y", "@modelcontextprotocol/server-everything"]


def test_export_round_trips_through_import_with_secrets_masked(api_client, make_person):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    api_client.post(f"/api/projects/{pid}/servers", json=_stdio(cwd="/srv"), headers=owner.headers)
    api_client.post(
        f"/api/projects/{pid}/servers",
        json={"name": "web", "transport": "sse", "url": "http://127.0.0.1:9/sse"},
        headers=owner.headers,
    )
    exported = api_client.get(f"/api/projects/{pid}/servers/export", headers=owner.headers).json()
    assert exported == {
        "mcpServers": {
            "time": {
                "command": "uvx",
                "args": ["mcp-server-time", "--local-timezone", "UTC"],
                "env": {"API_TOKEN": "••••••c5"},
                "cwd": "/srv",
            },
            "web": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
        }
    }
    other = _project(api_client, owner, "Copy")
    reimported = api_client.post(
        f"/api/projects/{other}/servers/import", json=exported, headers=owner.headers
    ).json()
    # The masked token cannot be stored: that entry is refused, the rest imports.
    assert [c["name"] for c in reimported["created"]] == ["web"]
    assert [e["name"] for e in reimported["errors"]] == ["time"]
    assert "masked" in reimported["errors"][0]["error"]


def test_server_names_are_unique_per_project_not_globally(api_client, make_person):
    owner = make_person("owner")
    first, second = _project(api_client, owner, "A"), _project(api_client, owner, "B")
    for pid in (first, second):
        response = api_client.post(
            f"/api/projects/{pid}/servers", json=_stdio(), headers=owner.headers
        )
        assert response.status_code == 201
    clash = api_client.post(
        f"/api/projects/{first}/servers", json=_stdio(name="TIME"), headers=owner.headers
    )
    assert clash.status_code == 409 and "already exists" in clash.json()["detail"]
