"""One secret key per installation: the database records its fingerprint, another key is refused.

On SQLite and PostgreSQL (the ``engine`` fixture): the first check writes the fingerprint (an
HMAC, never the key), the same key passes again, another key is refused with a message naming
where it came from and what to do; racing first starts with different keys leave exactly one
fingerprint and refuse every other key. Then the real command line and the app module, in
subprocesses on one data directory: ``cli migrate`` records the key, a second process with
another ``MCP_ORCH_SECRET_KEY`` stops with exit status 2 before serving anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from mcp_orch_app import config
from mcp_orch_app.security import secrets
from mcp_orch_app.security.key_fingerprint import KeyMismatchError, check_installation_key
from tests.helpers import CHECKOUT


@pytest.fixture
def use_key(monkeypatch):
    """Switch the process to a key (or, with None, to the data directory's key file)."""

    def use(key: str | None, data_dir: Path | None = None) -> None:
        if key is None:
            monkeypatch.delenv("MCP_ORCH_SECRET_KEY", raising=False)
        else:
            monkeypatch.setenv("MCP_ORCH_SECRET_KEY", key)
        if data_dir is not None:
            monkeypatch.setenv("MCP_ORCH_DATA_DIR", str(data_dir))
        config.reset_settings_cache()
        secrets.reset_cipher()

    yield use
    monkeypatch.undo()
    config.reset_settings_cache()
    secrets.reset_cipher()


def _stored(engine) -> list[tuple]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT id, fingerprint FROM installation_key")))


def test_the_first_check_records_a_fingerprint_and_the_same_key_passes(engine, use_key):
    key = Fernet.generate_key().decode()
    use_key(key)
    assert _stored(engine) == []
    assert check_installation_key(engine) is True
    ((row_id, fingerprint),) = _stored(engine)
    assert row_id == 1 and len(fingerprint) == 64
    assert key not in fingerprint and key.encode().hex() not in fingerprint
    assert check_installation_key(engine) is True  # a later start with the same key
    use_key(key + "\n")  # the same key, pasted with a newline
    assert check_installation_key(engine) is True
    assert _stored(engine) == [(1, fingerprint)]


def test_another_key_is_refused_with_a_message_saying_what_to_do(engine, use_key):
    use_key(Fernet.generate_key().decode())
    check_installation_key(engine)
    before = _stored(engine)
    other = Fernet.generate_key().decode()
    use_key(other)
    with pytest.raises(KeyMismatchError) as refused:
        check_installation_key(engine)
    message = str(refused.value)
    assert "MCP_ORCH_SECRET_KEY" in message and "secret.key" in message
    assert "not this installation's key" in message
    assert other not in message
    assert _stored(engine) == before  # the recorded fingerprint is never replaced


def test_a_replica_with_its_own_generated_key_file_is_refused(engine, use_key, tmp_path):
    use_key(Fernet.generate_key().decode())
    check_installation_key(engine)
    replica_dir = tmp_path / "replica-data"
    use_key(None, replica_dir)  # no MCP_ORCH_SECRET_KEY: a key is generated in its directory
    with pytest.raises(KeyMismatchError) as refused:
        check_installation_key(engine)
    assert f"The key file {replica_dir / 'secret.key'}" in str(refused.value)
    assert (replica_dir / "secret.key").read_text() not in str(refused.value)


def test_racing_first_starts_with_different_keys_leave_one_fingerprint(engine):
    starts = 8
    barrier = threading.Barrier(starts)
    outcomes: list[str | None] = [None] * starts

    def start(index: int) -> None:
        loaded = (f"{index:064x}", f"key {index}")
        barrier.wait()
        try:
            check_installation_key(engine, loaded)
            outcomes[index] = "passed"
        except KeyMismatchError:
            outcomes[index] = "refused"
        except Exception as exc:  # a unique violation would land here
            outcomes[index] = repr(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(starts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["passed"] + ["refused"] * (starts - 1), outcomes
    ((_, fingerprint),) = _stored(engine)
    assert fingerprint == f"{outcomes.index('passed'):064x}"


def test_an_unmigrated_database_is_not_checked(use_key, tmp_path):
    from mcp_orch_app import db

    use_key(Fernet.generate_key().decode())
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert check_installation_key(engine) is False
    finally:
        engine.dispose()


def _run(args: list[str], data_dir: Path, key: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("MCP_ORCH_SECRET_KEY", None)
    env["MCP_ORCH_DATA_DIR"] = str(data_dir)
    if key is not None:
        env["MCP_ORCH_SECRET_KEY"] = key
    return subprocess.run(
        [sys.executable, *args], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_migrate_and_the_app_refuse_to_start_with_another_key(tmp_path):
    data_dir = tmp_path / "data"
    key = Fernet.generate_key().decode()
    first = _run(["-m", "mcp_orch_app.cli", "migrate"], data_dir, key)
    assert first.returncode == 0, first.stderr
    again = _run(["-m", "mcp_orch_app.cli", "migrate"], data_dir, key)
    assert again.returncode == 0, again.stderr

    other = Fernet.generate_key().decode()
    refused = _run(["-m", "mcp_orch_app.cli", "migrate"], data_dir, other)
    assert refused.returncode == 2
    assert "mcp-orch cannot start: the secret key loaded from MCP_ORCH_SECRET_KEY" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr and other not in refused.stderr

    # The app module (what every backend worker imports) stops the same way.
    app = _run(["-c", "import mcp_orch_app.mcp_orch_app"], data_dir, other)
    assert app.returncode == 2, app.stderr
    assert "is not this installation's key" in app.stderr
    # Without MCP_ORCH_SECRET_KEY the data directory's generated key is not the recorded one.
    generated = _run(["-m", "mcp_orch_app.cli", "migrate"], data_dir, None)
    assert generated.returncode == 2
    assert f"The key file {data_dir / 'secret.key'}" in generated.stderr
