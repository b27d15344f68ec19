"""One background-worker run over a fleet where a quarter of the servers hang.

    .venv/bin/python -m bench.worker_checks [--healthy 150] [--hanging 50] [--timeout 5]
                                            [--runs 3] [--baseline-servers 20]
                                            [--concurrency 20] [--start-bound 4]

The fleet: ``--healthy`` fixture MCP servers (tests/fixtures/mcp_fixture_server.py over stdio,
one Python process each) and ``--hanging`` servers that never answer the MCP handshake
(``sleep 600``), interleaved (every fourth server hangs), each with a ``--timeout`` second
timeout, checked by the worker's real run (HealthWorker.run: the run lock, the WorkerRun row,
the concurrency bound of WorkerConfig, ``--concurrency``, every check through the gateway's pool
and recorded with record_check) on a temporary SQLite database.

Printed: the first run (cold: every server process is started), then the median of ``--runs``
warm runs (the healthy servers are pooled, as they stay between scheduled runs: the pool's idle
timeout is longer than the default interval; the hanging ones are started again each run, as
they are in production where the interval outlasts the pool's crash backoff), each with how many
servers it recorded online and offline. The baseline, measured in the same process on warm
servers: the same checks one at a time (concurrency 1) over ``--baseline-servers`` servers in
the same proportion, extrapolated to the whole fleet. Target: a warm run under 3 x timeout.
A hanging server holds one of the ``concurrency`` slots for one timeout, so a run cannot be
shorter than ceil(hanging / concurrency) x timeout (printed as the floor: 15 s for 50 hanging
servers, 20 slots and 5 s). ``--start-bound`` is the pool's ``max_concurrent_starts`` (4 in the
app): every start waits for one of those slots, and a server that hangs holds its slot until
the check gives up on it, so with few slots the healthy servers that still have to start queue
behind the hanging ones and time out too.

Memory: each fixture server is a Python process of about 50 MB (7.5 GB for 150); all are
stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

CHECKOUT = Path(__file__).resolve().parents[1]
FIXTURE_SERVER = CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py"


@dataclass
class Fleet:
    admin: object
    healthy: int
    hanging: int


def configure_environment(folder: Path) -> None:
    """A private instance: its own SQLite file and secret key (set before the app reads them)."""
    os.environ["MCP_ORCH_DATA_DIR"] = str(folder)
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    os.environ["MCP_ORCH_SECRET_KEY"] = Fernet.generate_key().decode()


def build_fleet(healthy: int, hanging: int, timeout: int, concurrency: int) -> Fleet:
    from sqlmodel import SQLModel

    from mcp_orch_app import db
    from mcp_orch_app.models import User
    from mcp_orch_app.services import projects, servers, worker
    from mcp_orch_app.services.principal import Actor
    from mcp_orch_app.services.schemas import ServerIn

    SQLModel.metadata.create_all(db.get_engine())
    with db.session_scope() as s:
        user = User(email="bench@example.com", name="bench", password_hash="-", is_admin=True)
        s.add(user)
        s.flush()
        admin = Actor(user.id, user.email, user.name, True)
        project = projects.create_project(s, admin, "fleet")
        worker.update_config(
            s, admin, worker.WorkerConfigIn(interval_seconds=300, concurrency=concurrency)
        )
        total = healthy + hanging
        for index in range(total):
            # Spread evenly: with 150 + 50, every fourth server hangs.
            hangs = (index * hanging) // total != ((index + 1) * hanging) // total
            data = (
                ServerIn(name=f"srv-{index:03}", command="sleep", args=["600"])
                if hangs
                else ServerIn(
                    name=f"srv-{index:03}",
                    command=sys.executable,
                    args=[str(FIXTURE_SERVER)],
                    env={"PATH": os.environ["PATH"]},
                )
            )
            data.timeout_seconds = timeout
            servers.create_server(s, admin, project.id, data)
    return Fleet(admin, healthy, hanging)


async def timed_run(worker) -> tuple[float, int, int]:
    """Seconds of one worker run, and how many servers it recorded online / failed."""
    started = time.perf_counter()
    run = await worker.run()
    elapsed = time.perf_counter() - started
    reasons = Counter(re.sub(r"'srv-\d+'|[\d.]+s\b", "*", f.error) for f in run.failures)
    for reason, count in reasons.most_common(4):
        print(f"    {count:4} x {reason}", file=sys.stderr)
    return elapsed, run.checked - run.failed, run.failed


async def sequential_baseline(gateway, count: int, timeout: int) -> tuple[float, int]:
    """The same checks one at a time over ``count`` servers in the fleet's proportion."""
    from mcp_orch_app.db import run_db
    from mcp_orch_app.services import worker as worker_service
    from mcp_orch_app.worker.checks import check_servers

    plan = await run_db(worker_service.enabled_targets)
    hanging = [t for t in plan if t.server.command == "sleep"]
    healthy = [t for t in plan if t.server.command != "sleep"]
    share = round(count * len(hanging) / len(plan))
    subset = healthy[: count - share] + hanging[:share]
    outcomes: list[worker_service.CheckOutcome] = []
    started = time.perf_counter()
    await check_servers(gateway, subset, concurrency=1, timeout=timeout, outcomes=outcomes)
    return time.perf_counter() - started, len(subset)


