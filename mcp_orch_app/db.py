"""Database engines and sessions.

The services are synchronous SQLAlchemy code (psycopg2 / sqlite3). Request paths never run
them on the event loop: FastAPI runs plain ``def`` routes in its thread pool, and Reflex
handlers go through :func:`run_db` which hops to a worker thread.

On SQLite every write unit takes the database's write lock when it begins (``BEGIN IMMEDIATE``)
and waits its turn for it (``busy_timeout``). A deferred transaction that read first holds a read
snapshot it cannot upgrade once another writer has committed: SQLite refuses the write at once
with "database is locked" and never consults the busy handler. Reads stay outside any
transaction (the sqlite3 driver opens one only before a write), so readers never queue behind a
writer; WAL lets them read while it writes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from mcp_orch_app.config import get_settings
from mcp_orch_app.stored_json import dumps_stored, loads_stored

_engines: dict[str, Engine] = {}

P = ParamSpec("P")
T = TypeVar("T")


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the UI read while the log writer writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# Statements that open a write unit: DML (the sqlite3 driver would BEGIN deferred before them)
# and SAVEPOINT (which, outside a transaction, starts a deferred one by itself).
_SQLITE_WRITE_START = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|SAVEPOINT)\b", re.IGNORECASE)


def _begin_sqlite_writes_immediately(
    _conn, cursor, statement: str, _parameters, _context, _executemany
) -> None:
    dbapi_connection = cursor.connection
    if not dbapi_connection.in_transaction and _SQLITE_WRITE_START.match(statement):
        # The driver sees the open transaction and skips its own deferred BEGIN.
        dbapi_connection.execute("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    # Every JSON column is written and read within stored_json's bounds, so no stored document
    # (nested too deep, NUL, lone surrogates, NaN; also rows from before) breaks a reader.
    json_options = {"json_serializer": dumps_stored, "json_deserializer": loads_stored}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **json_options
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "before_cursor_execute", _begin_sqlite_writes_immediately)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **json_options)


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url not in _engines:
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commits when the block succeeds, rolls back when it raises."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def in_transaction(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run ``fn(db, *args, **kwargs)`` in its own unit of work."""
    with session_scope() as db:
        return fn(db, *args, **kwargs)


async def run_db(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run a service call in a worker thread so the event loop never blocks on the database."""
    return await asyncio.to_thread(partial(in_transaction, fn, *args, **kwargs))
