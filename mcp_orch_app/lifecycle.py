"""Start-up checks run before the app serves anything."""

from __future__ import annotations

import sys

from mcp_orch_app.config import ConfigError, get_settings
from mcp_orch_app.security.destinations import destination_policy
from mcp_orch_app.security.secrets import get_cipher


def preflight() -> None:
    """Load settings and the encryption key; stop the process with a readable message if unusable."""
    try:
        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        get_cipher()
        destination_policy()  # MCP_ORCH_UPSTREAM_ALLOW / _DENY entries must all parse
    except ConfigError as exc:
        sys.stderr.write(f"\nmcp-orch cannot start: {exc}\n\n")
        raise SystemExit(2) from exc
