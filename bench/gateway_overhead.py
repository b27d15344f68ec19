"""Benchmark: what passing through mcp-orch costs, against one plain SDK HTTP hop.

The same SDK client calls `echo` on the fixture server (tests/fixtures/mcp_fixture_server.py)
(a) directly, over the SDK's own streamable-HTTP server (the fixture run with
    `--transport streamable-http`), and
(b) through mcp-orch's streamable-HTTP endpoint, with the fixture as a pooled stdio upstream.
Each side runs in its own process (mcp-orch under Granian, the server `reflex run --env prod`
uses here, or uvicorn with --server uvicorn, on a throw-away SQLite database with
a project, an API key and the server made through the services); the clients run here. Both
client eras are measured: `ClientSession.initialize()` (2025-11-25 handshake) and `mcp.Client`
in auto mode (2026-07-28 against both). 3 interleaved rounds; p50 latency at concurrency 1 and
calls/s at concurrency 32 (32 concurrent calls on one client); medians and ratios printed; then
where the CPU goes per call at c=32: the client, the HTTP server (mcp-orch without its upstream,
or the SDK's server) and, behind mcp-orch, the stdio fixture (the SDK's stdio server).

Run: .venv/bin/python bench/gateway_overhead.py [--rounds 3] [--calls 300] [--per-worker 25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

import httpx2  # noqa: E402
from mcp import Client, ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from bench.harness import (  # noqa: E402
    FIXTURE_SERVER,
    Contender,
    EchoCall,
    measure_rounds,
    sdk_echo,
    throughput,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port} after {timeout}s")


# -- (b): mcp-orch in its own process ------------------------------------------------------


def prepare_gateway_database(data_dir: Path) -> tuple[str, str]:
    """A fresh SQLite database with a project, an API key and the fixture as a stdio server.

    Returns (project id, API key).
    """
    os.environ["MCP_ORCH_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    from mcp_orch_app import db
    from mcp_orch_app.config import get_settings
    from mcp_orch_app.migrations import upgrade_to_head
    from mcp_orch_app.models import User
    from mcp_orch_app.services import api_keys, projects, servers
    from mcp_orch_app.services.principal import Actor
    from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn

    upgrade_to_head(get_settings().database_url)
    with db.session_scope() as s:
        user = User(email="bench@example.com", name="bench", password_hash="-", is_admin=True)
        s.add(user)
        s.flush()
        actor = Actor(user.id, user.email, user.name, True, None)
        project = projects.create_project(s, actor, "bench")
        servers.create_server(
            s,
            actor,
            project.id,
            ServerIn(name="fixture", command=sys.executable, args=[str(FIXTURE_SERVER)]),
        )
        key = api_keys.create_api_key(s, actor, project.id, ApiKeyIn(name="bench")).key
    return str(project.id), key


def gateway_app():
    """The app of (b): create_api() with the gateway's lifespan.

    The FastAPI app is the outermost app here as in production (Reflex mounts itself inside
    it), so the gateway's lifespan is set on its router.
    """
    from contextlib import asynccontextmanager

    from mcp_orch_app.api.app import create_api
    from mcp_orch_app.gateway.runtime import gateway_lifespan

    @asynccontextmanager
    async def lifespan(_app):
        async with gateway_lifespan():
            yield

    app = create_api()
    app.router.lifespan_context = lifespan
    return app


def serve_gateway(port: int, server: str) -> None:
    """The child process of (b), under the HTTP server production uses (Granian: what
    `reflex run --env prod` runs when gunicorn is not installed, as here) or uvicorn."""
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(gateway_app(), host="127.0.0.1", port=port, log_level="warning")
        return
    from granian.constants import Interfaces
    from granian.server import Server as Granian

    Granian(
        target="bench.gateway_overhead:gateway_app",
        factory=True,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
    ).serve()


# -- clients -------------------------------------------------------------------------------


async def handshake_echo(
    stack: AsyncExitStack, url: str, key: str | None, tool: str = "echo"
) -> EchoCall:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=60))
    read, write = await stack.enter_async_context(streamable_http_client(url, http_client=http))
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()
    return sdk_echo(session, tool)


async def auto_echo(
    stack: AsyncExitStack, url: str, key: str | None, tool: str = "echo"
) -> EchoCall:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=60))
    client = await stack.enter_async_context(Client(streamable_http_client(url, http_client=http)))
    return sdk_echo(client, tool)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants (from /proc)."""
    total, pending, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            pending += map(
                int, Path(f"/proc/{current}/task/{current}/children").read_text().split()
            )
        except OSError:
            continue
    return total


def fixture_upstream_pids(gateway_pid: int) -> list[int]:
    """The stdio fixture processes the gateway's pool started (its descendants)."""
    pids, pending = [], [gateway_pid]
    while pending:
        current = pending.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            pending.append(child)
            if "mcp_fixture_server" in Path(f"/proc/{child}/cmdline").read_text(errors="replace"):
                pids.append(child)
    return pids


