"""Export -> import never stores a mask as a secret; the encrypted export carries real secrets.

Each case runs on SQLite and PostgreSQL and reads the stored (decrypted) values back from the
database, since the API itself only ever shows masks.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import McpServer, Role
from mcp_orch_app.security import sealed_export
from mcp_orch_app.services import projects
from tests.helpers import ok, refused

SECRET = "sk-test-9f2c41d0e8b7a6c5"
HEADER_SECRET = "Bearer hdr-5e1d9a7c3b"
PASSPHRASE = "orange kite mountain 42"


def _project(client, person, name="Tools"):
    return ok(client.post("/api/projects", json={"name": name}, headers=person.headers), 201)["id"]


def _seed(client, person, pid):
    base = f"/api/projects/{pid}/servers"
    ok(
        client.post(
            base,
            json={
                "name": "time",
                "command": "uvx",
                "args": ["mcp-server-time"],
                "env": {"API_TOKEN": SECRET, "SHORT": "abc"},
            },
            headers=person.headers,
        ),
        201,
    )
    ok(
        client.post(
            base,
            json={
                "name": "web",
                "transport": "streamable_http",
                "url": "https://mcp.example.com/mcp",
                "headers": {"Authorization": HEADER_SECRET},
            },
            headers=person.headers,
        ),
        201,
    )
    ok(
        client.post(
            base, json={"name": "plain", "command": "uvx", "args": ["x"]}, headers=person.headers
        ),
        201,
    )


def _stored(engine, pid) -> dict[str, tuple[dict, dict]]:
    """name -> (env, headers) as stored, decrypted."""
    with db.session_scope(engine) as s:
        query = select(McpServer).where(McpServer.project_id == uuid.UUID(str(pid)))
        rows = s.exec(query).all()
        return {row.name: (dict(row.env or {}), dict(row.headers or {})) for row in rows}


def test_plain_export_reimported_elsewhere_refuses_masked_entries_and_imports_the_rest(
    api_client, make_person, engine
):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    _seed(api_client, owner, pid)
    exported = ok(api_client.get(f"/api/projects/{pid}/servers/export", headers=owner.headers))
    assert exported["mcpServers"]["time"]["env"]["API_TOKEN"].startswith("••••••")

    other = _project(api_client, owner, "Elsewhere")
    report = ok(
        api_client.post(
            f"/api/projects/{other}/servers/import", json=exported, headers=owner.headers
        )
    )
    assert [c["name"] for c in report["created"]] == ["plain"]
    errors = {e["name"]: e["error"] for e in report["errors"]}
    assert set(errors) == {"time", "web"}
    assert "API_TOKEN" in errors["time"] and "SHORT" in errors["time"]
    assert "masked" in errors["time"] and "encrypted export" in errors["time"]
    assert "Authorization" in errors["web"] and "masked" in errors["web"]
    stored = _stored(engine, other)
    assert set(stored) == {"plain"}
    assert "••" not in json.dumps(stored)


def test_plain_export_reimported_into_its_project_keeps_the_stored_secrets(
    api_client, make_person, engine
):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    _seed(api_client, owner, pid)
    before = _stored(engine, pid)
    exported = ok(api_client.get(f"/api/projects/{pid}/servers/export", headers=owner.headers))
    report = ok(
        api_client.post(f"/api/projects/{pid}/servers/import", json=exported, headers=owner.headers)
    )
    assert report["created"] == []
    assert all("already exists" in e["error"] for e in report["errors"])
    assert _stored(engine, pid) == before
    assert before["time"][0]["API_TOKEN"] == SECRET


def test_a_masked_value_is_refused_on_create(api_client, make_person, engine):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    response = api_client.post(
        f"/api/projects/{pid}/servers",
        json={"name": "t", "command": "uvx", "env": {"API_TOKEN": "••••••c5"}},
        headers=owner.headers,
    )
    refused(response, 422, "API_TOKEN", "masked")
    assert _stored(engine, pid) == {}


def test_encrypted_export_moves_real_secrets_to_another_project(api_client, make_person, engine):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    _seed(api_client, owner, pid)
    envelope = ok(
        api_client.post(
            f"/api/projects/{pid}/servers/export-encrypted",
            json={"passphrase": PASSPHRASE},
            headers=owner.headers,
        )
    )
    assert envelope["format"] == sealed_export.FORMAT and envelope["version"] == 1
    assert envelope["kdf"]["name"] == "scrypt" and envelope["cipher"]["name"] == "AES-256-GCM"
    assert SECRET not in json.dumps(envelope) and "mcp-server-time" not in json.dumps(envelope)

    other = _project(api_client, owner, "Elsewhere")
    # The plain import route says what to do with a sealed file instead of failing obscurely.
    refused(
        api_client.post(
            f"/api/projects/{other}/servers/import", json=envelope, headers=owner.headers
        ),
        422,
        "encrypted",
        "passphrase",
    )
    report = ok(
        api_client.post(
            f"/api/projects/{other}/servers/import-encrypted",
            json={"envelope": envelope, "passphrase": PASSPHRASE},
            headers=owner.headers,
        )
    )
    assert sorted(c["name"] for c in report["created"]) == ["plain", "time", "web"]
    assert report["errors"] == []
    stored = _stored(engine, other)
    assert stored["time"][0] == {"API_TOKEN": SECRET, "SHORT": "abc"}
    assert stored["web"][1] == {"Authorization": HEADER_SECRET}


def _sealed(api_client, owner, pid):
    return ok(
        api_client.post(
            f"/api/projects/{pid}/servers/export-encrypted",
            json={"passphrase": PASSPHRASE},
            headers=owner.headers,
        )
    )


def _flip_last_byte(value: str) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_encrypted_import_with_a_wrong_passphrase_is_a_clear_refusal(
    api_client, make_person, engine
):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    _seed(api_client, owner, pid)
    envelope = _sealed(api_client, owner, pid)
    other = _project(api_client, owner, "Elsewhere")
    url = f"/api/projects/{other}/servers/import-encrypted"
    refused(
        api_client.post(
            url, json={"envelope": envelope, "passphrase": "not it at all"}, headers=owner.headers
        ),
        422,
        "passphrase is wrong",
    )
    refused(
        api_client.post(url, json={"envelope": envelope, "passphrase": ""}, headers=owner.headers),
        422,
        "passphrase",
    )
    assert _stored(engine, other) == {}


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "kdf_n", "format_version"])
def test_a_tampered_encrypted_export_is_refused(api_client, make_person, engine, part):
    owner = make_person("owner")
    pid = _project(api_client, owner)
    _seed(api_client, owner, pid)
    envelope = _sealed(api_client, owner, pid)
    if part == "ciphertext":
        envelope["ciphertext"] = _flip_last_byte(envelope["ciphertext"])
        words = ("changed after it was made",)
    elif part == "nonce":
        envelope["cipher"]["nonce"] = _flip_last_byte(envelope["cipher"]["nonce"])
        words = ("changed after it was made",)
    elif part == "kdf_n":
        envelope["kdf"]["n"] = 2**40
        words = ("damaged",)
    else:
        envelope["version"] = 99
        words = ("version",)
    other = _project(api_client, owner, "Elsewhere")
    refused(
        api_client.post(
            f"/api/projects/{other}/servers/import-encrypted",
            json={"envelope": envelope, "passphrase": PASSPHRASE},
            headers=owner.headers,
        ),
        422,
        *words,
    )
    assert _stored(engine, other) == {}


def test_only_owners_export_secrets_and_a_short_passphrase_is_refused(
    api_client, make_person, engine
):
    owner, developer = make_person("owner"), make_person("dev")
    pid = _project(api_client, owner)
    with db.session_scope(engine) as s:
        projects.add_member(s, owner.actor, pid, developer.email, Role.DEVELOPER)
    url = f"/api/projects/{pid}/servers/export-encrypted"
    refused(
        api_client.post(url, json={"passphrase": PASSPHRASE}, headers=developer.headers),
        403,
        "owner",
    )
    refused(
        api_client.post(url, json={"passphrase": "short"}, headers=owner.headers),
        422,
        "at least 8",
    )
    refused(api_client.post(url, json={}, headers=owner.headers), 422)
