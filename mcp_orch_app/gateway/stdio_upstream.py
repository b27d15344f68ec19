"""`StdioUpstream`: one MCP server process, JSON lines over its stdin and stdout.

One process serves every client session of the server, so requests are multiplexed: each call
gets an id allocated here (client ids from different sessions would clash) and its answer is
routed back to the waiting caller by that id. Progress tokens are remapped the same way: the
upstream sees the request id as the token, and the caller's `on_notification` gets its own token
back. Everything stays a plain dict parsed by the stdlib json module; nothing is validated twice.

The handshake picks the newest era the server speaks, exactly as the SDK's `mode="auto"` client
does: `server/discover` first (2026-07-28, every later request carries the `_meta` envelope the
SDK client stamps), falling back to `initialize` at 2025-11-25 for servers that refuse it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import signal
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    LOG_LEVEL_META_KEY,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
    UNSUPPORTED_PROTOCOL_VERSION,
)
from mcp_types.version import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    LATEST_MODERN_VERSION,
    MODERN_PROTOCOL_VERSIONS,
)

from mcp_orch_app.gateway.stdio_process import (
    StderrLimiter,
    child_environment,
    resolve_command,
    terminate_group,
)
from mcp_orch_app.gateway.upstream import (
    CLIENT_INFO,
    Era,
    NotificationCallback,
    Upstream,
    UpstreamCancelled,
    UpstreamConfig,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

logger = logging.getLogger(__name__)

READ_LIMIT = 64 * 1024 * 1024
"""Longest JSON line accepted from a server (asyncio's default of 64 KiB is one resource read)."""

DISCOVER_TIMEOUT = 10.0
"""How long the `server/discover` probe may take before the server is taken for handshake-era
(the SDK client waits as long)."""

STDIN_CLOSE_GRACE = 0.5
"""After stdin is closed, how long a server gets to exit on its own before it is signalled."""

TERM_GRACE = 2.0
"""After SIGTERM, how long the process group gets before SIGKILL."""

EXIT_SETTLE = 0.5
"""When stdout closes, how long to wait for the exit status (for an exact crash message)."""

STDERR_TAIL_LINES = 20

METHOD_NOT_FOUND = -32601

_ENVELOPE_KEYS = (
    PROTOCOL_VERSION_META_KEY,
    CLIENT_INFO_META_KEY,
    CLIENT_CAPABILITIES_META_KEY,
    LOG_LEVEL_META_KEY,
)


def _envelope(version: str) -> dict[str, Any]:
    """The `_meta` keys the SDK client puts on every modern-era request (and on discover)."""
    return {
        PROTOCOL_VERSION_META_KEY: version,
        CLIENT_INFO_META_KEY: dict(CLIENT_INFO),
        CLIENT_CAPABILITIES_META_KEY: {},
    }


def _supported_versions(exc: UpstreamError) -> list[str] | None:
    """The versions a -32022 (unsupported protocol version) error names, if it names any."""
    if exc.code != UNSUPPORTED_PROTOCOL_VERSION or not isinstance(exc.data, dict):
        return None
    supported = exc.data.get("supported")
    if not isinstance(supported, list):
        return None
    return [v for v in supported if isinstance(v, str)]


def _newest_mutual_modern(exc: UpstreamError) -> str | None:
    mutual = [v for v in MODERN_PROTOCOL_VERSIONS if v in (_supported_versions(exc) or ())]
    return mutual[-1] if mutual else None


@dataclass(slots=True)
class _Call:
    """A request waiting for its answer."""

    method: str
    timeout: float
    future: asyncio.Future[dict[str, Any]]
    on_notification: NotificationCallback | None = None
    progress_token: Any = None
    call_key: Hashable | None = None


class StdioUpstream(Upstream):
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
        super().__init__(config)
        self._forced_era = era
        self._on_exit = on_exit
        self._handshake_timeout = handshake_timeout or config.timeout_seconds
        self._stderr = StderrLimiter(
            on_stderr or self._log_stderr,
            max_line_length=stderr_max_line_length,
            lines_per_second=stderr_lines_per_second,
        )
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.exit_reason: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._calls: dict[int, _Call] = {}
        self._keys: dict[Hashable, int] = {}
        self._envelope: dict[str, Any] | None = None
        self._ready = False
        self._gone = False
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._reaper: asyncio.Task[None] | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The server's pid, which is also its process group id."""
        return self._proc.pid if self._proc else None

    @property
    def exit_code(self) -> int | None:
        return self._proc.returncode if self._proc else None

    @property
    def healthy(self) -> bool:
        return self._ready and not self._gone and not self._stopping

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    # -- start and handshake ---------------------------------------------------------------

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

    async def _spawn(self) -> None:
        env = child_environment(self.config.env)
        command = resolve_command(self.config, env)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                command,
                *self.config.args,
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

    async def _handshake(self) -> None:
        """Open the connection in the newest era the server supports (the SDK's auto mode)."""
        if self._forced_era is Era.HANDSHAKE:
            await self._initialize()
            return
        discovered = await self._probe_discover()
        if discovered is not None:
            self._adopt_modern(*discovered)
            return
        if self._forced_era is Era.MODERN:
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' does not speak the {LATEST_MODERN_VERSION} era"
            )
        try:
            await self._initialize()
        except UpstreamError as exc:
            # A probe that timed out here but reached a slow-starting modern server has locked
            # the connection to the modern era; the server says so with -32022. Re-probe once.
            version = _newest_mutual_modern(exc)
            if version is None:
                raise
            self._adopt_modern(await self._discover(version, self._handshake_timeout), version)

    async def _probe_discover(self) -> tuple[dict[str, Any], str] | None:
        """Ask for the modern era; None when the server is handshake-era (or will not say)."""
        version = LATEST_MODERN_VERSION
        timeout = min(DISCOVER_TIMEOUT, self._handshake_timeout)
        try:
            result = await self._discover(version, timeout)
        except UpstreamTimeout:
            return None
        except UpstreamError as exc:
            retry = _newest_mutual_modern(exc)
            if retry is None or retry == version:
                self._refuse_modern_only(exc)
                return None
            version = retry
            try:
                result = await self._discover(version, timeout)
            except (UpstreamError, UpstreamTimeout):
                return None
        supported = result.get("supportedVersions") or ()
        mutual = [v for v in MODERN_PROTOCOL_VERSIONS if v in supported]
        if not mutual:
            return None  # answers discover but advertises only handshake versions
        return result, mutual[-1]

    def _refuse_modern_only(self, exc: UpstreamError) -> None:
        """A -32022 naming only modern versions we do not speak is a real incompatibility."""
        supported = _supported_versions(exc)
        if supported and not any(v in HANDSHAKE_PROTOCOL_VERSIONS for v in supported):
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' only speaks protocol versions {supported}, "
                f"mcp-orch speaks {[*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS]}"
            )

    async def _discover(self, version: str, timeout: float) -> dict[str, Any]:
        """One `server/discover`, with the `_meta` envelope the SDK client sends with it."""
        params = {"_meta": _envelope(version)}
        # The spec forbids cancelling discover and initialize, hence cancellable=False.
        return await self._call(
            next(self._ids), "server/discover", params, timeout=timeout, cancellable=False
        )

    async def _initialize(self) -> None:
        params = {
            "protocolVersion": LATEST_HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": dict(CLIENT_INFO),
        }
        result = await self._call(
            next(self._ids),
            "initialize",
            params,
            timeout=self._handshake_timeout,
            cancellable=False,
        )
        version = result.get("protocolVersion")
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise UpstreamUnavailable(
                f"MCP server '{self.config.name}' answered the handshake with protocol version "
                f"{version!r}, which mcp-orch does not speak"
            )
        self.era = Era.HANDSHAKE
        self.protocol_version = version
        self.server_info = result.get("serverInfo")
        self.capabilities = result.get("capabilities") or {}
        self.instructions = result.get("instructions")
        await self._write({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _adopt_modern(self, result: dict[str, Any], version: str) -> None:
        self.era = Era.MODERN
        self.protocol_version = version
        self.server_info = (result.get("_meta") or {}).get(SERVER_INFO_META_KEY)
        self.capabilities = result.get("capabilities") or {}
        self.instructions = result.get("instructions")
        self._envelope = _envelope(version)

    def _handshake_failure(self, exc: Exception) -> str:
        name = self.config.name
        if isinstance(exc, UpstreamTimeout):
            return f"MCP server '{name}' did not answer the MCP handshake within {self._handshake_timeout:g}s"
        return f"MCP server '{name}' refused the MCP handshake: {exc}"

    # -- calls -----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None,
        *,
        timeout: float,
        on_notification: NotificationCallback | None = None,
        call_key: Hashable | None = None,
    ) -> dict[str, Any]:
        if not self.healthy:
            raise UpstreamUnavailable(self._unavailable_reason())
        request_id = next(self._ids)
        params, caller_token = self._outgoing_params(params, request_id, on_notification)
        return await self._call(
            request_id,
            method,
            params,
            timeout=timeout,
            on_notification=on_notification if caller_token is not None else None,
            progress_token=caller_token,
            call_key=call_key,
        )

    def _outgoing_params(
        self,
        params: dict[str, Any] | None,
        request_id: int,
        on_notification: NotificationCallback | None,
    ) -> tuple[dict[str, Any] | None, Any]:
        """The params as this upstream must see them, and the caller's progress token.

        Copies only what it changes: the era's `_meta` envelope (added for modern upstreams,
        removed for handshake-era ones, which refuse it), and the progress token (replaced by
        the request id, unique on this connection; dropped when no one listens for progress).
        """
        meta = params.get("_meta") if params else None
        if meta is None and self._envelope is None:
            return params, None
        meta = dict(meta or {})
        caller_token = meta.pop("progressToken", None)
        if caller_token is not None and on_notification is not None:
            meta["progressToken"] = request_id
        else:
            caller_token = None
        if self._envelope is not None:
            meta.update(self._envelope)
        else:
            for key in _ENVELOPE_KEYS:
                meta.pop(key, None)
        params = dict(params or {})
        if meta:
            params["_meta"] = meta
        else:
            params.pop("_meta", None)
        return params, caller_token

    async def _call(
        self,
        request_id: int,
        method: str,
        params: dict[str, Any] | None,
        *,
        timeout: float,
        on_notification: NotificationCallback | None = None,
        progress_token: Any = None,
        call_key: Hashable | None = None,
        cancellable: bool = True,
    ) -> dict[str, Any]:
        """Send a request under `request_id` and wait for the answer routed back to it."""
        loop = asyncio.get_running_loop()
        call = _Call(
            method, timeout, loop.create_future(), on_notification, progress_token, call_key
        )
        self._calls[request_id] = call
        if call_key is not None:
            self._keys[call_key] = request_id
        timer = loop.call_later(timeout, self._expire, request_id)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self._write(message)
            return await call.future
        except UpstreamTimeout:
            if cancellable:
                self._send_cancelled(request_id, "timed out")
            raise
        except asyncio.CancelledError:
            if cancellable:
                self._send_cancelled(request_id, "cancelled by the client")
            raise
        finally:
            timer.cancel()
            self._calls.pop(request_id, None)
            if call_key is not None and self._keys.get(call_key) == request_id:
                del self._keys[call_key]
            self.last_used = time.monotonic()

    def _expire(self, request_id: int) -> None:
        call = self._calls.get(request_id)
        if call is not None and not call.future.done():
            call.future.set_exception(
                UpstreamTimeout(
                    f"MCP server '{self.config.name}' did not answer {call.method} "
                    f"within {call.timeout:g}s"
                )
            )

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        if not self.healthy:
            raise UpstreamUnavailable(self._unavailable_reason())
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._write(message)

    async def cancel(self, call_key: Hashable, reason: str | None = None) -> bool:
        request_id = self._keys.get(call_key)
        call = self._calls.get(request_id) if request_id is not None else None
        if call is None or call.future.done():
            return False
        self._send_cancelled(request_id, reason or "cancelled by the client")
        call.future.set_exception(UpstreamCancelled(f"{call.method} was cancelled"))
        return True

    def _send_cancelled(self, request_id: int, reason: str) -> None:
        """Tell the server to stop working on a call we no longer wait for (best effort)."""
        params = {"requestId": request_id, "reason": reason}
        with contextlib.suppress(UpstreamUnavailable):
            self._write_nowait(
                {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}
            )

    # -- the wire --------------------------------------------------------------------------

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
        line = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        stdin.write(line.encode() + b"\n")

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
            self._stderr.offer(f"[stdout] {line.decode('utf-8', 'replace').rstrip()}")
            return
        for item in message if isinstance(message, list) else (message,):
            if not isinstance(item, dict):
                continue
            try:
                self._route(item)
            except Exception:
                # One malformed message must not take the connection down with it.
                logger.exception("%s: could not route %.200r", self.config.name, item)

    def _route(self, message: dict[str, Any]) -> None:
        if "method" not in message:
            self._resolve(message)
        elif "id" in message:
            self._answer_server_request(message)
        elif message["method"] == "notifications/progress":
            self._route_progress(message)
        elif message["method"] != "notifications/cancelled":
            # (A cancel from the server is about one of its own requests: they are answered at
            # once, so there is nothing left to stop.)
            self._publish(message)

    def _resolve(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        call = self._calls.get(request_id) if isinstance(request_id, int) else None
        if call is None or call.future.done():
            logger.debug("%s: dropped a late or unknown response %r", self.config.name, request_id)
            return
        if "error" in message:
            call.future.set_exception(UpstreamError.from_wire(message["error"]))
        else:
            result = message.get("result")
            call.future.set_result(result if isinstance(result, dict) else {})

    def _route_progress(self, message: dict[str, Any]) -> None:
        params = message.get("params") or {}
        token = params.get("progressToken")
        call = self._calls.get(token) if isinstance(token, int) else None
        if call is None or call.on_notification is None:
            return
        restored = {**message, "params": {**params, "progressToken": call.progress_token}}
        try:
            call.on_notification(restored)
        except Exception:
            logger.exception("progress callback of %s failed", self.config.name)

    def _answer_server_request(self, message: dict[str, Any]) -> None:
        """Answer what the server asks of its client: mcp-orch has no human or model to ask."""
        method = message["method"]
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        if method == "ping":
            reply["result"] = {}
        elif method == "roots/list":
            reply["result"] = {"roots": []}
        else:
            logger.warning("%s asked its client for %s; refused", self.config.name, method)
            reply["error"] = {
                "code": METHOD_NOT_FOUND,
                "message": f"mcp-orch does not pass {method} requests on to clients",
            }
        with contextlib.suppress(UpstreamUnavailable):
            self._write_nowait(reply)

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
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
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

    def _fail_calls(self, reason: str) -> None:
        for call in self._calls.values():
            if not call.future.done():
                call.future.set_exception(UpstreamUnavailable(reason))

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
