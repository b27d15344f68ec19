"""The alembic chain builds exactly the schema of the models, on SQLite and on PostgreSQL.

PostgreSQL cases run when MCP_ORCH_TEST_POSTGRES_URL is set (``.ci/run`` sets it). They never
touch that database's tables: each test creates its own scratch database on the same server
and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel, select

from mcp_orch_app.config import _normalise_database_url
from mcp_orch_app.migrations import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from mcp_orch_app.migrations import schema_differences as differences_from_models
from mcp_orch_app.models import WorkerRun, WorkerRunStatus, WorkerRunTrigger

POSTGRES_URL_VARIABLE = "MCP_ORCH_TEST_POSTGRES_URL"
APP_TABLES = set(SQLModel.metadata.tables)


@contextmanager
def scratch_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``; dropped on exit."""
    server = sa.engine.make_url(_normalise_database_url(server_url))
    name = f"mcp_orch_migrations_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_server_url() -> str:
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set; PostgreSQL migration tests skipped")
    return server_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    with scratch_postgres_database(postgres_server_url()) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(_normalise_database_url(database_url), poolclass=NullPool)
    yield engine
    engine.dispose()


def schema_differences(engine: sa.Engine) -> list:
    with engine.connect() as connection:
        return differences_from_models(connection)


def table_names(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def test_empty_database_upgrades_to_head(database_url: str, engine: sa.Engine) -> None:
    result = upgrade_to_head(database_url)

    assert result.before is None
    assert result.after == head_revision()
    assert table_names(engine) == APP_TABLES | {"alembic_version"}


def test_migrated_schema_equals_the_models(database_url: str, engine: sa.Engine) -> None:
    upgrade_to_head(database_url)

    differences = schema_differences(engine)

    assert differences == [], "models and migrations disagree; add a revision:\n" + "\n".join(
        map(str, differences)
    )


def test_schema_comparison_notices_a_missing_index(database_url: str, engine: sa.Engine) -> None:
    # Guards the guard: an empty comparison above must mean "equal", not "not compared".
    upgrade_to_head(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_tool_call_logs_session"))

    differences = schema_differences(engine)

    assert [diff[0] for diff in differences] == ["add_index"]


def tool_call_indexes(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return {index["name"] for index in sa.inspect(connection).get_indexes("tool_call_logs")}


def test_search_index_is_made_on_postgresql_only_and_goes_with_its_revision(
    database_url: str, engine: sa.Engine
) -> None:
    upgrade_to_head(database_url)
    on_postgresql = engine.dialect.name == "postgresql"
    assert ("ix_tool_call_logs_search" in tool_call_indexes(engine)) is on_postgresql

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    assert "ix_tool_call_logs_search" not in tool_call_indexes(engine)
    assert "ix_tool_call_logs_project_created" in tool_call_indexes(engine)

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert ("ix_tool_call_logs_search" in tool_call_indexes(engine)) is on_postgresql
    assert schema_differences(engine) == []


def test_upgrade_again_changes_nothing(database_url: str) -> None:
    first = upgrade_to_head(database_url)
    second = upgrade_to_head(database_url)

    assert first.changed
    assert not second.changed
    assert second.after == head_revision()


def test_app_instances_starting_together_on_postgresql_migrate_once() -> None:
    with (
        scratch_postgres_database(postgres_server_url()) as url,
        ThreadPoolExecutor(max_workers=3) as pool,
    ):
        results = list(pool.map(upgrade_to_head, [url] * 3))

    assert sorted(result.changed for result in results) == [False, False, True]
    assert {result.after for result in results} == {head_revision()}


def test_downgrade_to_base_and_upgrade_to_head_again(database_url: str, engine: sa.Engine) -> None:
    upgrade_to_head(database_url)

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert table_names(engine) & APP_TABLES == set()
    with engine.connect() as connection:
        assert current_revision(connection) is None

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert schema_differences(engine) == []
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()


def test_tables_made_by_create_all_are_adopted_without_changes(
    database_url: str, engine: sa.Engine
) -> None:
    SQLModel.metadata.create_all(engine)

    result = upgrade_to_head(database_url)

    assert result.adopted
    assert result.after == head_revision()
    assert schema_differences(engine) == []


def test_enum_written_as_plain_string_reads_back_as_enum(
    database_url: str, engine: sa.Engine
) -> None:
    upgrade_to_head(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO worker_runs (trigger, status, started_at, checked, changed, failed) "
                "VALUES ('manual', 'success', :started_at, 0, 0, 0)"
            ),
            {"started_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC)},
        )

    with Session(engine) as session:
        run = session.exec(select(WorkerRun)).one()

    assert run.trigger is WorkerRunTrigger.MANUAL
    assert run.status is WorkerRunStatus.SUCCESS


def test_datetimes_read_back_timezone_aware_in_utc(database_url: str, engine: sa.Engine) -> None:
    upgrade_to_head(database_url)
    two_hours_east = timezone(timedelta(hours=2))
    written = datetime(2024, 5, 1, 14, 30, 15, 250_000, tzinfo=two_hours_east)
    # What another writer (psql, an older release) leaves behind: SQLite has no time zones
    # and holds UTC wall time; PostgreSQL converts any offset it is given.
    raw_started_at = (
        "2024-05-01 12:30:15.250000"
        if engine.dialect.name == "sqlite"
        else "2024-05-01 14:30:15.25+02:00"
    )
    with Session(engine) as session:
        session.add(WorkerRun(trigger=WorkerRunTrigger.SCHEDULE, started_at=written))
        session.commit()
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO worker_runs (trigger, status, started_at, checked, changed, failed) "
                "VALUES ('manual', 'running', :started_at, 0, 0, 0)"
            ),
            {"started_at": raw_started_at},
        )

    with Session(engine) as session:
        runs = session.exec(select(WorkerRun).order_by(WorkerRun.id)).all()

    expected = datetime(2024, 5, 1, 12, 30, 15, 250_000, tzinfo=UTC)
    assert [run.started_at for run in runs] == [expected, expected]
    for run in runs:
        assert run.started_at.utcoffset() == timedelta(0)
