"""Keyset paging for the log lists: opaque cursors, limits and time ranges checked the same way.

A cursor is the sort key of the last row a page showed (newest first: a timestamp and an id),
base64url-encoded JSON so clients treat it as an opaque string and cannot build one by hand
by accident. A row inserted while someone pages never shifts the pages (unlike OFFSET).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from mcp_orch_app.services.errors import InvalidInput

MAX_LIMIT = 200


def check_limit(limit: int | None, default: int = 50, maximum: int = MAX_LIMIT) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise InvalidInput(f"limit must be between 1 and {maximum}, got {limit}.")
    return limit


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive timestamp from a client is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidInput(
            f"since ({since.isoformat()}) must be earlier than until ({until.isoformat()})."
        )


def filter_uuid(value: str | uuid.UUID, parameter: str, what: str) -> uuid.UUID:
    """The id a list is filtered by (``session_id=...``), or InvalidInput naming the parameter."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{parameter} {value!r} is not a {what} id.") from None


def encode_cursor(at: datetime, key: Any, **extra: Any) -> str:
    payload = {"t": at.astimezone(UTC).isoformat(), "k": str(key), **extra}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str, dict[str, Any]]:
    """(timestamp, key, extra) of a cursor made by :func:`encode_cursor`, or InvalidInput."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        at = as_utc(datetime.fromisoformat(payload.pop("t")))
        key = str(payload.pop("k"))
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(
            "The cursor is not valid; use the next_cursor of the previous page as it was, "
            "or leave it out to start from the newest."
        ) from exc
    return at, key, payload
