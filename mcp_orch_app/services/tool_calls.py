"""The tool-call log as people read it: filtered lists and metrics over a time range.

One query service for the REST API and the log viewer. Lists are newest first and paged by
keyset on ``(created_at, id)``, so every query walks ``ix_tool_call_logs_project_*_created``
from the top and a page never repeats or skips a row, even when rows share a timestamp.
Time ranges are half-open: ``since <= created_at < until``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from mcp_orch_app.gateway.namespace import SEPARATOR
from mcp_orch_app.models import OAuthClient, Role, ToolCallLog, ToolCallStatus, User
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services.access import require_project
from mcp_orch_app.services.errors import InvalidInput, NotFound
from mcp_orch_app.services.paging import (
    as_utc,
    check_limit,
    check_range,
    decode_cursor,
    encode_cursor,
    filter_uuid,
)
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import (
    ErrorCodeCountOut,
    TimelineBucketOut,
    ToolCallMetricsOut,
    ToolCallOut,
    ToolCallPage,
    ToolUsageOut,
)
from mcp_orch_app.services.tools import server_in_project

DEFAULT_WINDOW = timedelta(minutes=30)
MAX_QUERY_LENGTH = 200
MAX_TIMELINE_BUCKETS = 500

# Bucket width by range length: about 30 to 100 points on a chart, whatever the range.
_BUCKETS = (
    (timedelta(hours=1), 60),
    (timedelta(hours=6), 5 * 60),
    (timedelta(days=2), 60 * 60),
)
_DAY = 24 * 60 * 60


def search_document(dialect_name: str) -> sa.ColumnElement[str]:
    """The text the free-text filter searches: arguments, result and error message.

    On PostgreSQL the JSONB documents are cast to text; the expression uses only immutable
    operators so that a trigram index can be built on exactly this expression
    (``USING gin ((<expression>) gin_trgm_ops)``) and serve ``ILIKE '%...%'``. On SQLite the
    JSON columns already hold their text.
    """
    arguments = sa.cast(ToolCallLog.__table__.c.arguments, sa.Text)
    result = sa.cast(ToolCallLog.__table__.c.result, sa.Text)
    message = ToolCallLog.__table__.c.error_message
    parts = [func.coalesce(part, "") for part in (arguments, result, message)]
    if dialect_name == "postgresql":
        return parts[0].op("||")(" ").op("||")(parts[1]).op("||")(" ").op("||")(parts[2])
    return parts[0] + " " + parts[1] + " " + parts[2]


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_filter(dialect_name: str, text: str) -> sa.ColumnElement[bool]:
    """Rows whose arguments, result or error message contain ``text`` (any case, literally:
    ``%`` and ``_`` are not wildcards)."""
    return search_document(dialect_name).ilike(like_pattern(text), escape="\\")


def tool_filter(tool: str) -> sa.ColumnElement[bool]:
    """Calls of the tool named ``tool`` as the server lists it (``echo``) or as clients of the
    unified endpoint see it (``everything__echo``): people copy the name their client shows."""
    calls = ToolCallLog.__table__.c
    matches = [calls.tool_name == tool]
    server, separator, name = tool.partition(SEPARATOR)
    if separator and server and name:
        matches.append(sa.and_(calls.server_name == server, calls.tool_name == name))
    return sa.or_(*matches)


def parse_statuses(values: Iterable[str] | str | None) -> list[ToolCallStatus]:
    """Statuses from ``status=error&status=timeout`` and/or ``status=error,timeout``."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    statuses: list[ToolCallStatus] = []
    for value in values:
        for part in str(value).split(","):
            name = part.strip().lower()
            if not name:
                continue
            try:
                status = ToolCallStatus(name)
            except ValueError:
                valid = ", ".join(s.value for s in ToolCallStatus)
                raise InvalidInput(f"Unknown status {part.strip()!r}; use {valid}.") from None
            if status not in statuses:
                statuses.append(status)
    return statuses