async def main(args: argparse.Namespace) -> None:
    from mcp_orch_app.gateway.log_writer import LogWriter
    from mcp_orch_app.gateway.runtime import Gateway, gateway_lifespan
    from mcp_orch_app.worker.scheduler import HealthWorker

    fleet = build_fleet(args.healthy, args.hanging, args.timeout, args.concurrency)
    total = fleet.healthy + fleet.hanging
    # backoff_max 1 s: each run re-attempts the hanging servers, as production does (its
    # interval, 60 s at least, outlasts the pool's 30 s maximum backoff).
    gateway = Gateway(
        writer=LogWriter(),
        backoff_max=1.0,
        max_concurrent_starts=args.start_bound,
    )
    worker = HealthWorker(gateway=gateway)
    async with gateway_lifespan(gateway):
        cold = await timed_run(worker)
        print(f"cold run done in {cold[0]:.1f} s", file=sys.stderr)
        warm = []
        for number in range(1, args.runs + 1):
            await asyncio.sleep(1.5)  # past the hanging servers' crash backoff
            warm.append(await timed_run(worker))
            print(f"warm run {number}/{args.runs} done in {warm[-1][0]:.1f} s", file=sys.stderr)
        await asyncio.sleep(1.5)
        baseline_seconds, baseline_count = await sequential_baseline(
            gateway, args.baseline_servers, args.timeout
        )
    report(args, total, cold, warm, baseline_seconds, baseline_count)


def report(args, total, cold, warm, baseline_seconds, baseline_count) -> None:
    target = 3 * args.timeout
    floor = -(-args.hanging // args.concurrency) * args.timeout
    median = statistics.median(seconds for seconds, _online, _failed in warm)
    extrapolated = baseline_seconds * total / baseline_count
    print(
        f"worker run over {total} servers ({args.healthy} fixture stdio servers, {args.hanging} "
        f"hanging), timeout {args.timeout} s, concurrency {args.concurrency}, pool start bound "
        f"{args.start_bound}"
    )
    print(
        f"  cold run (every server started): {cold[0]:6.1f} s   online {cold[1]}, failed {cold[2]}"
    )
    for index, (seconds, online, failed) in enumerate(warm, 1):
        print(
            f"  warm run {index}:                      {seconds:6.1f} s   online {online}, failed {failed}"
        )
    verdict = "met" if median < target else "MISSED"
    print(f"  floor: ceil(hanging / concurrency) x timeout = {floor} s")
    print(
        f"  warm median: {median:.1f} s = {median / args.timeout:.2f} x timeout (target < {target} s: {verdict})"
    )
    print(
        f"  baseline, one at a time: {baseline_seconds:.1f} s for {baseline_count} servers -> "
        f"{extrapolated:.0f} s for {total} (extrapolated)"
    )
    print(f"  speed-up of a warm run over the baseline: {extrapolated / median:.1f} x")


if __name__ == "__main__":
    from mcp_orch_app.models.worker import WorkerConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--healthy", type=int, default=150)
    parser.add_argument("--hanging", type=int, default=50)
    parser.add_argument("--timeout", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-servers", type=int, default=20)
    parser.add_argument(
        "--concurrency", type=int, default=WorkerConfig().concurrency, help="default: the app's"
    )
    parser.add_argument("--start-bound", type=int, default=4)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcp-orch-bench-worker-") as folder:
        configure_environment(Path(folder))
        asyncio.run(main(arguments))
