"""Helpers shared by several test modules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
FIXTURE_SERVER = CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py"
"""Our own MCP server (tests/fixtures/mcp_fixture_server.py); its docstring lists its tools."""
EVERYTHING_VERSION = "2026.8.31"
REDIS_HOST = "127.0.0.1:6379"
"""The machine's Redis (tests that need it pick their own database number)."""


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(f"redis://{REDIS_HOST}/0", socket_timeout=2).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_answers(), reason=f"no Redis at {REDIS_HOST}")


def install_server_everything() -> Path:
    """The `@modelcontextprotocol/server-everything` binary, installed with npm into the
    git-ignored .cache/ of the checkout when it is not there at EVERYTHING_VERSION yet.

    Skips the calling test when npm/node are missing or the install fails.
    """
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("npm/node are not installed: the server-everything tests need them")
    prefix = CHECKOUT / ".cache" / "npm-servers"
    package = prefix / "node_modules" / "@modelcontextprotocol" / "server-everything"
    if _installed_version(package) != EVERYTHING_VERSION:
        spec = f"@modelcontextprotocol/server-everything@{EVERYTHING_VERSION}"
        install = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", spec],
            env={**os.environ, "npm_config_cache": str(CHECKOUT / ".cache" / "npm")},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if install.returncode != 0:
            pytest.skip(f"could not install server-everything with npm: {install.stderr[-500:]}")
    return prefix / "node_modules" / ".bin" / "mcp-server-everything"


def _installed_version(package: Path) -> str | None:
    try:
        return json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ok(response: Any, status: int = 200) -> Any:
    """The JSON of a response that must have ``status`` (None for an empty body)."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


def refused(response: Any, status: int, *words: str) -> str:
    """The ``detail`` of a refusal with ``status``: a string that mentions each of ``words``."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    detail = response.json()["detail"]
    assert isinstance(detail, str), f"detail is not a string: {detail!r}"
    for word in words:
        assert word.lower() in detail.lower(), f"{word!r} not in {detail!r}"
    return detail


def initialize_request(client_name: str, request_id: int = 0) -> dict[str, Any]:
    """A raw 2025-11-25 `initialize` request, for tests that speak JSON-RPC without the SDK."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": client_name, "version": "1"},
        },
    }
