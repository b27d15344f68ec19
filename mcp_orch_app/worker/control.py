"""What administrators do with the background worker, for the REST API and the admin page.

Rights and the saved settings go through services/worker.py (a non-administrator is refused
there, before anything else happens); then the live worker of this process follows: a change of
the settings is applied to its schedule at once when it leads (other processes' leaders pick it
up within their poll interval), the status shows its exact next run time, and a run is performed
by it (through this process's gateway).
"""

from __future__ import annotations

from mcp_orch_app.db import run_db
from mcp_orch_app.gateway.operations import GatewayNotRunning
from mcp_orch_app.services import worker as worker_service
from mcp_orch_app.services.access import require_admin
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.worker import WorkerConfigIn, WorkerRunOut, WorkerStatusOut
from mcp_orch_app.worker.scheduler import HealthWorker, current_worker


class WorkerNotRunning(RuntimeError):
    """This process runs no background worker (the app's lifespan has not started it)."""

    def __init__(self) -> None:
        super().__init__("The background worker is not running in this process; try again shortly.")


NOT_RUNNING = (WorkerNotRunning, GatewayNotRunning)
"""What a run raises in a process without a worker or a gateway (only outside the app)."""


def _running_worker() -> HealthWorker:
    worker = current_worker()
    if worker is None:
        raise WorkerNotRunning()
    return worker


def _live(status: WorkerStatusOut) -> WorkerStatusOut:
    worker = current_worker()
    if worker is None or not worker.is_leader:
        return status  # the service's estimate
    return status.model_copy(update={"next_run_at": worker.next_run_at()})


async def _applied(status: WorkerStatusOut) -> WorkerStatusOut:
    worker = current_worker()
    if worker is not None:
        await worker.apply_settings()
    return _live(status)


async def worker_status(actor: Actor) -> WorkerStatusOut:
    return _live(await run_db(worker_service.worker_status, actor))


async def start_worker(actor: Actor) -> WorkerStatusOut:
    return await _applied(await run_db(worker_service.start_worker, actor))


async def stop_worker(actor: Actor) -> WorkerStatusOut:
    return await _applied(await run_db(worker_service.stop_worker, actor))


async def configure_worker(actor: Actor, data: WorkerConfigIn) -> WorkerStatusOut:
    return await _applied(await run_db(worker_service.update_config, actor, data))


async def run_history(
    actor: Actor, limit: int = worker_service.DEFAULT_HISTORY
) -> list[WorkerRunOut]:
    return await run_db(worker_service.list_runs, actor, limit)


async def check_now(actor: Actor) -> WorkerRunOut:
    """Run the checks now and return the finished run (Conflict when one is in progress)."""
    require_admin(actor)
    return await _running_worker().run(actor)


async def start_check(actor: Actor) -> int:
    """Begin a run now and return its id without waiting for it (the admin page follows it
    through the history). Conflict when one is in progress."""
    require_admin(actor)
    return await _running_worker().launch(actor)
