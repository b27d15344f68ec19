"""The call-log writer: off the call path, batched, and nothing lost (SQLite and PostgreSQL).

Real databases throughout. The only fakes are faults injected at one seam, the writer's
``engine.connect()``: a gate the test holds (to prove submits never wait for the database) and
connection refusals (a database outage). The stderr budget runs on a clock the test moves.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import event, func
from sqlalchemy import exc as sa_exc
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import (
    EncodedJSON,
    LogWriter,
    LogWriterClosed,
    close_log_writer,
    get_log_writer,
    log_writer_lifespan,
)
from mcp_orch_app.models import ClientSession, ServerLog, ServerLogCategory, ToolCallLog
from mcp_orch_app.models.enums import LogLevel, ToolCallErrorCode, ToolCallStatus
from mcp_orch_app.services import projects, servers
from mcp_orch_app.services.schemas import ServerIn


@dataclass
class Setup:
    project_id: uuid.UUID
    server_id: uuid.UUID
    other_server_id: uuid.UUID
    owner: object


@pytest.fixture
def setup(engine, make_person) -> Setup:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "Recorded")
        echo = servers.create_server(
            s, owner.actor, project.id, ServerIn(name="echo", command="python", args=["-V"])
        )
        time_server = servers.create_server(
            s, owner.actor, project.id, ServerIn(name="time", command="uvx", args=["mcp-time"])
        )
    return Setup(project.id, echo.id, time_server.id, owner)


@pytest.fixture
def open_writer(engine):
    """Writers made here are closed after the test, whatever happened in it."""
    made: list[LogWriter] = []

    def make(target=None, **options) -> LogWriter:
        writer = LogWriter(target if target is not None else engine, **options)
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close(timeout=10)


class GatedEngine:
    """The real engine, except that connect() first waits on a lock the test holds."""

    def __init__(self, engine):
        self._engine = engine
        self.gate = threading.Lock()
        self.writer_waiting = threading.Event()

    def connect(self):
        self.writer_waiting.set()
        with self.gate:
            pass
        return self._engine.connect()

    def __getattr__(self, name):
        return getattr(self._engine, name)


class EngineWithOutage:
    """The real engine, except that the first ``failures`` connection attempts are refused."""

    def __init__(self, engine, failures: int):
        self._engine = engine
        self.failures = failures
        self.attempts = 0

    def connect(self):
        self.attempts += 1
        if self.attempts <= self.failures:
            dbapi = self._engine.dialect.loaded_dbapi
            raise sa_exc.OperationalError(
                "connect", None, dbapi.OperationalError("connection refused: database restarting")
            )
        return self._engine.connect()

    def __getattr__(self, name):
        return getattr(self._engine, name)


class ManualClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _calls(engine) -> list[ToolCallLog]:
    with db.session_scope(engine) as s:
        return list(s.exec(select(ToolCallLog).order_by(ToolCallLog.id)))


def _sessions(engine) -> dict[uuid.UUID, ClientSession]:
    with db.session_scope(engine) as s:
        return {row.id: row for row in s.exec(select(ClientSession))}


def _server_logs(engine, server_id) -> list[ServerLog]:
    with db.session_scope(engine) as s:
        query = select(ServerLog).where(ServerLog.server_id == server_id).order_by(ServerLog.id)
        return list(s.exec(query))


def _count(engine, model) -> int:
    with db.session_scope(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _record_calls(writer: LogWriter, setup: Setup, worker: int, calls: int) -> uuid.UUID:
    """What the gateway does for one client: open a session, then log and count each call."""
    session_id = writer.open_client_session(
        project_id=setup.project_id,
        server_id=setup.server_id,
        client_name=f"client-{worker}",
        client_version="1.0",
        ip="127.0.0.1",
        protocol_version="2025-11-25",
    )
    for seq in range(calls):
        ok = seq % 5 != 0
        writer.submit_tool_call(
            project_id=setup.project_id,
            server_id=setup.server_id,
            server_name="echo",
            tool_name="echo",
            session_id=session_id,
            client_name=f"client-{worker}",
            arguments={"worker": worker, "seq": seq},
            result={"content": [{"type": "text", "text": f"{worker}:{seq}"}]} if ok else None,
            status=ToolCallStatus.SUCCESS if ok else ToolCallStatus.ERROR,
            error_code=None if ok else ToolCallErrorCode.UPSTREAM_ERROR,
            error_message=None if ok else "upstream said no",
            duration_ms=1.6,
        )
        writer.touch_client_session(session_id, success=ok)
    writer.end_client_session(session_id)
    return session_id


def _assert_every_call_landed(engine, session_ids: dict[int, uuid.UUID], calls: int) -> None:
    rows = _calls(engine)
    assert len(rows) == len(session_ids) * calls
    seen = Counter((row.arguments["worker"], row.arguments["seq"]) for row in rows)
    assert set(seen) == {(w, s) for w in session_ids for s in range(calls)}
    assert max(seen.values()) == 1
    sessions = _sessions(engine)
    for row in rows:
        worker = row.arguments["worker"]
        assert row.session_id == session_ids[worker]
        assert row.session_id in sessions
        assert row.client_name == f"client-{worker}"
        assert row.status == (ToolCallStatus.ERROR if row.arguments["seq"] % 5 == 0 else "success")
    failed = sum(1 for seq in range(calls) if seq % 5 == 0)
    for session_id in session_ids.values():
        session = sessions[session_id]
        assert (session.total_calls, session.successful_calls, session.failed_calls) == (
            calls,
            calls - failed,
            failed,
        )
        assert session.ended_at is not None
        assert session.last_activity_at >= session.started_at


def test_32_threads_times_50_calls_land_exactly_once_with_their_session_counters(
    engine, setup, open_writer
):
    writer = open_writer(batch_size=100, flush_interval=0.02)
    start = threading.Barrier(32)
    session_ids: dict[int, uuid.UUID] = {}

    def client(worker: int) -> None:
        start.wait()
        session_ids[worker] = _record_calls(writer, setup, worker, 50)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert writer.close(timeout=60)
    _assert_every_call_landed(engine, session_ids, 50)
    assert writer.stats().batches > 1


async def test_32_asyncio_clients_times_50_calls_land_exactly_once(engine, setup, open_writer):
    writer = open_writer(batch_size=100, flush_interval=0.02)

    async def client(worker: int) -> tuple[int, uuid.UUID]:
        session_id = writer.open_client_session(
            project_id=setup.project_id, server_id=setup.server_id, client_name=f"client-{worker}"
        )
        for seq in range(50):
            ok = seq % 5 != 0
            writer.submit_tool_call(
                project_id=setup.project_id,
                server_id=setup.server_id,
                server_name="echo",
                tool_name="echo",
                session_id=session_id,
                client_name=f"client-{worker}",
                arguments={"worker": worker, "seq": seq},
                status="success" if ok else "error",
            )
            writer.touch_client_session(session_id, success=ok)
            await asyncio.sleep(0)  # let the other clients interleave
        writer.end_client_session(session_id)
        return worker, session_id

    session_ids = dict(await asyncio.gather(*(client(w) for w in range(32))))
    assert await writer.aclose(timeout=60)
    _assert_every_call_landed(engine, session_ids, 50)


def test_submit_returns_at_once_while_the_writer_is_blocked_on_the_database(
    engine, setup, open_writer
):
    gated = GatedEngine(engine)
    writer = open_writer(gated, flush_interval=0.01)
    with gated.gate:
        session_id = _record_calls(writer, setup, 0, 1)
        assert gated.writer_waiting.wait(10), "the writer never tried to write"
        # The writer thread is now stuck inside connect(), on our lock.
        for worker in range(1, 21):
            _record_calls(writer, setup, worker, 50)
        assert writer.stats().pending == 4 + 20 * (2 + 2 * 50)
        assert _count(engine, ToolCallLog) == 0
        assert not writer.flush(timeout=0.05)
    assert writer.flush(timeout=60)
    assert _count(engine, ToolCallLog) == 1 + 20 * 50
    assert _sessions(engine)[session_id].total_calls == 1


def test_touches_of_one_session_in_a_batch_become_one_update(engine, setup, open_writer):
    writer = open_writer(batch_size=100_000, flush_interval=60)
    earlier = writer.open_client_session(project_id=setup.project_id)
    assert writer.flush(timeout=30)

    updates: list[int] = []

    def count_updates(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE CLIENT_SESSIONS"):
            updates.append(len(parameters) if executemany else 1)

    event.listen(engine, "before_cursor_execute", count_updates)
    try:
        fresh = writer.open_client_session(project_id=setup.project_id)
        for i in range(1000):
            writer.touch_client_session(earlier, success=i % 4 != 0)
            writer.touch_client_session(fresh, success=i % 2 == 0)
        writer.touch_client_session(earlier, success=None)  # activity that is not a call
        writer.end_client_session(earlier)
        assert writer.flush(timeout=30)
    finally:
        event.remove(engine, "before_cursor_execute", count_updates)

    # The session already in the database: one UPDATE. The one opened in the same batch: none,
    # its counters went into its INSERT.
    assert updates == [1]
    sessions = _sessions(engine)
    old, new = sessions[earlier], sessions[fresh]
    assert (old.total_calls, old.successful_calls, old.failed_calls) == (1000, 750, 250)
    assert old.ended_at is not None and old.last_activity_at <= old.ended_at
    assert (new.total_calls, new.successful_calls, new.failed_calls) == (1000, 500, 500)
    assert new.ended_at is None and new.last_activity_at > new.started_at


def test_database_outage_is_retried_until_every_row_lands(engine, setup, open_writer):
    outage = EngineWithOutage(engine, failures=6)
    writer = open_writer(outage, batch_size=50, flush_interval=0.01, retry_initial=0.01)
    session_ids: dict[int, uuid.UUID] = {}

    def client(worker: int) -> None:
        session_ids[worker] = _record_calls(writer, setup, worker, 100)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert writer.close(timeout=60)
    assert outage.attempts > 6
    assert writer.stats().retries >= 6
    _assert_every_call_landed(engine, session_ids, 100)


def test_large_results_and_arguments_are_stored_as_a_truncation_marker(engine, setup, open_writer):
    writer = open_writer()
    big_result = {"content": [{"type": "text", "text": 'é"x' * 100_000}]}
    big_arguments = {"blob": "a" * 200_000}
    small_result = {"content": [{"type": "text", "text": "fine"}]}
    raw_result = EncodedJSON('{"content":[],"raw":true}')  # forwarded bytes, not re-encoded
    for arguments, result in (
        (big_arguments, big_result),
        ({"q": 1}, small_result),
        (None, raw_result),
    ):
        writer.submit_tool_call(
            project_id=setup.project_id,
            server_id=setup.server_id,
            server_name="echo",
            tool_name="echo",
            arguments=arguments,
            result=result,
        )
    assert writer.close(timeout=30)

    capped, kept, raw = _calls(engine)
    limit = 64 * 1024
    full = json.dumps(big_result, ensure_ascii=False, separators=(",", ":"))
    assert capped.result["truncated"] is True
    assert capped.result["original_bytes"] == len(full.encode("utf-8"))
    assert full.startswith(capped.result["preview"]) and len(capped.result["preview"]) > 1000
    assert len(json.dumps(capped.result, ensure_ascii=False).encode("utf-8")) <= limit
    assert capped.arguments["truncated"] is True
    assert capped.arguments["original_bytes"] == len(
        json.dumps(big_arguments, separators=(",", ":"))
    )
    assert (kept.arguments, kept.result) == ({"q": 1}, small_result)
    assert (raw.arguments, raw.result) == (None, {"content": [], "raw": True})


def test_a_backlog_over_the_high_water_mark_keeps_every_row_with_shorter_payloads(
    engine, setup, open_writer
):
    gated = GatedEngine(engine)
    writer = open_writer(
        gated, flush_interval=0.01, high_water_bytes=100 * 1024, backlog_payload_limit=256
    )
    result = {"content": [{"type": "text", "text": "r" * 10_000}]}
    with gated.gate:
        for n in range(40):
            writer.submit_tool_call(
                project_id=setup.project_id, server_name="echo", tool_name=f"t{n}", result=result
            )
        assert gated.writer_waiting.wait(10)
    assert writer.close(timeout=30)

    rows = _calls(engine)
    assert [r.tool_name for r in rows] == [f"t{n}" for n in range(40)]
    # Full results until the backlog passed 100 KiB (10 rows of 10 KiB), previews after it.
    assert [r.result == result for r in rows] == [True] * 10 + [False] * 30
    assert all(r.result["truncated"] and r.result["original_bytes"] > 10_000 for r in rows[10:])
    assert all(len(json.dumps(r.result)) <= 256 for r in rows[10:])


def test_text_the_databases_would_refuse_is_made_storable(engine, setup, open_writer):
    writer = open_writer()
    writer.submit_tool_call(
        project_id=setup.project_id,
        server_id=setup.server_id,
        server_name="echo",
        tool_name="t" * 500,  # the column holds 200
        arguments={"nul": "a\x00b", "surrogate": "\ud800", "nan": float("nan")},
        result={"text": "naïve \x00 ok", "when": uuid.UUID(int=7)},
        error_message="bad\x00byte",
    )
    writer.submit_server_log(
        project_id=setup.project_id,
        server_id=setup.server_id,
        category=ServerLogCategory.STDERR,
        message="stderr with \x00 and \udcff",
    )
    assert writer.close(timeout=30)
    (row,) = _calls(engine)
    assert len(row.tool_name) == 200
    assert row.result == {"text": "naïve \ufffd ok", "when": str(uuid.UUID(int=7))}
    # NaN has no JSON form: it is kept as a string, and the rest of the arguments with it.
    assert row.arguments == {"nul": "a\ufffdb", "surrogate": "\ufffd", "nan": "NaN"}
    assert row.error_message == "bad\ufffdbyte"
    (line,) = _server_logs(engine, setup.server_id)
    assert line.message.startswith("stderr with \ufffd and ")


def test_stderr_flood_is_bounded_per_server_with_a_suppression_row(engine, setup, open_writer):
    clock = ManualClock()
    writer = open_writer(
        stderr_burst=50, stderr_rate=10, suppression_report_interval=5, clock=clock
    )

    def stderr(server_id, text: str) -> bool:
        return writer.submit_server_log(
            project_id=setup.project_id, server_id=server_id, category="stderr", message=text
        )

    admitted = [stderr(setup.server_id, f"flood {i}") for i in range(10_000)]
    assert sum(admitted) == 50 and all(admitted[:50])
    writer.submit_server_log(
        project_id=setup.project_id,
        server_id=setup.server_id,
        category=ServerLogCategory.CRASH,
        level=LogLevel.ERROR,
        message="exited with status 1",
    )
    other = [stderr(setup.other_server_id, f"other {i}") for i in range(100)]
    assert sum(other) == 50  # its own budget: the flood next door did not use it up
    clock.now = 1.0  # ten more tokens
    assert sum(stderr(setup.server_id, f"later {i}") for i in range(20)) == 10
    clock.now = 10.0  # the report is due: it goes before the next admitted line
    assert stderr(setup.server_id, "after the flood")
    assert writer.close(timeout=30)

    rows = _server_logs(engine, setup.server_id)
    lines = [r.message for r in rows if r.level == LogLevel.INFO]
    reports = [r for r in rows if r.level == LogLevel.WARNING]
    crashes = [r for r in rows if r.category == ServerLogCategory.CRASH]
    assert lines == [f"flood {i}" for i in range(50)] + [f"later {i}" for i in range(10)] + [
        "after the flood"
    ]
    assert len(crashes) == 1
    assert len(reports) == 1 and reports[0].details["suppressed_lines"] == 9950 + 10
    assert "9960 stderr lines suppressed" in reports[0].message
    assert [r.message for r in rows[-2:]] == [reports[0].message, "after the flood"]
    # The quiet server's pending count was written by close().
    other_rows = _server_logs(engine, setup.other_server_id)
    assert len(other_rows) == 51
    assert other_rows[-1].details["suppressed_lines"] == 50


def test_rows_outliving_their_server_or_project_follow_the_on_delete_rules(
    engine, setup, open_writer, make_person
):
    gated = GatedEngine(engine)
    writer = open_writer(gated, flush_interval=0.01)
    other_owner = make_person("other")
    with db.session_scope(engine) as s:
        doomed_project = projects.create_project(s, other_owner.actor, "Doomed").id
    with gated.gate:
        session_id = writer.open_client_session(
            project_id=setup.project_id, server_id=setup.server_id
        )
        for n in range(3):
            writer.submit_tool_call(
                project_id=setup.project_id,
                server_id=setup.server_id,
                session_id=session_id,
                server_name="echo",
                tool_name=f"call-{n}",
            )
        writer.submit_server_log(
            project_id=setup.project_id,
            server_id=setup.server_id,
            category="stop",
            message="stopped",
        )
        writer.submit_tool_call(project_id=doomed_project, server_name="gone", tool_name="x")
        writer.submit_tool_call(
            project_id=setup.project_id, server_id=setup.other_server_id, server_name="time",
            tool_name="kept",
        )  # fmt: skip
        assert gated.writer_waiting.wait(10)
        # Deleted while the rows wait in the queue.
        with db.session_scope(engine) as s:
            servers.delete_server(s, setup.owner.actor, setup.project_id, setup.server_id)
            projects.delete_project(s, other_owner.actor, doomed_project)
    assert writer.close(timeout=30)

    rows = _calls(engine)
    # SET NULL references are cleared, the rows kept; the deleted project's row is gone, as its
    # cascade would have removed it; the server log of the deleted server likewise.
    assert [(r.tool_name, r.server_name, r.server_id) for r in rows] == [
        ("call-0", "echo", None),
        ("call-1", "echo", None),
        ("call-2", "echo", None),
        ("kept", "time", setup.other_server_id),
    ]
    assert all(r.session_id == session_id for r in rows[:3])
    assert _sessions(engine)[session_id].server_id is None
    assert _server_logs(engine, setup.server_id) == []
    stats = writer.stats()
    assert stats.dropped_rows == 2 and stats.repaired_rows == 4


def test_a_closed_writer_refuses_rows_instead_of_losing_them(engine, setup, open_writer):
    writer = open_writer()
    writer.submit_tool_call(project_id=setup.project_id, server_name="echo", tool_name="echo")
    assert writer.close(timeout=30)
    assert _count(engine, ToolCallLog) == 1
    with pytest.raises(LogWriterClosed):
        writer.submit_tool_call(project_id=setup.project_id, server_name="echo", tool_name="x")
    with pytest.raises(LogWriterClosed):
        writer.open_client_session(project_id=setup.project_id)


async def test_app_lifespan_drains_the_app_writer_on_shutdown(engine, setup):
    async with log_writer_lifespan():
        writer = get_log_writer()
        assert get_log_writer() is writer
        for n in range(10):
            writer.submit_tool_call(
                project_id=setup.project_id, server_name="echo", tool_name=f"t{n}"
            )
    assert writer.closed
    assert _count(engine, ToolCallLog) == 10
    assert close_log_writer()  # nothing left to close
