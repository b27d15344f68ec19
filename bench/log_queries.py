"""Log viewer queries on a large PostgreSQL table: the query service against 1,000,000 calls.

    .venv/bin/python -m bench.log_queries [--rows 1000000] [--runs 50] [--baseline-runs 5]
                                          [--explain] [--keep]

Builds its own database (``MCP_ORCH_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/mcp_orch_bench_log_queries``) with the real migration
chain, bulk-loads ``--rows`` tool calls spread evenly over 30 days in 3 projects (60 %, 25 %
and 15 % of the calls) with COPY, and times what the log viewer and the metrics page ask for,
through the services themselves (access check included), as the owner of the busiest project:

- default: the viewer's first page (last 30 minutes, newest 50);
- status+tool: the errors of one tool over 7 days, newest 50;
- page 201: the 201st page of 7 days of calls, fetched with the keyset cursor of page 200;
- text "...": free-text search over 7 days, newest 50 (a common word, a rarer one, a file
  name in 0.2 % of the calls, and a word in none);
- refresh: the viewer's 30-second refresh over 7 days when no call came since;
- metrics 24 h: every figure of the metrics page for the last 24 hours.

Each query runs ``--runs`` times, interleaved; printed are the median and p95 in ms against
the 100 ms target. The baseline runs the same service calls in a transaction that dropped the
log table's own indexes, trigram index included (rolled back afterwards; the primary key stays);
page 201 is also set against the OFFSET query it replaces. ``--explain`` prints the plan
(EXPLAIN ANALYZE) of each query's tool_call_logs statements. The database is dropped at the end
unless ``--keep`` is given; a kept database holding ``--rows`` calls is reused by the next run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, select

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from mcp_orch_app.config import _normalise_database_url  # noqa: E402
from mcp_orch_app.migrations import alembic_config, upgrade_to_head  # noqa: E402
from mcp_orch_app.models import (  # noqa: E402
    ClientSession,
    McpServer,
    Project,
    ProjectMember,
    Role,
    ToolCallLog,
    User,
)
from mcp_orch_app.services import tool_calls  # noqa: E402
from mcp_orch_app.services.principal import Actor  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/mcp_orch_bench_log_queries"
SPAN = timedelta(days=30)
WEEK = timedelta(days=7)
TARGET_MS = 100.0
PROJECTS = (("Apollo", 0.60), ("Gemini", 0.25), ("Mercury", 0.15))
SESSIONS_PER_PROJECT = 300
COPY_BATCH = 50_000
PAGE = 50
# The deep page fetched with the cursor of the page before it, and by OFFSET as the baseline.
DEEP_PAGE = 201
COPY_COLUMNS = (
    "project_id, server_id, server_name, tool_name, session_id, client_name, arguments, "
    "result, status, error_code, error_message, duration_ms, created_at"
)
STATUSES = {"success": 0.93, "error": 0.045, "timeout": 0.015, "cancelled": 0.01}
ERRORS = {
    "error": (
        ("UPSTREAM_ERROR", "permission denied for table {word}"),
        ("UPSTREAM_ERROR", "ENOENT: no such file or directory, open '{path}'"),
        ("INVALID_PARAMETERS", "'{word}' is a required property"),
        ("UPSTREAM_UNAVAILABLE", "connect ECONNREFUSED 10.0.4.{n}:5432"),
        ("TOOL_DISABLED", "The tool is disabled in this project."),
    ),
    "timeout": (("TIMEOUT", "No answer within {n} s; the call may still run upstream."),),
}
CLIENTS = ("Cursor", "Cline", "Claude Code", "Visual Studio Code", "MCP Inspector")
# One line per theme reads better than a list literal of 61 words.
WORDS = (  # noqa: SIM905
    "invoice customer order payment refund shipment warehouse ledger account balance "
    "migration schema index vacuum replica cluster deploy release rollback canary "
    "latency throughput budget forecast quarter revenue churn cohort funnel signup "
    "kubernetes container helm chart ingress secret volume namespace pod node "
    "markdown heading table image link footnote draft review approve merge branch "
    "weather sunrise humidity pressure wind storm coast valley harbour meadow"
).split()
CITIES = ("Paris", "Zürich", "Lisbon", "Osaka", "Nairobi", "Toronto", "Wellington", "Oslo")
SEARCHES = ("invoice", "Wellington", "checkout_flow.py", "zebra-crossing")


# --- realistic calls: tool -> (server, its arguments and result) ---------------------------


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def _path(rng: random.Random) -> str:
    name = "checkout_flow" if rng.random() < 0.002 else f"{rng.choice(WORDS)}_{rng.randrange(90)}"
    return f"/srv/repo/src/{rng.choice(WORDS)}/{name}.py"


def _text(text: str) -> dict:
    return {"content": [{"type": "text", "text": text}], "isError": False}


def _read_file(rng: random.Random) -> tuple[dict, dict]:
    lines = [f"def {rng.choice(WORDS)}_{n}():\n    return {n}" for n in range(rng.randrange(3, 12))]
    return {"path": _path(rng)}, _text("\n".join(lines))


def _list_directory(rng: random.Random) -> tuple[dict, dict]:
    names = [f"[FILE] {rng.choice(WORDS)}.md" for _ in range(rng.randrange(2, 15))]
    return {"path": f"/srv/repo/{rng.choice(WORDS)}"}, _text("\n".join(names))


def _query(rng: random.Random) -> tuple[dict, dict]:
    sql = f"SELECT id, name FROM {rng.choice(WORDS)} WHERE {rng.choice(WORDS)}_id = $1 LIMIT 50"
    rows = [
        {"id": rng.randrange(10**6), "name": rng.choice(WORDS)} for _ in range(rng.randrange(6))
    ]
    return {"sql": sql, "params": [rng.randrange(10**5)]}, _text(json.dumps(rows))


def _search_issues(rng: random.Random) -> tuple[dict, dict]:
    arguments = {"repo": f"acme/{rng.choice(WORDS)}", "q": _words(rng, 3), "state": "open"}
    return arguments, _text(f"{rng.randrange(40)} issues: {_words(rng, 12)}")


def _create_issue(rng: random.Random) -> tuple[dict, dict]:
    arguments = {
        "repo": f"acme/{rng.choice(WORDS)}",
        "title": _words(rng, 5),
        "body": _words(rng, 30),
    }
    return arguments, _text(f"Created issue #{rng.randrange(9000)}")


def _forecast(rng: random.Random) -> tuple[dict, dict]:
    city = rng.choice(CITIES)
    summary = f"{city}: {_words(rng, 8)}, {rng.randrange(-5, 35)} °C"
    return {"city": city, "days": rng.randrange(1, 7)}, _text(summary)


def _fetch(rng: random.Random) -> tuple[dict, dict]:
    url = f"https://docs.example.com/{rng.choice(WORDS)}/{rng.choice(WORDS)}"
    page = f"# {rng.choice(WORDS).title()}\n\n{_words(rng, 60)}"
    return {"url": url, "max_length": 5000}, _text(page)


# name: (server, make arguments and result, weight)
TOOLS: dict[str, tuple[str, Callable[[random.Random], tuple[dict, dict]], int]] = {
    "read_file": ("filesystem", _read_file, 25),
    "list_directory": ("filesystem", _list_directory, 10),
    "query": ("postgres", _query, 25),
    "search_issues": ("github", _search_issues, 12),
    "create_issue": ("github", _create_issue, 3),
    "get_forecast": ("weather", _forecast, 10),
    "fetch": ("fetch", _fetch, 15),
}


@dataclass
class BenchProject:
    id: uuid.UUID
    share: float
    servers: dict[str, uuid.UUID]
    sessions: list[tuple[uuid.UUID, str]]


def _copy_field(value: object) -> str:
    if value is None:
        return r"\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _copy_lines(projects: list[BenchProject], rows: int, newest: datetime) -> Iterator[str]:
    """COPY lines of ``rows`` calls, oldest first, evenly spread over :data:`SPAN`."""
    rng = random.Random(20261126)
    tools, weights = list(TOOLS), [weight for _, _, weight in TOOLS.values()]
    shares = [project.share for project in projects]
    step = SPAN / rows
    for n in range(rows):
        project = rng.choices(projects, shares)[0]
        tool = rng.choices(tools, weights)[0]
        server, make, _ = TOOLS[tool]
        arguments, result = make(rng)
        status = rng.choices(list(STATUSES), list(STATUSES.values()))[0]
        code = message = None
        if status in ERRORS:
            code, template = rng.choice(ERRORS[status])
            message = template.format(word=rng.choice(WORDS), path=_path(rng), n=rng.randrange(60))
            result = None
        session_id, client = rng.choice(project.sessions) if rng.random() < 0.8 else (None, None)
        line = (
            project.id,
            project.servers[server],
            server,
            tool,
            session_id,
            client,
            json.dumps(arguments, ensure_ascii=False),
            json.dumps(result, ensure_ascii=False) if result is not None else None,
            status,
            code,
            message,
            30_000 if status == "timeout" else int(rng.lognormvariate(4.0, 1.1)),
            (newest - SPAN + step * (n + 1)).isoformat(),
        )
        yield "\t".join(map(_copy_field, line)) + "\n"


# --- the database ----------------------------------------------------------------------------


def _admin(url: str) -> Engine:
    server = sa.engine.make_url(_normalise_database_url(url)).set(database="postgres")
    return sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_database(url: str) -> bool:
    """Create the bench database; False when it exists already (left by ``--keep``)."""
    name = sa.engine.make_url(url).database
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            query = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
            if conn.execute(query, {"name": name}).first():
                return False
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            name = sa.engine.make_url(url).database
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _people_and_projects(engine: Engine) -> list[BenchProject]:
    projects = []
    with Session(engine) as s:
        user = User(email="bench@example.com", name="Bench", password_hash="-")
        s.add(user)
        s.flush()
        for name, share in PROJECTS:
            project = Project(name=name, created_by=user.id)
            s.add(project)
            s.flush()
            s.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER))
            servers = {}
            for server_name in sorted({server for server, _, _ in TOOLS.values()}):
                server = McpServer(project_id=project.id, name=server_name, command="npx")
                s.add(server)
                s.flush()
                servers[server_name] = server.id
            sessions = []
            for n in range(SESSIONS_PER_PROJECT):
                client = CLIENTS[n % len(CLIENTS)]
                session = ClientSession(project_id=project.id, client_name=client)
                s.add(session)
                sessions.append((session.id, client))
            projects.append(BenchProject(project.id, share, servers, sessions))
        s.commit()
    return projects


def load(url: str, rows: int) -> None:
    """Schema up to 0001, the calls through COPY, then the later revisions (the trigram
    index is built once over the loaded table, as on an instance upgraded with its logs)."""
    engine = sa.create_engine(_normalise_database_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
        projects = _people_and_projects(engine)
        began = time.perf_counter()
        lines = _copy_lines(projects, rows, datetime.now(UTC).replace(microsecond=0))
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for done in range(0, rows, COPY_BATCH):
                batch = io.StringIO("".join(islice(lines, COPY_BATCH)))
                cursor.copy_expert(f"COPY tool_call_logs ({COPY_COLUMNS}) FROM STDIN", batch)
                print(f"  {min(done + COPY_BATCH, rows):>9,} calls loaded", file=sys.stderr)
            raw.commit()
        finally:
            raw.close()
        print(f"  COPY: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    finally:
        engine.dispose()
    began = time.perf_counter()
    upgrade_to_head(url)
    engine = sa.create_engine(
        _normalise_database_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"  later revisions and ANALYZE: {time.perf_counter() - began:.0f} s", file=sys.stderr)


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Query:
    name: str
    run: Callable[[Session], object]
    times_ms: list[float] = field(default_factory=list)
    baseline_ms: list[float] = field(default_factory=list)


def _busiest(engine: Engine) -> tuple[Actor, uuid.UUID, datetime]:
    """The owner, the busiest project and its newest call (the "now" of the data)."""
    with Session(engine) as s:
        user = s.exec(select(User)).one()
        project = s.exec(select(Project).where(Project.name == PROJECTS[0][0])).one()
        newest = s.exec(
            select(sa.func.max(ToolCallLog.created_at)).where(ToolCallLog.project_id == project.id)
        ).one()
    return Actor(user.id, user.email, user.name, False), project.id, newest


def _offset_page(project_id: uuid.UUID, since: datetime, offset: int):
    """What paging by OFFSET would send for the same page (the baseline of the cursor)."""

    def run(db: Session):
        return db.exec(
            select(ToolCallLog)
            .where(ToolCallLog.project_id == project_id, ToolCallLog.created_at >= since)
            .order_by(col(ToolCallLog.created_at).desc(), col(ToolCallLog.id).desc())
            .offset(offset)
            .limit(PAGE + 1)
        ).all()

    return run


def build_queries(engine: Engine) -> tuple[list[Query], Query]:
    actor, pid, newest = _busiest(engine)
    week = newest - WEEK

    def listing(**filters):
        return lambda db: tool_calls.list_tool_calls(db, actor, pid, limit=PAGE, **filters)

    with Session(engine) as s:
        newest_id = tool_calls.list_tool_calls(s, actor, pid, since=week, limit=1).items[0].id
        cursor = None
        for _ in range(DEEP_PAGE - 1):
            cursor = tool_calls.list_tool_calls(
                s, actor, pid, since=week, limit=PAGE, cursor=cursor
            ).next_cursor
    queries = [
        Query("default (30 min)", listing(since=newest - timedelta(minutes=30))),
        Query("status+tool 7 d", listing(since=week, status="error", tool="query")),
        Query(f"page {DEEP_PAGE}, 7 d", listing(since=week, cursor=cursor)),
        *[Query(f"text {term!r} 7 d", listing(since=week, q=term)) for term in SEARCHES],
        # The viewer's 30-second refresh when nothing new came: calls after the newest shown.
        Query("refresh 7 d, none new", listing(since=week, newer_than=newest_id)),
        Query(
            "metrics 24 h",
            lambda db: tool_calls.tool_call_metrics(
                db, actor, pid, since=newest - timedelta(hours=24), until=newest
            ),
        ),
    ]
    offset = (DEEP_PAGE - 1) * PAGE
    return queries, Query(f"page {DEEP_PAGE} by OFFSET", _offset_page(pid, week, offset))


def _timed(run: Callable[[Session], object], db: Session) -> float:
    began = time.perf_counter()
    run(db)
    return (time.perf_counter() - began) * 1000


def measure(engine: Engine, queries: list[Query], runs: int) -> None:
    for query in queries:  # warm the caches
        with Session(engine) as s:
            query.run(s)
    for _ in range(runs):
        for query in queries:
            with Session(engine) as s:
                query.times_ms.append(_timed(query.run, s))


@contextmanager
def without_log_indexes(engine: Engine) -> Iterator[Session]:
    """A session whose transaction dropped every index of tool_call_logs but its primary key;
    rolled back on exit, so nothing has to be rebuilt."""
    with engine.connect() as conn:
        transaction = conn.begin()
        names = [
            index["name"]
            for index in sa.inspect(conn).get_indexes("tool_call_logs")
            if index["name"].startswith("ix_tool_call_logs_")
        ]
        for name in names:
            conn.execute(sa.text(f"DROP INDEX {name}"))
        try:
            yield Session(bind=conn)
        finally:
            transaction.rollback()


def measure_baseline(engine: Engine, queries: list[Query], runs: int) -> None:
    with without_log_indexes(engine) as s:
        for _ in range(runs):
            for query in queries:
                query.baseline_ms.append(_timed(query.run, s))


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, object]]]:
    """The tool_call_logs statements the engine sends inside the block."""
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "tool_call_logs" in statement:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def explain(engine: Engine, queries: list[Query]) -> None:
    for query in queries:
        with statements(engine) as seen, Session(engine) as s:
            query.run(s)
        print(f"\n=== {query.name}")
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in seen:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
                print("\n".join(row[0] for row in cursor.fetchall()), end="\n\n")
        finally:
            raw.close()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def report(queries: list[Query], offset: Query) -> None:
    print(f"\n{'query':<28}{'median':>9}{'p95':>9}   {'baseline median':>15}{'p95':>9}{'ratio':>8}")
    for query in queries:
        median, p95 = statistics.median(query.times_ms), _p95(query.times_ms)
        base_median, base_p95 = statistics.median(query.baseline_ms), _p95(query.baseline_ms)
        verdict = "ok" if p95 < TARGET_MS else f"MISSES {TARGET_MS:.0f} ms"
        print(
            f"{query.name:<28}{median:>9.1f}{p95:>9.1f}   {base_median:>15.1f}{base_p95:>9.1f}"
            f"{base_p95 / p95:>7.0f}x  {verdict}"
        )
    cursor_page = next(q for q in queries if q.name.startswith(f"page {DEEP_PAGE}"))
    print(
        f"\npage {DEEP_PAGE} with the cursor: median {statistics.median(cursor_page.times_ms):.1f}"
        f" ms, p95 {_p95(cursor_page.times_ms):.1f} ms; by OFFSET {(DEEP_PAGE - 1) * PAGE}: "
        f"median {statistics.median(offset.times_ms):.1f} ms, p95 {_p95(offset.times_ms):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run")
    options = parser.parse_args()
    url = os.environ.get("MCP_ORCH_BENCH_POSTGRES_URL", DEFAULT_URL)
    # Index builds of the load get more memory than PostgreSQL's 64 MB default.
    os.environ.setdefault("PGOPTIONS", "-c maintenance_work_mem=512MB")
    engine = sa.create_engine(_normalise_database_url(url), pool_size=2)
    try:
        if create_database(url):
            print(f"loading {options.rows:,} calls over 30 days", file=sys.stderr)
            load(url, options.rows)
        else:
            with Session(engine) as s:
                present = s.exec(select(sa.func.count()).select_from(ToolCallLog)).one()
            if present != options.rows:
                raise SystemExit(
                    f"{url} exists with {present:,} calls, not {options.rows:,}: "
                    "drop it or pass --rows to match"
                )
            print(f"reusing the {present:,} calls kept in {url}", file=sys.stderr)
        queries, offset = build_queries(engine)
        measure(engine, [*queries, offset], options.runs)
        measure_baseline(engine, queries, options.baseline_runs)
        print(
            f"{options.rows:,} calls over 30 days, 3 projects (60/25/15 %); busiest project; "
            f"{options.runs} runs (baseline: {options.baseline_runs} runs without the log indexes)"
        )
        report(queries, offset)
        if options.explain:
            explain(engine, queries)
    finally:
        engine.dispose()
        if not options.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
