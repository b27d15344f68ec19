"""UpstreamConfig: what the pool keeps of a server row, and when an edit means a new process."""

from __future__ import annotations

import uuid
from dataclasses import FrozenInstanceError, replace

import pytest

from mcp_orch_app.gateway.upstream import UpstreamConfig
from mcp_orch_app.models import McpServer
from mcp_orch_app.models.enums import Transport

SECRET = "sk-live-7d1c0a9e"


def _server(**fields) -> McpServer:
    defaults = {
        "id": uuid.uuid4(),
        "project_id": uuid.uuid4(),
        "name": "files",
        "transport": "stdio",
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"],
        "env": {"API_TOKEN": SECRET},
        "timeout_seconds": 45,
    }
    return McpServer(**{**defaults, **fields})


def test_config_is_copied_from_the_server_row():
    server = _server()
    config = UpstreamConfig.from_model(server)
    assert config.server_id == str(server.id) and config.project_id == str(server.project_id)
    assert config.transport is Transport.STDIO
    assert config.command == "npx" and config.args == tuple(server.args)
    assert dict(config.env) == {"API_TOKEN": SECRET}
    assert config.timeout_seconds == 45.0 and config.auto_restart is True


def test_secrets_never_show_in_the_repr():
    config = UpstreamConfig.from_model(_server(headers={"Authorization": "Bearer " + SECRET}))
    assert SECRET not in repr(config)


def test_only_connection_settings_change_the_fingerprint():
    config = UpstreamConfig.from_model(_server())
    assert replace(config, timeout_seconds=5, auto_restart=False).fingerprint == config.fingerprint
    assert replace(config, name="renamed").fingerprint == config.fingerprint
    assert replace(config, env={"API_TOKEN": "rotated"}).fingerprint != config.fingerprint
    assert replace(config, args=("-y", "other")).fingerprint != config.fingerprint
    assert replace(config, cwd="/tmp").fingerprint != config.fingerprint


def test_config_cannot_be_changed_in_place():
    config = UpstreamConfig.from_model(_server())
    with pytest.raises(TypeError):
        config.env["API_TOKEN"] = "x"  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        config.command = "sh"  # type: ignore[misc]
