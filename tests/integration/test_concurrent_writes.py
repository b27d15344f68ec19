"""Concurrent write units on one database: JSON imports, call-log batches and worker runs.

On SQLite a transaction that reads before it writes used to hold a read snapshot it could not
upgrade once another writer had committed ("database is locked" at once, ``busy_timeout`` never
consulted). Every write unit must now wait its turn for the write lock instead of failing.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.models import McpServer, ToolCallLog
from mcp_orch_app.models.enums import WorkerRunTrigger
from mcp_orch_app.services import projects, server_status, servers
from mcp_orch_app.services import worker as worker_service

IMPORT_WRITERS = 4
IMPORTS_PER_WRITER = 15
SERVERS_PER_IMPORT = 3
CALL_THREADS = 8
CALLS_PER_THREAD = 200


def _import_document(writer: int, round_: int) -> dict:
    return {
        "mcpServers": {
            f"w{writer}-r{round_}-s{n}": {"command": "uvx", "args": ["mcp-server-time"]}
            for n in range(SERVERS_PER_IMPORT)
        }
    }


def _check_loop(server_id: uuid.UUID, stop: threading.Event, failures: list) -> int:
    """What the health worker writes per run: a run row, one check per server, the run's end."""
    runs = 0
    ok = False
    while not stop.is_set():
        try:
            plan = db.in_transaction(worker_service.begin_run, WorkerRunTrigger.MANUAL)
            db.in_transaction(
                server_status.record_check, server_id, ok=ok, tools=[], error="probe failed"
            )
            db.in_transaction(worker_service.finish_run, plan.run_id, [])
            runs += 1
            ok = not ok
        except Exception as exc:  # every failure is the finding, whatever its type
            failures.append(f"worker: {type(exc).__name__}: {exc}")
    return runs


def test_concurrent_imports_call_logs_and_worker_runs_all_succeed(engine, make_person):
    owner = make_person("importer")
    project = db.in_transaction(projects.create_project, owner.actor, "busy")
    probe = db.in_transaction(
        servers.import_servers,
        owner.actor,
        project.id,
        {"mcpServers": {"probe": {"command": "uvx", "args": ["mcp-server-time"]}}},
    ).created[0]

    failures: list[str] = []
    created: list[int] = []
    stop = threading.Event()
    writer = LogWriter(engine, batch_size=50, flush_interval=0.01)

    def importer(n: int) -> None:
        for round_ in range(IMPORTS_PER_WRITER):
            try:
                report = db.in_transaction(
                    servers.import_servers, owner.actor, project.id, _import_document(n, round_)
                )
            except Exception as exc:
                failures.append(f"import: {type(exc).__name__}: {exc}")
                continue
            if report.errors:
                failures.append(f"import refused entries: {report.errors}")
            created.append(len(report.created))

    def caller(n: int) -> None:
        for i in range(CALLS_PER_THREAD):
            writer.submit_tool_call(
                project_id=project.id,
                server_id=probe.id,
                server_name="probe",
                tool_name="get_time",
                arguments={"caller": n, "i": i},
                result={"content": [{"type": "text", "text": "now"}]},
                duration_ms=1,
            )
            time.sleep(0.0005)

    worker_runs: list[int] = []
    checker = threading.Thread(
        target=lambda: worker_runs.append(_check_loop(probe.id, stop, failures))
    )
    threads = [threading.Thread(target=importer, args=(n,)) for n in range(IMPORT_WRITERS)]
    threads += [threading.Thread(target=caller, args=(n,)) for n in range(CALL_THREADS)]
    checker.start()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        stop.set()
        checker.join(timeout=60)
        assert writer.flush(timeout=60)
        stats = writer.stats()
        writer.close()

    assert failures == []
    assert sum(created) == IMPORT_WRITERS * IMPORTS_PER_WRITER * SERVERS_PER_IMPORT
    assert worker_runs and worker_runs[0] > 0
    assert stats.dropped_rows == 0
    with db.session_scope(engine) as s:
        assert len(s.exec(select(McpServer.id)).all()) == 1 + sum(created)
        logged = s.exec(select(ToolCallLog.id)).all()
    assert len(logged) == CALL_THREADS * CALLS_PER_THREAD


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sqlite_reader_is_not_held_behind_an_open_write(engine, make_person):
    """A read (what a page or a GET does) goes on while a write unit holds the write lock."""
    owner = make_person("reader")
    project = db.in_transaction(projects.create_project, owner.actor, "reads")
    with db.session_scope(engine) as writing:
        writing.add(McpServer(project_id=project.id, name="held", command="uvx"))
        writing.flush()  # this unit now holds SQLite's write lock until it commits
        started = time.monotonic()
        listed = db.in_transaction(servers.list_servers, owner.actor, project.id)
        assert time.monotonic() - started < 1.0
        assert [s.name for s in listed] == []
