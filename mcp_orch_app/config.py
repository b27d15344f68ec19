"""Settings from the environment, read in one place.

Every variable is optional; the defaults run the app on an embedded SQLite file in the
data directory with nothing else installed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def describe_size(size: int) -> str:
    """A byte count as people write it in messages about a size setting (`4 MiB`)."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class ConfigError(RuntimeError):
    """A setting is present but unusable; start-up must stop with this message."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str | None
    redis_url: str | None
    public_url: str | None
    login_session_hours: int
    password_min_length: int
    max_body_rest: int
    max_body_mcp: int
    max_body_import: int
    max_upstream_message: int
    # Login throttling (mcp_orch_app/services/login_throttle.py).
    login_max_failures: int
    login_max_failures_per_address: int
    login_failure_window_minutes: int
    login_lockout_max_seconds: int
    # Take the client address from the last X-Forwarded-For hop (only behind a trusted proxy).
    trust_forwarded_for: bool
    cors_origins: tuple[str, ...] = ()
    """Exact web origins allowed to call the backend cross-origin (MCP_ORCH_CORS_ORIGINS);
    none by default: the UI is same-origin and MCP clients are not browsers."""
    max_json_depth: int = 64
    """Deepest nesting of arrays/objects accepted in an MCP message (MCP_ORCH_MAX_JSON_DEPTH)."""
    # None: the built-in policy of mcp_orch_app/api/security_headers.py.
    content_security_policy: str | None = None
    upstream_allow: tuple[str, ...] = ()
    """MCP_ORCH_UPSTREAM_ALLOW: destinations remote servers may use (security/destinations.py)."""
    upstream_deny: tuple[str, ...] = ()
    """MCP_ORCH_UPSTREAM_DENY: destinations refused on top of the default denied ones."""
    instance_heartbeat_seconds: int = 15
    """How often a backend process says it is alive; one silent for 4 heartbeats is taken
    for dead and its client sessions are ended (services/instances.py)."""
    workers: int = 1
    """MCP_ORCH_WORKERS: backend worker processes of the production server (Granian); more
    than one needs REFLEX_REDIS_URL (see :func:`apply_backend_workers`)."""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _normalise_database_url(url: str) -> str:
    # Users paste Heroku-style URLs; SQLAlchemy wants an explicit dialect name.
    if url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def _int_env(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _origins_env(name: str) -> tuple[str, ...]:
    """A comma list of exact origins (`scheme://host[:port]`), each checked."""
    origins = []
    for raw in (os.environ.get(name) or "").split(","):
        origin = raw.strip().rstrip("/")
        if not origin:
            continue
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or "*" in origin
        ):
            raise ConfigError(
                f"{name} must list exact origins like https://tools.example.com:8443 "
                f"(scheme, host and optional port; no wildcard, path or 'null'), got {raw.strip()!r}"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(origins)


def _bool_env(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _list_env(name: str) -> tuple[str, ...]:
    """A comma list; empty entries are dropped."""
    return tuple(item.strip() for item in (os.environ.get(name) or "").split(",") if item.strip())


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("MCP_ORCH_DATA_DIR") or "./data").resolve()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'mcp-orch.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=_normalise_database_url(database_url),
        secret_key=os.environ.get("MCP_ORCH_SECRET_KEY") or None,
        redis_url=os.environ.get("REFLEX_REDIS_URL") or None,
        public_url=(os.environ.get("MCP_ORCH_PUBLIC_URL") or "").rstrip("/") or None,
        login_session_hours=_int_env("MCP_ORCH_SESSION_HOURS", 24 * 7, 1, 24 * 365),
        cors_origins=_origins_env("MCP_ORCH_CORS_ORIGINS"),
        max_json_depth=_int_env("MCP_ORCH_MAX_JSON_DEPTH", 64, 8, 200),
        # Request bodies are refused with 413 past these sizes, counted while they stream in
        # (mcp_orch_app/api/body_limits.py), so no request can make the backend buffer more.
        max_body_rest=_int_env("MCP_ORCH_MAX_BODY_REST", MIB, KIB, GIB),
        max_body_mcp=_int_env("MCP_ORCH_MAX_BODY_MCP", 4 * MIB, KIB, GIB),
        max_body_import=_int_env("MCP_ORCH_MAX_BODY_IMPORT", 16 * MIB, KIB, GIB),
        # One message from an upstream (a stdio line, an SSE event, an HTTP response body).
        max_upstream_message=_int_env("MCP_ORCH_MAX_UPSTREAM_MESSAGE", 64 * MIB, KIB, 4 * GIB),
        password_min_length=10,
        login_max_failures=_int_env("MCP_ORCH_LOGIN_MAX_FAILURES", 5, 1, 1000),
        login_max_failures_per_address=_int_env(
            "MCP_ORCH_LOGIN_MAX_FAILURES_PER_ADDRESS", 20, 1, 100000
        ),
        login_failure_window_minutes=_int_env("MCP_ORCH_LOGIN_FAILURE_WINDOW_MINUTES", 15, 1, 1440),
        login_lockout_max_seconds=_int_env("MCP_ORCH_LOGIN_LOCKOUT_MAX_SECONDS", 300, 1, 86400),
        trust_forwarded_for=_bool_env("MCP_ORCH_TRUST_FORWARDED_FOR", False),
        content_security_policy=(os.environ.get("MCP_ORCH_CONTENT_SECURITY_POLICY") or "").strip()
        or None,
        upstream_allow=_list_env("MCP_ORCH_UPSTREAM_ALLOW"),
        upstream_deny=_list_env("MCP_ORCH_UPSTREAM_DENY"),
        instance_heartbeat_seconds=_int_env("MCP_ORCH_INSTANCE_HEARTBEAT_SECONDS", 15, 1, 3600),
        workers=_workers_env(),
    )


MAX_WORKERS = 64


def _workers_env() -> int:
    workers = _int_env("MCP_ORCH_WORKERS", 1, 1, MAX_WORKERS)
    if workers > 1 and not os.environ.get("REFLEX_REDIS_URL"):
        raise ConfigError(
            f"MCP_ORCH_WORKERS={workers} needs REFLEX_REDIS_URL: without Redis the web UI's "
            "state lives in one process, so several workers are refused (set REFLEX_REDIS_URL "
            "or MCP_ORCH_WORKERS=1)"
        )
    return workers


def apply_backend_workers() -> int:
    """Make the production server start exactly MCP_ORCH_WORKERS worker processes.

    Reflex starts Granian with ``GRANIAN_WORKERS`` workers when that variable is set, and
    otherwise with 1 without Redis but ``2 * cores + 1`` as soon as ``REFLEX_REDIS_URL`` is
    set. rxconfig.py calls this, so ``reflex run --env prod`` and ``cli serve`` (both read
    the Reflex config before starting the server) get the count asked for, default 1.
    ``GRANIAN_WORKERS`` set by hand is overridden: MCP_ORCH_WORKERS is the one setting.
    An unusable value stops the process with the message (exit status 2).
    """
    try:
        workers = get_settings().workers
    except ConfigError as exc:
        sys.stderr.write(f"\nmcp-orch cannot start: {exc}\n\n")
        raise SystemExit(2) from exc
    os.environ["GRANIAN_WORKERS"] = str(workers)
    return workers


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings_cache() -> None:
    """Tests change the environment between cases; production never calls this."""
    get_settings.cache_clear()
