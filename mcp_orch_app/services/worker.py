"""The background worker's settings and run history: what administrators may see and change,
and what the worker itself records.

Administrators (every function taking an ``actor``; anyone else gets PermissionDenied) read the
status, switch the schedule on and off, change its interval (60 to 3600 seconds) and its other
settings, read the history of runs, and start a run by hand. The settings live in the single
``WorkerConfig`` row (id 1, created with its defaults on first use), the runs in ``WorkerRun``.

The live side (mcp_orch_app/worker/) applies the settings to the scheduler and performs the
runs; it records them through the functions at the end of this module, which check no rights:
the worker acts for the installation (a manual run is started by an administrator, checked
by :func:`begin_manual_run`).

A run's ``details`` keep the servers whose check failed (at most ``MAX_RECORDED_FAILURES``, each
error cut to ``MAX_DETAIL_ERROR`` characters), so one bad night cannot bloat the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from mcp_orch_app.models import (
    McpServer,
    ServerStatus,
    WorkerConfig,
    WorkerRun,
    WorkerRunStatus,
    WorkerRunTrigger,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import activity
from mcp_orch_app.services.access import require_admin
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.server_operations import LiveTarget

MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 3600
# (lowest, highest) accepted for the other settings.
CONCURRENCY_RANGE = (1, 100)
CHECK_TIMEOUT_RANGE = (1, 600)
RETENTION_DAYS_RANGE = (1, 3650)

DEFAULT_HISTORY = 20
MAX_HISTORY = 200
MAX_RECORDED_FAILURES = 100
MAX_DETAIL_ERROR = 500

FIRST_RUN_DELAY = timedelta(seconds=30)
"""A schedule (re)started in a process runs its first check no sooner than this: an app that
starts (or an administrator who switches the worker on) does not start every server at once."""

INTERRUPTED = "Interrupted: the process running it stopped before it finished."


# --- what the functions return -----------------------------------------------------------------


class WorkerFailureOut(BaseModel):
    """A server whose check failed in a run, and why."""

    server_id: uuid.UUID
    server_name: str
    project_id: uuid.UUID
    status: ServerStatus
    error: str


class WorkerRunOut(BaseModel):
    id: int
    trigger: WorkerRunTrigger
    status: WorkerRunStatus
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    checked: int
    changed: int
    failed: int
    error: str | None
    failures: list[WorkerFailureOut]
    more_failures: int
    """Failed checks beyond the ones listed in ``failures``."""


class WorkerStatusOut(BaseModel):
    running: bool
    """The schedule is switched on (the checks run every ``interval_seconds``)."""
    interval_seconds: int
    next_run_at: datetime | None
    last_run: WorkerRunOut | None
    """The latest finished run."""
    run_in_progress: bool
    concurrency: int
    check_timeout_seconds: int
    retention_days: int


def _declared(low: int, high: int) -> dict[str, int]:
    return {"minimum": low, "maximum": high}


class WorkerConfigIn(BaseModel):
    """``PUT /api/workers/config``: the interval, and optionally the other settings."""

    # The ranges are checked by update_config (with a message naming the setting); declared
    # here so the OpenAPI document shows them.
    interval_seconds: int = Field(
        json_schema_extra=_declared(MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS)
    )
    concurrency: int | None = Field(default=None, json_schema_extra=_declared(*CONCURRENCY_RANGE))
    check_timeout_seconds: int | None = Field(
        default=None, json_schema_extra=_declared(*CHECK_TIMEOUT_RANGE)
    )
    retention_days: int | None = Field(
        default=None, json_schema_extra=_declared(*RETENTION_DAYS_RANGE)
    )


@dataclass(frozen=True)
class ScheduleSettings:
    """What the scheduler of the leading process applies."""

    enabled: bool
    interval_seconds: int
    retention_days: int
    last_scheduled_start: datetime | None


@dataclass(frozen=True)
class RunPlan:
    """A run just begun: its row, its bounds, and the servers to check (detached)."""

    run_id: int
    concurrency: int
    check_timeout_seconds: int
    targets: list[LiveTarget]


@dataclass(frozen=True)
class CheckOutcome:
    """One server's check in a run, as recorded by ``server_status.record_check``."""

    server_id: uuid.UUID
    server_name: str
    project_id: uuid.UUID
    ok: bool
    old: ServerStatus
    new: ServerStatus
    error: str | None


# --- reading -----------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def worker_config(db: Session) -> WorkerConfig:
    """The settings row, created with its defaults on first use (also by two processes at once)."""
    row = db.get(WorkerConfig, 1)
    if row is not None:
        return row
    try:
        with db.begin_nested():
            db.add(WorkerConfig(id=1))
    except sa_exc.IntegrityError:
        pass  # another process created it meanwhile
    return db.get(WorkerConfig, 1)  # type: ignore[return-value]


