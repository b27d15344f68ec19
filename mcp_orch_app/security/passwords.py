"""Password hashing with passlib's argon2 (bcrypt 5 breaks passlib 1.7.4), and the list of
common passwords that sign-up and password changes refuse."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from passlib.context import CryptContext

# Passwords at the top of the public breach-frequency lists that are long enough to pass the
# length rule (shorter ones are refused by length anyway). A short list on purpose: it stops
# the guesses an attacker tries first, without a large download.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

_context = CryptContext(schemes=["argon2"], deprecated="auto")


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _context.verify(password, password_hash)
    except (ValueError, TypeError):
        return False


# Verifying against this keeps a login for an unknown email as slow as a real one.
TIMING_EQUALISER_HASH = hash_password("unused-timing-equaliser")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def is_common_password(password: str) -> bool:
    """One of the most common passwords (case-insensitive); see common_passwords.txt."""
    return password.strip().lower() in _common_passwords()
