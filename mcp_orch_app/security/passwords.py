"""Password hashing with passlib's argon2 (bcrypt 5 breaks passlib 1.7.4)."""

from __future__ import annotations

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], deprecated="auto")


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _context.verify(password, password_hash)
    except (ValueError, TypeError):
        return False


# Verifying against this keeps a login for an unknown email as slow as a real one.
DUMMY_HASH = hash_password("unused-timing-equaliser")
