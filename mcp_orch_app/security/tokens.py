"""Opaque random tokens: login sessions and project API keys.

Tokens carry no claims, so there is nothing to forge or leave unsigned: a token is valid only
if the SHA-256 of it is stored, unrevoked and unexpired.
"""

from __future__ import annotations

import hashlib
import secrets

SESSION_TOKEN_PREFIX = "mos_"
API_KEY_PREFIX = "mch_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_display_parts(key: str) -> tuple[str, str]:
    """The prefix and suffix shown in lists so a user can tell keys apart."""
    return key[: len(API_KEY_PREFIX) + 6], key[-4:]
