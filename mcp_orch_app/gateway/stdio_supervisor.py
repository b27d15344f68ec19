"""The supervisor every stdio MCP server runs under on Linux: its tree dies with mcp-orch.

Run as ``python -I -S stdio_supervisor.py <backend pid> -- <command> [args...]`` (by file path,
so that it imports nothing but the standard library: it starts in a few tens of milliseconds
and stays a few MB; see bench/supervisor.py). The backend starts it in a session of its own, so
the supervisor leads the server's process group, exactly where the server itself used to be;
stopping a server (SIGTERM to the group, SIGKILL after a grace) works as before.

What it adds, with two Linux ``prctl`` settings:

- ``PR_SET_PDEATHSIG``: the kernel signals the supervisor when the backend dies, however it dies
  (SIGKILL, the OOM killer). Without this a killed backend leaves its servers running, orphaned.
- ``PR_SET_CHILD_SUBREAPER``: a process the server starts and then abandons (its own ``sleep``,
  a daemonising helper that calls ``setsid`` and so leaves the process group) is re-parented to
  the supervisor instead of init, so the supervisor can always find all of the tree.

It forks the server (stdin, stdout and stderr pass straight through: the server holds the very
pipes the backend opened, the supervisor keeps no copy of stdin/stdout, so EOF still reaches the
backend when the server closes its stdout) and then only waits. When the backend dies it kills
every descendant and exits. When the server ends, it terminates what the server left behind
(SIGTERM, then SIGKILL after `LEFTOVER_GRACE`) and exits with the server's own status (by the
same signal if the server was killed), so the backend reports the server's exit exactly.

Elsewhere than Linux, or if ``prctl`` is refused, it simply ``exec``s the server: the behaviour
is then that of a server started directly (its own process group, reaped by the backend's
stop; a backend killed outright can leave the tree behind).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

PARENT_DEATH_SIGNAL = signal.SIGUSR1
"""What the kernel sends the supervisor when the backend dies. Not SIGTERM: the backend's own
stop sends SIGTERM to the group, and that one must leave the server its grace period."""

LEFTOVER_GRACE = 0.5
"""After the server ended, how long what it left behind gets between SIGTERM and SIGKILL."""


def _prctl(option: int, value: int) -> bool:
    """Set a prctl option; False where there is no Linux prctl or the kernel refuses."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> list[int]:
    """Pids of the living (non-zombie) descendants of ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    alive: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as stat:
                raw = stat.read()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may itself contain spaces and parentheses.
        fields = raw[raw.rfind(")") + 2 :].split()
        if len(fields) < 2:
            continue
        pid = int(name)
        children.setdefault(int(fields[1]), []).append(pid)
        if fields[0] != "Z":
            alive.add(pid)
    found: list[int] = []
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        if pid in alive:
            found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def signal_tree(signum: int) -> list[int]:
    """Send ``signum`` to every living descendant; returns the pids signalled."""
    pids = descendants(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)
    return pids


def reap() -> list[tuple[int, int]]:
    """Collect every exited child without blocking: (pid, wait status) each."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append((pid, status))


def kill_tree() -> None:
    """SIGKILL every descendant, again until none is left (one may fork meanwhile)."""
    deadline = time.monotonic() + 5.0
    while signal_tree(signal.SIGKILL) and time.monotonic() < deadline:
        reap()
        time.sleep(0.01)
    reap()


def kill_everything_and_exit(_signum: int = 0, _frame: object = None) -> None:
    """The backend is gone (the death signal's handler): kill the whole tree, then go."""
    kill_tree()
    os._exit(128 + signal.SIGKILL)


def end_leftovers() -> None:
    """The server ended: give what it left behind `LEFTOVER_GRACE` to go, then SIGKILL it."""
    if not signal_tree(signal.SIGTERM):
        return
    deadline = time.monotonic() + LEFTOVER_GRACE
    while descendants(os.getpid()) and time.monotonic() < deadline:
        reap()
        time.sleep(0.01)
    kill_tree()


def exit_like(status: int) -> None:
    """Exit with the server's wait status: its exit code, or death by its signal."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum != signal.SIGKILL:  # the one signal whose handler cannot be set
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)  # a signal that does not kill by default (SIGCHLD, ...)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def run_server(command: str, args: list[str]) -> None:
    """In the forked child: die with the supervisor too, and become the server."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    for signum in (signal.SIGTERM, PARENT_DEATH_SIGNAL, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    try:
        os.execv(command, [command, *args])
    except OSError as exc:
        os.write(2, f"mcp-orch could not start {command!r}: {exc}\n".encode(errors="replace"))
        os._exit(127)


def forward_term(server: int) -> None:
    """A SIGTERM or SIGINT to the supervisor is meant for the server: pass it on. (The backend's
    stop signals the whole group, so the server may get it twice, which a server must bear
    anyway: service managers and terminals do the same.)"""

    def handler(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(server, signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        os.write(2, b"usage: stdio_supervisor.py <backend pid> -- <command> [args...]\n")
        os._exit(2)
    backend, command, args = int(argv[0]), argv[2], argv[3:]
    signal.signal(PARENT_DEATH_SIGNAL, kill_everything_and_exit)
    supervised = _prctl(PR_SET_PDEATHSIG, PARENT_DEATH_SIGNAL) and _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if not supervised:
        signal.signal(PARENT_DEATH_SIGNAL, signal.SIG_DFL)
        run_server(command, args)  # exec: the server takes this process's place
    if os.getppid() != backend:
        os._exit(128 + signal.SIGKILL)  # the backend died before the death signal was set
    server = os.fork()
    if server == 0:
        run_server(command, args)
    # The server holds the pipes now; a copy kept here would hide the end of its stdout.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    forward_term(server)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)  # cannot happen while the server is ours
        if pid == server:
            end_leftovers()
            exit_like(status)


if __name__ == "__main__":
    main(sys.argv[1:])