async def cpu_breakdown(
    contenders: list[Contender], direct_pid: int, gateway_pid: int, per_worker: int
) -> list[tuple[str, float, float, float]]:
    """Per contender, CPU microseconds per call at c=32 of: the client (this process), the
    HTTP server it calls (mcp-orch without its upstream, or the SDK's server) and, for mcp-orch,
    the stdio fixture behind it. Where the time goes, for the figures above."""
    rows = []
    for contender in contenders:
        gateway = contender.name.startswith("(b)")
        server = gateway_pid if gateway else direct_pid
        upstreams = fixture_upstream_pids(gateway_pid) if gateway else []
        before = [process_cpu_seconds(server), *map(process_cpu_seconds, upstreams)]
        _rate, client_us = await throughput(contender.echo, 32, per_worker)
        after = [process_cpu_seconds(server), *map(process_cpu_seconds, upstreams)]
        calls = 32 * per_worker
        upstream_us = sum(a - b for a, b in zip(after[1:], before[1:], strict=True)) / calls * 1e6
        server_us = (after[0] - before[0]) / calls * 1e6 - upstream_us
        rows.append((contender.name, client_us, server_us, upstream_us))
    return rows


async def measure(
    direct_url: str, gateway_url: str, key: str, options, pids: tuple[int, int] | None = None
) -> tuple[list[Contender], list[tuple[str, float, float, float]]]:
    async with AsyncExitStack() as stack:
        contenders = [
            Contender(
                "(a) SDK HTTP server, 2025-11-25", await handshake_echo(stack, direct_url, None)
            ),
            Contender(
                "(b) mcp-orch,        2025-11-25", await handshake_echo(stack, gateway_url, key)
            ),
            Contender("(a) SDK HTTP server, 2026-07-28", await auto_echo(stack, direct_url, None)),
            Contender("(b) mcp-orch,        2026-07-28", await auto_echo(stack, gateway_url, key)),
        ]
        await measure_rounds(contenders, options.rounds, options.calls, options.per_worker)
        breakdown = (
            await cpu_breakdown(contenders, *pids, options.per_worker) if pids is not None else []
        )
    return contenders, breakdown


def report_cpu(breakdown: list[tuple[str, float, float, float]]) -> None:
    print("CPU per call at c=32 (us):       client   HTTP server   stdio upstream")
    for name, client_us, server_us, upstream_us in breakdown:
        upstream = f"{upstream_us:14.0f}" if name.startswith("(b)") else f"{'-':>14}"
        print(f"{name:34} {client_us:6.0f} {server_us:13.0f} {upstream}")


def report(contenders: list[Contender], options, ratio: str = "(b)/(a)") -> None:
    """The figures, then per era (contenders come in pairs: era 1, then era 2) the ratio of
    the second contender to the first."""
    print(
        f"echo, fixture server; median of {options.rounds} interleaved rounds "
        f"(c=1: {options.calls} calls; c=32: 32 x {options.per_worker} calls on one client)"
    )
    print(f"{'':34} {'p50 c=1':>10} {'calls/s c=32':>14}")
    for contender in contenders:
        print(
            f"{contender.name:34} {statistics.median(contender.p50_ms):7.2f} ms"
            f" {statistics.median(contender.calls_per_second):14.0f}"
        )
    for first, second in (contenders[0:2], contenders[2:4]):
        era = first.name.split(",")[1].strip()
        latency = statistics.median(second.p50_ms) / statistics.median(first.p50_ms)
        rate = statistics.median(second.calls_per_second) / statistics.median(
            first.calls_per_second
        )
        print(f"{era}: {ratio} p50 = {latency:.2f} (<= 1 wins), calls/s = {rate:.2f} (>= 1 wins)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--per-worker", type=int, default=25)
    parser.add_argument(
        "--server",
        choices=("granian", "uvicorn"),
        default="granian",
        help="the HTTP server of (b) (default: granian, as in production)",
    )
    parser.add_argument("--serve-gateway", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_gateway:
        serve_gateway(options.serve_gateway, options.server)
        return

    with tempfile.TemporaryDirectory(prefix="mcp-orch-bench-") as data_dir:
        project_id, key = prepare_gateway_database(Path(data_dir))
        direct_port, gateway_port = free_port(), free_port()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        direct = subprocess.Popen(
            [
                sys.executable,
                str(FIXTURE_SERVER),
                "--transport",
                "streamable-http",
                "--port",
                str(direct_port),
            ],
            **quiet,
        )
        gateway = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-gateway",
                str(gateway_port),
                "--server",
                options.server,
            ],
            env={**os.environ, "MCP_ORCH_DATA_DIR": data_dir, "PYTHONPATH": str(CHECKOUT)},
            **quiet,
        )
        try:
            wait_for_port(direct_port, direct)
            wait_for_port(gateway_port, gateway)
            contenders, breakdown = asyncio.run(
                measure(
                    f"http://127.0.0.1:{direct_port}/mcp",
                    f"http://127.0.0.1:{gateway_port}/projects/{project_id}/servers/fixture/mcp",
                    key,
                    options,
                    (direct.pid, gateway.pid),
                )
            )
        finally:
            for process in (direct, gateway):
                process.terminate()
                process.wait(10)
    report(contenders, options)
    report_cpu(breakdown)


if __name__ == "__main__":
    main()
