"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured) and people.

Every database test runs once per backend. PostgreSQL runs when MCP_ORCH_TEST_POSTGRES_URL is
set (``.ci/run`` sets it); otherwise those cases are skipped with that reason. The schema is
built by the real migration chain once per backend and emptied before each test.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from mcp_orch_app import config, db
from mcp_orch_app.security import secrets
from mcp_orch_app.security.passwords import hash_password
from mcp_orch_app.security.tokens import hash_token, new_session_token

POSTGRES_ENV = "MCP_ORCH_TEST_POSTGRES_URL"
PASSWORD = "correct horse battery"

_TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="mcp-orch-tests-"))
os.environ["MCP_ORCH_DATA_DIR"] = str(_TEST_DATA_DIR)
os.environ["MCP_ORCH_SECRET_KEY"] = Fernet.generate_key().decode()
os.environ.pop("DATABASE_URL", None)
config.reset_settings_cache()
secrets.reset_cipher()


def _backend_params():
    postgres = os.environ.get(POSTGRES_ENV)
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            postgres,
            id="postgresql",
            marks=pytest.mark.skipif(
                not postgres, reason=f"PostgreSQL not configured: set {POSTGRES_ENV}"
            ),
        ),
    ]


_migrated: set[str] = set()


def _url_for(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{_TEST_DATA_DIR / 'suite.db'}"
    return config._normalise_database_url(backend)


def _prepare_schema(url: str) -> Engine:
    engine = db.get_engine(url)
    if url not in _migrated:
        from mcp_orch_app.migrations import upgrade_to_head

        if url.startswith("postgresql"):
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade_to_head(url)
        _migrated.add(url)
    return engine


def _empty_all_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=_backend_params())
def engine(request, monkeypatch) -> Iterator[Engine]:
    """An empty, migrated database; also the app's default database for this test."""
    url = _url_for(request.param)
    monkeypatch.setenv("DATABASE_URL", url)
    config.reset_settings_cache()
    engine = _prepare_schema(url)
    _empty_all_tables(engine)
    yield engine
    config.reset_settings_cache()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with db.session_scope(engine) as s:
        yield s


# --- people ---------------------------------------------------------------------------------

_SHARED_HASH: str | None = None


def _shared_hash() -> str:
    # Hashing costs ~0.1 s; tests that are not about passwords share one hash.
    global _SHARED_HASH
    if _SHARED_HASH is None:
        _SHARED_HASH = hash_password(PASSWORD)
    return _SHARED_HASH


@dataclass
class Person:
    actor: object
    token: str
    email: str

    @property
    def id(self) -> uuid.UUID:
        return self.actor.user_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_person(engine):
    """Create an account with a live login session, without paying for password hashing."""
    from mcp_orch_app.models import LoginSession, User
    from mcp_orch_app.models.types import utcnow
    from mcp_orch_app.services.principal import Actor

    def make(name: str = "", is_admin: bool = False) -> Person:
        name = name or f"user-{uuid.uuid4().hex[:8]}"
        email = f"{name.lower()}@example.com"
        token = new_session_token()
        with db.session_scope(engine) as s:
            user = User(email=email, name=name, password_hash=_shared_hash(), is_admin=is_admin)
            s.add(user)
            s.flush()
            login = LoginSession(
                user_id=user.id,
                token_hash=hash_token(token),
                expires_at=utcnow() + timedelta(hours=1),
            )
            s.add(login)
            s.flush()
            actor = Actor(user.id, email, name, is_admin, login.id)
        return Person(actor=actor, token=token, email=email)

    return make


@pytest.fixture
def api_client(engine):
    from fastapi.testclient import TestClient

    from mcp_orch_app.api.app import create_api

    with TestClient(create_api()) as client:
        yield client
