"""Is this process fit to take traffic? The answer of ``GET /readyz`` for a load balancer.

No principal: a balancer probes without credentials, and the answer says nothing but ready or
the name of what is missing (no URLs, no error texts). Ready means the gateway runs and has not
begun shutting down (draining), the database answers within a short time, and its schema is at
the newest revision of this code (a replica of newer code waits for the migration).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from mcp_orch_app import db
from mcp_orch_app.gateway.runtime import current_gateway

# A database slower than this to answer one tiny query counts as unreachable.
DATABASE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str | None = None

    def body(self) -> dict[str, str]:
        if self.ready:
            return {"status": "ready"}
        return {"status": "not ready", "reason": self.reason or "unknown"}


@lru_cache(maxsize=1)
def _head() -> str:
    from mcp_orch_app.migrations import head_revision

    return head_revision()


def _database_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
        return MigrationContext.configure(connection).get_current_revision()


async def readiness(engine: Engine | None = None) -> Readiness:
    if current_gateway() is None:
        return Readiness(False, "gateway not running (starting or draining)")
    engine = engine or db.get_engine()
    try:
        revision = await asyncio.wait_for(
            asyncio.to_thread(_database_revision, engine), DATABASE_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return Readiness(False, "database not answering")
    except Exception:
        return Readiness(False, "database unreachable")
    head = _head()
    if revision != head:
        return Readiness(False, f"database schema at revision {revision}, expected {head}")
    return Readiness(True)
