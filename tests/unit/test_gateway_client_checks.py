"""Who a client is (readable names for the logs) and which Host/Origin may reach the endpoints."""

from __future__ import annotations

import pytest

from mcp_orch_app import config
from mcp_orch_app.gateway.client_sessions import client_identity, recognise_client
from mcp_orch_app.gateway.http_security import check_host_and_origin


@pytest.mark.parametrize(
    ("client_name", "user_agent", "expected"),
    [
        ("Cline", None, "Cline"),
        ("cursor-vscode", "node", "Cursor"),
        ("Visual Studio Code", None, "VS Code"),
        ("claude-ai", None, "Claude Desktop"),
        ("claude-code", "claude-cli/1.0", "Claude Code"),
        ("mcp-inspector", None, "MCP Inspector"),
        (None, "Cursor/0.48 (linux)", "Cursor"),
        ("my-agent", "python-httpx/0.28", "my-agent"),
        (None, "python-httpx/0.28 extra", "python-httpx"),
        (None, None, None),
    ],
)
def test_known_clients_get_readable_names(client_name, user_agent, expected):
    assert recognise_client(client_name, user_agent) == expected


@pytest.mark.parametrize(
    ("info_name", "info_version", "user_agent", "expected"),
    [
        # clientInfo present: name and version both from it, whatever the User-Agent says.
        ("mcp", "0.1.0", "Cursor/1.7.2 (linux)", ("mcp", "0.1.0")),
        ("cursor-vscode", "1.7.2", "node", ("Cursor", "1.7.2")),
        ("my-agent", None, "Cursor/1.7.2", ("my-agent", None)),
        # No clientInfo: both from the User-Agent, the known product's token.
        (None, None, "Mozilla/5.0 Cursor/1.7.2 (linux)", ("Cursor", "1.7.2")),
        (None, "9.9", "Cursor/0.48 (linux)", ("Cursor", "0.48")),
        (None, None, "python-httpx/0.28", ("python-httpx", "0.28")),
        (None, None, "curl", ("curl", None)),
        (None, None, None, (None, None)),
    ],
)
def test_client_name_and_version_come_from_one_source(
    info_name, info_version, user_agent, expected
):
    assert client_identity(info_name, info_version, user_agent) == expected


@pytest.fixture
def public_url(monkeypatch):
    monkeypatch.setenv("MCP_ORCH_PUBLIC_URL", "https://mcp.example.org")
    config.reset_settings_cache()
    yield
    monkeypatch.delenv("MCP_ORCH_PUBLIC_URL")
    config.reset_settings_cache()


@pytest.mark.parametrize(
    "host",
    ["localhost:3000", "127.0.0.1:8000", "[::1]:3000", "10.0.0.7", "mcp.example.org"],
)
def test_loopback_ip_literal_and_public_hosts_pass(public_url, host):
    assert check_host_and_origin(host, None) is None


def test_a_foreign_host_name_is_refused_with_the_setting_to_change(public_url):
    status, message = check_host_and_origin("rebind.attacker.example", None)
    assert status == 421 and "MCP_ORCH_PUBLIC_URL" in message


@pytest.mark.parametrize(
    ("host", "origin", "allowed"),
    [
        ("localhost:3000", "http://localhost:5173", True),
        ("127.0.0.1:3000", "http://127.0.0.1:6274", True),
        ("mcp.example.org", "https://mcp.example.org", True),
        ("10.0.0.7:3000", "http://10.0.0.7:3000", True),
        ("localhost:3000", "https://evil.example", False),
        ("127.0.0.1:3000", "http://10.9.9.9", False),
        # Sandboxed iframes and file: pages send "null": no site to trust.
        ("localhost:3000", "null", False),
        ("127.0.0.1:3000", "null", False),
        ("localhost:3000", "http://[::1", False),
    ],
)
def test_only_trusted_origins_pass(public_url, host, origin, allowed):
    verdict = check_host_and_origin(host, origin)
    assert (verdict is None) is allowed
    if not allowed:
        assert verdict[0] == 403
