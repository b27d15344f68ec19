"""Start-up checks run before the app serves anything."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mcp_orch_app.config import ConfigError, get_settings
from mcp_orch_app.security.destinations import destination_policy
from mcp_orch_app.security.key_fingerprint import check_configured_database
from mcp_orch_app.security.secrets import get_cipher


def _stop_on_config_error(check: Callable[[], object]) -> None:
    try:
        check()
    except ConfigError as exc:
        sys.stderr.write(f"\nmcp-orch cannot start: {exc}\n\n")
        raise SystemExit(2) from exc


def _load_settings_and_key() -> None:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    get_cipher()
    destination_policy()  # MCP_ORCH_UPSTREAM_ALLOW / _DENY entries must all parse
    # The key must be the installation's, when the database already records one.
    check_configured_database()


def preflight() -> None:
    """Load settings and the encryption key, and compare the key with the installation's;
    stop the process with a readable message if unusable."""
    _stop_on_config_error(_load_settings_and_key)


def record_installation_key() -> None:
    """After migrating: write this key's fingerprint on a first start, or compare it."""
    _stop_on_config_error(check_configured_database)
