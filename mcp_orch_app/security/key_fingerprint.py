"""One secret key for every process and replica of an installation.

Each replica with its own data directory would generate its own ``secret.key`` and then fail
to decrypt every server secret another replica wrote. So the database keeps the fingerprint of
the key (an HMAC of a fixed label under it, never the key): the first start writes it, every
later start compares, and a process with another key refuses to start with a message saying
which key it loaded and what to do. Two first starts racing insert the same single row
(``id`` 1, ``ON CONFLICT DO NOTHING``): one wins, the other then compares against it.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from mcp_orch_app.config import ConfigError, get_settings
from mcp_orch_app.models import InstallationKey
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.secrets import KEY_FILE_NAME, key_fingerprint

_TABLE = InstallationKey.__table__


class KeyMismatchError(ConfigError):
    """This process's secret key is not the installation's (the one the database recorded)."""


def _mismatch_message(origin: str) -> str:
    data_dir = get_settings().data_dir
    return (
        f"the secret key loaded from {origin} is not this installation's key: the database "
        "records the fingerprint of another key, written by the first process that started on "
        "it, and the server secrets stored there are encrypted with that key. Every process "
        "and replica using this DATABASE_URL needs the same key: set MCP_ORCH_SECRET_KEY to "
        f"the installation's key, or copy the first replica's {KEY_FILE_NAME} into this data "
        f"directory ({data_dir / KEY_FILE_NAME}) and unset MCP_ORCH_SECRET_KEY. If that key "
        "is lost, the stored secrets cannot be recovered; see the README (secret key) for "
        "starting over with a new key."
    )


def check_installation_key(engine: Engine, loaded: tuple[str, str] | None = None) -> bool:
    """Record this process's key fingerprint if the database has none, else compare.

    ``loaded`` is (fingerprint, origin) of the key, by default the process's own
    (secrets.key_fingerprint). Returns False when the database is not migrated yet (no
    table: nothing to compare, the check runs again after migrating); raises
    :class:`KeyMismatchError` on another key.
    """
    if not sa.inspect(engine).has_table(_TABLE.name):
        return False
    fingerprint, origin = loaded or key_fingerprint()
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    insert = (
        dialect.insert(_TABLE)
        .values(id=1, fingerprint=fingerprint, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
    )
    with engine.begin() as connection:
        connection.execute(insert)
        stored = connection.execute(
            sa.select(_TABLE.c.fingerprint).where(_TABLE.c.id == 1)
        ).scalar_one()
    if not hmac.compare_digest(stored, fingerprint):
        raise KeyMismatchError(_mismatch_message(origin))
    return True


def check_configured_database() -> bool:
    """:func:`check_installation_key` on the configured database, with an engine of its own.

    An SQLite file that does not exist yet is left alone (not created): a first start has
    nothing to compare, and ``cli migrate`` checks again once the schema is there.
    """
    url = get_settings().database_url
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or not Path(parsed.database).exists()
    ):
        return False
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        return check_installation_key(engine)
    except KeyMismatchError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise ConfigError(
            "cannot compare the secret key with the one recorded in the database "
            f"({parsed.render_as_string(hide_password=True)}): {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()
