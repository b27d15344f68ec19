"""Accounts, their login sessions, failed-login throttling, and the instance-wide settings an
admin controls."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field, timestamp_field, uuid_pk
from mcp_orch_app.models.types import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = uuid_pk()
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    is_admin: bool = Field(default=False)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = timestamp_field()


class LoginSession(SQLModel, table=True):
    """A server-side, revocable login: shared by the web UI and REST bearer tokens."""

    __tablename__ = "login_sessions"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    revoked_at: datetime | None = timestamp_field()
    last_seen_at: datetime | None = timestamp_field()
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)


class SystemSettings(SQLModel, table=True):
    """A single row (id 1) of instance-wide switches."""

    __tablename__ = "system_settings"

    id: int = Field(default=1, primary_key=True)
    signup_open: bool = Field(default=True)
    # OAuth (services/oauth.py): whether any client may register itself (RFC 7591); when
    # closed only an admin may register one. Token lifetimes.
    oauth_registration_open: bool = Field(default=True)
    oauth_access_token_seconds: int = Field(default=3600)
    oauth_refresh_token_seconds: int = Field(default=30 * 24 * 3600)
    updated_at: datetime = created_at_field()
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class LoginThrottle(SQLModel, table=True):
    """Recent failed logins of one account or one client address (see services/login_throttle).

    ``key`` is the SHA-256 of ``"<scope>:<value>"`` so that neither raw addresses nor the emails
    an attacker tries are stored, and every key has the same size.
    """

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=64)
    scope: str = Field(max_length=16)
    failures: int = Field(default=0)
    last_failure_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    locked_until: datetime | None = timestamp_field()
