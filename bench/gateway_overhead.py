"""Benchmark: what passing through mcp-orch costs, against one plain SDK HTTP hop.

The same SDK client calls `echo` on the fixture server (tests/fixtures/mcp_fixture_server.py)
- directly, over the SDK's own streamable-HTTP server (the fixture run with
  `--transport streamable-http`): the baseline every ratio is taken against;
- through mcp-orch's streamable-HTTP endpoints: the server's own endpoint and the project's
  unified endpoint (`fixture__echo`), once with the fixture as a pooled stdio upstream and once
  with a second fixture process as a streamable-HTTP upstream (`httpfixture`).
Each server runs in its own process (mcp-orch under Granian, the server `reflex run --env prod`
uses here, or uvicorn with --server uvicorn, on a throw-away SQLite database with a project, an
API key and the servers made through the services); the clients run here. Both client eras:
`ClientSession.initialize()` (2025-11-25 handshake) and `mcp.Client` in auto mode (2026-07-28
against both). Two payloads: the echoed text is ~100 B or ~100 kB (both ways).

Interleaved rounds (every contender once per round, so drift on the shared machine hits all
alike); per contender the median of: p50 latency at concurrency 1, calls/s at concurrency 32 (32
concurrent calls on one client), and the CPU seconds the server process spent per 1,000 of
those calls (from /proc/<pid>/stat before and after: mcp-orch's process without its stdio
upstream, or the SDK's server). Ratios are against the direct server in the same era and
payload: p50 <= 1 and calls/s >= 1 mean mcp-orch costs nothing over one SDK hop.

Run: .venv/bin/python bench/gateway_overhead.py [--quick] [--rounds 3] [--calls 200]
     [--per-worker 20] [--payloads 100,100000] [--server granian|uvicorn]
--quick (< 3 minutes on a busy 2-core machine): 3 rounds of 30 calls and 32 x 8 calls.
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
from collections.abc import Callable
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


def prepare_gateway_database(data_dir: Path, http_url: str | None = None) -> tuple[str, str]:
    """A fresh SQLite database with a project, an API key and the fixture as a stdio server
    named `fixture` (and, given ``http_url``, a streamable-HTTP server `httpfixture` there).

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
        if http_url is not None:
            servers.create_server(
                s,
                actor,
                project.id,
                ServerIn(name=HTTP_SERVER, transport="streamable_http", url=http_url),
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


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3, the state, first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (all its threads), 0 once it is gone."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from the parent ids in /proc: a child started by any
    thread counts, which /proc/<pid>/task/<tid>/children of the main thread misses)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except OSError:
                continue
    found, pending = [], [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found += children
        pending += children
    return found


def is_fixture(pid: int) -> bool:
    try:
        return "mcp_fixture_server" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return False


HTTP_SERVER = "httpfixture"
"""The streamable-HTTP upstream's server name in the benchmark project."""


def gateway_cpu(gateway_pid: int) -> Callable[[], float]:
    """CPU seconds of the mcp-orch process tree so far (its Granian worker and stdio
    supervisors), without the stdio upstreams (the fixture) it runs."""

    def probe() -> float:
        ours = [pid for pid in descendants(gateway_pid) if not is_fixture(pid)]
        return sum(map(process_cpu_seconds, [gateway_pid, *ours]))

    return probe


def padded(echo: EchoCall, size: int) -> EchoCall:
    """``echo`` with its text made ``size`` characters long (the round's tag at the end)."""

    async def call(text: str) -> str:
        pad = "x" * max(size - len(text), 0)
        answer = await echo(pad + text)
        return answer[len(pad) :] if answer.startswith(pad) else answer

    return call


def size_label(size: int) -> str:
    return f"{size // 1000} kB" if size >= 1000 else f"{size} B"


async def measure(urls: dict[str, str], key: str, options, pids: tuple[int, int]) -> list:
    """Every contender of the matrix, measured in interleaved rounds; returns them grouped:
    one (payload, era, [direct, via mcp-orch ...]) per group."""
    direct_pid, gateway_pid = pids
    routes = (
        ("server endpoint, stdio", urls["stdio"], "echo"),
        ("unified,         stdio", urls["unified"], "fixture__echo"),
        ("server endpoint, HTTP ", urls["http"], "echo"),
        ("unified,         HTTP ", urls["unified"], f"{HTTP_SERVER}__echo"),
    )
    eras = (("2025-11-25", handshake_echo), ("2026-07-28", auto_echo))
    groups = []
    async with AsyncExitStack() as stack:
        for size in options.payloads:
            for era, connect in eras:
                direct = Contender(
                    f"direct SDK server      {era} {size_label(size):>6}",
                    padded(await connect(stack, urls["direct"], None), size),
                    server_cpu=lambda: process_cpu_seconds(direct_pid),
                )
                via = [
                    Contender(
                        f"mcp-orch {route} {era} {size_label(size):>6}",
                        padded(await connect(stack, url, key, tool), size),
                        server_cpu=gateway_cpu(gateway_pid),
                    )
                    for route, url, tool in routes
                ]
                groups.append((size, era, [direct, *via]))
        contenders = [contender for _size, _era, members in groups for contender in members]
        await measure_rounds(contenders, options.rounds, options.calls, options.per_worker)
    return groups


def report_table(groups: list, options) -> None:
    print(
        f"echo, fixture server; median of {options.rounds} interleaved rounds "
        f"(c=1: {options.calls} calls; c=32: 32 x {options.per_worker} calls on one client)"
    )
    print(f"{'':48} {'p50 c=1':>9} {'calls/s':>8} {'CPU-s per':>10} {'p50':>6} {'calls/s':>8}")
    print(f"{'':48} {'':>9} {'c=32':>8} {'1000 calls':>10} {'ratio':>6} {'ratio':>8}")
    for _size, _era, (direct, *via) in groups:
        base_p50 = statistics.median(direct.p50_ms)
        base_rate = statistics.median(direct.calls_per_second)
        for contender in (direct, *via):
            p50 = statistics.median(contender.p50_ms)
            rate = statistics.median(contender.calls_per_second)
            cpu = statistics.median(contender.server_cpu_s_per_1000)
            print(
                f"{contender.name:48} {p50:6.2f} ms {rate:8.0f} {cpu:10.2f}"
                f" {p50 / base_p50:6.2f} {rate / base_rate:8.2f}"
            )
    print("ratios: mcp-orch / direct, same era and payload (p50 <= 1 wins, calls/s >= 1 wins)")


def report(contenders: list[Contender], options, ratio: str = "(b)/(a)") -> None:
    """bench/unified_overhead.py's table: the figures, then per era (contenders come in pairs:
    era 1, then era 2) the ratio of the second contender to the first."""
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


def fixture_http_server(port: int) -> subprocess.Popen:
    """The fixture serving streamable HTTP on 127.0.0.1:port, quietly."""
    return subprocess.Popen(
        [
            sys.executable,
            str(FIXTURE_SERVER),
            "--transport",
            "streamable-http",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_gateway(port: int, data_dir: str, server: str = "granian") -> subprocess.Popen:
    """mcp-orch (this script's --serve-gateway) on 127.0.0.1:port over ``data_dir``, quietly."""
    return subprocess.Popen(
        [sys.executable, __file__, "--serve-gateway", str(port), "--server", server],
        env={
            **os.environ,
            "MCP_ORCH_DATA_DIR": data_dir,
            "PYTHONPATH": os.pathsep.join(
                filter(None, (str(CHECKOUT), os.environ.get("PYTHONPATH")))
            ),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short rounds (< 3 minutes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--per-worker", type=int, default=20)
    parser.add_argument(
        "--payloads",
        default="100,100000",
        help="echoed text sizes in characters, comma-separated (default: 100,100000)",
    )
    parser.add_argument(
        "--server",
        choices=("granian", "uvicorn"),
        default="granian",
        help="mcp-orch's HTTP server (default: granian, as in production)",
    )
    parser.add_argument("--serve-gateway", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_gateway:
        serve_gateway(options.serve_gateway, options.server)
        return
    if options.quick:
        options.rounds, options.calls, options.per_worker = 3, 30, 8
    options.payloads = [int(size) for size in options.payloads.split(",")]

    with tempfile.TemporaryDirectory(prefix="mcp-orch-bench-") as data_dir:
        direct_port, upstream_port, gateway_port = free_port(), free_port(), free_port()
        upstream_url = f"http://127.0.0.1:{upstream_port}/mcp"
        project_id, key = prepare_gateway_database(Path(data_dir), upstream_url)
        direct = fixture_http_server(direct_port)
        upstream = fixture_http_server(upstream_port)
        gateway = start_gateway(gateway_port, data_dir, options.server)
        base = f"http://127.0.0.1:{gateway_port}/projects/{project_id}"
        urls = {
            "direct": f"http://127.0.0.1:{direct_port}/mcp",
            "stdio": f"{base}/servers/fixture/mcp",
            "http": f"{base}/servers/{HTTP_SERVER}/mcp",
            "unified": f"{base}/unified/mcp",
        }
        try:
            for port, process in (
                (direct_port, direct),
                (upstream_port, upstream),
                (gateway_port, gateway),
            ):
                wait_for_port(port, process)
            groups = asyncio.run(measure(urls, key, options, (direct.pid, gateway.pid)))
        finally:
            for process in (gateway, upstream, direct):  # the gateway first: it holds sessions
                stop(process)
    report_table(groups, options)


if __name__ == "__main__":
    main()
