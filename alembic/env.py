"""Alembic environment: the one migration chain of mcp-orch, for SQLite and PostgreSQL.

The target is ``SQLModel.metadata`` with every table of :mod:`mcp_orch_app.models`. The
database comes from, in order:

1. ``config.attributes["connection"]``: an open connection handed over by a program
   (:func:`mcp_orch_app.migrations.upgrade_to_head`, the tests);
2. ``alembic -x url=...`` on the command line;
3. the app's settings (``DATABASE_URL``, else the SQLite file in ``MCP_ORCH_DATA_DIR``).

Revision files must stay importable without the app, so :func:`render_item` writes the app's
column types (and SQLModel's) as the plain SQLAlchemy types they store.
"""

from __future__ import annotations

from logging.config import fileConfig
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import SQLModel

import mcp_orch_app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from mcp_orch_app.config import _normalise_database_url, get_settings
from mcp_orch_app.migrations import MIGRATION_LOCK_KEY, compare_options

config = context.config
target_metadata = SQLModel.metadata

# Programs that call alembic keep their own logging configuration.
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    return _normalise_database_url(url or get_settings().database_url)


def render_plain_type(type_: TypeEngine[Any], autogen_context: AutogenContext) -> str:
    """Python source for the SQLAlchemy type that ``type_`` stores as."""
    if isinstance(type_, TypeDecorator):
        return render_plain_type(type_.impl_instance, autogen_context)
    module = type(type_).__module__
    if module.startswith("sqlalchemy.dialects."):
        dialect = module.split(".")[2]
        autogen_context.imports.add(f"from sqlalchemy.dialects import {dialect}")
        return f"{dialect}.{type_!r}"
    return f"sa.{type_!r}"


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    # Variants (JSONDocument, BigIntKey) are plain types with a variant mapping: alembic renders
    # them itself and calls back here for each part.
    if kind != "type":
        return False
    if isinstance(obj, TypeDecorator):
        return render_plain_type(obj, autogen_context)
    if isinstance(obj, postgresql.JSONB) and isinstance(obj.astext_type, sa.Text):
        # alembic would write JSONB(astext_type=Text()) without the "sa." prefix.
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "postgresql.JSONB()"
    return False


def configure_options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        # Types compared; indexes that only revisions know (MIGRATION_ONLY_INDEXES) left out.
        **compare_options(),
        # SQLite alters a table by copying it; batch mode writes migrations that way.
        "render_as_batch": dialect_name == "sqlite",
        "render_item": render_item,
    }


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options(sa.engine.make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with_connection(connection: Connection) -> None:
    dialect_name = connection.dialect.name
    context.configure(connection=connection, **configure_options(dialect_name))
    with context.begin_transaction():
        if dialect_name == "postgresql":
            # Concurrent runs take turns (see mcp_orch_app.migrations.MIGRATION_LOCK_KEY).
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with_connection(connection)
        return
    url = sa.engine.make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # A plain engine, not the app's: the app turns SQLite foreign keys on, and with them on,
    # the table copy of a batch migration would cascade-delete rows of child tables.
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            run_with_connection(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
