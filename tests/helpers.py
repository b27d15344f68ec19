"""Helpers shared by several test modules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
EVERYTHING_VERSION = "2026.8.31"


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
