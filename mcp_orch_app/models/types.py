"""Column types that behave the same on SQLite and PostgreSQL.

- :class:`StrEnumType` stores an enum as its string value and always reads back the enum,
  whether the driver hands back a string or not (the original crashed on
  ``'str' object has no attribute 'value'``).
- :class:`UTCDateTime` always returns timezone-aware UTC datetimes (SQLite drops the zone).
- :class:`EncryptedJSON` keeps a JSON document encrypted at rest with the app's Fernet key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

# Plain JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Integer keys of the append-only log tables: BIGINT on PostgreSQL, and SQLite's rowid alias.
BigIntKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class StrEnumType(TypeDecorator):
    impl = sa.String
    cache_ok = True

    def __init__(self, enum_class: type[Enum], length: int = 32):
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        # Accepts the enum or its value; anything else is a programming error caught here
        # rather than a bad row discovered later.
        return self.enum_class(value).value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return self.enum_class(value)

    @property
    def python_type(self):
        return self.enum_class


class UTCDateTime(TypeDecorator):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self):
        return datetime


class EncryptedJSON(TypeDecorator):
    """A JSON value stored as a Fernet token; never written in plain text."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        from mcp_orch_app.security.secrets import encrypt_text

        return encrypt_text(json.dumps(value, separators=(",", ":"), sort_keys=True))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        from mcp_orch_app.security.secrets import decrypt_text

        return json.loads(decrypt_text(value))

    @property
    def python_type(self):
        return dict
