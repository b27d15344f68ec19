"""One run's health checks: every server of the plan, concurrently, at most ``concurrency`` at a
time, each through the running gateway's pool and recorded as soon as it is done.

A check is :func:`~mcp_orch_app.gateway.operations.check_server` (connect or reuse the pooled
upstream, list the tools; an upstream problem is its result, never an exception), bounded by the
worker's check timeout when that is shorter than the server's own, and recorded with
``server_status.record_check`` (status, tool cache, ServerLog and Activity on a change). So a
server that hangs costs one timeout of one slot, and a run costs about
``ceil(hanging / concurrency)`` timeouts, not the sum of them. A server deleted while it was
being checked is left out of the outcomes.
"""

from __future__ import annotations

import asyncio

from mcp_orch_app.db import run_db
from mcp_orch_app.gateway.operations import CheckResult, access_for, check_server
from mcp_orch_app.gateway.runtime import Gateway
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import server_status
from mcp_orch_app.services.errors import NotFound
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.server_operations import LiveTarget
from mcp_orch_app.services.worker import CheckOutcome


async def check_within(gateway: Gateway, target: LiveTarget, timeout: float) -> CheckResult:
    """Check one server within ``timeout`` seconds or its own timeout, whichever is shorter.

    The deadline is kept here rather than put into the server's config: the pool keeps the
    config it is handed, and MCP clients must keep the server's own timeout. A check that runs
    out of time before the server is up leaves its start going on in the pool: a slow starter
    (many servers booting at once on few cores) is then up for the next check instead of being
    started from scratch again, and one that never answers gives up at its own handshake
    timeout (its start slot it gives back after the pool's short grace, so it holds up no one).
    """
    access = access_for(target)
    limit = min(timeout, access.config.timeout_seconds)
    checked_at = utcnow()
    try:
        async with asyncio.timeout(limit):
            return await check_server(gateway, access)
    except TimeoutError:
        pass
    up = gateway.pool.running(access.server_id) is not None
    what = "list its tools" if up else "start and answer the MCP handshake"
    whose = " (the worker's check timeout)" if limit < access.config.timeout_seconds else ""
    error = f"MCP server '{access.server_name}' did not {what} within {limit:g}s{whose}"
    return CheckResult(False, None, error, not up, checked_at)


async def check_servers(
    gateway: Gateway,
    targets: list[LiveTarget],
    *,
    concurrency: int,
    timeout: float,
    outcomes: list[CheckOutcome],
    actor: Actor | None = None,
) -> None:
    """Check and record every target; each recorded check is appended to ``outcomes`` at once
    (a run broken off midway still knows what it did). ``actor`` is who asked (None: the
    schedule). A database failure ends the run with that error; the other checks are cancelled.
    """
    bound = asyncio.Semaphore(max(1, concurrency))

    async def check(target: LiveTarget) -> None:
        async with bound:
            result = await check_within(gateway, target, timeout)
        server = target.server
        try:
            # A CheckResult's fields are record_check's keywords.
            old, new = await run_db(
                server_status.record_check, server.id, actor=actor, **vars(result)
            )
        except NotFound:
            return  # deleted while it was being checked
        outcomes.append(
            CheckOutcome(
                server.id, server.name, target.project_id, result.ok, old, new, result.error
            )
        )

    try:
        async with asyncio.TaskGroup() as group:
            for target in targets:
                group.create_task(check(target))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
