"""`StdioUpstream`: one MCP server process, JSON lines over its stdin and stdout.

The JSON-RPC side (id remapping, progress routing, the era handshake and its `_meta` envelope)
lives in `MultiplexedUpstream`; this module owns the process: spawning it in its own process
group, the stdin/stdout wire, stderr, noticing its exit and reaping its whole tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections import deque
from collections.abc import Callable
from typing import Any

from mcp_orch_app.fast_json import dumps_bytes
from mcp_orch_app.gateway.multiplexed_upstream import MultiplexedUpstream
from mcp_orch_app.gateway.stdio_process import (
    StderrLimiter,
    child_environment,
    resolve_command,
    supervised_argv,
    terminate_group,
)
from mcp_orch_app.gateway.upstream import (
    Era,
    UpstreamConfig,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

logger = logging.getLogger(__name__)

READ_LIMIT = 64 * 1024 * 1024
"""Longest JSON line accepted from a server (asyncio's default of 64 KiB is one resource read)."""

STDIN_CLOSE_GRACE = 0.5
"""After stdin is closed, how long a server gets to exit on its own before it is signalled."""

TERM_GRACE = 2.0
"""After SIGTERM, how long the process group gets before SIGKILL."""

EXIT_SETTLE = 0.5
"""When stdout closes, how long to wait for the exit status (for an exact crash message)."""

STDERR_TAIL_LINES = 20


class StdioUpstream(MultiplexedUpstream):
    """One server process, started in its own process group, multiplexed across callers."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        on_stderr: Callable[[str], None] | None = None,
        on_exit: Callable[[str], None] | None = None,
        handshake_timeout: float | None = None,
        stderr_lines_per_second: int = 20,
        stderr_max_line_length: int = 1000,
        era: Era | None = None,
    ) -> None:
        """`era` forces one era instead of negotiating (HANDSHAKE skips the discover probe, for
        a server that mishandles it); None picks the newest the server supports."""
        super().__init__(config, handshake_timeout=handshake_timeout, era=era)
        self._on_exit = on_exit
        self._stderr = StderrLimiter(
            on_stderr or self._log_stderr,
            max_line_length=stderr_max_line_length,
            lines_per_second=stderr_lines_per_second,
        )
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.exit_reason: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._reaper: asyncio.Task[None] | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The pid of the server's process group leader (its supervisor on Linux)."""
        return self._proc.pid if self._proc else None

    @property
    def exit_code(self) -> int | None:
        return self._proc.returncode if self._proc else None

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("a StdioUpstream is started once; make a new one to restart")
        await self._spawn()
        try:
            await self._handshake()
        except BaseException as exc:
            # Shielded so that a start cancelled by its caller still reaps what it spawned.
            await asyncio.shield(self.stop())
            if isinstance(exc, UpstreamError | UpstreamTimeout):
                raise UpstreamUnavailable(self._handshake_failure(exc)) from exc
            raise
        self._ready = True
        self._open_listen_stream()

    async def _spawn(self) -> None:
        env = child_environment(self.config.env)
        command = resolve_command(self.config, env)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *supervised_argv(command, list(self.config.args)),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.config.cwd or None,
                start_new_session=True,
                limit=READ_LIMIT,
            )
        except OSError as exc:
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' could not be started: {exc.strerror or exc}"
            ) from exc
        stdout_reader = asyncio.create_task(self._read_stdout())
        stderr_reader = asyncio.create_task(self._read_stderr())
        watcher = asyncio.create_task(self._watch_exit(stdout_reader, stderr_reader))
        self._tasks = [stdout_reader, stderr_reader, watcher]

    # -- the wire --------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        await self._write(message)

    def _send_soon(self, message: dict[str, Any]) -> None:
        self._write_nowait(message)

    async def _write(self, message: dict[str, Any]) -> None:
        self._write_nowait(message)
        try:
            await self._proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise UpstreamUnavailable(self._unavailable_reason()) from exc

    def _write_nowait(self, message: dict[str, Any]) -> None:
        stdin = self._proc.stdin
        if self._gone or stdin.is_closing():
            raise UpstreamUnavailable(self._unavailable_reason())
        stdin.write(dumps_bytes(message) + b"\n")

    async def _read_stdout(self) -> None:
        reader = self._proc.stdout
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                logger.warning(
                    "%s: dropped a message longer than %d bytes", self.config.name, READ_LIMIT
                )
                continue
            if not line:
                return
            self._receive(line)

    def _receive(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            message = json.loads(line)
        except ValueError:
            # Some servers print banners on stdout; show them with stderr rather than lose them.
            text = self.config.redactor.redact(line.decode("utf-8", "replace").rstrip())
            self._stderr.offer(f"[stdout] {text}")
            return
        self._dispatch(message)

    async def _read_stderr(self) -> None:
        reader = self._proc.stderr
        try:
            while True:
                try:
                    raw = await reader.readline()
                except ValueError:
                    continue
                if not raw:
                    return
                # Redacted here, before the tail (crash reasons quote it) and the log see it.
                line = self.config.redactor.redact(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.stderr_tail.append(line[:500])
                self._stderr.offer(line)
        finally:
            self._stderr.flush()

    def _log_stderr(self, line: str) -> None:
        logger.info("[%s] %s", self.config.name, line)

    # -- exit and stop ---------------------------------------------------------------------

    async def _watch_exit(
        self, stdout_reader: asyncio.Task[None], stderr_reader: asyncio.Task[None]
    ) -> None:
        """Notice the process going away at once, and fail every waiting call right then."""
        exited = asyncio.create_task(self._proc.wait())
        await asyncio.wait({exited, stdout_reader}, return_when=asyncio.FIRST_COMPLETED)
        if not exited.done():
            await asyncio.wait({exited}, timeout=EXIT_SETTLE)
        # Let the last stderr lines in: they usually say why it died.
        await asyncio.wait({stderr_reader}, timeout=0.1)
        self._gone = True
        crashed = self._ready and not self._stopping
        self.exit_reason = self._describe_exit()
        self._fail_calls(self.exit_reason)
        if crashed:
            self._reaper = self._reaper or asyncio.create_task(self._reap())
            self._report_exit()
        if not exited.done():
            await exited

    def _report_exit(self) -> None:
        if self._on_exit is None:
            return
        try:
            self._on_exit(self.exit_reason)
        except Exception:
            logger.exception("exit callback of %s failed", self.config.name)

    def _describe_exit(self) -> str:
        code = self._proc.returncode
        if self._stopping:
            what = "was stopped"
        elif code is None:
            what = "closed its stdout"
        elif code < 0:
            what = f"was killed by {signal.Signals(-code).name}"
        else:
            what = f"exited with code {code}"
        reason = f"MCP server '{self.config.name}' {what}"
        if self.stderr_tail and not self._stopping:
            reason += f" (last stderr line: {self.stderr_tail[-1]})"
        return reason

    def _unavailable_reason(self) -> str:
        if self.exit_reason:
            return self.exit_reason
        if self._stopping:
            return f"MCP server '{self.config.name}' is stopping"
        return f"MCP server '{self.config.name}' is not running"

    async def stop(self) -> None:
        if self._proc is None:
            return
        self._stopping = True
        self._fail_calls(f"MCP server '{self.config.name}' was stopped")
        self._reaper = self._reaper or asyncio.create_task(self._reap())
        await asyncio.shield(self._reaper)

    async def _reap(self) -> None:
        """Close stdin, give the server a moment to exit, then terminate its whole group."""
        proc = self._proc
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        if proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(proc.wait()), STDIN_CLOSE_GRACE)
        await terminate_group(proc.pid, TERM_GRACE)
        await proc.wait()
        # With the group gone the pipes are closed and the readers end on their own.
        _done, pending = await asyncio.wait(self._tasks, timeout=1.0)
        for task in pending:
            task.cancel()
