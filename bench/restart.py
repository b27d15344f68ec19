"""Benchmark: restart-to-serving of ``python -m mcp_orch_app.cli serve``, warm cache vs rebuild.

Each round starts the app on a free port with a fresh SQLite data directory (migrated first,
not timed) and measures from the process start until ``/ping`` answers and ``/login/`` serves
its page, then stops it. "warm" is a start with the UI build of the current sources in
``.ui-build/`` (no build); "rebuild" is the same start with ``--rebuild`` (what every start
cost before the cache: Reflex compiles and bundles the frontend). Rounds alternate; medians and
the ratio are printed.

Run: .venv/bin/python bench/restart.py [--rounds 3]

Measured on the 2-core development machine while other test runs shared it (load ~15):
warm 8.8 s, rebuild 68.0 s (medians of 3), 7.8x.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 600


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _env(data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "MCP_ORCH_SECRET_KEY", "REFLEX_REDIS_URL"):
        env.pop(name, None)
    env["MCP_ORCH_DATA_DIR"] = data_dir
    env["PATH"] = f"{ROOT / '.tools' / 'node_modules' / '.bin'}{os.pathsep}{env['PATH']}"
    env["REFLEX_USE_SYSTEM_BUN"] = "1"
    return env


def start_to_serving(rebuild: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="mcp-orch-restart-") as data_dir:
        env = _env(data_dir)
        cli = [sys.executable, "-m", "mcp_orch_app.cli"]
        subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        command = [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
        started = time.monotonic()
        process = subprocess.Popen(
            [*command, *(["--rebuild"] if rebuild else [])],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while not (_answers(f"{url}/ping") and _answers(f"{url}/login/")):
                if process.poll() is not None:
                    raise RuntimeError("the app stopped while starting")
                if time.monotonic() - started > TIMEOUT_SECONDS:
                    raise RuntimeError(f"the app did not answer in {TIMEOUT_SECONDS}s")
                time.sleep(0.1)
            return time.monotonic() - started
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # One start first so the cache holds the current sources (not timed).
    start_to_serving(rebuild=False)
    times: dict[str, list[float]] = {"warm": [], "rebuild": []}
    for round_number in range(1, args.rounds + 1):
        for kind in ("warm", "rebuild"):
            seconds = start_to_serving(rebuild=kind == "rebuild")
            times[kind].append(seconds)
            print(f"round {round_number}: {kind:<7} {seconds:6.1f} s", flush=True)
    warm, rebuild = statistics.median(times["warm"]), statistics.median(times["rebuild"])
    print(f"\nrestart-to-serving, median of {args.rounds}:")
    print(f"  warm cache (no build)  {warm:6.1f} s")
    print(f"  rebuild                {rebuild:6.1f} s")
    print(f"  ratio                  {rebuild / warm:6.1f}x faster with the cache")


if __name__ == "__main__":
    main()
