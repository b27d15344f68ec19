"""Recording the gateway's work (client sessions, tool calls, server events) off the call path.

:class:`LogWriter` owns how ``ClientSession``, ``ToolCallLog`` and ``ServerLog`` rows reach the
database. The gateway hands it rows from the event loop or from any thread; a submit only builds
the row and appends it to an in-memory queue, so recording costs a call microseconds. One writer
thread (the database layer is synchronous) drains the queue in batches, as soon as
``batch_size`` entries wait or ``flush_interval`` seconds after the oldest arrived, and writes each
batch in one transaction with bulk inserts: client sessions first, so the tool calls of the same
batch can reference them. The counter updates of one session are coalesced into one UPDATE per
batch.

No accepted row is lost. A batch that fails because the database is unreachable is retried with
backoff, as long as it takes; the queue keeps growing meanwhile (see ``high_water_bytes``). A row
the database refuses for good (its server or project was deleted after the call) is stored the way
the foreign key's ON DELETE rule would have left it, and dropped, with an error in the log, only
when that rule would have deleted it too. ``flush()`` and ``close()`` block until what was
submitted before them is committed; the app's lifespan closes the writer on shutdown.

Payloads are size-capped before they are queued, and stderr lines are rate-limited per server, so
neither a huge tool result nor a chatty server can flood memory or the database. Every payload is
also made storable and readable for good (mcp_orch_app/stored_json.py: nesting bounded at
``MAX_STORED_DEPTH`` levels with a marker below, no NUL, no lone surrogate, no NaN), and every
text column is NUL-free, encodable and length-capped.

The cached per-tool figures on ``McpTool`` (``call_count``, ``avg_duration_ms``) are kept here
too, in the transaction of the calls they count: the calls of one batch are aggregated per
(server, tool) into one UPDATE per tool that adds the count and folds the durations into the
running average. Only calls the server received count (a call refused by the bridge, such as
TOOL_DISABLED, INVALID_PARAMETERS, INITIALIZATION_INCOMPLETE, or one that found the server not
running, UPSTREAM_UNAVAILABLE, never ran the tool). A tool not (yet) in the cache is not counted.

Not here: API-key last-used times, which the gateway updates itself.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from mcp_orch_app import fast_json
from mcp_orch_app.db import get_engine
from mcp_orch_app.models.enums import (
    ClientTransport,
    LogLevel,
    ServerLogCategory,
    ToolCallErrorCode,
    ToolCallStatus,
)
from mcp_orch_app.models.logs import ClientSession, ServerLog, ToolCallLog
from mcp_orch_app.models.servers import McpTool
from mcp_orch_app.models.types import UTCDateTime, utcnow
from mcp_orch_app.security.redaction import Redactor
from mcp_orch_app.services.instances import THIS_INSTANCE
from mcp_orch_app.stored_json import clean_text, prune, storable_text

logger = logging.getLogger(__name__)

KIB = 1024
MIB = 1024 * KIB

__all__ = [
    "EncodedJSON",
    "LogWriter",
    "LogWriterClosed",
    "LogWriterStats",
    "ToolCallErrorCode",
    "ToolCallStatus",
    "cap_json",
    "close_log_writer",
    "get_log_writer",
    "log_writer_lifespan",
]


class LogWriterClosed(RuntimeError):
    """A row was submitted after :meth:`LogWriter.close`: close the writer after the gateway."""


class EncodedJSON(str):
    """JSON text the caller already holds (an upstream's raw ``result``): capped, not re-encoded."""

    __slots__ = ()


# --- payloads --------------------------------------------------------------------------------

# Longest error message kept (characters); a stack trace longer than this is noise in a log row.
ERROR_MESSAGE_LIMIT = 16 * KIB
# Longest stderr line or event message kept (characters).
SERVER_LOG_MESSAGE_LIMIT = 8 * KIB


def _jsonable(value: Any) -> Any:
    """Fallback of ``json.dumps``: a log row is never refused over an odd Python type."""
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):  # pydantic models, e.g. the MCP SDK's CallToolResult
        return model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


# One encoder for every row (json.dumps with options builds a new one per call); orjson stands
# in for it wherever their outputs agree (mcp_orch_app/fast_json.py).
_ENCODER = fast_json.encoder(allow_nan=False, default=_jsonable)


def _dumps(value: Any) -> str:
    try:
        return fast_json.dumps(value, _ENCODER)
    except ValueError:
        # NaN/Infinity (PostgreSQL's jsonb refuses them): stored as strings.
        return fast_json.dumps(prune(value), _ENCODER)
    except RecursionError:
        # Nested past what the encoder follows (or circular): the top levels are kept.
        return fast_json.dumps(prune(value), _ENCODER)
    except TypeError as exc:
        try:
            shown = repr(value)[: 4 * KIB]
        except RecursionError:
            shown = type(value).__name__
        return json.dumps(
            {"unserializable": f"{type(exc).__name__}: {exc}", "repr": shown},
            ensure_ascii=False,
            separators=(",", ":"),
        )


