"""Bringing a database to the current schema with the alembic chain in ``alembic/``.

:func:`upgrade_to_head` is what start-up (``python -m mcp_orch_app.cli migrate``) and the tests
call. It is safe to run any number of times: a database already at head is left alone, and on
PostgreSQL concurrent runs wait for each other (advisory lock in ``alembic/env.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import mcp_orch_app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from mcp_orch_app.config import _normalise_database_url, get_settings

log = logging.getLogger(__name__)

# PostgreSQL advisory lock held while migrating: two app instances starting together take
# turns, and the second finds the schema at head. alembic/env.py takes it too (re-entrant).
MIGRATION_LOCK_KEY = int.from_bytes(b"mcpomigr", "big")

# alembic.ini sits at the top of the checkout, next to the package.
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"

# Indexes that revisions create on one dialect only and the models do not declare (the
# PostgreSQL trigram index of revision 0002); comparisons with the models leave them out.
MIGRATION_ONLY_INDEXES = frozenset({"ix_tool_call_logs_search"})


class MigrationError(RuntimeError):
    """The database cannot be brought to the current schema; the message says why."""


@dataclass(frozen=True)
class MigrationResult:
    database: str  # the URL with any password hidden
    before: str | None  # revision before the run (None: no migration history)
    after: str  # revision after the run (the head)
    adopted: bool = False  # tables made by create_all() matched the models and were stamped

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        if self.adopted:
            return (
                f"{self.database}: existing tables match the models; recorded as revision "
                f"{self.after} without changing them"
            )
        if not self.changed:
            return f"{self.database}: already at the latest revision {self.after}"
        start = self.before or "an empty database"
        return f"{self.database}: upgraded from {start} to revision {self.after}"


def alembic_config(connection: Connection | None = None) -> Config:
    if not ALEMBIC_INI.is_file():
        raise MigrationError(f"alembic.ini not found at {ALEMBIC_INI}")
    config = Config(str(ALEMBIC_INI))
    # The caller owns logging; env.py would otherwise install alembic.ini's handlers.
    config.attributes["configure_logging"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("the alembic chain has no revisions")
    return head


def include_object(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Alembic's ``include_object`` hook: everything but :data:`MIGRATION_ONLY_INDEXES`."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


def compare_options() -> dict[str, Any]:
    """How the database is compared with the models, by autogenerate and by the checks."""
    return {"compare_type": True, "include_object": include_object}


def schema_differences(connection: Connection) -> list:
    """What differs between the database and the models (empty: they agree)."""
    context = MigrationContext.configure(connection, opts=compare_options())
    return compare_metadata(context, SQLModel.metadata)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _app_tables_present(connection: Connection) -> set[str]:
    existing = set(sa.inspect(connection).get_table_names())
    return existing & set(SQLModel.metadata.tables)


def _adopt_unversioned_schema(connection: Connection, config: Config) -> bool:
    """Stamp a database whose tables were made by ``create_all()`` if they equal the models.

    Returns False when there is nothing to adopt (no app tables); raises when tables exist
    that do not match, because upgrading would fail half-way on "table already exists".
    """
    if not _app_tables_present(connection):
        return False
    differences = schema_differences(connection)
    if differences:
        summary = "; ".join(str(diff) for diff in differences[:5])
        raise MigrationError(
            "the database has mcp-orch tables but no migration history, and they differ from "
            f"the current models ({len(differences)} differences, first: {summary}). "
            "Point DATABASE_URL at an empty database, or migrate this one by hand."
        )
    command.stamp(config, "head")
    return True


def _safe_url(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def upgrade_to_head(database_url: str | None = None) -> MigrationResult:
    """Upgrade ``database_url`` (default: the configured database) to the newest revision."""
    url = _normalise_database_url(database_url or get_settings().database_url)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    head = head_revision()
    # A plain engine: the app's SQLite engine turns foreign keys on, which would make the
    # table copies of batch migrations cascade-delete child rows.
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            config = alembic_config(connection)
            before = current_revision(connection)
            adopted = before is None and _adopt_unversioned_schema(connection, config)
            if not adopted:
                command.upgrade(config, "head")
            after = current_revision(connection)
    except MigrationError:
        raise
    except Exception as exc:
        raise MigrationError(f"migrating {_safe_url(url)} failed: {exc}") from exc
    finally:
        engine.dispose()
    if after != head:
        raise MigrationError(f"{_safe_url(url)} is at revision {after}, expected {head}")
    result = MigrationResult(_safe_url(url), before, after, adopted)
    log.info("database schema: %s", result.describe())
    return result