def _duration_bounds(min_ms: int | None, max_ms: int | None) -> None:
    for name, value in (("min_ms", min_ms), ("max_ms", max_ms)):
        if value is not None and value < 0:
            raise InvalidInput(f"{name} must not be negative.")
    if min_ms is not None and max_ms is not None and min_ms > max_ms:
        raise InvalidInput(f"min_ms ({min_ms}) must not be greater than max_ms ({max_ms}).")


def _call_key(value: int | str) -> int:
    """A tool call's id (a BIGINT, not negative), from an int or its text."""
    try:
        key = int(value)
    except (TypeError, ValueError):
        key = -1
    if not 0 <= key < 2**63:
        raise InvalidInput(f"{value!r} is not a tool call id.")
    return key


def _items(db: Session, rows: list[ToolCallLog]) -> list[ToolCallOut]:
    """The calls, with the names of the OAuth clients and users they acted for."""
    client_ids = {r.oauth_client_id for r in rows if r.oauth_client_id}
    user_ids = {r.user_id for r in rows if r.user_id}
    clients = dict(
        db.exec(
            select(OAuthClient.id, OAuthClient.client_name).where(
                col(OAuthClient.id).in_(client_ids)
            )
        ).all()
        if client_ids
        else []
    )
    emails = dict(
        db.exec(select(User.id, User.email).where(col(User.id).in_(user_ids))).all()
        if user_ids
        else []
    )
    return [
        _item(row).model_copy(
            update={
                "oauth_client_name": clients.get(row.oauth_client_id),
                "user_email": emails.get(row.user_id),
            }
        )
        for row in rows
    ]


def _item(row: ToolCallLog) -> ToolCallOut:
    return ToolCallOut(
        id=row.id,
        created_at=row.created_at,
        server_id=row.server_id,
        server_name=row.server_name,
        tool_name=row.tool_name,
        status=row.status,
        error_code=row.error_code,
        error_message=row.error_message,
        duration_ms=row.duration_ms,
        arguments=row.arguments,
        result=row.result,
        session_id=row.session_id,
        client_name=row.client_name,
        oauth_client_id=row.oauth_client_id,
        user_id=row.user_id,
    )


