"""Settings from the environment, read in one place.

Every variable is optional; the defaults run the app on an embedded SQLite file in the
data directory with nothing else installed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


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
    upstream_allow: tuple[str, ...] = ()
    """MCP_ORCH_UPSTREAM_ALLOW: destinations remote servers may use (security/destinations.py)."""
    upstream_deny: tuple[str, ...] = ()
    """MCP_ORCH_UPSTREAM_DENY: destinations refused on top of the default denied ones."""
    instance_heartbeat_seconds: int = 15
    """How often a backend process says it is alive; one silent for 4 heartbeats is taken
    for dead and its client sessions are ended (services/instances.py)."""

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
        password_min_length=8,
        upstream_allow=_list_env("MCP_ORCH_UPSTREAM_ALLOW"),
        upstream_deny=_list_env("MCP_ORCH_UPSTREAM_DENY"),
        instance_heartbeat_seconds=_int_env("MCP_ORCH_INSTANCE_HEARTBEAT_SECONDS", 15, 1, 3600),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings_cache() -> None:
    """Tests change the environment between cases; production never calls this."""
    get_settings.cache_clear()
