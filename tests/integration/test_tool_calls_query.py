"""The tool-call query service: every filter and the free-text search return exactly the
matching rows, pages walk every row once, and the metrics add up (SQLite and PostgreSQL).

Rows are recorded through the real log writer (the gateway's path to the table) with chosen
timestamps; each row carries a ``label`` in its arguments so a result reads as a set of labels.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.models import ToolCallLog
from mcp_orch_app.models.enums import ToolCallErrorCode, ToolCallStatus
from mcp_orch_app.services import projects, servers, tool_calls
from mcp_orch_app.services.errors import InvalidInput, NotFound, PermissionDenied
from mcp_orch_app.services.schemas import ServerIn


@dataclass
class Recorded:
    owner: object
    project_id: uuid.UUID
    alpha: uuid.UUID
    beta: uuid.UUID
    first_session: uuid.UUID
    second_session: uuid.UUID
    now: datetime

    def labels(self, engine, **filters) -> set[str]:
        page = query(engine, self, **filters)
        return {item.arguments["label"] for item in page.items}


def query(engine, recorded: Recorded, **filters):
    with db.session_scope(engine) as s:
        return tool_calls.list_tool_calls(s, recorded.owner.actor, recorded.project_id, **filters)


def metrics(engine, recorded: Recorded, **kwargs):
    with db.session_scope(engine) as s:
        return tool_calls.tool_call_metrics(s, recorded.owner.actor, recorded.project_id, **kwargs)


@pytest.fixture
def writer(engine):
    log_writer = LogWriter(engine, flush_interval=0.05)
    yield log_writer
    log_writer.close(timeout=10)


@pytest.fixture
def project(engine, make_person):
    owner = make_person("Olivia")
    with db.session_scope(engine) as s:
        pid = projects.create_project(s, owner.actor, "Apollo").id
        alpha = servers.create_server(s, owner.actor, pid, ServerIn(name="alpha", command="uvx"))
        beta = servers.create_server(s, owner.actor, pid, ServerIn(name="beta", command="uvx"))
        other = projects.create_project(s, owner.actor, "Zeus").id
        zeus = servers.create_server(s, owner.actor, other, ServerIn(name="alpha", command="uvx"))
    return owner, pid, alpha.id, beta.id, other, zeus.id


@pytest.fixture
def recorded(engine, project, writer) -> Recorded:
    """Five calls in the last 30 minutes, one older, and one in another project."""
    owner, pid, alpha, beta, other, zeus = project
    now = datetime.now(UTC)
    first = writer.open_client_session(project_id=pid, server_id=alpha, client_name="Cursor")
    second = writer.open_client_session(project_id=pid, server_id=None, client_name="Cline")
    rows = [
        # label, server, tool, status, code, message, ms, minutes ago, session, extra args, result
        ("a1", alpha, "get_time", "success", None, None, 10, 1, first, {"city": "Paris"},
         {"text": "noon in Paris"}),
        ("a2", alpha, "get_time", "error", ToolCallErrorCode.UPSTREAM_ERROR, "upstream exploded",
         20, 2, first, {"city": "Zürich"}, None),
        ("a3", alpha, "convert", "timeout", ToolCallErrorCode.TIMEOUT, "timed out after 5 s",
         5000, 3, second, {"from": "UTC"}, None),
        ("b1", beta, "echo", "success", None, None, 30, 4, second,
         {"text": "100% sure_thing"}, {"text": "100% sure_thing"}),
        ("b2", beta, "echo", "cancelled", None, None, 40, 5, None, {"text": "bye"}, None),
        ("old", alpha, "get_time", "success", None, None, 10, 45, first, {"city": "Paris"}, None),
    ]  # fmt: skip
    for label, server, tool, status, code, message, ms, ago, session, args, result in rows:
        writer.submit_tool_call(
            project_id=pid,
            server_id=server,
            server_name="alpha" if server == alpha else "beta",
            tool_name=tool,
            status=status,
            error_code=code,
            error_message=message,
            duration_ms=ms,
            session_id=session,
            client_name="Cursor" if session == first else "Cline",
            arguments={"label": label, **args},
            result=result,
            created_at=now - timedelta(minutes=ago),
        )
    writer.submit_tool_call(
        project_id=other,
        server_id=zeus,
        server_name="alpha",
        tool_name="get_time",
        arguments={"label": "zeus", "city": "Paris"},
        created_at=now - timedelta(minutes=1),
    )
    assert writer.flush(timeout=10)
    return Recorded(owner, pid, alpha, beta, first, second, now)


RECENT = {"a1", "a2", "a3", "b1", "b2"}


def test_default_range_is_the_last_30_minutes_of_this_project_only(engine, recorded):
    assert recorded.labels(engine) == RECENT


def test_since_and_until_bound_the_range(engine, recorded):
    now = recorded.now
    assert recorded.labels(engine, since=now - timedelta(hours=1)) == RECENT | {"old"}
    window = {"since": now - timedelta(hours=1), "until": now - timedelta(minutes=3, seconds=30)}
    assert recorded.labels(engine, **window) == {"b1", "b2", "old"}
    # Without since, the 30 minutes before until.
    assert recorded.labels(engine, until=now - timedelta(minutes=2, seconds=30)) == {
        "a3",
        "b1",
        "b2",
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("error", {"a2"}),
        (["error", "timeout"], {"a2", "a3"}),
        ("error,timeout", {"a2", "a3"}),
        (["success"], {"a1", "b1"}),
        ("cancelled", {"b2"}),
    ],
)
def test_status_filter_takes_one_or_several(engine, recorded, status, expected):
    assert recorded.labels(engine, status=status) == expected


def test_server_tool_and_session_filters(engine, recorded):
    assert recorded.labels(engine, server_id=recorded.beta) == {"b1", "b2"}
    assert recorded.labels(engine, tool="get_time") == {"a1", "a2"}
    # The unified name clients see (server__tool) finds the same calls.
    assert recorded.labels(engine, tool="alpha__get_time") == {"a1", "a2"}
    assert recorded.labels(engine, tool="beta__get_time") == set()
    assert recorded.labels(engine, tool="beta__echo") == {"b1", "b2"}
    assert recorded.labels(engine, session_id=recorded.second_session) == {"a3", "b1"}
    assert recorded.labels(engine, session_id=str(recorded.first_session)) == {"a1", "a2"}
    assert recorded.labels(engine, session_id=uuid.uuid4()) == set()


def test_duration_range(engine, recorded):
    assert recorded.labels(engine, min_ms=25) == {"b1", "b2", "a3"}
    assert recorded.labels(engine, max_ms=25) == {"a1", "a2"}
    assert recorded.labels(engine, min_ms=20, max_ms=40) == {"a2", "b1", "b2"}


def test_filters_combine(engine, recorded):
    assert recorded.labels(engine, status="success", server_id=recorded.alpha) == {"a1"}
    assert recorded.labels(engine, q="paris", since=recorded.now - timedelta(hours=1)) == {
        "a1",
        "old",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paris", {"a1"}),  # arguments, any case; the other project's Paris call is not shown
        ("NOON", {"a1"}),  # result
        ("exploded", {"a2"}),  # error message
        ("Zürich", {"a2"}),  # non-ASCII
        ("sure_thing", {"b1"}),
        ("_", {"b1"}),  # LIKE wildcards are searched for literally
        ("%", {"b1"}),
        ("100% sure", {"b1"}),
        ("no such text", set()),
    ],
)
def test_free_text_search_finds_exactly_the_matching_rows(engine, recorded, text, expected):
    assert recorded.labels(engine, q=text) == expected


def test_items_carry_the_contract_fields(engine, recorded):
    page = query(engine, recorded, status="error")
    (item,) = page.items
    assert page.next_cursor is None
    assert item.server_name == "alpha"
    assert item.tool_name == "get_time"
    assert item.status == ToolCallStatus.ERROR
    assert item.error_code == "UPSTREAM_ERROR"
    assert item.error_message == "upstream exploded"
    assert item.duration_ms == 20
    assert item.arguments == {"label": "a2", "city": "Zürich"}
    assert item.result is None
    assert item.session_id == recorded.first_session
    assert item.client_name == "Cursor"
    assert abs(item.created_at - (recorded.now - timedelta(minutes=2))) < timedelta(seconds=1)


def test_newest_first(engine, recorded):
    page = query(engine, recorded)
    assert [item.arguments["label"] for item in page.items] == ["a1", "a2", "a3", "b1", "b2"]


def test_pages_walk_every_row_exactly_once_when_rows_share_timestamps(engine, project, writer):
    owner, pid, alpha, *_ = project
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    for n in range(23):
        writer.submit_tool_call(
            project_id=pid,
            server_id=alpha,
            server_name="alpha",
            tool_name="echo",
            arguments={"n": n},
            # Groups of five share one timestamp, so a page boundary falls inside a group.
            created_at=start + timedelta(seconds=n // 5),
        )
    assert writer.flush(timeout=10)
    recorded = Recorded(owner, pid, alpha, alpha, uuid.uuid4(), uuid.uuid4(), start)

    seen: list[int] = []
    pages = 0
    cursor = None
    while True:
        page = query(engine, recorded, limit=4, cursor=cursor)
        pages += 1
        seen += [item.arguments["n"] for item in page.items]
        keys = [(item.created_at, item.id) for item in page.items]
        assert keys == sorted(keys, reverse=True)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 6
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == set(range(23))
    # Newest group first; within a timestamp, the newest id first.
    assert seen[:5] == [22, 21, 20, 19, 18]


def test_cursor_keeps_the_default_range_of_its_first_page(engine, recorded, writer):
    first = query(engine, recorded, limit=3)
    assert first.next_cursor
    rest = query(engine, recorded, limit=3, cursor=first.next_cursor)
    labels = [i.arguments["label"] for i in first.items + rest.items]
    assert labels == ["a1", "a2", "a3", "b1", "b2"]
    assert rest.next_cursor is None


def test_newer_than_keeps_the_calls_recorded_after_a_call(engine, recorded, writer):
    # What a viewer showing the listing passes: the highest id it shows.
    last_seen = max(item.id for item in query(engine, recorded).items)
    assert recorded.labels(engine, newer_than=last_seen) == set()
    assert recorded.labels(engine, newer_than=last_seen - 1) == {"b2"}
    for label, status, minutes_ago in (("late", "success", 10), ("fresh", "error", 0)):
        writer.submit_tool_call(
            project_id=recorded.project_id,
            server_id=recorded.alpha,
            server_name="alpha",
            tool_name="echo",
            status=status,
            arguments={"label": label},
            # "late" ended before rows already shown but is written after them.
            created_at=recorded.now - timedelta(minutes=minutes_ago),
        )
    assert writer.flush(timeout=10)

    page = query(engine, recorded, newer_than=last_seen)
    assert [item.arguments["label"] for item in page.items] == ["fresh", "late"]
    assert recorded.labels(engine, newer_than=last_seen, status="error") == {"fresh"}
    assert recorded.labels(engine, newer_than=str(last_seen), q="late") == {"late"}


def test_one_call_reads_back_whole_from_its_own_project_only(
    engine, project, recorded, make_person
):
    owner, pid, _alpha, _beta, other, _zeus = project
    listed = query(engine, recorded, status="error").items[0]
    with db.session_scope(engine) as s:
        assert tool_calls.get_tool_call(s, owner.actor, pid, str(listed.id)) == listed
        zeus_call = tool_calls.list_tool_calls(s, owner.actor, other).items[0]
        with pytest.raises(NotFound):
            tool_calls.get_tool_call(s, owner.actor, pid, zeus_call.id)
        with pytest.raises(PermissionDenied):
            tool_calls.get_tool_call(s, make_person("stranger").actor, pid, listed.id)
        for bad in ("abc", -5, 2**63):
            with pytest.raises(InvalidInput, match="tool call id"):
                tool_calls.get_tool_call(s, owner.actor, pid, bad)


@pytest.mark.parametrize(
    "filters",
    [
        {"cursor": "not-a-cursor"},
        {"status": "exploded"},
        {"limit": 0},
        {"limit": 201},
        {"min_ms": 10, "max_ms": 5},
        {"session_id": "nope"},
        {"q": "x" * 201},
        {"newer_than": -1},
        {"newer_than": "the last one"},
    ],
    ids=[
        "cursor",
        "status",
        "limit_0",
        "limit_201",
        "durations",
        "session",
        "long_q",
        "newer_than_negative",
        "newer_than_text",
    ],
)
def test_bad_filters_are_refused(engine, recorded, filters):
    with pytest.raises(InvalidInput):
        query(engine, recorded, **filters)


def test_since_after_until_is_refused(engine, recorded):
    with pytest.raises(InvalidInput, match="earlier"):
        query(engine, recorded, since=recorded.now, until=recorded.now - timedelta(minutes=1))


# --- metrics -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "seconds"),
    [
        (timedelta(minutes=15), 60),
        (timedelta(hours=1), 60),
        (timedelta(hours=1, seconds=20), 60),
        (timedelta(hours=1, minutes=5), 300),
        (timedelta(hours=3), 300),
        (timedelta(hours=6), 300),
        (timedelta(hours=24), 3600),
        (timedelta(days=2), 3600),
        (timedelta(days=7), 86400),
        (timedelta(days=30), 86400),
        (timedelta(days=1500), 3 * 86400),
    ],
)
def test_timeline_bucket_width_follows_the_range(span, seconds):
    until = datetime(2026, 1, 1, tzinfo=UTC)
    assert tool_calls.bucket_seconds(until - span, until) == seconds


def test_metrics_on_a_known_data_set(engine, project, writer):
    owner, pid, alpha, beta, other, _ = project
    # A range of exactly one hour on minute boundaries: 60 one-minute buckets.
    until = datetime.now(UTC).replace(second=0, microsecond=0)
    since = until - timedelta(hours=1)
    calls = [
        # server, tool, status, error code, ms, minute of the range
        ("alpha", "get_time", "success", None, 10, 0),
        ("alpha", "get_time", "success", None, 20, 0),
        ("alpha", "get_time", "success", None, 30, 5),
        ("beta", "echo", "success", None, 40, 59),
        ("alpha", "get_time", "error", "UPSTREAM_ERROR", 50, 5),
        ("beta", "echo", "error", "TOOL_DISABLED", 60, 30),
        ("alpha", "convert", "timeout", "TIMEOUT", 100, 30),
        ("beta", "echo", "cancelled", None, 70, 30),
    ]
    for server, tool, status, code, ms, minute in calls:
        writer.submit_tool_call(
            project_id=pid,
            server_id=alpha if server == "alpha" else beta,
            server_name=server,
            tool_name=tool,
            status=status,
            error_code=code,
            duration_ms=ms,
            created_at=since + timedelta(minutes=minute, seconds=30),
        )
    # Outside the range (before, at the exclusive end) or in another project: not counted.
    for at in (since - timedelta(seconds=1), until):
        writer.submit_tool_call(
            project_id=pid, server_name="alpha", tool_name="get_time", created_at=at
        )
    writer.submit_tool_call(
        project_id=other, server_name="alpha", tool_name="x", created_at=since + timedelta(1 / 48)
    )
    assert writer.flush(timeout=10)
    recorded = Recorded(owner, pid, alpha, beta, uuid.uuid4(), uuid.uuid4(), until)

    m = metrics(engine, recorded, since=since, until=until)

    assert (m.total, m.success, m.error, m.timeout, m.cancelled) == (8, 4, 2, 1, 1)
    assert m.success_rate == 0.5
    assert m.avg_ms == 47.5  # 380 / 8
    # percentile_cont: position 0.95 * 7 = 6.65 between 70 and 100 -> 70 + 0.65 * 30
    assert m.p95_ms == pytest.approx(89.5)
    assert [(t.server_name, t.tool_name, t.total, t.success, t.error, t.timeout) for t in m.by_tool] == [
        ("alpha", "get_time", 4, 3, 1, 0),
        ("beta", "echo", 3, 1, 1, 0),
        ("alpha", "convert", 1, 0, 0, 1),
    ]  # fmt: skip
    assert m.by_tool[0].avg_ms == 27.5
    assert [(e.error_code, e.count) for e in m.by_error_code] == [
        ("TIMEOUT", 1),
        ("TOOL_DISABLED", 1),
        ("UPSTREAM_ERROR", 1),
    ]
    assert m.bucket_seconds == 60
    assert len(m.timeline) == 60
    assert m.timeline[0].start == since
    assert [b.start for b in m.timeline] == [since + timedelta(minutes=i) for i in range(60)]
    busy = {
        i: (b.total, b.success, b.error, b.timeout) for i, b in enumerate(m.timeline) if b.total
    }
    assert busy == {0: (2, 2, 0, 0), 5: (2, 1, 1, 0), 30: (3, 0, 1, 1), 59: (1, 1, 0, 0)}
    assert sum(b.total for b in m.timeline) == m.total


def test_metrics_filter_by_server(engine, recorded):
    figures = metrics(engine, recorded, server_id=recorded.beta)
    assert (figures.total, figures.success, figures.cancelled) == (2, 1, 1)
    assert {(row.server_name, row.tool_name) for row in figures.by_tool} == {("beta", "echo")}
    assert metrics(engine, recorded, server_id=str(recorded.alpha)).total == 3
    with pytest.raises(NotFound):
        metrics(engine, recorded, server_id=uuid.uuid4())


def test_metrics_of_an_empty_range(engine, recorded):
    until = datetime(2020, 1, 1, 6, tzinfo=UTC)
    m = metrics(engine, recorded, since=until - timedelta(hours=6), until=until)
    assert (m.total, m.success, m.error, m.timeout) == (0, 0, 0, 0)
    assert m.success_rate is None and m.avg_ms is None and m.p95_ms is None
    assert m.by_tool == [] and m.by_error_code == []
    assert m.bucket_seconds == 300
    assert len(m.timeline) == 72
    assert all(b.total == 0 for b in m.timeline)


def test_metrics_default_to_the_last_30_minutes(engine, recorded):
    m = metrics(engine, recorded)
    assert m.total == 5  # the "old" call and the other project's call are outside
    assert m.until - m.since == timedelta(minutes=30)
    assert m.p95_ms is not None


def test_metrics_refuse_since_after_until(engine, recorded):
    with pytest.raises(InvalidInput):
        metrics(engine, recorded, since=recorded.now, until=recorded.now - timedelta(hours=1))


# --- over REST ---------------------------------------------------------------------------------

CONTRACT_ITEM_FIELDS = {
    "id",
    "created_at",
    "server_name",
    "tool_name",
    "status",
    "error_code",
    "error_message",
    "duration_ms",
    "arguments",
    "result",
    "session_id",
    "client_name",
}
CONTRACT_METRICS_FIELDS = {
    "total",
    "success",
    "error",
    "timeout",
    "success_rate",
    "avg_ms",
    "p95_ms",
    "by_tool",
    "by_error_code",
    "timeline",
}


def test_rest_list_takes_repeated_filters_and_pages_with_next_cursor(api_client, recorded):
    path = f"/api/projects/{recorded.project_id}/tool-calls"
    headers = recorded.owner.headers
    labels = []
    params = {"status": ["success", "error", "timeout"], "limit": 2}
    while True:
        response = api_client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        for item in body["items"]:
            assert set(item) >= CONTRACT_ITEM_FIELDS
            labels.append(item["arguments"]["label"])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert labels == ["a1", "a2", "a3", "b1"]

    searched = api_client.get(path, params={"q": "Zürich", "tool": "get_time"}, headers=headers)
    assert [i["arguments"]["label"] for i in searched.json()["items"]] == ["a2"]


def test_rest_metrics_filter_by_server(api_client, recorded):
    response = api_client.get(
        f"/api/projects/{recorded.project_id}/tool-calls/metrics",
        params={"server_id": str(recorded.beta)},
        headers=recorded.owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 2


def test_rest_metrics_answer_the_contract_fields(api_client, recorded):
    response = api_client.get(
        f"/api/projects/{recorded.project_id}/tool-calls/metrics",
        params={"since": (recorded.now - timedelta(hours=1)).isoformat()},
        headers=recorded.owner.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= CONTRACT_METRICS_FIELDS
    assert body["total"] == 6  # the five recent calls and the 45-minute-old one
    assert body["bucket_seconds"] == 60
    assert len(body["timeline"]) in (60, 61)  # the range need not start on a minute


def test_free_text_search_can_use_the_trigram_index_on_postgresql(engine):
    """The index of revision 0002 is built on exactly the expression the filter searches; the
    planner can only use it then (with the table scan priced out here, it must)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigram index exists on PostgreSQL only")
    statement = select(ToolCallLog.id).where(tool_calls.text_filter("postgresql", "100% sure"))
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {sql}").scalars())
    assert "Bitmap Index Scan on ix_tool_call_logs_search" in plan, plan
