"""Client configuration snippets over the REST API: each client's format, the right endpoint
URL, and never a real key."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest

from mcp_orch_app import config, db
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.client_config import KEY_PLACEHOLDER, OAUTH_CLIENTS
from mcp_orch_app.services.schemas import ApiKeyIn, ProjectPatch, ServerIn
from tests.helpers import ok

CLIENTS = ("cursor", "cline", "claude-desktop", "claude-code", "vscode")
BEARER = f"Bearer {KEY_PLACEHOLDER}"


class Site:
    def __init__(self, client, make_person, engine):
        self.client = client
        self.engine = engine
        self.owner = make_person("Olivia")
        o = self.owner.actor
        with db.session_scope(engine) as s:
            self.pid = str(projects.create_project(s, o, "Apollo Tools").id)
            self.sid = str(
                servers.create_server(s, o, self.pid, ServerIn(name="alpha", command="uvx")).id
            )
            self.key = api_keys.create_api_key(s, o, self.pid, ApiKeyIn(name="laptop")).key

    def config(self, client: str, **params) -> dict[str, Any]:
        response = self.client.get(
            f"/api/projects/{self.pid}/client-config",
            params={"client": client, **params},
            headers=self.owner.headers,
        )
        return ok(response)

    @property
    def server_url(self) -> str:
        return f"http://testserver/projects/{self.pid}/servers/alpha/mcp"

    @property
    def unified_url(self) -> str:
        return f"http://testserver/projects/{self.pid}/unified/mcp"


@pytest.fixture
def site(api_client, make_person, engine) -> Site:
    return Site(api_client, make_person, engine)


def _assert_no_real_key(site: Site, snippet: dict[str, Any]) -> None:
    text = json.dumps(snippet)
    assert site.key not in text
    assert site.key[:12] not in text
    assert not re.search(r"mch_[A-Za-z0-9_-]{8,}", snippet["content"])


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("scope", ["server", "unified"])
def test_snippet_parses_points_at_the_endpoint_and_holds_no_real_key(site, client, scope):
    params = {"server_id": site.sid} if scope == "server" else {"unified": "true"}
    url = site.server_url if scope == "server" else site.unified_url
    snippet = site.config(client, **params)

    assert snippet["client"] == client
    assert snippet["url"] == url
    assert url in snippet["content"]
    assert snippet["instructions"]
    _assert_no_real_key(site, snippet)
    if snippet["format"] == "json":
        json.loads(snippet["content"])
    else:
        assert snippet["format"] == "shell"
        shlex.split(snippet["content"])
    if scope == "unified":
        assert snippet["entry_name"] == "mcp-orch-apollo-tools"
    else:
        assert snippet["entry_name"] == "alpha"


def test_cursor_snippet(site):
    snippet = site.config("cursor", server_id=site.sid)
    assert snippet["format"] == "json"
    assert "mcp.json" in snippet["filename_hint"]
    assert json.loads(snippet["content"]) == {
        "mcpServers": {"alpha": {"url": site.server_url, "headers": {"Authorization": BEARER}}}
    }


def test_cline_snippet(site):
    snippet = site.config("cline", server_id=site.sid)
    assert snippet["filename_hint"] == "cline_mcp_settings.json"
    entry = json.loads(snippet["content"])["mcpServers"]["alpha"]
    assert entry["type"] == "streamableHttp"
    assert entry["url"] == site.server_url
    assert entry["headers"] == {"Authorization": BEARER}


def test_vscode_snippet_prompts_for_the_key(site):
    snippet = site.config("vscode", unified="true")
    assert snippet["filename_hint"] == ".vscode/mcp.json"
    document = json.loads(snippet["content"])
    (prompt,) = document["inputs"]
    assert prompt["type"] == "promptString" and prompt["password"] is True
    entry = document["servers"]["mcp-orch-apollo-tools"]
    assert entry == {
        "type": "http",
        "url": site.unified_url,
        "headers": {"Authorization": "Bearer ${input:" + prompt["id"] + "}"},
    }


def test_claude_desktop_snippet_bridges_through_mcp_remote(site):
    snippet = site.config("claude-desktop", server_id=site.sid)
    assert snippet["filename_hint"] == "claude_desktop_config.json"
    entry = json.loads(snippet["content"])["mcpServers"]["alpha"]
    assert entry["command"] == "npx"
    assert entry["args"][:3] == ["-y", "mcp-remote", site.server_url]
    assert entry["args"][-2:] == ["--header", "Authorization:${AUTH_HEADER}"]
    assert entry["env"] == {"AUTH_HEADER": BEARER}
    # mcp-remote refuses plain http to any host but localhost unless told otherwise.
    assert "--allow-http" in entry["args"]


def test_claude_code_snippet_is_one_command(site):
    snippet = site.config("claude-code", server_id=site.sid)
    assert snippet["format"] == "shell"
    assert snippet["filename_hint"] is None
    assert shlex.split(snippet["content"]) == [
        "claude",
        "mcp",
        "add",
        "--transport",
        "http",
        "alpha",
        site.server_url,
        "--header",
        f"Authorization: {BEARER}",
    ]


def test_sse_transport_points_at_the_sse_endpoint(site):
    snippet = site.config("cline", server_id=site.sid, transport="sse")
    entry = json.loads(snippet["content"])["mcpServers"]["alpha"]
    assert entry["type"] == "sse"
    assert entry["url"] == f"http://testserver/projects/{site.pid}/servers/alpha/sse"
    command = shlex.split(site.config("claude-code", unified="true", transport="sse")["content"])
    assert command[3:5] == ["--transport", "sse"]
    assert command[6] == f"http://testserver/projects/{site.pid}/unified/sse"


def test_public_url_setting_wins_over_the_request_address(site, monkeypatch):
    monkeypatch.setenv("MCP_ORCH_PUBLIC_URL", "http://orch.example.com:8080/")
    config.reset_settings_cache()
    try:
        snippet = site.config("claude-desktop", server_id=site.sid)
    finally:
        monkeypatch.delenv("MCP_ORCH_PUBLIC_URL")
        config.reset_settings_cache()
    url = f"http://orch.example.com:8080/projects/{site.pid}/servers/alpha/mcp"
    entry = json.loads(snippet["content"])["mcpServers"]["alpha"]
    assert snippet["url"] == url
    assert entry["args"][2] == url


def test_https_and_localhost_addresses_need_no_allow_http(site, monkeypatch):
    for public_url in ("https://orch.example.com", "http://localhost:3000"):
        monkeypatch.setenv("MCP_ORCH_PUBLIC_URL", public_url)
        config.reset_settings_cache()
        try:
            snippet = site.config("claude-desktop", unified="true")
        finally:
            config.reset_settings_cache()
        args = json.loads(snippet["content"])["mcpServers"]["mcp-orch-apollo-tools"]["args"]
        assert args[2] == f"{public_url}/projects/{site.pid}/unified/mcp"
        assert "--allow-http" not in args


@pytest.mark.parametrize("client", CLIENTS)
def test_endpoint_open_to_anonymous_clients_gets_no_key_header(site, client):
    with db.session_scope(site.engine) as s:
        projects.update_project(s, site.owner.actor, site.pid, ProjectPatch(allow_anonymous=True))
    snippet = site.config(client, unified="true")
    assert "Authorization" not in snippet["content"]
    assert KEY_PLACEHOLDER not in snippet["content"]
    assert "anonymous" in snippet["instructions"]


def test_turned_off_endpoints_are_explained(site):
    with db.session_scope(site.engine) as s:
        projects.update_project(s, site.owner.actor, site.pid, ProjectPatch(unified_enabled=False))
        servers.toggle_server(s, site.owner.actor, site.pid, site.sid)
    assert "turned off" in site.config("cursor", unified="true")["instructions"]
    assert "disabled" in site.config("cursor", server_id=site.sid)["instructions"]


@pytest.mark.parametrize("client", OAUTH_CLIENTS)
def test_oauth_form_is_the_url_only(site, client):
    snippet = site.config(client, server_id=site.sid, auth="oauth")
    assert site.server_url in snippet["content"] or site.server_url in json.dumps(snippet)
    assert "Authorization" not in snippet["content"]
    assert KEY_PLACEHOLDER not in snippet["content"]
    assert "login page" in snippet["instructions"]


def test_oauth_form_is_refused_for_a_client_without_it_and_bad_auth(site):
    for params in ({"client": "cline", "auth": "oauth"}, {"client": "cursor", "auth": "magic"}):
        response = site.client.get(
            f"/api/projects/{site.pid}/client-config",
            params={"unified": "true", **params},
            headers=site.owner.headers,
        )
        assert response.status_code == 422, params
