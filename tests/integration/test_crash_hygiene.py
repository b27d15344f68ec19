"""A backend killed outright leaves no upstream process behind, and its sessions end on restart.

The real app (``reflex run --env prod --backend-only``, see test_app_shutdown.py) runs the
fixture as a stdio server; over MCP the server is made to start two `sleep` grandchildren with
a marker duration: one in its process group, one that left it with ``setsid`` (as daemonising
helpers do). Then every process of the app gets SIGKILL, with no chance to clean up, as the OOM
killer or a `kill -9` does. Nothing whose command line carries the marker, and none of the
server's processes, may be left. Started again on the same data, the app must end the client
session the killed process left active.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models import ClientSession
from tests.integration.test_app_shutdown import _project_with_fixture_server, real_app
from tests.integration.test_gateway_endpoints import handshake_session

pytestmark = pytest.mark.slow

GONE_WITHIN_SECONDS = 5.0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def _with_marker(marker: str) -> list[int]:
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and marker in _cmdline(int(entry)) and _alive(int(entry))
    ]


def _sessions(database_url: str) -> list[ClientSession]:
    engine = db.make_engine(database_url)
    try:
        with Session(engine) as s:
            return list(s.exec(select(ClientSession)))
    finally:
        engine.dispose()


async def test_sigkill_of_the_backend_leaves_no_upstream_process_and_restart_ends_its_sessions(
    tmp_path,
):
    seconds = random.randint(6000, 6999)  # the marker: `sleep <seconds>` in a command line
    marker = f"sleep {seconds}"
    processes: list[int] = []
    try:
        with real_app(tmp_path) as app:
            project, key = await _project_with_fixture_server(app.url)
            url = f"{app.url}/projects/{project}/servers/fixture/mcp"
            killed = False
            try:
                async with handshake_session(url, key) as session:
                    in_group = await session.call_tool("spawn_child", {"seconds": seconds})
                    detached = await session.call_tool(
                        "spawn_child", {"seconds": seconds, "detach": True}
                    )
                    children = [int(in_group.content[0].text), int(detached.content[0].text)]
                    server = _parent(children[0])
                    processes = [*children, server, os.getpgid(server)]
                    assert os.getpgid(children[1]) != os.getpgid(server)  # it left the group
                    assert len(_with_marker(marker)) == 2

                    deadline = time.monotonic() + 10
                    while not _sessions(app.database_url):
                        assert time.monotonic() < deadline, "the session row was not written"
                        time.sleep(0.1)

                    os.killpg(app.process.pid, signal.SIGKILL)  # reflex and its backend worker
                    app.process.wait(timeout=10)
                    killed = True

            except Exception:
                if not killed:
                    raise
                # the client's goodbye found no server: expected, it was killed

            deadline = time.monotonic() + GONE_WITHIN_SECONDS
            while (left := [pid for pid in processes if _alive(pid)]) or _with_marker(marker):
                if time.monotonic() > deadline:
                    described = {pid: _cmdline(pid) for pid in left + _with_marker(marker)}
                    pytest.fail(f"left running after the backend was killed: {described}")
                time.sleep(0.05)
            (orphaned,) = _sessions(app.database_url)
            assert orphaned.ended_at is None  # nobody could end it: the process was killed

        with real_app(tmp_path) as app:  # the same data directory, a new process
            (ended,) = _sessions(app.database_url)
            assert ended.id == orphaned.id
            assert ended.ended_at is not None, "the killed backend's session is still active"
            assert ended.ended_at >= orphaned.last_activity_at
    finally:
        for pid in processes + _with_marker(marker):  # only if an assertion above failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
