"""Which backend processes are alive, and ending the client sessions of the ones that are not.

A backend killed outright (SIGKILL, the OOM killer, a power cut) cannot end its client sessions;
their rows would stay active for ever. So every backend process is a `GatewayInstance` row,
refreshed every heartbeat while its gateway runs, and every session row names the instance that
serves it (``ClientSession.instance_id``, stamped by the log writer with `THIS_INSTANCE`).

An instance is dead when

- it runs on this machine, in this pid namespace, and its process is gone (or its pid now
  belongs to a process started at another time): known at once, so a backend restarted after
  a crash ends the old sessions as it starts; or
- its heartbeat is older than `STALE_AFTER_HEARTBEATS` heartbeats: the only safe sign for an
  instance on another machine or in another container (several replicas sharing one
  PostgreSQL). A live replica keeps its heartbeat fresh, so its sessions are left alone.

Then its active sessions are ended (``ended_at`` = the later of its last heartbeat and the
session's last activity: the last moment the session was known to be alive) and its row goes.
At start-up, sessions that name no instance, or one without a row (written before this
bookkeeping existed, or by an instance already cleaned up), are ended as well.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session, select

from mcp_orch_app.models import ClientSession, GatewayInstance
from mcp_orch_app.models.types import utcnow

logger = logging.getLogger(__name__)

THIS_INSTANCE = uuid.uuid4()
"""The id of this backend process's instance."""

STALE_AFTER_HEARTBEATS = 4
"""An instance that missed this many heartbeats in a row counts as dead."""


@dataclass(frozen=True)
class ProcessIdentity:
    hostname: str
    host_key: str | None
    pid: int
    pid_start: int | None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22)."""
    raw = _read(f"/proc/{pid}/stat")
    if raw is None:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@lru_cache(maxsize=1)
def host_key() -> str | None:
    """This kernel boot and pid namespace; None where there is no /proc to tell."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = None
    if not boot or not namespace:
        return None
    return f"{boot}/{namespace}"[:128]


def this_process() -> ProcessIdentity:
    pid = os.getpid()
    return ProcessIdentity(socket.gethostname()[:255], host_key(), pid, _start_time(pid))


def process_is_gone(instance: GatewayInstance) -> bool:
    """True when the instance's process certainly no longer runs (same boot and namespace)."""
    if instance.host_key is None or instance.host_key != host_key():
        return False
    start = _start_time(instance.pid)
    return start is None or (instance.pid_start is not None and start != instance.pid_start)


def register_instance(db: Session, instance_id: uuid.UUID = THIS_INSTANCE) -> None:
    """Record (or refresh) this process as a live instance."""
    me = this_process()
    now = utcnow()
    row = db.get(GatewayInstance, instance_id)
    if row is None:
        row = GatewayInstance(id=instance_id, started_at=now)
    row.hostname, row.host_key, row.pid, row.pid_start = (
        me.hostname,
        me.host_key,
        me.pid,
        me.pid_start,
    )
    row.heartbeat_at = now
    db.add(row)


def heartbeat(db: Session, instance_id: uuid.UUID = THIS_INSTANCE) -> None:
    """Refresh this instance's heartbeat (re-registering it if another instance took it for
    dead while this process was stalled, which also ended its sessions' rows)."""
    updated = db.execute(
        sa.update(GatewayInstance)
        .where(GatewayInstance.id == instance_id)
        .values(heartbeat_at=utcnow())
    ).rowcount
    if not updated:
        logger.warning("this instance was taken for dead (stalled?); registering it again")
        register_instance(db, instance_id)


def end_dead_instances_sessions(
    db: Session,
    heartbeat_seconds: float,
    *,
    instance_id: uuid.UUID = THIS_INSTANCE,
    at_start: bool = False,
    now: datetime | None = None,
) -> int:
    """End the active sessions of every dead instance and forget those instances; with
    ``at_start`` also the sessions of no known instance. Returns how many sessions it ended."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=heartbeat_seconds * STALE_AFTER_HEARTBEATS)
    sessions = ClientSession.__table__
    ended = 0
    others = db.exec(select(GatewayInstance).where(GatewayInstance.id != instance_id)).all()
    for other in others:
        if not (other.heartbeat_at < cutoff or process_is_gone(other)):
            continue
        last_alive = other.heartbeat_at
        ended += db.execute(
            sa.update(sessions)
            .where(sessions.c.instance_id == other.id, sessions.c.ended_at.is_(None))
            .values(
                ended_at=sa.case(
                    (sessions.c.last_activity_at > last_alive, sessions.c.last_activity_at),
                    else_=last_alive,
                )
            )
        ).rowcount
        db.execute(sa.delete(GatewayInstance).where(GatewayInstance.id == other.id))
        logger.info(
            "instance %s (pid %s on %s) is gone; ended its client sessions",
            other.id,
            other.pid,
            other.hostname,
        )
    if at_start:
        known = select(GatewayInstance.id)
        ended += db.execute(
            sa.update(sessions)
            .where(
                sessions.c.ended_at.is_(None),
                sa.or_(sessions.c.instance_id.is_(None), sessions.c.instance_id.not_in(known)),
            )
            .values(ended_at=sa.func.coalesce(sessions.c.last_activity_at, sessions.c.started_at))
        ).rowcount
    if ended:
        logger.info("ended %d client sessions of backend processes that are gone", ended)
    return ended


def forget_instance(db: Session, instance_id: uuid.UUID = THIS_INSTANCE) -> None:
    """A clean shutdown: the instance's sessions were ended by the gateway; drop its row."""
    db.execute(sa.delete(GatewayInstance).where(GatewayInstance.id == instance_id))
