"""`UpstreamPool`: at most one live upstream per server, shared by every caller.

The pool decides when upstreams run (stdio processes, SSE and streamable-HTTP connections): started
on first use (concurrent first uses wait for the same start), kept warm, stopped after an idle
timeout, on request (restart, delete, disable, configuration change) and at shutdown. Starts are
bounded, so opening a project with twenty servers does not fork twenty `npx` at once (a start
holds its slot for a short grace at most, so one that hangs in its handshake does not hold up
the rest).

A crash fails the calls in flight at once (the upstream does that) and is reported as an event.
If the server has auto-restart, the next call starts it again, after an exponential backoff
that resets once a server has stayed up for a minute; a call made while backing off fails fast
and says when the next attempt is. Without auto-restart a crashed server stays down until
`restart()` or a configuration change.

Events go to an injected `on_event(server_id, category, level, message, details)`; the pool
does not know about the database (the ServerLog writer lives elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from mcp_orch_app.gateway.http_upstream import SseUpstream, StreamableHttpUpstream
from mcp_orch_app.gateway.stdio_upstream import StdioUpstream
from mcp_orch_app.gateway.upstream import (
    NotificationCallback,
    Upstream,
    UpstreamConfig,
    UpstreamUnavailable,
)
from mcp_orch_app.models.enums import LogLevel, ServerLogCategory, Transport

__all__ = ["EventCallback", "UpstreamConfig", "UpstreamPool"]

logger = logging.getLogger(__name__)

EventCallback = Callable[[str, ServerLogCategory, LogLevel, str, dict[str, Any] | None], None]
"""`on_event(server_id, category, level, message, details)`: called on the event loop; must not
block (queue the row, write it elsewhere)."""


@dataclass
class _Slot:
    """What the pool knows about one server: its connection and its crash history."""

    config: UpstreamConfig
    upstream: Upstream | None = None
    starting: asyncio.Task[Upstream] | None = None
    start_category: ServerLogCategory = ServerLogCategory.START
    crashed: bool = False
    failures: int = 0
    retry_at: float = 0.0
    last_failure: str = ""
    started_at: float = 0.0


class UpstreamPool:
    def __init__(
        self,
        *,
        on_event: EventCallback | None = None,
        idle_timeout: float = 600.0,
        max_concurrent_starts: int = 4,
        start_slot_grace: float = 3.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        healthy_after: float = 60.0,
        stderr_lines_per_second: int = 20,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.healthy_after = healthy_after
        self._on_event = on_event
        self._stderr_lines_per_second = stderr_lines_per_second
        self._start_bound = asyncio.Semaphore(max_concurrent_starts)
        self.start_slot_grace = start_slot_grace
        self._slots: dict[str, _Slot] = {}
        self._known: dict[str, UpstreamConfig] = {}
        self._subscribers: dict[str, list[NotificationCallback]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._idle_reaper: asyncio.Task[None] | None = None
        self._closed = False

    # -- using upstreams -------------------------------------------------------------------

    async def get(self, config: UpstreamConfig) -> Upstream:
        """The live upstream for this server, started (or restarted) if need be.

        Raises UpstreamUnavailable when it cannot start or is backing off after a crash.
        """
        if self._closed:
            raise UpstreamUnavailable("mcp-orch is shutting down")
        slot = self._slot_for(config)
        upstream = slot.upstream
        if upstream is not None and upstream.healthy:
            upstream.last_used = time.monotonic()
            return upstream
        if slot.starting is None:
            self._refuse_while_down(slot)
            slot.starting = self._spawn_task(self._start(slot))
        return await _wait_for_start(slot.starting, config)

    async def request(
        self,
        config: UpstreamConfig,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        on_notification: NotificationCallback | None = None,
        call_key: Hashable | None = None,
    ) -> dict[str, Any]:
        """One call through the server's pooled upstream, with the server's timeout by default."""
        upstream = await self.get(config)
        return await upstream.request(
            method,
            params,
            timeout=timeout if timeout is not None else config.timeout_seconds,
            on_notification=on_notification,
            call_key=call_key,
        )

    def config_of(self, server_id: str) -> UpstreamConfig | None:
        """The last configuration the pool saw for a server (an event consumer finds the
        server's project there), also after the server was stopped."""
        return self._known.get(str(server_id))

    def subscribe(self, server_id: str, callback: NotificationCallback) -> Callable[[], None]:
        """Receive the server's unsolicited notifications (list_changed, resources/updated,
        logging) from whichever process serves it now or later: unlike `Upstream.subscribe`,
        this survives restarts. Returns a function that unsubscribes."""
        callbacks = self._subscribers.setdefault(str(server_id), [])
        callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    def running(self, server_id: str) -> Upstream | None:
        """The server's upstream if it is up now; never starts one."""
        slot = self._slots.get(str(server_id))
        upstream = slot.upstream if slot else None
        return upstream if upstream is not None and upstream.healthy else None

    # -- lifecycle -------------------------------------------------------------------------

    async def restart(self, server_id: str, config: UpstreamConfig | None = None) -> Upstream:
        """Stop the server's process (if any) and start a fresh one now, clearing the backoff.

        `config` is needed when the pool has not seen the server yet (or to apply an edit).
        """
        server_id = str(server_id)
        old = self._slots.get(server_id)
        config = config or (old.config if old else None)
        if config is None:
            raise LookupError(f"server {server_id} is not in the pool; pass its config")
        if self._closed:
            raise UpstreamUnavailable("mcp-orch is shutting down")
        slot = self._replace_slot(config, old, "restart requested")
        if slot.starting is None:
            slot.starting = self._spawn_task(self._start(slot))
        return await _wait_for_start(slot.starting, config)

    async def stop(self, server_id: str, reason: str = "stopped") -> None:
        """Stop the server's process tree and forget it (delete, disable, config change)."""
        slot = self._slots.pop(str(server_id), None)
        if slot is not None:
            await self._stop_slot(slot, reason)

    async def stop_all(self) -> None:
        """App shutdown: stop every process tree and refuse new calls."""
        self._closed = True
        if self._idle_reaper is not None:
            self._idle_reaper.cancel()
        slots = list(self._slots.values())
        self._slots.clear()
        await asyncio.gather(
            *(self._stop_slot(slot, "mcp-orch is shutting down") for slot in slots),
            return_exceptions=True,
        )
        while self._background:  # a crash reported meanwhile adds its own reaping task
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- internals -------------------------------------------------------------------------

    def _slot_for(self, config: UpstreamConfig) -> _Slot:
        """The server's slot; an edited connection setting means a new slot and process."""
        slot = self._slots.get(config.server_id)
        if slot is None or slot.config.fingerprint != config.fingerprint:
            return self._replace_slot(config, slot, "configuration changed")
        slot.config = config  # timeout and auto-restart apply without a new process
        self._known[config.server_id] = config
        return slot

    def _replace_slot(self, config: UpstreamConfig, old: _Slot | None, reason: str) -> _Slot:
        """Put a fresh slot in place at once, so concurrent callers all wait for one start.

        That start first stops the old process: two processes of one server never overlap.
        """
        slot = self._slots[config.server_id] = _Slot(config)
        self._known[config.server_id] = config
        self._ensure_idle_reaper()
        if old is not None:
            slot.start_category = ServerLogCategory.RESTART
            slot.starting = self._spawn_task(self._start(slot, replacing=old, reason=reason))
        return slot

    def _refuse_while_down(self, slot: _Slot) -> None:
        """Fail fast instead of restarting a server that must not be restarted yet."""
        name = slot.config.name
        if slot.crashed and not slot.config.auto_restart:
            raise UpstreamUnavailable(
                f"{slot.last_failure}; auto-restart is off for '{name}': restart it to use it again"
            )
        wait = slot.retry_at - time.monotonic()
        if wait > 0:
            raise UpstreamUnavailable(f"{slot.last_failure}; next start attempt in {wait:.1f}s")

    async def _start(
        self, slot: _Slot, *, replacing: _Slot | None = None, reason: str = ""
    ) -> Upstream:
        config = slot.config
        if replacing is not None:
            # Shielded and tracked: cancelling this start must not leave the old tree running.
            await asyncio.shield(self._spawn_task(self._stop_slot(replacing, reason)))
        try:
            async with self._start_slot():
                upstream = self._make_upstream(slot)
                began = time.monotonic()
                await upstream.start()
        except UpstreamUnavailable as exc:
            self._back_off(slot, str(exc))
            self._emit(config, slot.start_category, LogLevel.ERROR, f"could not start: {exc}")
            raise
        finally:
            slot.starting = None
        slot.upstream = upstream
        slot.crashed = False
        slot.started_at = time.monotonic()
        self._emit(
            config,
            slot.start_category,
            LogLevel.INFO,
            f"started in {(slot.started_at - began) * 1000:.0f} ms "
            f"({upstream.era} era, protocol {upstream.protocol_version})",
            _start_details(upstream),
        )
        slot.start_category = ServerLogCategory.START
        return upstream

    @contextlib.asynccontextmanager
    async def _start_slot(self) -> AsyncIterator[None]:
        """One of the ``max_concurrent_starts`` slots, held until the start is over or for
        ``start_slot_grace`` seconds, whichever comes first. The bound is against many
        processes booting at once; a server that hangs in its handshake keeps its own timeout
        but must not keep every other server's start waiting behind it for that long."""
        await self._start_bound.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._start_bound.release()

        timer = asyncio.get_running_loop().call_later(self.start_slot_grace, release)
        try:
            yield
        finally:
            timer.cancel()
            release()

    def _make_upstream(self, slot: _Slot) -> Upstream:
        config = slot.config

        def on_stderr(line: str) -> None:
            self._emit(config, ServerLogCategory.STDERR, LogLevel.INFO, line)

        def on_exit(reason: str) -> None:
            self._on_crash(slot, upstream, reason)

        def on_notification(message: dict[str, Any]) -> None:
            for callback in tuple(self._subscribers.get(config.server_id, ())):
                try:
                    callback(message)
                except Exception:
                    logger.exception("subscriber of %s failed", config.name)

        upstream: Upstream
        if config.transport is Transport.SSE:
            upstream = SseUpstream(config, on_exit=on_exit)
        elif config.transport is Transport.STREAMABLE_HTTP:
            upstream = StreamableHttpUpstream(config, on_exit=on_exit)
        else:
            upstream = StdioUpstream(
                config,
                on_stderr=on_stderr,
                on_exit=on_exit,
                stderr_lines_per_second=self._stderr_lines_per_second,
            )
        upstream.subscribe(on_notification)
        return upstream

    def _on_crash(self, slot: _Slot, upstream: Upstream, reason: str) -> None:
        """The process died on its own: record it, schedule the backoff, reap what is left."""
        if slot.upstream is not upstream:
            return  # an upstream already replaced or stopped
        if time.monotonic() - slot.started_at >= self.healthy_after:
            slot.failures = 0
        slot.upstream = None
        slot.crashed = True
        slot.start_category = ServerLogCategory.RESTART
        delay = self._back_off(slot, reason)
        details: dict[str, Any] = {
            "exit_code": getattr(upstream, "exit_code", None),
            "stderr_tail": list(getattr(upstream, "stderr_tail", ())),
            "restart_in_seconds": round(delay, 3) if slot.config.auto_restart else None,
        }
        self._emit(slot.config, ServerLogCategory.CRASH, LogLevel.ERROR, reason, details)
        self._spawn_task(upstream.stop())

    def _back_off(self, slot: _Slot, reason: str) -> float:
        """Count one more failure and set when the next start may be tried."""
        slot.failures += 1
        delay = min(self.backoff_initial * 2 ** (slot.failures - 1), self.backoff_max)
        slot.retry_at = time.monotonic() + delay
        slot.last_failure = reason
        return delay

    async def _stop_slot(self, slot: _Slot, reason: str) -> None:
        if slot.starting is not None:
            slot.starting.cancel()
            with contextlib.suppress(BaseException):
                await slot.starting
        upstream, slot.upstream = slot.upstream, None
        if upstream is None:
            return
        await upstream.stop()
        self._emit(slot.config, ServerLogCategory.STOP, LogLevel.INFO, f"stopped: {reason}")

    def _ensure_idle_reaper(self) -> None:
        if self._idle_reaper is None or self._idle_reaper.done():
            self._idle_reaper = asyncio.create_task(self._reap_idle())

    async def _reap_idle(self) -> None:
        interval = min(self.idle_timeout / 2, 30.0)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for server_id, slot in list(self._slots.items()):
                upstream = slot.upstream
                if upstream is None or not upstream.healthy or upstream.in_flight:
                    continue
                idle = now - upstream.last_used
                if idle >= self.idle_timeout:
                    del self._slots[server_id]
                    self._spawn_task(self._stop_slot(slot, f"idle for {idle:.0f}s"))

    def _spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        """A task the pool keeps a reference to (and waits for at shutdown)."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(_forget(self._background))
        return task

    def _emit(
        self,
        config: UpstreamConfig,
        category: ServerLogCategory,
        level: LogLevel,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        # Every event of a server (start errors quote upstream text) loses its secrets here.
        message = config.redactor.redact(message)
        details = config.redactor.redact_value(details)
        if self._on_event is None:
            logger.log(_LOG_LEVELS[level], "%s %s: %s", config.name, category, message)
            return
        try:
            self._on_event(config.server_id, category, level, message, details)
        except Exception:
            logger.exception("server event callback failed for %s", config.name)


_LOG_LEVELS = {
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFO: logging.INFO,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
}


async def _wait_for_start(starting: asyncio.Task[Upstream], config: UpstreamConfig) -> Upstream:
    """Wait for a start shared with other callers.

    Shielded: one caller giving up must not cancel the start the others wait for. A start
    cancelled by `stop()` is reported to its waiters as unavailable, not as their own
    cancellation.
    """
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if starting.cancelled() and current is not None and not current.cancelling():
            raise UpstreamUnavailable(
                f"MCP server '{config.name}' was stopped while starting"
            ) from None
        raise


def _start_details(upstream: Upstream) -> dict[str, Any]:
    return {
        "pid": getattr(upstream, "pid", None),
        "era": str(upstream.era),
        "protocol_version": upstream.protocol_version,
        "server_info": upstream.server_info,
    }


def _forget(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    """Drop a finished task from the set, retrieving its exception so none goes unreported."""

    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, UpstreamUnavailable):
                logger.error("pool task failed", exc_info=exc)

    return done
