"""Secrets at rest, password hashing and tokens, without a database."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from mcp_orch_app import config
from mcp_orch_app.config import ConfigError
from mcp_orch_app.security import secrets
from mcp_orch_app.security.passwords import hash_password, verify_password
from mcp_orch_app.security.tokens import api_key_display_parts, hash_token, new_api_key


@pytest.fixture
def fresh_key_env(monkeypatch, tmp_path):
    """Each case starts with no loaded key and its own data directory."""
    monkeypatch.setenv("MCP_ORCH_DATA_DIR", str(tmp_path))
    config.reset_settings_cache()
    secrets.reset_cipher()
    yield tmp_path
    config.reset_settings_cache()
    secrets.reset_cipher()


def test_malformed_secret_key_stops_with_a_clear_message(fresh_key_env, monkeypatch):
    monkeypatch.setenv("MCP_ORCH_SECRET_KEY", "not-a-fernet-key")
    config.reset_settings_cache()
    with pytest.raises(ConfigError, match="MCP_ORCH_SECRET_KEY is not a valid encryption key"):
        secrets.encrypt_text("hello")


def test_preflight_exits_on_malformed_key(fresh_key_env, monkeypatch, capsys):
    from mcp_orch_app.lifecycle import preflight

    monkeypatch.setenv("MCP_ORCH_SECRET_KEY", "short")
    config.reset_settings_cache()
    with pytest.raises(SystemExit) as exit_info:
        preflight()
    assert exit_info.value.code == 2
    assert "not a valid encryption key" in capsys.readouterr().err


def test_generated_key_is_written_once_and_reused(fresh_key_env, monkeypatch):
    monkeypatch.delenv("MCP_ORCH_SECRET_KEY", raising=False)
    config.reset_settings_cache()
    token = secrets.encrypt_text("s3cret")
    key_file = fresh_key_env / secrets.KEY_FILE_NAME
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first_key = key_file.read_bytes()
    secrets.reset_cipher()
    # A restarted process reads the same key and can still decrypt.
    assert secrets.decrypt_text(token) == "s3cret"
    assert key_file.read_bytes() == first_key


def test_corrupt_key_file_is_refused(fresh_key_env, monkeypatch):
    monkeypatch.delenv("MCP_ORCH_SECRET_KEY", raising=False)
    config.reset_settings_cache()
    (fresh_key_env / secrets.KEY_FILE_NAME).write_text("garbage")
    with pytest.raises(ConfigError, match="key file"):
        secrets.get_cipher()


def test_decrypting_with_another_key_explains_the_cause(fresh_key_env, monkeypatch):
    monkeypatch.setenv("MCP_ORCH_SECRET_KEY", Fernet.generate_key().decode())
    config.reset_settings_cache()
    token = secrets.encrypt_text("value")
    monkeypatch.setenv("MCP_ORCH_SECRET_KEY", Fernet.generate_key().decode())
    config.reset_settings_cache()
    secrets.reset_cipher()
    with pytest.raises(secrets.SecretDecryptionError, match="MCP_ORCH_SECRET_KEY"):
        secrets.decrypt_text(token)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("", ""), ("abc", "••••••"), ("sk-live-1234567890", "••••••90")],
)
def test_mask_never_shows_more_than_two_characters(value, shown):
    assert secrets.mask_secret(value) == shown


def test_password_hash_verifies_only_the_right_password():
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2")
    assert verify_password("correct horse", hashed)
    assert not verify_password("wrong horse", hashed)
    assert not verify_password("correct horse", "not-a-hash")


def test_api_keys_are_random_prefixed_and_shown_by_parts():
    key = new_api_key()
    assert key.startswith("mch_") and len(key) > 40
    assert new_api_key() != key
    prefix, suffix = api_key_display_parts(key)
    assert key.startswith(prefix) and key.endswith(suffix)
    assert len(hash_token(key)) == 64 and hash_token(key) != key
