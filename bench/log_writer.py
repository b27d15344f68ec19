"""Call-log writer throughput: the batched LogWriter against one transaction per call.

    .venv/bin/python -m bench.log_writer [--calls 20000] [--baseline-calls 2000] [--runs 3]
                                         [--threads 1]

Both sides record the same work per tool call: one ToolCallLog row (about 150 bytes of
arguments, 1 KiB of result) and one increment of its client session's counters. The batched
side gets the calls from ``--threads`` submitting threads (1 by default: the gateway's event
loop) and is timed until ``close()`` returns, that is until every row is committed; the baseline
does what an inline recorder would, one transaction (INSERT + UPDATE) per call, from one thread.
Also printed: what a submit costs the caller while the writer thread is busy writing (with more
than one submitting thread this mostly measures waiting for the GIL).

SQLite always (a temporary file, opened the way the app opens it: WAL, foreign keys on);
PostgreSQL when MCP_ORCH_TEST_POSTGRES_URL is set, in a scratch schema dropped afterwards.
Figures are the median of ``--runs`` runs; each run starts from empty log tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from mcp_orch_app import db
from mcp_orch_app.config import _normalise_database_url
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.models import (
    ClientSession,
    McpServer,
    Project,
    ServerLog,
    ToolCallLog,
    User,
)
from mcp_orch_app.models.types import utcnow

PG_SCHEMA = "bench_log_writer"
ARGUMENTS = {"query": "SELECT name FROM users WHERE id = $1", "params": [42], "limit": 100}
RESULT = {"content": [{"type": "text", "text": "x" * 1000}], "isError": False}


def sqlite_engine(folder: Path) -> Engine:
    return db.make_engine(f"sqlite:///{folder / 'bench.db'}")


def postgres_engine(url: str) -> Engine:
    admin = create_engine(_normalise_database_url(url))
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {PG_SCHEMA}"))
    admin.dispose()
    return create_engine(
        _normalise_database_url(url),
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"options": f"-csearch_path={PG_SCHEMA}"},
    )


def drop_postgres_schema(url: str) -> None:
    admin = create_engine(_normalise_database_url(url))
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


def seed(engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", name="b", password_hash="-")
        s.add(user)
        s.flush()
        project = Project(name="bench", created_by=user.id)
        s.add(project)
        s.flush()
        server = McpServer(project_id=project.id, name="echo", command="python")
        s.add(server)
        s.commit()
        return project.id, server.id


def empty_logs(engine: Engine) -> None:
    with engine.begin() as conn:
        for model in (ToolCallLog, ServerLog, ClientSession):
            conn.execute(sa.delete(model.__table__))


def batched_run(
    engine: Engine, project_id, server_id, calls: int, submitters: int
) -> tuple[float, list[int]]:
    """Calls/s from the first submit until every row is committed, and submit costs (ns)."""
    writer = LogWriter(engine)
    per_thread = calls // submitters
    costs: list[list[int]] = [[] for _ in range(submitters)]
    start = threading.Barrier(submitters + 1)

    def client(n: int) -> None:
        session_id = writer.open_client_session(project_id=project_id, server_id=server_id)
        clock = time.perf_counter_ns
        mine = costs[n]
        start.wait()
        for _ in range(per_thread):
            t0 = clock()
            writer.submit_tool_call(
                project_id=project_id,
                server_id=server_id,
                server_name="echo",
                tool_name="query",
                session_id=session_id,
                arguments=ARGUMENTS,
                result=RESULT,
                duration_ms=3,
            )
            writer.touch_client_session(session_id, success=True)
            mine.append(clock() - t0)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(submitters)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    if not writer.close(timeout=600):
        raise SystemExit("the writer did not drain")
    elapsed = time.perf_counter() - began
    written = count(engine, ToolCallLog)
    assert written == per_thread * submitters, written
    return written / elapsed, [c for mine in costs for c in mine]


def baseline_run(engine: Engine, project_id, server_id, calls: int) -> float:
    """Calls/s when each call is recorded inline in its own transaction."""
    with Session(engine) as s:
        session = ClientSession(project_id=project_id, server_id=server_id)
        s.add(session)
        s.commit()
        session_id = session.id
    sessions = ClientSession.__table__
    insert = sa.insert(ToolCallLog.__table__)
    touch = (
        sa.update(sessions)
        .where(sessions.c.id == session_id)
        .values(
            total_calls=sessions.c.total_calls + 1,
            successful_calls=sessions.c.successful_calls + 1,
            last_activity_at=sa.bindparam("at"),
        )
    )
    began = time.perf_counter()
    for _ in range(calls):
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(
                insert,
                {
                    "project_id": project_id,
                    "server_id": server_id,
                    "server_name": "echo",
                    "tool_name": "query",
                    "session_id": session_id,
                    "arguments": ARGUMENTS,
                    "result": RESULT,
                    "status": "success",
                    "duration_ms": 3,
                    "created_at": now,
                },
            )
            conn.execute(touch, {"at": now})
    elapsed = time.perf_counter() - began
    assert count(engine, ToolCallLog) == calls
    return calls / elapsed


def count(engine: Engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model.__table__)).scalar_one()


def bench(name: str, engine: Engine, options: argparse.Namespace) -> None:
    project_id, server_id = seed(engine)
    batched, baseline, costs = [], [], []
    for _ in range(options.runs):  # interleaved, so drift on the machine hits both sides alike
        empty_logs(engine)
        rate, run_costs = batched_run(engine, project_id, server_id, options.calls, options.threads)
        batched.append(rate)
        costs.extend(run_costs)
        empty_logs(engine)
        baseline.append(baseline_run(engine, project_id, server_id, options.baseline_calls))
    costs.sort()
    b, o = statistics.median(batched), statistics.median(baseline)
    print(f"\n{name}")
    print(f"  batched writer   {b:>9,.0f} calls/s  runs: {', '.join(f'{r:,.0f}' for r in batched)}")
    print(
        f"  1 tx per call    {o:>9,.0f} calls/s  runs: {', '.join(f'{r:,.0f}' for r in baseline)}"
    )
    print(f"  ratio            {b / o:>9.1f} x")
    p50, p99 = costs[len(costs) // 2] / 1000, costs[int(len(costs) * 0.99)] / 1000
    print(
        f"  submit cost      p50 {p50:.1f} us, p99 {p99:.1f} us, max {costs[-1] / 1000:.0f} us "
        f"(tool call + session touch, {options.threads} submitting thread(s))"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--baseline-calls", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="submitting threads")
    options = parser.parse_args()
    print(
        f"{options.calls:,} calls batched ({options.threads} thread(s)), {options.baseline_calls:,} "
        f"one-per-transaction; median of {options.runs} runs"
    )
    with tempfile.TemporaryDirectory(prefix="mcp-orch-bench-") as folder:
        engine = sqlite_engine(Path(folder))
        bench("SQLite (WAL)", engine, options)
        engine.dispose()
    url = os.environ.get("MCP_ORCH_TEST_POSTGRES_URL")
    if not url:
        print("\nPostgreSQL skipped: set MCP_ORCH_TEST_POSTGRES_URL")
        return
    engine = postgres_engine(url)
    try:
        bench("PostgreSQL", engine, options)
    finally:
        engine.dispose()
        drop_postgres_schema(url)


if __name__ == "__main__":
    main()
