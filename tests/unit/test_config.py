"""Settings from the environment."""

from __future__ import annotations

import pytest

from mcp_orch_app.config import ConfigError, load_settings


def test_defaults_use_sqlite_in_the_data_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MCP_ORCH_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.is_sqlite
    assert settings.database_url == f"sqlite:///{tmp_path / 'mcp-orch.db'}"


@pytest.mark.parametrize(
    "url",
    ["postgres://u@h:5432/db", "postgresql://u@h:5432/db", "postgresql+psycopg2://u@h:5432/db"],
)
def test_postgres_urls_get_an_explicit_driver(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    assert load_settings().database_url == "postgresql+psycopg2://u@h:5432/db"


def test_a_bad_number_is_reported_by_name(monkeypatch):
    monkeypatch.setenv("MCP_ORCH_SESSION_HOURS", "lots")
    with pytest.raises(ConfigError, match="MCP_ORCH_SESSION_HOURS"):
        load_settings()


def test_cors_origins_are_exact_origins(monkeypatch):
    monkeypatch.setenv(
        "MCP_ORCH_CORS_ORIGINS", " https://Tools.example.com:8443/ ,http://localhost:6274"
    )
    assert load_settings().cors_origins == (
        "https://tools.example.com:8443",
        "http://localhost:6274",
    )
    monkeypatch.delenv("MCP_ORCH_CORS_ORIGINS")
    assert load_settings().cors_origins == ()


@pytest.mark.parametrize(
    "value", ["*", "null", "https://x.example/path", "x.example", "https://*.x"]
)
def test_cors_origins_refuse_wildcards_paths_and_null(monkeypatch, value):
    monkeypatch.setenv("MCP_ORCH_CORS_ORIGINS", value)
    with pytest.raises(ConfigError, match="MCP_ORCH_CORS_ORIGINS"):
        load_settings()


def test_json_depth_is_bounded(monkeypatch):
    assert load_settings().max_json_depth == 64
    monkeypatch.setenv("MCP_ORCH_MAX_JSON_DEPTH", "5000")
    with pytest.raises(ConfigError, match="MCP_ORCH_MAX_JSON_DEPTH"):
        load_settings()


def test_size_limits_default_and_are_checked(monkeypatch):
    for name in (
        "MCP_ORCH_MAX_BODY_REST",
        "MCP_ORCH_MAX_BODY_MCP",
        "MCP_ORCH_MAX_BODY_IMPORT",
        "MCP_ORCH_MAX_UPSTREAM_MESSAGE",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.max_body_rest, settings.max_body_mcp, settings.max_body_import) == (
        1 << 20,
        4 << 20,
        16 << 20,
    )
    assert settings.max_upstream_message == 64 << 20
    monkeypatch.setenv("MCP_ORCH_MAX_BODY_MCP", "10")
    with pytest.raises(ConfigError, match="MCP_ORCH_MAX_BODY_MCP must be between 1024"):
        load_settings()
