"""Failed-login throttling, per account and per client address, shared by every process.

Each failed login counts against two keys: the account (the normalised email, whether or not
such an account exists, so the throttle tells nothing about which accounts exist) and the
client address. When a key reaches its limit within the window (settings
``MCP_ORCH_LOGIN_MAX_FAILURES`` per account, ``MCP_ORCH_LOGIN_MAX_FAILURES_PER_ADDRESS`` per
address, ``MCP_ORCH_LOGIN_FAILURE_WINDOW_MINUTES``), it is locked for a short, exponentially
growing time: 15 s at the limit, doubled by every further failure, capped at
``MCP_ORCH_LOGIN_LOCKOUT_MAX_SECONDS`` (default 5 minutes). A locked key is answered with
:class:`TooManyAttempts` (REST: 429 with ``Retry-After``) *before* the password is hashed, so a
throttled guess costs the server next to nothing.

Why it cannot lock a real user out for long: the lockout is capped at a few minutes and ends on
its own; the counters forget failures older than the window; a successful login clears the
account's counter. The per-address limit is higher and is what stops one attacker from spraying
many accounts; it is not cleared by a successful login (an attacker could otherwise reset it by
logging in to an account of their own between guesses).

The state is a table (``login_throttles``), not process memory, so several backend processes
share it. A key is the SHA-256 of ``scope:value``: neither raw addresses nor guessed emails are
stored. Rows whose last failure is older than the window are deleted as new failures arrive.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from mcp_orch_app.config import get_settings
from mcp_orch_app.models import LoginThrottle
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services.errors import TooManyAttempts

FIRST_LOCKOUT_SECONDS = 15
ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True)
class ThrottleKey:
    scope: str
    value: str

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.scope}:{self.value}".encode()).hexdigest()

    @property
    def limit(self) -> int:
        settings = get_settings()
        if self.scope == ACCOUNT:
            return settings.login_max_failures
        return settings.login_max_failures_per_address


def keys_for(account: str, address: str | None) -> list[ThrottleKey]:
    """The keys one login attempt counts against (no address: only the account)."""
    keys = [ThrottleKey(ACCOUNT, (account or "").strip().lower()[:320])]
    if address:
        keys.append(ThrottleKey(ADDRESS, address[:64]))
    return keys


def lockout_seconds(failures: int, limit: int) -> int:
    """How long a key with ``failures`` recent failures is locked (0: not locked)."""
    if failures < limit:
        return 0
    cap = get_settings().login_lockout_max_seconds
    # Past ~20 doublings the cap is reached anyway; the bound keeps the power small.
    return min(cap, FIRST_LOCKOUT_SECONDS * 2 ** min(failures - limit, 20))


def _window() -> timedelta:
    return timedelta(minutes=get_settings().login_failure_window_minutes)


def check(db: Session, keys: list[ThrottleKey], now: datetime | None = None) -> None:
    """Raise TooManyAttempts if any of ``keys`` is locked now."""
    now = now or utcnow()
    rows = db.exec(
        select(LoginThrottle).where(col(LoginThrottle.key).in_([k.key for k in keys]))
    ).all()
    locked = [row for row in rows if row.locked_until is not None and row.locked_until > now]
    if not locked:
        return
    row = max(locked, key=lambda r: r.locked_until)
    wait = math.ceil((row.locked_until - now).total_seconds())
    what = "this account" if row.scope == ACCOUNT else "your network address"
    raise TooManyAttempts(
        f"Too many failed logins for {what}; try again in {wait} seconds.", retry_after=wait
    )


def _upsert(db: Session):
    return postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert


def record_failure(db: Session, keys: list[ThrottleKey], now: datetime | None = None) -> None:
    """Count one failed login against each key and lock those that reached their limit.

    One atomic upsert per key, so concurrent failures in several processes all count.
    """
    now = now or utcnow()
    window_start = now - _window()
    table = LoginThrottle.__table__
    db.execute(sa.delete(table).where(table.c.last_failure_at < window_start))
    for key in keys:
        insert = _upsert(db)(table).values(
            key=key.key, scope=key.scope, failures=1, last_failure_at=now, locked_until=None
        )
        stale = table.c.last_failure_at < window_start
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": sa.case((stale, 1), else_=table.c.failures + 1),
                "last_failure_at": now,
            },
        ).returning(table.c.failures)
        failures = db.execute(statement).scalar_one()
        seconds = lockout_seconds(failures, key.limit)
        if seconds:
            db.execute(
                sa.update(table)
                .where(table.c.key == key.key)
                .values(locked_until=now + timedelta(seconds=seconds))
            )


def clear(db: Session, key: ThrottleKey) -> None:
    db.execute(sa.delete(LoginThrottle.__table__).where(LoginThrottle.__table__.c.key == key.key))
