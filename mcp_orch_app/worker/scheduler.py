"""`HealthWorker`: the background worker of one backend process, started and stopped with the app.

Every process runs one (``worker_lifespan`` is registered next to the gateway's in
mcp_orch_app.py), but only the leader schedules: the process holding the leader lock
(locks.py; on PostgreSQL an advisory lock, on SQLite the single process). The others try to
take it over every ``poll_interval`` seconds, so when the leader stops or dies, another process
continues the schedule.

The leader's APScheduler ``AsyncIOScheduler`` has two jobs:
- the health checks, every ``WorkerConfig.interval_seconds`` while the schedule is switched on,
  first one ``FIRST_RUN_DELAY`` after it starts at the earliest (services/worker.py);
- the log retention (retention.py), every ``retention_interval`` seconds, which also clears
  expired OAuth requests, codes, access tokens and dead grants.
The settings live in the database: the leader re-reads them every ``poll_interval`` (a change
made through another process arrives that way) and at once when a change is made through this
process (:meth:`HealthWorker.apply_settings`, called by control.py).

A run (scheduled or "run now", from any process) first takes the run lock, so two runs never
overlap anywhere in the installation; asking for one while another is in progress raises
Conflict. A run checks through this process's gateway (its pool), see checks.py, and is
recorded as a ``WorkerRun`` row from its start (``running``) to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from mcp_orch_app.db import run_db
from mcp_orch_app.gateway.operations import GatewayNotRunning
from mcp_orch_app.gateway.runtime import Gateway, current_gateway
from mcp_orch_app.models import WorkerRunTrigger
from mcp_orch_app.services import worker as worker_service
from mcp_orch_app.services.access import require_admin
from mcp_orch_app.services.errors import Conflict
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.worker import CheckOutcome, RunPlan, WorkerRunOut
from mcp_orch_app.worker.checks import check_servers
from mcp_orch_app.worker.locks import AdvisoryLock
from mcp_orch_app.worker.retention import delete_expired_oauth, delete_old_logs

logger = logging.getLogger(__name__)

CHECK_JOB = "health-checks"
RETENTION_JOB = "log-retention"
LEADER_LOCK = "mcp-orch:worker:leader"
RUN_LOCK = "mcp-orch:worker:run"

POLL_INTERVAL = 10.0
"""Seconds between a follower's attempts to lead, and between the leader's re-reads of the
settings (and checks that it still holds its lock)."""

RETENTION_INTERVAL = 3600.0

RUN_IN_PROGRESS = "A check run is already in progress; wait for it to finish."
SHUTTING_DOWN = "Interrupted: mcp-orch was shutting down."


class HealthWorker:
    """One per process: see the module docstring."""

    def __init__(
        self,
        *,
        gateway: Gateway | None = None,
        poll_interval: float = POLL_INTERVAL,
        retention_interval: float = RETENTION_INTERVAL,
    ) -> None:
        """``gateway`` defaults to the app's running gateway (looked up at each run)."""
        self._gateway = gateway
        self.poll_interval = poll_interval
        self.retention_interval = retention_interval
        self._leader_lock = AdvisoryLock(LEADER_LOCK)
        self._run_lock = AdvisoryLock(RUN_LOCK)
        self._scheduler: AsyncIOScheduler | None = None
        self._leading: asyncio.Task[None] | None = None
        self._applied: tuple[bool, int] | None = None
        self._settings_lock = asyncio.Lock()
        self._busy = False
        """A run of this process is starting or going on."""
        self._claiming = asyncio.Lock()
        """Held while the run lock is taken for a run or for closing interrupted runs."""
        self._run_task: asyncio.Task[WorkerRunOut] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self._leader_lock.held

    async def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start()
        self._leading = asyncio.create_task(self._lead())

    async def stop(self) -> None:
        """Stop scheduling for good, interrupt a run in progress (recorded as failed), free the
        locks."""
        if self._leading is not None:
            self._leading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._leading
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.remove_all_jobs()
            self._scheduler.shutdown(wait=False)
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
        await asyncio.to_thread(self._leader_lock.close)

    # -- leadership and settings -------------------------------------------------------------

    async def _lead(self) -> None:
        while True:
            try:
                await self._take_turn()
            except Exception:
                logger.exception("the background worker could not check its leadership")
            await asyncio.sleep(self.poll_interval)

    async def _take_turn(self) -> None:
        if not self.is_leader:
            if not await asyncio.to_thread(self._leader_lock.try_acquire):
                return
            logger.info("this process now runs the background worker's schedule")
            await self._close_interrupted_runs()
        elif not await asyncio.to_thread(self._leader_lock.still_held):
            logger.warning("lost the background worker's leadership; stopping its schedule")
            self._unschedule()
            return
        await self.apply_settings()

    async def _close_interrupted_runs(self) -> None:
        """Runs a dead process left ``running`` are closed as failed (if no run is going on)."""
        async with self._claiming:
            if self._busy or not await asyncio.to_thread(self._run_lock.try_acquire):
                return
            try:
                closed = await run_db(worker_service.fail_interrupted_runs)
            finally:
                await asyncio.to_thread(self._run_lock.release)
        if closed:
            logger.warning("closed %d worker run(s) left running by a stopped process", closed)

    async def apply_settings(self) -> None:
        """Bring the schedule in line with the saved settings (only the leader schedules)."""
        async with self._settings_lock:
            if not self.is_leader or self._scheduler is None:
                return
            settings = await run_db(worker_service.schedule_settings)
            wanted = (settings.enabled, settings.interval_seconds)
            if self._scheduler.get_job(RETENTION_JOB) is None:
                self._scheduler.add_job(
                    self._retention_job,
                    IntervalTrigger(seconds=self.retention_interval, timezone=UTC),
                    id=RETENTION_JOB,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=None,
                )
            if wanted == self._applied:
                return
            if self._scheduler.get_job(CHECK_JOB) is not None:
                self._scheduler.remove_job(CHECK_JOB)
            if settings.enabled:
                first = worker_service.next_scheduled_run(
                    settings.interval_seconds, settings.last_scheduled_start
                )
                self._scheduler.add_job(
                    self._scheduled_run,
                    IntervalTrigger(
                        seconds=settings.interval_seconds, start_date=first, timezone=UTC
                    ),
                    id=CHECK_JOB,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=None,
                )
            self._applied = wanted

    def _unschedule(self) -> None:
        if self._scheduler is not None:
            self._scheduler.remove_all_jobs()
        self._applied = None

    def next_run_at(self) -> datetime | None:
        """When this process runs the next scheduled check (None unless it is the leader and
        the schedule is on)."""
        job = self._scheduler.get_job(CHECK_JOB) if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    # -- runs --------------------------------------------------------------------------------

    async def launch(self, actor: Actor | None = None) -> int:
        """Begin a run and return its id; it goes on in the background. ``actor``: the
        administrator who asked for it (None: the schedule). Conflict when one is in progress,
        GatewayNotRunning when this process serves no gateway to check through."""
        run_id, _task = await self._begin(actor)
        return run_id

    async def run(self, actor: Actor | None = None) -> WorkerRunOut:
        """Run the checks now and return the finished run (see :meth:`launch`). The run is not
        cancelled when the caller stops waiting (a client that disconnects)."""
        _run_id, task = await self._begin(actor)
        return await asyncio.shield(task)

    async def _begin(self, actor: Actor | None) -> tuple[int, asyncio.Task[WorkerRunOut]]:
        if actor is not None:
            require_admin(actor)
        if self._busy:
            raise Conflict(RUN_IN_PROGRESS)
        self._busy = True
        try:
            gateway = self._gateway or current_gateway()
            if gateway is None:
                raise GatewayNotRunning()
            async with self._claiming:  # waits for a clean-up of interrupted runs, if any
                if not await asyncio.to_thread(self._run_lock.try_acquire):
                    raise Conflict(RUN_IN_PROGRESS)  # in another process
            try:
                if actor is not None:
                    plan = await run_db(worker_service.begin_manual_run, actor)
                else:
                    plan = await run_db(worker_service.begin_run, WorkerRunTrigger.SCHEDULE)
            except BaseException:
                await asyncio.to_thread(self._run_lock.release)
                raise
        except BaseException:
            self._busy = False
            raise
        self._run_task = asyncio.create_task(self._execute(gateway, plan, actor))
        return plan.run_id, self._run_task

    async def _execute(self, gateway: Gateway, plan: RunPlan, actor: Actor | None) -> WorkerRunOut:
        outcomes: list[CheckOutcome] = []
        try:
            await check_servers(
                gateway,
                plan.targets,
                concurrency=plan.concurrency,
                timeout=plan.check_timeout_seconds,
                outcomes=outcomes,
                actor=actor,
            )
        except asyncio.CancelledError:
            await run_db(worker_service.finish_run, plan.run_id, outcomes, SHUTTING_DOWN)
            raise
        except Exception as exc:
            logger.exception("worker run %s failed", plan.run_id)
            error = f"The run stopped: {exc}"
            return await run_db(worker_service.finish_run, plan.run_id, outcomes, error)
        else:
            return await run_db(worker_service.finish_run, plan.run_id, outcomes)
        finally:
            await asyncio.to_thread(self._run_lock.release)
            self._busy = False

    async def _scheduled_run(self) -> None:
        try:
            run = await self.run()
        except Conflict:
            logger.info("scheduled health checks skipped: a run is still in progress")
        except GatewayNotRunning:
            logger.warning("scheduled health checks skipped: the MCP gateway is not running")
        except Exception:
            logger.exception("scheduled health checks failed")
        else:
            logger.info(
                "health checks: %d checked, %d changed, %d failed in %s ms",
                run.checked,
                run.changed,
                run.failed,
                run.duration_ms,
            )

    async def _retention_job(self) -> None:
        try:
            settings = await run_db(worker_service.schedule_settings)
            deleted = await asyncio.to_thread(delete_old_logs, settings.retention_days)
            deleted |= await asyncio.to_thread(delete_expired_oauth)
        except Exception:
            logger.exception("log retention failed")
            return
        if any(deleted.values()):
            logger.info("log retention (%d days) deleted %s", settings.retention_days, deleted)


_current: HealthWorker | None = None


def current_worker() -> HealthWorker | None:
    """This process's worker while the app runs (None before start-up, after shutdown)."""
    return _current


@asynccontextmanager
async def worker_lifespan(worker: HealthWorker | None = None) -> AsyncIterator[HealthWorker]:
    """Lifespan task: start the worker (it becomes the leader or waits to); on shutdown stop
    scheduling and interrupt a run in progress. Register it after the gateway's task, so it
    stops first (lifespan tasks exit in reverse order)."""
    global _current
    worker = worker or HealthWorker()
    await worker.start()
    _current = worker
    try:
        yield worker
    finally:
        _current = None
        await worker.stop()