def run_out(run: WorkerRun) -> WorkerRunOut:
    details: dict[str, Any] = run.details or {}
    return WorkerRunOut(
        id=run.id or 0,
        trigger=run.trigger,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=run.duration_ms,
        checked=run.checked,
        changed=run.changed,
        failed=run.failed,
        error=run.error,
        failures=[WorkerFailureOut.model_validate(item) for item in details.get("failures", [])],
        more_failures=int(details.get("more_failures", 0)),
    )


def next_scheduled_run(
    interval_seconds: int, last_scheduled_start: datetime | None, now: datetime | None = None
) -> datetime:
    """When a schedule started ``now`` first runs: one interval after the last scheduled run
    (the rhythm survives restarts), but never sooner than ``FIRST_RUN_DELAY`` from now."""
    now = now or utcnow()
    soonest = now + FIRST_RUN_DELAY
    if last_scheduled_start is None:
        return soonest
    return max(soonest, _as_utc(last_scheduled_start) + timedelta(seconds=interval_seconds))


def _last_scheduled_start(db: Session) -> datetime | None:
    return db.exec(
        select(func.max(WorkerRun.started_at)).where(WorkerRun.trigger == WorkerRunTrigger.SCHEDULE)
    ).one()


def _status(db: Session) -> WorkerStatusOut:
    config = worker_config(db)
    last = db.exec(
        select(WorkerRun)
        .where(WorkerRun.status != WorkerRunStatus.RUNNING)
        .order_by(col(WorkerRun.id).desc())
        .limit(1)
    ).first()
    in_progress = db.exec(
        select(WorkerRun.id).where(WorkerRun.status == WorkerRunStatus.RUNNING).limit(1)
    ).first()
    next_run = (
        next_scheduled_run(config.interval_seconds, _last_scheduled_start(db))
        if config.enabled
        else None
    )
    return WorkerStatusOut(
        running=config.enabled,
        interval_seconds=config.interval_seconds,
        next_run_at=next_run,
        last_run=run_out(last) if last is not None else None,
        run_in_progress=in_progress is not None,
        concurrency=config.concurrency,
        check_timeout_seconds=config.check_timeout_seconds,
        retention_days=config.retention_days,
    )


# --- for administrators ------------------------------------------------------------------------


def worker_status(db: Session, actor: Actor) -> WorkerStatusOut:
    """The settings, the latest finished run and whether one is running now.

    ``next_run_at`` is estimated from the last scheduled run; the process that runs the
    schedule knows it exactly (see mcp_orch_app/worker/control.py).
    """
    require_admin(actor)
    return _status(db)


def _switch(db: Session, actor: Actor, enabled: bool) -> WorkerStatusOut:
    require_admin(actor)
    config = worker_config(db)
    if config.enabled != enabled:
        config.enabled = enabled
        _touch(config, actor)
        verb = "started" if enabled else "stopped"
        activity.record(
            db,
            actor,
            f"worker.{verb}",
            f"{actor.display_name} {verb} the background worker's scheduled checks",
        )
    db.flush()
    return _status(db)


def start_worker(db: Session, actor: Actor) -> WorkerStatusOut:
    """Switch the scheduled checks on (nothing changes when they already are)."""
    return _switch(db, actor, True)


def stop_worker(db: Session, actor: Actor) -> WorkerStatusOut:
    """Switch the scheduled checks off; a run in progress finishes. Manual runs still work."""
    return _switch(db, actor, False)


def _bounded(value: Any, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(message)
    return value


def _interval(seconds: Any) -> int:
    return _bounded(
        seconds,
        MIN_INTERVAL_SECONDS,
        MAX_INTERVAL_SECONDS,
        f"The interval must be a whole number of seconds from {MIN_INTERVAL_SECONDS} to "
        f"{MAX_INTERVAL_SECONDS} (1 to 60 minutes).",
    )


def update_config(db: Session, actor: Actor, data: WorkerConfigIn) -> WorkerStatusOut:
    """Change the interval (and the other settings given); all are checked before any is saved."""
    require_admin(actor)
    changes = {"interval_seconds": _interval(data.interval_seconds)}
    for field, (low, high), what in (
        ("concurrency", CONCURRENCY_RANGE, "The number of checks at a time"),
        ("check_timeout_seconds", CHECK_TIMEOUT_RANGE, "The check timeout (seconds)"),
        ("retention_days", RETENTION_DAYS_RANGE, "The log retention (days)"),
    ):
        value = getattr(data, field)
        if value is not None:
            changes[field] = _bounded(value, low, high, f"{what} must be from {low} to {high}.")
    config = worker_config(db)
    changed = {k: v for k, v in changes.items() if getattr(config, k) != v}
    if changed:
        for field, value in changed.items():
            setattr(config, field, value)
        _touch(config, actor)
        described = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in changed.items())
        activity.record(
            db,
            actor,
            "worker.configured",
            f"{actor.display_name} set the background worker's {described}",
            details=changed,
        )
    db.flush()
    return _status(db)