def _storable_json(text: str) -> tuple[str, int]:
    """``text`` made acceptable to both databases and to every reader (stored_json.py: no NUL,
    no lone surrogate, nesting bounded), and its size in UTF-8 bytes."""
    text = storable_text(text)
    if text.isascii():  # O(1) in CPython: the common case never encodes
        return text, len(text)
    return text, len(text.encode("utf-8"))


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def cap_json(value: Any, limit: int) -> str | None:
    """``value`` as compact JSON text of at most ``limit`` UTF-8 bytes.

    A larger value becomes ``{"truncated": true, "preview": <start of its JSON text>,
    "original_bytes": N}`` so the log viewer still shows what it began with and how big it was.
    """
    if value is None:
        return None
    text = str(value) if isinstance(value, EncodedJSON) else _dumps(value)
    # Only a document that fits is checked in full; an oversize one is cut to a preview string.
    size = _utf8_size(text)
    if size <= limit:
        text, stored_size = _storable_json(text)
        if stored_size <= limit:
            return text
        size = _utf8_size(text)
    # Escaping can make the preview longer than its source: shrink until the marker fits.
    preview = text[: max(limit - 96, 0)]
    while True:
        marker, marker_size = _storable_json(
            _dumps({"truncated": True, "preview": preview, "original_bytes": size})
        )
        if marker_size <= limit or not preview:
            return marker
        preview = preview[: int(len(preview) * limit / marker_size * 0.9)]


def _redacted(value: Any, redactor: Redactor | None) -> Any:
    """``value`` as JSON text with the server's secrets replaced (before any capping, so a cut
    can never leave part of a secret behind). Encoded once: cap_json takes the text as it is."""
    if not redactor or value is None:
        return value
    text = str(value) if isinstance(value, EncodedJSON) else _dumps(value)
    return EncodedJSON(redactor.redact_json_text(text))


