"""The operating-system side of a stdio MCP server: its environment, its command, its stderr,
and reaping its whole process tree.

Each stdio server is started in a session of its own (`start_new_session=True`), so the server
and everything it spawns (npx, node, a shell, a `sleep` it forgot about) share one process
group whose id is the server's pid. Leaked processes are the top complaint about MCP
orchestrators; stopping a server therefore signals the group, not just the pid, and checks the
process table until the group is gone.

On Linux the server runs under `stdio_supervisor` (see its docstring), which leads that group
in the server's place and makes the whole tree die with mcp-orch, even when mcp-orch itself is
killed outright; `supervised_argv` builds its command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping

from mcp_orch_app.gateway.upstream import UpstreamConfig, UpstreamUnavailable

logger = logging.getLogger(__name__)

BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "TERM", "USER", "LOGNAME", "SHELL", "TMPDIR")
"""What a server inherits from mcp-orch's own environment; its configured env goes on top.
Nothing else leaks through (mcp-orch's database URL and secret key live in that environment)."""


def child_environment(server_env: Mapping[str, str]) -> dict[str, str]:
    """A minimal inherited base plus the server's own (decrypted) variables."""
    env = {key: os.environ[key] for key in BASE_ENV_KEYS if key in os.environ}
    env.update(server_env)
    return env


def resolve_command(config: UpstreamConfig, env: Mapping[str, str]) -> str:
    """The executable to run, or UpstreamUnavailable saying what is wrong with the settings."""
    prefix = f"MCP server '{config.name}'"
    command = (config.command or "").strip()
    if not command:
        raise UpstreamUnavailable(f"{prefix} has no command configured")
    if config.cwd and not os.path.isdir(config.cwd):
        raise UpstreamUnavailable(f"{prefix}: working directory {config.cwd!r} does not exist")
    if os.sep in command:
        # A relative path is resolved from the server's working directory, as exec does.
        path = os.path.join(config.cwd or os.getcwd(), command)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise UpstreamUnavailable(
                f"{prefix}: command {command!r} does not exist or is not executable"
            )
        return command
    found = shutil.which(command, path=env.get("PATH", os.defpath))
    if found is None:
        raise UpstreamUnavailable(
            f"{prefix}: command {command!r} was not found on PATH ({env.get('PATH', '')})"
        )
    return found


SUPERVISOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stdio_supervisor.py")


def supervised_argv(command: str, args: list[str]) -> list[str]:
    """The command line that runs ``command args`` under the supervisor (Linux), or as is.

    The supervisor runs by file path with ``-I -S``: it needs only the standard library, so it
    starts without the site packages and ignores PYTHON* variables meant for the server.
    """
    if not sys.platform.startswith("linux"):
        return [command, *args]
    return [sys.executable, "-I", "-S", SUPERVISOR, str(os.getpid()), "--", command, *args]


class StderrLimiter:
    """Passes stderr lines on, shortened and at a bounded rate, so a chatty server cannot flood
    the server log; what it drops is counted and reported as one line."""

    def __init__(
        self,
        sink: Callable[[str], None],
        *,
        max_line_length: int = 1000,
        lines_per_second: int = 20,
    ) -> None:
        self._sink = sink
        self._max_line_length = max_line_length
        self._lines_per_second = lines_per_second
        self._window_start = 0.0
        self._passed = 0
        self._dropped = 0

    def offer(self, line: str) -> None:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self.flush()
            self._window_start = now
            self._passed = 0
        if self._passed >= self._lines_per_second:
            self._dropped += 1
            return
        self._passed += 1
        self._emit(self._shorten(line))

    def flush(self) -> None:
        """Report the lines dropped so far (called at each new window and at end of stream)."""
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            self._emit(f"[{dropped} stderr lines dropped: more than {self._lines_per_second}/s]")

    def _shorten(self, line: str) -> str:
        if len(line) <= self._max_line_length:
            return line
        extra = len(line) - self._max_line_length
        return f"{line[: self._max_line_length]}... [{extra} more characters]"

    def _emit(self, line: str) -> None:
        try:
            self._sink(line)
        except Exception:
            logger.exception("stderr sink failed")


# -- the process group ------------------------------------------------------------------------

POLL_INTERVAL = 0.02


def group_members(pgid: int) -> list[int]:
    """Pids of the living (non-zombie) processes in the group.

    A zombie is dead already; it lingers until its parent, or init, reaps it. Where /proc is
    not available, any process the kernel still counts is reported as the group leader's pid.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        return [pgid]
    if not os.path.isdir("/proc"):
        return [pgid]
    return [pid for pid, state, group in _proc_table() if group == pgid and state != "Z"]


def _proc_table() -> list[tuple[int, str, int]]:
    """(pid, state, process group) for every process in /proc."""
    table = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as stat:
                raw = stat.read()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may itself contain spaces and parentheses.
        fields = raw[raw.rfind(")") + 2 :].split()
        if len(fields) >= 3:
            table.append((int(entry.name), fields[0], int(fields[2])))
    return table


def signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send a signal to every process in the group; an empty group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Poll until no live process is left in the group; False if some still are at `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while group_members(pgid):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL)
    return True


async def terminate_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, give it `grace` seconds, then SIGKILL whatever is left."""
    signal_group(pgid, signal.SIGTERM)
    if await wait_group_gone(pgid, grace):
        return
    signal_group(pgid, signal.SIGKILL)
    await wait_group_gone(pgid, 1.0)
