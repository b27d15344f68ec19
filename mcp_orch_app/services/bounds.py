"""The bounds of every number and timestamp the REST API takes (query parameters and bodies).

A value past them is refused with 422 before any service runs: an integer past 64 bits would
overflow the database driver (SQLite and PostgreSQL store at most signed 64-bit integers), and a
timestamp near year 1 or 9999 overflows on the first timezone conversion or ``timedelta``
arithmetic. Routes declare these bounds with ``Query(ge=..., le=...)`` (so the OpenAPI document
shows them) and timestamps with :data:`Timestamp`; ``tests/integration/test_api_contract.py``
checks that no integer or timestamp parameter of any route is left unbounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_OFFSET = 2**31 - 1  # offsets and counts
MAX_ROW_ID = 2**63 - 1  # integer keys of the log tables (BIGINT)
MAX_DURATION_MS = 2**31 - 1  # about 24 days, far past any tool call's timeout

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
TIMESTAMP_RANGE = "an ISO 8601 time between 1970-01-01 and 9000-01-01 (UTC); no zone means UTC"


def _bounded_timestamp(value: datetime) -> datetime:
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise ValueError(f"must be {TIMESTAMP_RANGE}")
    return utc


Timestamp = Annotated[
    datetime, AfterValidator(_bounded_timestamp), Field(description=TIMESTAMP_RANGE)
]
"""A timestamp parameter or body field: aware UTC, within [EARLIEST, LATEST]."""