def _text(value: Any, limit: int | None) -> str | None:
    """A string column's value: NUL-free (psycopg2 refuses it), encodable, at most ``limit``."""
    if value is None:
        return None
    # Plain str: drivers adapt by exact type, and str() of a StrEnum is its value.
    text = value if type(value) is str else str(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return clean_text(text)


def _utc(value: datetime | None) -> datetime:
    """The moment as an aware datetime (a naive one is taken as UTC), now when None."""
    if value is None:
        return utcnow()
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _length(table: sa.Table, column: str) -> int | None:
    return getattr(table.c[column].type, "length", None)


# --- statements ------------------------------------------------------------------------------


class _JSONText(TypeDecorator):
    """JSON encoded (and capped) at submit time: bound as text, never encoded a second time.

    PostgreSQL casts the text literal to jsonb; SQLite stores JSON as text anyway.
    """

    impl = sa.Text
    cache_ok = True


def _insert_target(table: sa.Table, *, without: tuple[str, ...] = ()) -> sa.TableClause:
    columns = [
        sa.column(c.name, _JSONText() if isinstance(c.type, sa.JSON) else c.type)
        for c in table.columns
        if c.name not in without
    ]
    return sa.table(table.name, *columns)


_SESSIONS = ClientSession.__table__
_CALLS = ToolCallLog.__table__
_SERVER_LOGS = ServerLog.__table__

# executemany with a list of dicts: insertmanyvalues on psycopg2 (multi-row VALUES pages),
# sqlite3's executemany on SQLite.
_INSERT_SESSIONS = sa.insert(_insert_target(_SESSIONS))
_INSERT_CALLS = sa.insert(_insert_target(_CALLS, without=("id",)))
_INSERT_SERVER_LOGS = sa.insert(_insert_target(_SERVER_LOGS, without=("id",)))

_b_at = sa.bindparam("b_at", type_=UTCDateTime())
_UPDATE_SESSIONS = (
    sa.update(_SESSIONS)
    .where(_SESSIONS.c.id == sa.bindparam("b_id"))
    .values(
        # Never moves backwards, whatever order the updates land in.
        last_activity_at=sa.case(
            (_SESSIONS.c.last_activity_at.is_(None), _b_at),
            (_SESSIONS.c.last_activity_at < _b_at, _b_at),
            else_=_SESSIONS.c.last_activity_at,
        ),
        total_calls=_SESSIONS.c.total_calls + sa.bindparam("b_total"),
        successful_calls=_SESSIONS.c.successful_calls + sa.bindparam("b_successful"),
        failed_calls=_SESSIONS.c.failed_calls + sa.bindparam("b_failed"),
        ended_at=sa.func.coalesce(
            sa.bindparam("b_ended", type_=UTCDateTime()), _SESSIONS.c.ended_at
        ),
    )
)

_TOOLS = McpTool.__table__
_b_count = sa.bindparam("b_count", type_=sa.Integer())
_b_total_ms = sa.bindparam("b_total_ms", type_=sa.Float())
# Every right-hand side reads the row as it was before this UPDATE (SQL semantics on both
# databases), so the average is (old_avg * old_count + batch_total) / (old_count + batch_count).
_UPDATE_TOOL_STATS = (
    sa.update(_TOOLS)
    .where(
        _TOOLS.c.server_id == sa.bindparam("b_server_id", type_=_TOOLS.c.server_id.type),
        _TOOLS.c.name == sa.bindparam("b_name"),
    )
    .values(
        call_count=_TOOLS.c.call_count + _b_count,
        avg_duration_ms=(_TOOLS.c.avg_duration_ms * _TOOLS.c.call_count + _b_total_ms)
        / (_TOOLS.c.call_count + _b_count),
    )
)

_NOT_RECEIVED_BY_SERVER = frozenset(
    {
        ToolCallErrorCode.TOOL_DISABLED.value,
        ToolCallErrorCode.INVALID_PARAMETERS.value,
        ToolCallErrorCode.INITIALIZATION_INCOMPLETE.value,
        ToolCallErrorCode.UPSTREAM_UNAVAILABLE.value,
    }
)
"""Error codes of calls that never reached the tool: not counted in its figures."""

_LIMITS = {
    "server_name": _length(_CALLS, "server_name"),
    "tool_name": _length(_CALLS, "tool_name"),
    "client_name": _length(_CALLS, "client_name"),
    "error_code": _length(_CALLS, "error_code"),
    "client_version": _length(_SESSIONS, "client_version"),
    "user_agent": _length(_SESSIONS, "user_agent"),
    "ip": _length(_SESSIONS, "ip"),
    "protocol_version": _length(_SESSIONS, "protocol_version"),
}

# Queue entry kinds, in the order a batch writes them (foreign keys point backwards).
_SESSION = "client_session"
_CALL = "tool_call"
_SERVER_LOG = "server_log"
_TOUCH = "session_touch"
_END = "session_end"
_TOOL_STATS = "tool_stats"  # not a queue entry: derived from the batch's calls

# Rough per-entry bookkeeping cost on top of its payloads, for the backlog estimate.
_ENTRY_OVERHEAD_BYTES = 400


# --- batches ---------------------------------------------------------------------------------


@dataclass
class _SessionDelta:
    last_activity_at: datetime | None = None
    total: int = 0
    successful: int = 0
    failed: int = 0
    ended_at: datetime | None = None

    def touch(self, at: datetime, success: bool | None) -> None:
        if self.last_activity_at is None or at > self.last_activity_at:
            self.last_activity_at = at
        if success is not None:
            self.total += 1
            if success:
                self.successful += 1
            else:
                self.failed += 1


@dataclass
class _Batch:
    """One transaction's worth of rows, prepared once and kept across retries.

    The row-by-row fallback removes rows from these lists as they commit, so a retry after a
    partial fallback never writes a row twice.
    """

    entries: int
    sessions: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    server_logs: list[dict[str, Any]]
    session_updates: list[dict[str, Any]]
    tool_stats: list[dict[str, Any]]

    def steps(self) -> Iterator[tuple[str, Any, list[dict[str, Any]]]]:
        yield _SESSION, _INSERT_SESSIONS, self.sessions
        yield _CALL, _INSERT_CALLS, self.calls
        yield _SERVER_LOG, _INSERT_SERVER_LOGS, self.server_logs
        yield _TOUCH, _UPDATE_SESSIONS, self.session_updates
        yield _TOOL_STATS, _UPDATE_TOOL_STATS, self.tool_stats


def _tool_stats(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One UPDATE row per (server, tool) for the calls of a batch that reached the server."""
    totals: dict[tuple[uuid.UUID, str], list[float]] = {}
    for call in calls:
        if call["server_id"] is None or not call["tool_name"]:
            continue
        if call["error_code"] in _NOT_RECEIVED_BY_SERVER:
            continue
        entry = totals.setdefault((call["server_id"], call["tool_name"]), [0, 0.0])
        entry[0] += 1
        entry[1] += call["duration_ms"]
    return [
        {"b_server_id": server_id, "b_name": name, "b_count": int(count), "b_total_ms": total}
        for (server_id, name), (count, total) in sorted(totals.items(), key=_tool_key)
    ]


def _tool_key(item: tuple[tuple[uuid.UUID, str], list[float]]) -> tuple[str, str]:
    # A fixed order, so two writers (processes) updating the same tools cannot deadlock.
    (server_id, name), _totals = item
    return str(server_id), name


def _prepare(entries: list[tuple[str, Any, int]]) -> _Batch:
    sessions: dict[uuid.UUID, dict[str, Any]] = {}
    calls: list[dict[str, Any]] = []
    server_logs: list[dict[str, Any]] = []
    deltas: dict[uuid.UUID, _SessionDelta] = {}
    for kind, payload, _size in entries:
        if kind == _CALL:
            calls.append(payload)
        elif kind == _SERVER_LOG:
            server_logs.append(payload)
        elif kind == _SESSION:
            sessions[payload["id"]] = dict(payload)  # a copy: deltas are folded into it below
        elif kind == _TOUCH:
            session_id, at, success = payload
            deltas.setdefault(session_id, _SessionDelta()).touch(at, success)
        else:  # _END
            session_id, at = payload
            deltas.setdefault(session_id, _SessionDelta()).ended_at = at
    updates = []
    for session_id, delta in deltas.items():
        row = sessions.get(session_id)
        if row is None:
            updates.append(
                {
                    "b_id": session_id,
                    "b_at": delta.last_activity_at,
                    "b_total": delta.total,
                    "b_successful": delta.successful,
                    "b_failed": delta.failed,
                    "b_ended": delta.ended_at,
                }
            )
            continue
        # Opened in this very batch: the counters go into its INSERT, no UPDATE at all.
        if delta.last_activity_at and delta.last_activity_at > row["last_activity_at"]:
            row["last_activity_at"] = delta.last_activity_at
        row["total_calls"] += delta.total
        row["successful_calls"] += delta.successful
        row["failed_calls"] += delta.failed
        row["ended_at"] = delta.ended_at or row["ended_at"]
    return _Batch(
        len(entries), list(sessions.values()), calls, server_logs, updates, _tool_stats(calls)
    )


def _is_row_fault(exc: BaseException) -> bool:
    """True when the rows are at fault (retrying them cannot help), False for an outage."""
    if isinstance(exc, sa_exc.DBAPIError):
        return isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError) and not (
            exc.connection_invalidated
        )
    # Bind processing or the driver refused a value (psycopg2 raises ValueError for NUL).
    return isinstance(exc, sa_exc.StatementError | ValueError | TypeError)


_UNWRITABLE_JSON = '{"unwritable":true}'

# Columns a row can lose when what they point at was deleted after the call (ON DELETE SET NULL).
_NULLABLE_REFERENCES = {
    _SESSION: ("server_id", "api_key_id", "oauth_client_id", "user_id"),
    _CALL: ("session_id", "server_id", "api_key_id", "oauth_client_id", "user_id"),
}
_PAYLOADS = {_CALL: ("arguments", "result"), _SERVER_LOG: ("details",)}
_TABLES = {_SESSION: _SESSIONS, _CALL: _CALLS, _SERVER_LOG: _SERVER_LOGS}


def _describe(kind: str, row: dict[str, Any]) -> str:
    keys = ("id", "b_id", "project_id", "server_id", "server_name", "tool_name", "status")
    return f"{kind} " + ", ".join(f"{k}={row[k]}" for k in keys if row.get(k) is not None)


# --- stderr budget ---------------------------------------------------------------------------


@dataclass
class _StderrBudget:
    """A token bucket of one server's stderr lines, and what it dropped since its last report."""

    project_id: uuid.UUID
    server_id: uuid.UUID | None
    tokens: float
    refilled_at: float
    suppressed: int = 0
    first_suppressed_at: datetime | None = None
    last_suppressed_at: datetime | None = None
    report_due: float = 0.0


# --- the writer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogWriterStats:
    """Counters since the writer started. An entry is a row or a session counter update."""

    submitted: int
    written: int
    pending: int
    queued_bytes: int
    batches: int
    retries: int
    repaired_rows: int
    dropped_rows: int
    suppressed_stderr_lines: int


class LogWriter:
    """The batched, never-blocking recorder of client sessions, tool calls and server logs.

    Every ``submit_*``/``*_client_session`` method is safe from any thread and from the event
    loop: it holds a lock only to append to the queue, never while the database is written.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        payload_limit: int = 64 * KIB,
        high_water_bytes: int = 64 * MIB,
        backlog_payload_limit: int = 1 * KIB,
        retry_initial: float = 0.05,
        retry_max: float = 5.0,
        stderr_burst: int = 200,
        stderr_rate: float = 20.0,
        suppression_report_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """
        ``batch_size`` entries or ``flush_interval`` seconds, whichever comes first, make a batch.
        ``payload_limit`` caps arguments, results and details (UTF-8 bytes of JSON text). Above
        ``high_water_bytes`` of backlog (the database is down or slow) the writer warns and caps
        new payloads at ``backlog_payload_limit`` instead; every row is still kept. A server's
        stderr lines pass a token bucket of ``stderr_burst`` lines refilled at ``stderr_rate``
        lines/s; dropped lines are counted into one row per ``suppression_report_interval``.
        ``clock`` (monotonic seconds) drives only the stderr buckets.
        """
        if batch_size < 1 or flush_interval <= 0:
            raise ValueError("batch_size must be >= 1 and flush_interval > 0")
        self._engine = engine or get_engine()
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._payload_limit = payload_limit
        self._high_water_bytes = high_water_bytes
        self._backlog_payload_limit = backlog_payload_limit
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._stderr_burst = stderr_burst
        self._stderr_rate = stderr_rate
        self._report_interval = suppression_report_interval
        self._clock = clock

        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)  # the writer waits for rows here
        self._progress = threading.Condition(self._lock)  # flush() and close() wait here
        self._abandon = threading.Event()
        self._queue: deque[tuple[str, Any, int]] = deque()
        self._oldest_at: float | None = None
        self._flush_waiters = 0
        self._closed = False
        self._stopped = False
        self._in_flight = 0

        self._submitted = 0
        self._written = 0
        self._queued_bytes = 0
        self._batches = 0
        self._retries = 0
        self._repaired = 0
        self._dropped = 0
        self._backlogged = False
        self._backlog_warn_at = high_water_bytes

        self._budgets: dict[tuple[uuid.UUID, uuid.UUID | None], _StderrBudget] = {}
        self._suppressing = 0
        self._suppressed_total = 0

        self._thread = threading.Thread(target=self._run, name="mcp-orch-log-writer", daemon=True)
        self._thread.start()

    # --- submitting (any thread, event loop included) --------------------------------------

    def open_client_session(
        self,
        *,
        project_id: uuid.UUID | str,
        server_id: uuid.UUID | str | None = None,
        api_key_id: uuid.UUID | str | None = None,
        oauth_client_id: uuid.UUID | str | None = None,
        user_id: uuid.UUID | str | None = None,
        transport: ClientTransport | str = ClientTransport.STREAMABLE_HTTP,
        client_name: str | None = None,
        client_version: str | None = None,
        user_agent: str | None = None,
        ip: str | None = None,
        protocol_version: str | None = None,
        session_id: uuid.UUID | str | None = None,
        started_at: datetime | None = None,
    ) -> uuid.UUID:
        """Record a new client session and return its id, usable at once by the other calls.

        ``server_id`` None means the unified endpoint.
        """
        session_id = _uuid(session_id) or uuid.uuid4()
        started_at = _utc(started_at)
        row = {
            "id": session_id,
            "project_id": _uuid(project_id),
            "server_id": _uuid(server_id),
            "api_key_id": _uuid(api_key_id),
            "oauth_client_id": _uuid(oauth_client_id),
            "user_id": _uuid(user_id),
            "transport": ClientTransport(transport),
            "client_name": _text(client_name, _LIMITS["client_name"]),
            "client_version": _text(client_version, _LIMITS["client_version"]),
            "user_agent": _text(user_agent, _LIMITS["user_agent"]),
            "ip": _text(ip, _LIMITS["ip"]),
            "protocol_version": _text(protocol_version, _LIMITS["protocol_version"]),
            "started_at": started_at,
            "last_activity_at": started_at,
            "ended_at": None,
            "total_calls": 0,
            "successful_calls": 0,
            "failed_calls": 0,
            # Which process serves it: if this one dies, another can end the row.
            "instance_id": THIS_INSTANCE,
        }
        with self._lock:
            self._enqueue(_SESSION, row, _ENTRY_OVERHEAD_BYTES)
        return session_id

    def touch_client_session(
        self,
        session_id: uuid.UUID | str | None,
        *,
        success: bool | None,
        at: datetime | None = None,
    ) -> None:
        """Note activity on a session: a finished call (``success`` True/False) or None for
        activity that is not a call. Touches of one session in a batch become one UPDATE.
        A None session (a session-less request) is ignored, so callers need not check."""
        if session_id is None:
            return
        entry = (_uuid(session_id), _utc(at), success)
        with self._lock:
            self._enqueue(_TOUCH, entry, 64)

    def end_client_session(
        self, session_id: uuid.UUID | str | None, *, at: datetime | None = None
    ) -> None:
        if session_id is None:
            return
        entry = (_uuid(session_id), _utc(at))
        with self._lock:
            self._enqueue(_END, entry, 64)

    def submit_tool_call(
        self,
        *,
        project_id: uuid.UUID | str,
        server_name: str,
        tool_name: str,
        status: ToolCallStatus | str = ToolCallStatus.SUCCESS,
        server_id: uuid.UUID | str | None = None,
        session_id: uuid.UUID | str | None = None,
        api_key_id: uuid.UUID | str | None = None,
        oauth_client_id: uuid.UUID | str | None = None,
        user_id: uuid.UUID | str | None = None,
        client_name: str | None = None,
        arguments: Any = None,
        result: Any = None,
        error_code: ToolCallErrorCode | str | None = None,
        error_message: str | None = None,
        duration_ms: float = 0,
        created_at: datetime | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        """Record one tools/call (bridge-level refusals included).

        Does not count the call in its session: the gateway calls :meth:`touch_client_session`
        for that, also for calls it never forwards. ``redactor`` (the server's) replaces its
        secrets in the arguments, the result and the error before anything is capped or queued.
        """
        limit = self._backlog_payload_limit if self._backlogged else self._payload_limit
        args_text = cap_json(_redacted(arguments, redactor), limit)
        result_text = cap_json(_redacted(result, redactor), limit)
        if redactor and error_message is not None:
            error_message = redactor.redact(str(error_message))
        message = _text(error_message, ERROR_MESSAGE_LIMIT)
        row = {
            "project_id": _uuid(project_id),
            "server_id": _uuid(server_id),
            "server_name": _text(server_name, _LIMITS["server_name"]) or "",
            "tool_name": _text(tool_name, _LIMITS["tool_name"]) or "",
            "session_id": _uuid(session_id),
            "api_key_id": _uuid(api_key_id),
            "oauth_client_id": _uuid(oauth_client_id),
            "user_id": _uuid(user_id),
            "client_name": _text(client_name, _LIMITS["client_name"]),
            "arguments": args_text,
            "result": result_text,
            "status": ToolCallStatus(status),
            "error_code": _text(error_code, _LIMITS["error_code"]),
            "error_message": message,
            "duration_ms": max(round(duration_ms), 0),
            "created_at": _utc(created_at),
        }
        size = (
            _ENTRY_OVERHEAD_BYTES
            + len(args_text or "")
            + len(result_text or "")
            + len(message or "")
        )
        with self._lock:
            self._enqueue(_CALL, row, size)

    def submit_server_log(
        self,
        *,
        project_id: uuid.UUID | str,
        server_id: uuid.UUID | str | None,
        category: ServerLogCategory | str,
        message: str,
        level: LogLevel | str = LogLevel.INFO,
        details: Any = None,
        created_at: datetime | None = None,
        redactor: Redactor | None = None,
    ) -> bool:
        """Record a server event or a stderr line. Returns False when a stderr line was
        suppressed by the server's rate limit (it is counted in a later summary row).
        ``redactor`` (the server's) replaces its secrets in the message and the details."""
        if redactor:
            message = redactor.redact(str(message))
            details = _redacted(details, redactor)
        category = ServerLogCategory(category)
        project_id = _uuid(project_id)
        server_id = _uuid(server_id)
        if category is ServerLogCategory.STDERR:
            with self._lock:
                if self._closed:
                    raise LogWriterClosed("the log writer is closed")
                if not self._admit_stderr_line(project_id, server_id):
                    return False
        limit = self._backlog_payload_limit if self._backlogged else self._payload_limit
        details_text = cap_json(details, limit)
        text = _text(message, SERVER_LOG_MESSAGE_LIMIT) or ""
        row = {
            "project_id": project_id,
            "server_id": server_id,
            "level": LogLevel(level),
            "category": category,
            "message": text,
            "details": details_text,
            "created_at": _utc(created_at),
        }
        with self._lock:
            self._enqueue(
                _SERVER_LOG, row, _ENTRY_OVERHEAD_BYTES + len(text) + len(details_text or "")
            )
        return True

    def _enqueue(self, kind: str, payload: Any, size: int) -> None:
        # Called with self._lock held; must stay this cheap.
        if self._closed:
            raise LogWriterClosed("the log writer is closed")
        self._append(kind, payload, size)

    def _append(self, kind: str, payload: Any, size: int) -> None:
        self._queue.append((kind, payload, size))
        self._submitted += 1
        self._queued_bytes += size
        waiting = len(self._queue)
        if waiting == 1:
            self._oldest_at = time.monotonic()
            self._wakeup.notify()
        elif waiting == self._batch_size:
            self._wakeup.notify()
        if self._queued_bytes > self._backlog_warn_at:
            self._note_backlog()

    def _note_backlog(self) -> None:
        # Decided: rows are kept whatever the backlog (losing calls from the audit trail is
        # worse than memory), but new payloads shrink to a preview so the growth per row is
        # small. Warned on crossing the mark and on each doubling after it.
        self._backlogged = True
        logger.warning(
            "Call-log backlog: %d entries (%.0f MiB) wait for the database; nothing is dropped, "
            "but new arguments/results are cut to %d bytes until it catches up.",
            len(self._queue),
            self._queued_bytes / MIB,
            self._backlog_payload_limit,
        )
        self._backlog_warn_at *= 2

    # --- stderr budget (self._lock held) ---------------------------------------------------

    def _admit_stderr_line(self, project_id: uuid.UUID, server_id: uuid.UUID | None) -> bool:
        now = self._clock()
        key = (project_id, server_id)
        budget = self._budgets.get(key)
        if budget is None:
            budget = _StderrBudget(project_id, server_id, float(self._stderr_burst), now)
            self._budgets[key] = budget
        else:
            refill = (now - budget.refilled_at) * self._stderr_rate
            budget.tokens = min(float(self._stderr_burst), budget.tokens + refill)
            budget.refilled_at = now
        if budget.suppressed and now >= budget.report_due:
            self._report_suppressed(budget)
        if budget.tokens >= 1.0:
            budget.tokens -= 1.0
            return True
        stamp = utcnow()
        if not budget.suppressed:
            self._suppressing += 1
            budget.first_suppressed_at = stamp
            budget.report_due = now + self._report_interval
        budget.suppressed += 1
        budget.last_suppressed_at = stamp
        self._suppressed_total += 1
        return False

    def _report_suppressed(self, budget: _StderrBudget) -> None:
        count = budget.suppressed
        row = {
            "project_id": budget.project_id,
            "server_id": budget.server_id,
            "level": LogLevel.WARNING,
            "category": ServerLogCategory.STDERR,
            "message": (
                f"{count} stderr line{'s' if count != 1 else ''} suppressed: the server wrote "
                f"more than {self._stderr_burst} lines at over {self._stderr_rate:g} lines/s"
            ),
            "details": _dumps(
                {
                    "suppressed_lines": count,
                    "first_suppressed_at": budget.first_suppressed_at,
                    "last_suppressed_at": budget.last_suppressed_at,
                }
            ),
            "created_at": utcnow(),
        }
        budget.suppressed = 0
        budget.first_suppressed_at = budget.last_suppressed_at = None
        self._suppressing -= 1
        # Also while closing: close() queues the last summaries before it refuses new rows.
        self._append(_SERVER_LOG, row, _ENTRY_OVERHEAD_BYTES)

    def _report_due_suppressions(self, *, force: bool) -> float | None:
        """Queue the summary rows that are due; return seconds until the next one is."""
        if not self._suppressing:
            return None
        now = self._clock()
        next_due = None
        for budget in self._budgets.values():
            if not budget.suppressed:
                continue
            if force or now >= budget.report_due:
                self._report_suppressed(budget)
            else:
                wait = budget.report_due - now
                next_due = wait if next_due is None else min(next_due, wait)
        return next_due

    # --- draining --------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything submitted before this call is committed (True), or until
        ``timeout`` seconds pass (False). Not for the event loop: use :meth:`aflush` there."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if not self._closed:
                self._report_due_suppressions(force=True)
            target = self._submitted
            self._flush_waiters += 1
            self._wakeup.notify()
            try:
                while self._written < target:
                    if self._stopped:
                        return False
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._progress.wait(remaining)
                return True
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float | None = 30.0) -> bool:
        """Refuse new rows, write everything queued, stop the thread. True when all landed.

        If the database stays unreachable past ``timeout``, the writer gives up, logs how many
        entries are lost and returns False: shutdown must not hang forever.
        """
        with self._lock:
            if not self._closed:
                self._report_due_suppressions(force=True)
                self._closed = True
                self._wakeup.notify()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            return not self._abandon.is_set()
        with self._lock:
            lost = len(self._queue) + self._in_flight
        self._abandon.set()
        with self._lock:
            self._wakeup.notify()
        logger.error(
            "Call-log writer stopped with %d entries not written: the database did not accept "
            "them within %s s of shutdown.",
            lost,
            timeout,
        )
        return False

    async def aflush(self, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.flush, timeout)

    async def aclose(self, timeout: float | None = 30.0) -> bool:
        return await asyncio.to_thread(self.close, timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> LogWriterStats:
        with self._lock:
            return LogWriterStats(
                submitted=self._submitted,
                written=self._written,
                pending=self._submitted - self._written,
                queued_bytes=self._queued_bytes,
                batches=self._batches,
                retries=self._retries,
                repaired_rows=self._repaired,
                dropped_rows=self._dropped,
                suppressed_stderr_lines=self._suppressed_total,
            )

    # --- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    entries = self._next_batch()
                if entries is None:
                    return
                try:
                    batch = _prepare(entries)
                except Exception:
                    # A bug, not an outage: retrying would stall every later row behind it.
                    logger.exception("Call-log batch of %d entries dropped", len(entries))
                    with self._lock:
                        self._dropped += len(entries)
                    batch = None
                if batch is not None and not self._write_with_retry(batch):
                    return  # abandoned by close()
                with self._lock:
                    self._in_flight = 0
                    self._written += len(entries)
                    self._batches += 1
                    self._queued_bytes -= sum(size for _kind, _payload, size in entries)
                    if self._backlogged and self._queued_bytes < self._high_water_bytes // 2:
                        self._backlogged = False
                        self._backlog_warn_at = self._high_water_bytes
                        logger.info("Call-log backlog cleared; payloads are capped normally.")
                    self._progress.notify_all()
        except Exception:
            logger.exception(
                "Call-log writer crashed with %d entries queued; it refuses new rows (the app's "
                "writer is replaced on next use)",
                len(self._queue),
            )
            raise
        finally:
            with self._lock:
                self._stopped = True
                self._closed = True  # a dead writer refuses rows rather than queueing them
                self._progress.notify_all()

    def _next_batch(self) -> list[tuple[str, Any, int]] | None:
        """Wait (self._lock held) until a batch is due; None when closed and drained."""
        while True:
            if self._abandon.is_set():
                return None
            report_in = self._report_due_suppressions(force=False)
            waiting = len(self._queue)
            if waiting:
                if waiting >= self._batch_size or self._closed or self._flush_waiters:
                    break
                wait = self._oldest_at + self._flush_interval - time.monotonic()
                if wait <= 0:
                    break
            elif self._closed:
                return None
            else:
                wait = report_in  # None: sleep until a submit wakes us
            if report_in is not None:
                wait = min(wait, max(report_in, 0.01))
            self._wakeup.wait(wait)
        take = min(waiting, self._batch_size)
        entries = [self._queue.popleft() for _ in range(take)]
        # Rows left behind a full batch are overdue: the next batch goes right after this one.
        self._oldest_at = time.monotonic() - self._flush_interval if self._queue else None
        self._in_flight = take
        return entries

    def _write_with_retry(self, batch: _Batch) -> bool:
        """Write ``batch``, retrying for as long as it takes; False only if close() gave up."""
        delay = self._retry_initial
        failures = 0
        while True:
            try:
                self._write(batch)
            except Exception as exc:
                if self._abandon.is_set():
                    return False
                failures += 1
                with self._lock:
                    self._retries += 1
                # First failure, then every tenth: an outage must not flood the log itself.
                if failures == 1 or failures % 10 == 0:
                    logger.warning(
                        "Call-log batch of %d entries not written (attempt %d, retrying in "
                        "%.2f s): %s",
                        batch.entries,
                        failures,
                        delay,
                        exc,
                    )
                self._abandon.wait(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._retry_max)
                continue
            if failures:
                logger.info("Call-log batch written after %d failed attempts.", failures)
            return True

    def _write(self, batch: _Batch) -> None:
        try:
            with self._engine.connect() as conn, conn.begin():
                for _kind, statement, rows in batch.steps():
                    if rows:
                        conn.execute(statement, rows)
            return
        except Exception as exc:
            if not _is_row_fault(exc):
                raise
            logger.warning("Call-log batch refused (%s); isolating the refused rows.", exc)
        self._write_row_by_row(batch)

    def _write_row_by_row(self, batch: _Batch) -> None:
        """The slow path after a batch was refused: one transaction per row, so one bad row
        cannot hold back the others. An outage here propagates and the batch is retried from
        the first row not yet committed."""
        for kind, statement, rows in batch.steps():
            while rows:
                self._write_one(kind, statement, rows[0])
                rows.pop(0)

    def _write_one(self, kind: str, statement: Any, row: dict[str, Any]) -> None:
        try:
            self._execute_one(statement, row)
            return
        except Exception as exc:
            if not _is_row_fault(exc):
                raise
            reason = exc
        for repair, repaired in self._repairs(kind, row):
            try:
                self._execute_one(statement, repaired)
            except Exception as exc:
                if not _is_row_fault(exc):
                    raise
                reason = exc
                continue
            logger.warning("Call-log row stored with %s: %s", repair, _describe(kind, row))
            with self._lock:
                self._repaired += 1
            return
        # Only reached when even the bare row is refused: its project (or, for a server log,
        # its server) is gone, and ON DELETE CASCADE would have removed the row anyway.
        logger.error(
            "Call-log row dropped, the database refuses it (%s): %s", reason, _describe(kind, row)
        )
        with self._lock:
            self._dropped += 1

    def _repairs(self, kind: str, row: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """Ever more degraded versions of a refused row; the first is the row as the ON DELETE
        SET NULL rules would have left it, had it been written before the deletion."""
        dangling = self._dangling_references(kind, row)
        if dangling:
            row = {**row, **dict.fromkeys(dangling)}
            yield f"{', '.join(dangling)} cleared (deleted since)", row
        payloads = [name for name in _PAYLOADS.get(kind, ()) if row.get(name) is not None]
        if payloads:
            yield "payload replaced", {**row, **dict.fromkeys(payloads, _UNWRITABLE_JSON)}

    def _dangling_references(self, kind: str, row: dict[str, Any]) -> list[str]:
        names = [name for name in _NULLABLE_REFERENCES.get(kind, ()) if row.get(name) is not None]
        if not names:
            return []
        dangling = []
        with self._engine.connect() as conn:
            for name in names:
                (foreign_key,) = _TABLES[kind].c[name].foreign_keys
                target = foreign_key.column
                query = sa.select(target).where(target == row[name]).limit(1)
                if conn.execute(query).first() is None:
                    dangling.append(name)
        return dangling

    def _execute_one(self, statement: Any, row: dict[str, Any]) -> None:
        with self._engine.connect() as conn, conn.begin():
            conn.execute(statement, [row])


# --- the app's writer ------------------------------------------------------------------------

_app_writer: LogWriter | None = None
_app_writer_lock = threading.Lock()
# Seconds the interpreter waits at exit for the app's writer when no lifespan closed it.
_EXIT_DRAIN_SECONDS = 10.0


def get_log_writer() -> LogWriter:
    """The app's writer, on the app's database; started on first use, again after a close."""
    global _app_writer
    writer = _app_writer
    if writer is not None and not writer.closed:
        return writer
    with _app_writer_lock:
        if _app_writer is None or _app_writer.closed:
            if _app_writer is None:
                # A safety net for processes without a lifespan (CLI, worker): the writer
                # thread is a daemon, so without this its queue would die with the process.
                atexit.unregister(close_log_writer)
                atexit.register(close_log_writer, _EXIT_DRAIN_SECONDS)
            _app_writer = LogWriter(get_engine())
        return _app_writer


def close_log_writer(timeout: float | None = 30.0) -> bool:
    """Drain and stop the app's writer (True when every row landed)."""
    global _app_writer
    with _app_writer_lock:
        writer, _app_writer = _app_writer, None
    return writer.close(timeout) if writer is not None else True


@asynccontextmanager
async def log_writer_lifespan() -> AsyncIterator[None]:
    """Lifespan task that drains the app's writer on shutdown.

    Register it before the upstream pool's task: lifespan tasks exit in reverse order, so the
    pool stops first and the rows of its last calls and stop events still land.
    """
    try:
        yield
    finally:
        await asyncio.to_thread(close_log_writer)
