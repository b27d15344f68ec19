"""After the real app shuts down, no upstream process it started is left behind.

mcp-orch runs as in production, backend only (`reflex run --env prod --backend-only`, which
needs no frontend build), on a free loopback port with embedded SQLite in a fresh data
directory whose schema `python -m mcp_orch_app.cli migrate` made. Everything goes through the
public interfaces: sign-up, login, a project, an API key and a stdio server (our fixture) over
REST, then MCP calls through the gateway that start the server and a `sleep` grandchild in its
process group. The app is stopped with a signal, as a service manager does (SIGTERM to the main
process) or a terminal's Ctrl-C (SIGINT to the app's process group, which the upstreams are not
in), and the process table must hold none of those processes afterwards, the grandchild
included (it does not die with the server's stdin as the server itself would).

Reflex writes per-run files (.states, .web) into its working directory: the app runs in a
scratch directory of symlinks to the checkout, so the shared build directory of the browser
tests is never touched and no lock is needed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.gateway.stdio_process import group_members, signal_group
from mcp_orch_app.models.logs import ServerLog
from tests.e2e.conftest import _answers, _app_env, _log_tail, _stop
from tests.helpers import CHECKOUT, FIXTURE_SERVER
from tests.integration.test_gateway_endpoints import handshake_session
from tests.live_app import free_port

APP_FILES = ("rxconfig.py", "mcp_orch_app", "alembic", "alembic.ini")
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30


@dataclass
class RealApp:
    process: subprocess.Popen
    url: str
    database_url: str
    log: Path


@contextlib.contextmanager
def real_app(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[RealApp]:
    """The backend in production mode, in its own process group; stopped (the whole group,
    SIGKILL if need be) on the way out if the test has not stopped it. Started again on the
    same ``tmp_path``, it finds the data of the previous run. ``extra_env`` adds settings
    (e.g. REFLEX_REDIS_URL, MCP_ORCH_WORKERS)."""
    workdir = tmp_path / "app"
    workdir.mkdir(exist_ok=True)
    for name in APP_FILES:
        if not (workdir / name).exists():
            (workdir / name).symlink_to(CHECKOUT / name)
    data_dir = tmp_path / "data"
    env = {**_app_env(data_dir), **(extra_env or {})}
    subprocess.run(
        [sys.executable, "-m", "mcp_orch_app.cli", "migrate"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = tmp_path / "app.log"
    with log.open("a") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only"),
                *("--backend-port", str(port), "--backend-host", "127.0.0.1"),
            ],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(f"{url}/ping"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{_log_tail(log)}")
            time.sleep(0.2)
        yield RealApp(process, url, f"sqlite:///{data_dir / 'mcp-orch.db'}", log)
    finally:
        _stop(process)


async def _project_with_fixture_server(url: str) -> tuple[str, str]:
    """Sign up, log in, create a project, an API key and the fixture as a stdio server, all
    over REST; returns the project id and the key."""
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        person = {"email": "ada@example.com", "password": "correct horse battery"}
        signup = await http.post("/api/auth/signup", json={**person, "name": "Ada"})
        assert signup.status_code == 201, signup.text
        login = await http.post("/api/auth/login", json=person)
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        project = (await http.post("/api/projects", json={"name": "shutdown"})).json()["id"]
        key = await http.post(f"/api/projects/{project}/api-keys", json={"name": "ci"})
        server = await http.post(
            f"/api/projects/{project}/servers",
            json={"name": "fixture", "command": sys.executable, "args": [str(FIXTURE_SERVER)]},
        )
        assert server.status_code == 201, server.text
        return project, key.json()["key"]


def _stops_recorded(database_url: str) -> list[ServerLog]:
    engine = db.make_engine(database_url)
    try:
        with Session(engine) as s:
            return list(s.exec(select(ServerLog).where(ServerLog.category == "stop")))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="SIGTERM-to-the-app"),
        pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), id="SIGINT-to-its-group"),
    ],
)
async def test_no_upstream_process_is_left_after_the_real_app_shuts_down(tmp_path, stop):
    with real_app(tmp_path) as app:
        project, key = await _project_with_fixture_server(app.url)
        url = f"{app.url}/projects/{project}/servers/fixture/mcp"
        async with handshake_session(url, key) as session:
            assert (await session.call_tool("echo", {"text": "hi"})).content[0].text == "hi"
            child = int((await session.call_tool("spawn_child", {})).content[0].text)
        server = os.getpgid(child)  # the server leads its own process group
        try:
            assert server != os.getpgid(app.process.pid)  # so the app's signal cannot reach it
            started = set(group_members(server))
            assert {server, child} <= started
            stop(app.process.pid)
            try:
                app.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the app did not stop:\n{_log_tail(app.log)}")
            left = group_members(server)
            assert left == [], f"left running after shutdown: {left}"
        finally:
            signal_group(server, signal.SIGKILL)  # only if the assertion above failed
    # The gateway's own shutdown stopped it (and the log writer was drained after that).
    (stopped,) = _stops_recorded(app.database_url)
    assert stopped.message == "stopped: mcp-orch is shutting down"