def set_interval(db: Session, actor: Actor, seconds: int) -> WorkerStatusOut:
    """Check every ``seconds`` (60 to 3600); InvalidInput otherwise."""
    require_admin(actor)
    return update_config(db, actor, WorkerConfigIn(interval_seconds=_interval(seconds)))


def list_runs(db: Session, actor: Actor, limit: int = DEFAULT_HISTORY) -> list[WorkerRunOut]:
    """The latest runs, newest first (``limit`` is kept within 1..MAX_HISTORY)."""
    require_admin(actor)
    limit = max(1, min(int(limit), MAX_HISTORY))
    rows = db.exec(select(WorkerRun).order_by(col(WorkerRun.id).desc()).limit(limit)).all()
    return [run_out(row) for row in rows]


def begin_manual_run(db: Session, actor: Actor) -> RunPlan:
    """An administrator's "run now": see :func:`begin_run`."""
    require_admin(actor)
    return begin_run(db, WorkerRunTrigger.MANUAL)


def _touch(config: WorkerConfig, actor: Actor) -> None:
    config.updated_at = utcnow()
    config.updated_by = actor.user_id


# --- for the worker (no rights: the installation acts) -----------------------------------------


def schedule_settings(db: Session) -> ScheduleSettings:
    config = worker_config(db)
    return ScheduleSettings(
        enabled=config.enabled,
        interval_seconds=config.interval_seconds,
        retention_days=config.retention_days,
        last_scheduled_start=_last_scheduled_start(db),
    )


def fail_interrupted_runs(db: Session) -> int:
    """Close the runs left ``running`` by a process that died. Only the holder of the run lock
    may call this (then no run can really be in progress); returns how many were closed."""
    now = utcnow()
    result = db.execute(
        update(WorkerRun)
        .where(col(WorkerRun.status) == WorkerRunStatus.RUNNING)
        .values(status=WorkerRunStatus.FAILED, finished_at=now, error=INTERRUPTED)
    )
    return result.rowcount or 0


def enabled_targets(db: Session) -> list[LiveTarget]:
    """Every enabled server of every project. The ones online at their last check come first:
    after a restart they start before the broken ones can hold the pool's start slots."""
    rows = db.exec(
        select(McpServer)
        .where(col(McpServer.enabled))
        .order_by(
            col(McpServer.status) != ServerStatus.ONLINE,
            col(McpServer.project_id),
            func.lower(McpServer.name),
        )
    ).all()
    return [LiveTarget(row.project_id, row) for row in rows]


def begin_run(db: Session, trigger: WorkerRunTrigger) -> RunPlan:
    """Record a new run as ``running`` and return what it checks. The caller holds the run lock
    (mcp_orch_app/worker/locks.py), so any other ``running`` row is a leftover and is closed."""
    fail_interrupted_runs(db)
    config = worker_config(db)
    run = WorkerRun(trigger=trigger, status=WorkerRunStatus.RUNNING, started_at=utcnow())
    db.add(run)
    db.flush()
    return RunPlan(
        run_id=run.id or 0,
        concurrency=config.concurrency,
        check_timeout_seconds=config.check_timeout_seconds,
        targets=enabled_targets(db),
    )


def _failure(outcome: CheckOutcome) -> dict[str, Any]:
    return {
        "server_id": str(outcome.server_id),
        "server_name": outcome.server_name,
        "project_id": str(outcome.project_id),
        "status": outcome.new.value,
        "error": (outcome.error or "The check failed.")[:MAX_DETAIL_ERROR],
    }


def finish_run(
    db: Session, run_id: int, outcomes: list[CheckOutcome], error: str | None = None
) -> WorkerRunOut:
    """Close the run with its counts; ``error`` (the run itself broke off) makes it ``failed``."""
    run = db.get(WorkerRun, run_id)
    if run is None:  # removed meanwhile (the tables were emptied): nothing left to close
        raise InvalidInput(f"The worker run {run_id} no longer exists.")
    finished = utcnow()
    failures = sorted(
        (o for o in outcomes if not o.ok), key=lambda o: (o.server_name.lower(), str(o.server_id))
    )
    run.finished_at = finished
    run.duration_ms = max(0, round((finished - _as_utc(run.started_at)).total_seconds() * 1000))
    run.checked = len(outcomes)
    run.changed = sum(1 for o in outcomes if o.old != o.new)
    run.failed = len(failures)
    run.status = WorkerRunStatus.FAILED if error else WorkerRunStatus.SUCCESS
    run.error = error
    run.details = {
        "failures": [_failure(o) for o in failures[:MAX_RECORDED_FAILURES]],
        "more_failures": max(0, len(failures) - MAX_RECORDED_FAILURES),
    }
    db.add(run)
    db.flush()
    return run_out(run)
