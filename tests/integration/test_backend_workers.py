"""The production server starts exactly MCP_ORCH_WORKERS backend processes.

Reflex alone starts Granian with 2 * cores + 1 workers as soon as REFLEX_REDIS_URL is set (5
on this 2-core machine); mcp-orch makes the count explicit (config.apply_backend_workers, called
from rxconfig.py). The real app (`reflex run --env prod --backend-only`, test_app_shutdown.py)
runs with the machine's Redis, and its worker processes (children of the Granian supervisor
with its command line) are counted from /proc; the load balancer probes answer on it. More than
one worker without Redis, or a count out of range, stops the server before it serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import _app_env
from tests.helpers import CHECKOUT, needs_redis
from tests.integration.test_app_shutdown import real_app

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/7"
SETTLE_SECONDS = 3.0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _workers(supervisor: int) -> list[int]:
    """Live children of the supervisor that run its own command line (the forked workers)."""
    found = []
    own = _cmdline(supervisor)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == supervisor and fields[0] != "Z" and _cmdline(int(entry)) == own:
            found.append(int(entry))
    return found


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@needs_redis
@pytest.mark.parametrize(
    ("asked", "expected"), [pytest.param(None, 1, id="default"), pytest.param("2", 2, id="two")]
)
def test_the_prod_server_starts_the_number_of_workers_asked(tmp_path, asked, expected):
    settings = {"REFLEX_REDIS_URL": REDIS_URL}
    if asked is not None:
        settings["MCP_ORCH_WORKERS"] = asked
    with real_app(tmp_path, settings) as app:
        deadline = time.monotonic() + 60
        while len(_workers(app.process.pid)) < expected:
            assert time.monotonic() < deadline, f"workers: {_workers(app.process.pid)}"
            time.sleep(0.2)
        time.sleep(SETTLE_SECONDS)  # Granian's default would have started 5 by now
        assert len(_workers(app.process.pid)) == expected
        assert _get(f"{app.url}/healthz") == (200, b'{"status":"ok"}')
        assert _get(f"{app.url}/readyz") == (200, b'{"status":"ready"}')


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"MCP_ORCH_WORKERS": "2"}, "MCP_ORCH_WORKERS=2 needs REFLEX_REDIS_URL", id="no-redis"
        ),
        pytest.param(
            {"MCP_ORCH_WORKERS": "0"}, "MCP_ORCH_WORKERS must be between 1 and 64", id="zero"
        ),
        pytest.param(
            {"MCP_ORCH_WORKERS": "many"}, "MCP_ORCH_WORKERS must be a whole number", id="word"
        ),
    ],
)
def test_an_unusable_worker_count_stops_the_server_with_a_message(tmp_path, settings, message):
    env = {**_app_env(tmp_path / "data"), **settings}
    run = subprocess.run(
        [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only"],
        cwd=CHECKOUT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"mcp-orch cannot start: {message}" in run.stderr
    assert "Traceback" not in run.stderr
