"""Encryption of server secrets (env values, headers) at rest.

The Fernet key comes from ``MCP_ORCH_SECRET_KEY`` or, when unset, from a key generated once
into the data directory and reused. A malformed key stops start-up: secrets are never
written in plain text as a fallback. There is no key rotation: every stored secret is
encrypted with the one key, and the database records its fingerprint (key_fingerprint.py) so
that a process started with another key refuses to start.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from mcp_orch_app.config import ConfigError, get_settings

KEY_FILE_NAME = "secret.key"

_lock = threading.Lock()
_cipher: Fernet | None = None
_fingerprint: str | None = None
_origin: str = ""

# What the fingerprint is an HMAC of: a fixed label, so it says nothing about the key.
_FINGERPRINT_LABEL = b"mcp-orch installation key fingerprint v1"


class SecretDecryptionError(RuntimeError):
    """A stored secret cannot be read with the configured key (the key was changed)."""


def _cipher_from(key: str, origin: str) -> Fernet:
    try:
        return Fernet(key.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{origin} is not a valid encryption key: it must be 32 url-safe base64-encoded "
            'bytes (generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())")'
        ) from exc


def _load_or_create_key_file(data_dir: Path) -> str:
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return path.read_text()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key.decode()


def _fingerprint_of(key: str) -> str:
    return hmac.new(key.strip().encode(), _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def get_cipher() -> Fernet:
    global _cipher, _fingerprint, _origin
    if _cipher is None:
        with _lock:
            if _cipher is None:
                settings = get_settings()
                if settings.secret_key:
                    key, origin = settings.secret_key, "MCP_ORCH_SECRET_KEY"
                else:
                    key = _load_or_create_key_file(settings.data_dir)
                    origin = f"The key file {settings.data_dir / KEY_FILE_NAME}"
                cipher = _cipher_from(key, origin)
                _fingerprint, _origin = _fingerprint_of(key), origin
                _cipher = cipher
    return _cipher


def key_fingerprint() -> tuple[str, str]:
    """The loaded key's fingerprint (hex HMAC-SHA256 of a fixed label) and where the key
    came from (``MCP_ORCH_SECRET_KEY`` or the key file's path), for key_fingerprint.py."""
    get_cipher()
    with _lock:
        assert _fingerprint is not None
        return _fingerprint, _origin


def reset_cipher() -> None:
    """Forget the loaded key (tests switch keys and data directories)."""
    global _cipher, _fingerprint
    with _lock:
        _cipher = None
        _fingerprint = None


def encrypt_text(plain: str) -> str:
    return get_cipher().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return get_cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "A stored server secret cannot be decrypted with the configured key; "
            "was MCP_ORCH_SECRET_KEY or the data directory's secret.key changed?"
        ) from exc


def mask_secret(value: str) -> str:
    """What a browser or API client may see of a secret: never more than its last 2 chars."""
    if not value:
        return ""
    if len(value) <= 8:
        return "••••••"
    return "••••••" + value[-2:]
