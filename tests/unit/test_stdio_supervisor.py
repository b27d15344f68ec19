"""The stdio supervisor passes the server through untouched and takes its tree down with it.

Real processes: a shell as the "server", `sleep`s with a marker duration as what it leaves
behind (one in its process group, one that left it with setsid), and for the backend's death an
intermediate Python process that starts the supervisor and is then SIGKILLed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcp_orch_app.gateway.stdio_process import supervised_argv

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")


def _marked() -> str:
    return f"sleep {random.randint(7000, 7999)}"


def _with_marker(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if marker in cmdline and stat[stat.rfind(")") + 2 :].split()[0] != "Z":
            found.append(int(entry))
    return found


def _gone_soon(marker: str, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _with_marker(marker)) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in left:  # only when the assertion that follows fails
        os.kill(pid, signal.SIGKILL)
    return left


def _run(script: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        supervised_argv("/bin/sh", ["-c", script]),
        start_new_session=True,
        timeout=30,
        **options,
    )


def test_stdin_stdout_and_the_exit_code_pass_through():
    done = _run(
        "read line; echo got:$line; echo oops >&2; exit 7", input=b"hi\n", capture_output=True
    )
    assert (done.stdout, done.stderr, done.returncode) == (b"got:hi\n", b"oops\n", 7)


def test_a_server_killed_by_a_signal_is_reported_killed_by_it():
    assert _run("kill -KILL $$").returncode == -signal.SIGKILL


def test_what_the_server_leaves_behind_goes_with_it_and_stdout_ends():
    marker = _marked()
    began = time.monotonic()
    # Both leftovers hold the server's stdout: it ends only when they are gone too.
    done = _run(f"{marker} & (setsid {marker} &); echo started", capture_output=True)
    assert done.stdout == b"started\n" and done.returncode == 0
    assert time.monotonic() - began < 5
    assert _gone_soon(marker) == []


def test_sigterm_to_the_supervisor_reaches_the_server():
    process = subprocess.Popen(supervised_argv("/bin/sleep", ["30"]), start_new_session=True)
    time.sleep(0.3)
    process.terminate()
    assert process.wait(timeout=5) == -signal.SIGTERM


def test_the_whole_tree_dies_when_the_backend_is_killed():
    marker = _marked()
    backend = (
        "import os, subprocess, sys, time\n"
        "from mcp_orch_app.gateway.stdio_process import supervised_argv\n"
        f"argv = supervised_argv('/bin/sh', ['-c', '{marker} & (setsid {marker} &); wait'])\n"
        "subprocess.Popen(argv, start_new_session=True, stdin=subprocess.PIPE)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", backend], cwd=Path(__file__).resolve().parents[2]
    )
    deadline = time.monotonic() + 10
    while len(_with_marker(marker)) < 2:
        assert time.monotonic() < deadline, "the server's children did not start"
        time.sleep(0.05)
    process.kill()
    process.wait()
    assert _gone_soon(marker) == []
