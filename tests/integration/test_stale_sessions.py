"""Client sessions left active by a backend process that died are ended; a live one's are not.

Each backend process is a gateway instance with a heartbeat (services/instances.py). These
tests start the real gateway lifespan (``running_app``) on SQLite and PostgreSQL next to rows
that other processes left: one of this machine whose process is gone, one of another machine
whose heartbeat stopped, one of another machine that is alive, and sessions that name no
instance at all (written before instances were recorded). The real crash, SIGKILL of the
production backend and its restart, is in test_crash_hygiene.py.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from mcp_orch_app import config
from mcp_orch_app.models import ClientSession, GatewayInstance, Project
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services.instances import THIS_INSTANCE, _start_time, host_key
from tests.live_app import running_app


def _dead_pid() -> tuple[int, int | None]:
    """The pid and start time of a process of ours that has exited (and been reaped)."""
    process = subprocess.Popen(["sleep", "0.2"])
    start = _start_time(process.pid)
    process.wait()
    return process.pid, start


def _instance(heartbeat_age: timedelta, *, local_pid: tuple[int, int | None] | None = None):
    now = utcnow()
    if local_pid is None:
        return GatewayInstance(
            id=uuid.uuid4(),
            hostname="replica-b",
            host_key="another-boot/pid:[1]",
            pid=4242,
            pid_start=1,
            started_at=now - timedelta(hours=1),
            heartbeat_at=now - heartbeat_age,
        )
    pid, start = local_pid
    return GatewayInstance(
        id=uuid.uuid4(),
        hostname="here",
        host_key=host_key(),
        pid=pid,
        pid_start=start,
        started_at=now - timedelta(hours=1),
        heartbeat_at=now - heartbeat_age,
    )


def _session(project: Project, instance_id: uuid.UUID | None, activity_age: timedelta):
    now = utcnow()
    return ClientSession(
        project_id=project.id,
        instance_id=instance_id,
        started_at=now - timedelta(hours=2),
        last_activity_at=now - activity_age,
    )


def _ended(engine, session_id: uuid.UUID):
    with Session(engine) as s:
        return s.get(ClientSession, session_id).ended_at


@pytest.fixture
def project(engine) -> Project:
    with Session(engine, expire_on_commit=False) as s:
        project = Project(name="crashes")
        s.add(project)
        s.commit()
        return project


async def test_sessions_of_dead_processes_are_ended_at_start_and_live_ones_kept(engine, project):
    dead_here = _instance(timedelta(seconds=1), local_pid=_dead_pid())  # fresh beat, no process
    silent_there = _instance(timedelta(minutes=10))
    alive_there = _instance(timedelta(seconds=1))
    sessions = {
        "dead here": _session(project, dead_here.id, timedelta(minutes=5)),
        "silent there": _session(project, silent_there.id, timedelta(minutes=30)),
        "alive there": _session(project, alive_there.id, timedelta(minutes=1)),
        "no instance": _session(project, None, timedelta(minutes=7)),
        "unknown instance": _session(project, uuid.uuid4(), timedelta(minutes=8)),
    }
    with Session(engine, expire_on_commit=False) as s:
        s.add_all([dead_here, silent_there, alive_there, *sessions.values()])
        s.commit()

    async with running_app(engine):
        ended = {name: _ended(engine, row.id) for name, row in sessions.items()}
        with Session(engine) as s:
            instances = set(s.exec(select(GatewayInstance.id)).all())

    assert ended["alive there"] is None, "a live replica's session was ended"
    # Ended at the last moment each was known to be alive.
    assert ended["dead here"] == dead_here.heartbeat_at
    assert ended["silent there"] == silent_there.heartbeat_at
    assert ended["no instance"] == sessions["no instance"].last_activity_at
    assert ended["unknown instance"] == sessions["unknown instance"].last_activity_at
    # The dead instances are forgotten; the live replica and this process are recorded.
    assert instances == {alive_there.id, THIS_INSTANCE}
    with Session(engine) as s:
        # A clean stop removes this process's row; the live replica's stays.
        assert set(s.exec(select(GatewayInstance.id)).all()) == {alive_there.id}


async def test_a_replica_that_stops_beating_has_its_sessions_ended_by_a_running_one(
    engine, project, monkeypatch
):
    monkeypatch.setenv("MCP_ORCH_INSTANCE_HEARTBEAT_SECONDS", "1")
    config.reset_settings_cache()
    replica = _instance(timedelta(seconds=0))
    session = _session(project, replica.id, timedelta(seconds=0))
    with Session(engine, expire_on_commit=False) as s:
        s.add_all([replica, session])
        s.commit()

    async with running_app(engine):
        with Session(engine) as s:
            first_beat = s.get(GatewayInstance, THIS_INSTANCE).heartbeat_at
        await asyncio.sleep(1.5)
        assert _ended(engine, session.id) is None, "ended while the replica's beat was fresh"
        deadline = time.monotonic() + 10
        while _ended(engine, session.id) is None:  # 4 missed beats of 1 s, then the next sweep
            assert time.monotonic() < deadline, "the silent replica's session stayed active"
            await asyncio.sleep(0.2)
        with Session(engine) as s:
            assert s.get(GatewayInstance, replica.id) is None
            assert s.get(GatewayInstance, THIS_INSTANCE).heartbeat_at > first_beat


async def test_sessions_the_gateway_opens_name_this_process(engine, project):
    async with running_app(engine) as app:
        session_id = app.writer.open_client_session(project_id=project.id)
        assert await app.writer.aflush(5)
        with Session(engine) as s:
            assert s.get(ClientSession, session_id).instance_id == THIS_INSTANCE
