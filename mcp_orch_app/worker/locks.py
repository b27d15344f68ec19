"""Locks that let one process of an installation do something: run the schedule, run a check.

On PostgreSQL an :class:`AdvisoryLock` is a session-level ``pg_try_advisory_lock`` taken on a
connection of its own (autocommit, so it never sits idle in a transaction) and held as long as
that connection is: a process that dies, or loses its connection, frees the lock by itself.
:meth:`AdvisoryLock.still_held` notices a lost connection, so the holder can step down.

SQLite serves one process (Reflex runs a single backend worker without Redis), so there a lock
only has to exclude the other holders in this process (a set of the names held). On both
databases a lock is held by one :class:`AdvisoryLock` at a time: asking again while it is held,
by this object or another of the same name, is refused (PostgreSQL's session locks would let
the same connection take a lock twice; each object has its own connection).

Every method blocks on the database: call them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import logging
import threading

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from mcp_orch_app.db import get_engine

logger = logging.getLogger(__name__)

_held_here: set[str] = set()
"""Names of the locks held in this process, on SQLite."""
_held_here_mutex = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (what ``pg_try_advisory_lock`` takes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    def __init__(self, name: str, engine: Engine | None = None) -> None:
        """``engine`` defaults to the app's database at the time of acquiring."""
        self.name = name
        self.key = lock_key(name)
        self._engine = engine
        self._connection: Connection | None = None
        self._held = False
        self._closed = False
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (in this process or another); True when taken."""
        with self._mutex:
            if self._held or self._closed:
                return False
            engine = self._engine or get_engine()
            if engine.dialect.name == "postgresql":
                self._connection = _advisory_lock(engine, self.key)
                if self._connection is None:
                    return False
            elif not _claim(self.name):
                return False
            self._held = True
            return True

    def still_held(self) -> bool:
        """False (and released) when the lock's connection is gone; PostgreSQL dropped it."""
        with self._mutex:
            if not self._held or self._connection is None:
                return self._held
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception as exc:
                logger.warning("lost the %s lock with its connection: %s", self.name, exc)
                self._drop(invalidate=True)
                return False

    def release(self) -> None:
        with self._mutex:
            unlocked = True
            if self._connection is not None:
                try:
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                    )
                except Exception as exc:
                    logger.info("could not unlock %s: %s", self.name, exc)
                    unlocked = False
            self._drop(invalidate=not unlocked)

    def close(self) -> None:
        """Release the lock for good: an attempt still under way in another thread, or made
        later, gets nothing (so a stopped holder cannot end up holding it)."""
        with self._mutex:
            self._closed = True
        self.release()

    def _drop(self, *, invalidate: bool = False) -> None:
        """Give the connection back; ``invalidate`` discards it instead (the lock ends with it,
        where a pooled connection would keep it)."""
        if self._held and self._connection is None:
            _unclaim(self.name)
        if self._connection is not None:
            try:
                if invalidate:
                    self._connection.invalidate()
                self._connection.close()
            except Exception:
                logger.debug("closing the %s lock's connection failed", self.name, exc_info=True)
        self._connection = None
        self._held = False


def _claim(name: str) -> bool:
    with _held_here_mutex:
        if name in _held_here:
            return False
        _held_here.add(name)
        return True


def _unclaim(name: str) -> None:
    with _held_here_mutex:
        _held_here.discard(name)


def _advisory_lock(engine: Engine, key: int) -> Connection | None:
    """A connection of its own holding the advisory lock ``key``; None when another has it."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        granted = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
        ).scalar()
    except BaseException:
        connection.close()
        raise
    if not granted:
        connection.close()
        return None
    return connection
