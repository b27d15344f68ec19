"""The live operations people run on a server from the UI or the REST API: refresh (one or all),
restart, and calling a tool.

Each one first asks services/server_operations.py whether the actor may (PermissionDenied,
NotFound, Conflict for a disabled server), then works through the running Gateway's pool, the
same connection MCP clients use, and records the outcome through the services:

- a check (refresh, and the one after a restart) connects or reuses the pooled upstream, lists
  the tools (every ``nextCursor`` page) and stores the result with
  ``server_status.record_check``: status, tools count, tool cache, last checked, last error,
  and a ServerLog + Activity when the status changed. The whole check (start included) gets the
  server's ``timeout_seconds``: a server that hangs costs one timeout, and its start goes on in
  the pool in the background. An upstream failure is a check result, not an error of the
  operation: the caller gets the server back with its new status and ``last_error``;
- ``refresh_all`` runs the checks of the project's enabled servers concurrently, at most
  ``concurrency`` at a time, so it costs about the slowest server, not the sum. (Process starts
  are also bounded by the pool, ``max_concurrent_starts``);
- ``restart_server`` restarts the upstream in the pool (the pool logs stop and start), counts it
  with ``server_status.record_restart`` and checks the fresh process;
- ``call_tool`` calls through ``forwarding.run_tool_call``: the rules and the ToolCallLog row of
  a call from an MCP client, with ``client_name`` "mcp-orch API" and no session;
- ``list_offers`` lists a server's resources, resource templates or prompts (every page; an
  empty list when the server does not offer that capability), and ``read_resource`` /
  ``get_prompt`` make one request, each recorded as a ``request`` ServerLog row naming who made
  it, what it asked and how it ended (these are not tool calls, so they stay out of the
  tool-call figures).

The background worker reuses :func:`check_server` and ``record_check`` for its scheduled checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mcp_orch_app.db import run_db
from mcp_orch_app.gateway import upstream_oauth
from mcp_orch_app.gateway.forwarding import ToolCallOutcome, run_tool_call
from mcp_orch_app.gateway.log_writer import LogWriterClosed
from mcp_orch_app.gateway.runtime import Gateway, ServerAccess, current_gateway
from mcp_orch_app.gateway.upstream import (
    UnusableList,
    Upstream,
    UpstreamConfig,
    UpstreamError,
    UpstreamFailure,
    UpstreamUnavailable,
    list_every_page,
)
from mcp_orch_app.models.enums import LogLevel, ServerLogCategory
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.redaction import Redactor
from mcp_orch_app.services import server_operations, server_status, servers
from mcp_orch_app.services import upstream_oauth as oauth_store
from mcp_orch_app.services.errors import NotFound, ServiceError
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ServerOut
from mcp_orch_app.services.server_operations import LiveTarget

logger = logging.getLogger(__name__)

API_CLIENT_NAME = "mcp-orch API"
"""The client name of tool calls made from the UI or the REST API, in the call log."""

DEFAULT_CONCURRENCY = 8


class GatewayNotRunning(RuntimeError):
    """This process serves no gateway (the app's lifespan has not started it, or stopped it)."""

    def __init__(self) -> None:
        super().__init__("The MCP gateway is not running in this process; try again shortly.")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one live check, ready for ``server_status.record_check``."""

    ok: bool
    tools: list[dict[str, Any]] | None
    error: str | None
    unreachable: bool
    checked_at: datetime


def _gateway(gateway: Gateway | None) -> Gateway:
    gateway = gateway or current_gateway()
    if gateway is None:
        raise GatewayNotRunning()
    return gateway


def access_for(target: LiveTarget) -> ServerAccess:
    """What the gateway needs to use a server on behalf of a person (no API key)."""
    server = target.server
    return ServerAccess(
        project_id=str(target.project_id),
        api_key_id=None,
        server_id=str(server.id),
        server_name=server.name,
        config=UpstreamConfig.from_model(server),
        disabled_tools=target.disabled_tools,
    )


async def list_all_tools(upstream: Upstream, timeout: float) -> list[dict[str, Any]]:
    """Every tool of the server, following ``nextCursor`` pages (UnusableList if it cannot)."""
    return await list_every_page(upstream, "tools/list", "tools", timeout)


async def check_server(
    gateway: Gateway, access: ServerAccess, *, restart: bool = False
) -> CheckResult:
    """Connect (or reuse the pooled connection; restart it first if asked) and list the tools.

    Never raises for an upstream problem: it is the result, its error free of the server's
    secrets. Bounded by the server's timeout.
    """
    result = await _check_server(gateway, access, restart=restart)
    if result.error is None:
        return result
    return replace(result, error=access.config.redactor.redact(result.error))


async def _check_server(gateway: Gateway, access: ServerAccess, *, restart: bool) -> CheckResult:
    config = access.config
    checked_at = utcnow()
    started = False
    try:
        async with asyncio.timeout(config.timeout_seconds):
            if restart:
                await gateway.pool.restart(access.server_id, config)
            upstream = await gateway.upstream(access)
            started = True
            tools = await list_all_tools(upstream, config.timeout_seconds)
    except UpstreamUnavailable as exc:
        return CheckResult(False, None, str(exc), True, checked_at)
    except UpstreamFailure as exc:
        return CheckResult(False, None, f"tools/list failed: {exc}", False, checked_at)
    except UnusableList as exc:
        return CheckResult(False, None, str(exc), False, checked_at)
    except TimeoutError:
        what = "list its tools" if started else "start and answer the MCP handshake"
        error = f"MCP server '{config.name}' did not {what} within {config.timeout_seconds:g}s"
        return CheckResult(False, None, error, not started, checked_at)
    return CheckResult(True, tools, None, False, checked_at)


def _record_and_read(db, server_id: Any, result: CheckResult, actor: Actor | None) -> ServerOut:
    server_status.record_check(
        db,
        server_id,
        ok=result.ok,
        tools=result.tools,
        error=result.error,
        checked_at=result.checked_at,
        unreachable=result.unreachable,
        actor=actor,
    )
    return server_operations.read_server(db, server_id)


async def _check_and_record(
    gateway: Gateway, target: LiveTarget, actor: Actor | None, *, restart: bool = False
) -> ServerOut:
    result = await check_server(gateway, access_for(target), restart=restart)
    return await run_db(_record_and_read, target.server.id, result, actor)


# -- the operations ---------------------------------------------------------------------------


async def refresh_server(
    actor: Actor, project_id: str, server_id: str, *, gateway: Gateway | None = None
) -> ServerOut:
    """Check one server now; returns it with its new status (reporter and up)."""
    target = await run_db(server_operations.server_to_refresh, actor, project_id, server_id)
    return await _check_and_record(_gateway(gateway), target, actor)


async def check_after_connect(
    target: oauth_store.OAuthTarget, *, gateway: Gateway | None = None
) -> ServerOut | None:
    """Right after an OAuth connection was made, check the server as the person who made it
    (through that connection, in per-user mode too), so its status and tools are current
    without a "Check now". None when there is nothing to check as: no gateway, the
    connection or its person is gone, or that person may not refresh the server any more."""
    running = gateway or current_gateway()
    if running is None:
        return None
    actor = await run_db(oauth_store.connected_actor, target)
    if actor is None:
        return None

    async def check() -> ServerOut:  # its own task: the caller's context keeps its caller
        upstream_oauth.calling_user.set(actor.user_id)
        return await refresh_server(
            actor, str(target.project_id), str(target.server_id), gateway=running
        )

    try:
        return await asyncio.create_task(check())
    except ServiceError as exc:  # refused (role, disabled, deleted): the check is skipped
        logger.info("No check after the OAuth connection of %s: %s", target.server_id, exc)
        return None


async def refresh_all(
    actor: Actor,
    project_id: str,
    concurrency: int = DEFAULT_CONCURRENCY,
    *,
    gateway: Gateway | None = None,
) -> list[ServerOut]:
    """Check every enabled server of the project, ``concurrency`` at a time; returns every
    server of the project (disabled ones unchanged), as the server list shows them."""
    targets = await run_db(server_operations.servers_to_refresh, actor, project_id)
    running = _gateway(gateway)
    bound = asyncio.Semaphore(max(1, concurrency))

    async def check(target: LiveTarget) -> None:
        async with bound:
            with contextlib.suppress(NotFound):  # deleted while being checked
                await _check_and_record(running, target, actor)

    await asyncio.gather(*(check(target) for target in targets))
    return await run_db(servers.list_servers, actor, project_id)


async def restart_server(
    actor: Actor, project_id: str, server_id: str, *, gateway: Gateway | None = None
) -> ServerOut:
    """Restart the server's upstream (developer and up) and check the fresh one."""
    target = await run_db(server_operations.server_to_restart, actor, project_id, server_id)
    running = _gateway(gateway)
    await run_db(server_status.record_restart, target.server.id, actor=actor)
    return await _check_and_record(running, target, actor, restart=True)


async def call_tool(
    actor: Actor,
    project_id: str,
    server_id: str,
    tool_name: str,
    arguments: dict[str, Any] | None,
    *,
    gateway: Gateway | None = None,
) -> ToolCallOutcome:
    """Call a tool of the server once (developer and up), logged like an MCP client's call.

    The answer (or the UpstreamFailure, already logged, when the call got none) is shown to a
    person: the server's own secrets are replaced in it.
    """
    target = await run_db(server_operations.server_to_call, actor, project_id, server_id)
    running = _gateway(gateway)
    access = access_for(target)
    upstream_oauth.calling_user.set(actor.user_id)  # per-user OAuth: this person's connection
    params: dict[str, Any] = {"name": tool_name}
    if arguments is not None:
        params["arguments"] = arguments

    async def send() -> dict[str, Any]:
        upstream = await running.upstream(access)
        return await upstream.request("tools/call", params, timeout=access.config.timeout_seconds)

    redactor = access.config.redactor
    try:
        outcome = await run_tool_call(
            running, access, tool_name, arguments, send, client_name=API_CLIENT_NAME
        )
    except UpstreamFailure as exc:
        raise _redacted_failure(exc, redactor) from None
    return replace(outcome, result=redactor.redact_value(outcome.result), encoded=None)


def _redacted_failure(exc: UpstreamFailure, redactor: Redactor) -> UpstreamFailure:
    if not redactor:
        return exc
    if isinstance(exc, UpstreamError):
        return UpstreamError(
            exc.code, redactor.redact(exc.message), redactor.redact_value(exc.data)
        )
    return type(exc)(redactor.redact(str(exc)))


# -- resources and prompts --------------------------------------------------------------------

OFFER_LISTS: dict[str, tuple[str, str, str]] = {
    "resources": ("resources", "resources/list", "resources"),
    "resource_templates": ("resources", "resources/templates/list", "resourceTemplates"),
    "prompts": ("prompts", "prompts/list", "prompts"),
}
"""What ``list_offers`` can list: kind -> (capability, method, key of the list in the answer)."""


async def list_offers(
    actor: Actor, project_id: str, server_id: str, kind: str, *, gateway: Gateway | None = None
) -> list[dict[str, Any]]:
    """Every resource, resource template or prompt the server offers (reporter and up).

    Raises UpstreamFailure / UnusableList when the server cannot answer.
    """
    capability, method, key = OFFER_LISTS[kind]
    target = await run_db(server_operations.server_to_refresh, actor, project_id, server_id)
    running = _gateway(gateway)
    access = access_for(target)
    upstream = await running.upstream(access)
    if capability not in upstream.capabilities:
        return []
    return await list_every_page(upstream, method, key, access.config.timeout_seconds)


def _record_request(
    gateway: Gateway,
    access: ServerAccess,
    actor: Actor,
    method: str,
    subject: str,
    params: dict[str, Any],
    failure: str | None,
    started: float,
) -> None:
    outcome = f"failed: {failure}" if failure else "answered"
    with contextlib.suppress(LogWriterClosed):
        gateway.writer.submit_server_log(
            project_id=access.project_id,
            server_id=access.server_id,
            category=ServerLogCategory.REQUEST,
            level=LogLevel.WARNING if failure else LogLevel.INFO,
            message=f"{method} {subject} by {actor.display_name}: {outcome}",
            details={
                "method": method,
                "params": params,
                "user_id": str(actor.user_id) if actor.user_id else None,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "error": failure,
            },
        )


async def _logged_request(
    actor: Actor,
    project_id: str,
    server_id: str,
    method: str,
    subject: str,
    params: dict[str, Any],
    gateway: Gateway | None,
) -> dict[str, Any]:
    target = await run_db(server_operations.server_to_call, actor, project_id, server_id)
    running = _gateway(gateway)
    access = access_for(target)
    redactor = access.config.redactor
    started = time.perf_counter()
    try:
        upstream = await running.upstream(access)
        answer = await upstream.request(method, params, timeout=access.config.timeout_seconds)
    except UpstreamFailure as exc:
        failure = _redacted_failure(exc, redactor)
        _record_request(running, access, actor, method, subject, params, str(failure), started)
        raise failure from None
    _record_request(running, access, actor, method, subject, params, None, started)
    return redactor.redact_value(answer)


async def read_resource(
    actor: Actor, project_id: str, server_id: str, uri: str, *, gateway: Gateway | None = None
) -> dict[str, Any]:
    """Read one resource (or a filled-in template's URI) of the server (developer and up, like
    a tool call: the server runs code to answer); logged. Raises UpstreamFailure."""
    params = {"uri": uri}
    return await _logged_request(
        actor, project_id, server_id, "resources/read", uri, params, gateway
    )


async def get_prompt(
    actor: Actor,
    project_id: str,
    server_id: str,
    name: str,
    arguments: dict[str, str] | None,
    *,
    gateway: Gateway | None = None,
) -> dict[str, Any]:
    """Get one prompt of the server filled with ``arguments`` (developer and up); logged."""
    params: dict[str, Any] = {"name": name}
    if arguments:
        params["arguments"] = arguments
    return await _logged_request(actor, project_id, server_id, "prompts/get", name, params, gateway)