def list_tool_calls(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    status: Iterable[str] | str | None = None,
    server_id: str | uuid.UUID | None = None,
    tool: str | None = None,
    session_id: str | uuid.UUID | None = None,
    q: str | None = None,
    min_ms: int | None = None,
    max_ms: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    newer_than: int | None = None,
) -> ToolCallPage:
    """One page of the project's tool calls matching every given filter, newest first.

    Without ``since`` and ``until`` the range is the last 30 minutes; without ``since`` it is
    the 30 minutes before ``until``. That default start is carried in the cursor, so the pages
    of one listing cover one range even when they are fetched minutes apart.

    ``newer_than`` (a call's id) keeps the calls recorded after that one: what a viewer that
    shows it as its newest row has not seen yet, even a call that ended earlier but was
    written later.
    """
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    limit = check_limit(limit)
    since, until = as_utc(since), as_utc(until)
    statuses = parse_statuses(status)
    _duration_bounds(min_ms, max_ms)
    text = (q or "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"The search text must be at most {MAX_QUERY_LENGTH} characters.")
    after: tuple[datetime, int] | None = None
    if cursor:
        at, key, extra = decode_cursor(cursor)
        if not key.isdigit():
            raise InvalidInput("The cursor is not valid for the tool-call list.")
        after = (at, int(key))
        if since is None and extra.get("s"):
            since = as_utc(datetime.fromisoformat(extra["s"]))
    defaulted_since = since is None
    if since is None:
        since = (until or utcnow()) - DEFAULT_WINDOW
    check_range(since, until)

    calls = ToolCallLog.__table__.c
    where = [calls.project_id == project.id, calls.created_at >= since]
    if until is not None:
        where.append(calls.created_at < until)
    if statuses:
        where.append(calls.status.in_(statuses))
    if server_id:
        where.append(calls.server_id == server_in_project(db, project.id, server_id).id)
    if tool:
        where.append(tool_filter(tool.strip()))
    if session_id:
        where.append(calls.session_id == filter_uuid(session_id, "session_id", "session"))
    if min_ms is not None:
        where.append(calls.duration_ms >= min_ms)
    if max_ms is not None:
        where.append(calls.duration_ms <= max_ms)
    if text:
        where.append(text_filter(db.get_bind().dialect.name, text))
    if newer_than is not None:
        where.append(calls.id > _call_key(newer_than))
    if after is not None:
        at, last_id = after
        # Written so the created_at bound alone can narrow the index range.
        where.append(calls.created_at <= at)
        where.append(sa.or_(calls.created_at < at, calls.id < last_id))

    rows = db.exec(
        select(ToolCallLog)
        .where(*where)
        .order_by(col(ToolCallLog.created_at).desc(), col(ToolCallLog.id).desc())
        .limit(limit + 1)
    ).all()
    items = _items(db, list(rows[:limit]))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        extra = {"s": since.isoformat()} if defaulted_since else {}
        next_cursor = encode_cursor(last.created_at, last.id, **extra)
    return ToolCallPage(items=items, next_cursor=next_cursor)


def get_tool_call(
    db: Session, actor: Actor, project_id: str | uuid.UUID, call_id: int | str
) -> ToolCallOut:
    """One call of the project with its full arguments and result (the viewer's expanded row)."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    key = _call_key(call_id)
    row = db.get(ToolCallLog, key)
    if row is None or row.project_id != project.id:
        raise NotFound(f"No tool call {call_id} in this project.")
    return _items(db, [row])[0]


# --- metrics ---------------------------------------------------------------------------------


def bucket_seconds(since: datetime, until: datetime) -> int:
    """The timeline's bucket width for a range: 1 min up to 1 h, 5 min up to 6 h, 1 h up to
    2 days, 1 day beyond (wider when a day each would make more than 500 buckets)."""
    span = until - since
    for longest, seconds in _BUCKETS:
        # 1 % slack: "the last hour" picked in a browser reaches the server a moment later.
        if span <= longest * 1.01:
            return seconds
    days = math.ceil(span.total_seconds() / _DAY / MAX_TIMELINE_BUCKETS)
    return max(days, 1) * _DAY


def _bucket_index(dialect_name: str, size: int) -> sa.ColumnElement[int]:
    created_at = ToolCallLog.__table__.c.created_at
    if dialect_name == "postgresql":
        return sa.cast(func.floor(func.extract("epoch", created_at) / size), sa.BigInteger)
    # SQLite keeps UTC timestamps as text; strftime('%s') reads their whole seconds.
    return sa.cast(func.strftime("%s", created_at), sa.Integer) / size


def _p95(db: Session, where: list, total: int) -> float | None:
    """The 95th percentile of durations, interpolated like PostgreSQL's percentile_cont."""
    if total == 0:
        return None
    duration = ToolCallLog.__table__.c.duration_ms
    if db.get_bind().dialect.name == "postgresql":
        value = db.exec(
            select(func.percentile_cont(0.95).within_group(duration)).where(*where)
        ).one()
        return float(value) if value is not None else None
    position = 0.95 * (total - 1)
    lower = math.floor(position)
    values = db.exec(select(duration).where(*where).order_by(duration).offset(lower).limit(2)).all()
    if not values:
        return None
    low = float(values[0])
    high = float(values[-1])
    return low + (high - low) * (position - lower)


def _counts(status_counts: dict[ToolCallStatus, int]) -> dict[str, int]:
    return {
        "success": status_counts.get(ToolCallStatus.SUCCESS, 0),
        "error": status_counts.get(ToolCallStatus.ERROR, 0),
        "timeout": status_counts.get(ToolCallStatus.TIMEOUT, 0),
    }


def tool_call_metrics(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    server_id: str | uuid.UUID | None = None,
) -> ToolCallMetricsOut:
    """Figures of the project's tool calls in ``[since, until)`` (default: the last 30 min).

    ``success_rate`` is a fraction (0..1) of all calls, cancelled ones included; it, the
    average and the p95 are None when there were no calls. ``server_id`` keeps one server's calls. The timeline has every bucket of
    the range, empty ones as zeros.
    """
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    since, until = as_utc(since), as_utc(until)
    if until is None:
        until = utcnow()
    if since is None:
        since = until - DEFAULT_WINDOW
    check_range(since, until)
    dialect = db.get_bind().dialect.name
    calls = ToolCallLog.__table__.c
    where = [calls.project_id == project.id, calls.created_at >= since, calls.created_at < until]
    if server_id:
        where.append(calls.server_id == server_in_project(db, project.id, server_id).id)

    by_status: dict[ToolCallStatus, int] = {}
    duration_sum = 0.0
    for status, count, summed in db.exec(
        select(calls.status, func.count(), func.sum(calls.duration_ms))
        .where(*where)
        .group_by(calls.status)
    ).all():
        by_status[ToolCallStatus(status)] = count
        duration_sum += float(summed or 0)
    total = sum(by_status.values())
    counts = _counts(by_status)

    def status_count(status: ToolCallStatus):
        return func.sum(sa.case((calls.status == status, 1), else_=0))

    by_tool = [
        ToolUsageOut(
            server_name=server_name,
            tool_name=tool_name,
            total=calls_total,
            success=success or 0,
            error=error or 0,
            timeout=timeout or 0,
            avg_ms=round(float(avg), 2) if avg is not None else None,
        )
        for server_name, tool_name, calls_total, success, error, timeout, avg in db.exec(
            select(
                calls.server_name,
                calls.tool_name,
                func.count(),
                status_count(ToolCallStatus.SUCCESS),
                status_count(ToolCallStatus.ERROR),
                status_count(ToolCallStatus.TIMEOUT),
                func.avg(calls.duration_ms),
            )
            .where(*where)
            .group_by(calls.server_name, calls.tool_name)
            .order_by(func.count().desc(), calls.server_name, calls.tool_name)
        ).all()
    ]
    by_error_code = [
        ErrorCodeCountOut(error_code=code, count=count)
        for code, count in db.exec(
            select(calls.error_code, func.count())
            .where(*where, calls.error_code.is_not(None))
            .group_by(calls.error_code)
            .order_by(func.count().desc(), calls.error_code)
        ).all()
    ]

    size = bucket_seconds(since, until)
    bucket = _bucket_index(dialect, size).label("bucket")
    filled: dict[int, dict[str, int]] = {}
    for index, status, count in db.exec(
        select(bucket, calls.status, func.count()).where(*where).group_by(bucket, calls.status)
    ).all():
        entry = filled.setdefault(int(index), {"total": 0})
        entry["total"] += count
        name = ToolCallStatus(status).value
        if name in ("success", "error", "timeout"):
            entry[name] = entry.get(name, 0) + count
    first = math.floor(since.timestamp() / size)
    last = math.ceil(until.timestamp() / size)  # exclusive
    timeline = []
    for index in range(first, last):
        entry = filled.get(index, {})
        timeline.append(
            TimelineBucketOut(
                start=datetime.fromtimestamp(index * size, UTC),
                total=entry.get("total", 0),
                success=entry.get("success", 0),
                error=entry.get("error", 0),
                timeout=entry.get("timeout", 0),
            )
        )

    return ToolCallMetricsOut(
        since=since,
        until=until,
        bucket_seconds=size,
        total=total,
        cancelled=by_status.get(ToolCallStatus.CANCELLED, 0),
        success_rate=round(counts["success"] / total, 4) if total else None,
        avg_ms=round(duration_sum / total, 2) if total else None,
        p95_ms=_p95(db, where, total),
        by_tool=by_tool,
        by_error_code=by_error_code,
        timeline=timeline,
        **counts,
    )
