"""Benchmark: mcp-orch side by side with the gateways a user would pick instead.

Each gateway fronts the same stdio upstream, the fixture server (tests/fixtures/
mcp_fixture_server.py, its `echo` tool), and serves it over streamable HTTP:
- mcp-orch: a server's own endpoint (bench/gateway_overhead.py's process, under Granian);
- sparfenyuk `mcp-proxy` (PyPI), `mcp-proxy --port N -- python fixture.py`, at /mcp;
- `supergateway` (npm), `--stdio "python fixture.py" --outputTransport streamableHttp
  --stateful` (one upstream process per session; its default stateless mode starts one per
  request), at /mcp.
The baseline is the fixture itself as the SDK's streamable-HTTP server (no gateway at all).
The peers are installed on first use into `.cache/bench-peers/` (a private venv for mcp-proxy,
an npm prefix for supergateway), never into the project's venv; a peer that cannot be installed
or started is skipped with the reason. Both listen on 127.0.0.1 only (supergateway through
tests/fixtures/listen_on_localhost.cjs).

The client is the SDK's, in the 2025-11-25 handshake era (the peers are built on SDKs that do
not speak 2026-07-28). Interleaved rounds; per contender the median of: p50 latency at
concurrency 1, calls/s at concurrency 32 on one session, calls/s over 32 sessions (one call at
a time each), and the CPU seconds the gateway's processes spent per 1,000 calls at c=32
(/proc/<pid>/stat before and after, the fixture behind it not counted). Ratios are against the
direct server (calls/s) and against mcp-orch (CPU).

Run: .venv/bin/python bench/peers.py [--quick] [--rounds 3] [--calls 200] [--per-worker 20]
     [--payload 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from bench.gateway_overhead import (  # noqa: E402
    fixture_http_server,
    free_port,
    gateway_cpu,
    handshake_echo,
    padded,
    prepare_gateway_database,
    process_cpu_seconds,
    start_gateway,
    stop,
    wait_for_port,
)
from bench.harness import FIXTURE_SERVER, Contender, EchoCall, measure_rounds  # noqa: E402

PEERS = CHECKOUT / ".cache" / "bench-peers"
MCP_PROXY_VERSION = "0.13.0"
SUPERGATEWAY_VERSION = "4.0.0"
LOCALHOST_PRELOAD = CHECKOUT / "tests" / "fixtures" / "listen_on_localhost.cjs"


def install_mcp_proxy() -> Path:
    """The `mcp-proxy` command of a private venv (made on first use)."""
    venv = PEERS / "mcp-proxy"
    command = venv / "bin" / "mcp-proxy"
    if not command.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"mcp-proxy=={MCP_PROXY_VERSION}"],
            check=True,
        )
    return command


def install_supergateway() -> Path:
    """The `supergateway` command of a private npm prefix (made on first use)."""
    prefix = PEERS / "supergateway"
    command = prefix / "node_modules" / ".bin" / "supergateway"
    if not command.exists():
        if shutil.which("npm") is None:
            raise RuntimeError("npm is not installed")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"supergateway@{SUPERGATEWAY_VERSION}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return command


def fixture_command() -> list[str]:
    return [sys.executable, str(FIXTURE_SERVER)]


def start_mcp_proxy(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(install_mcp_proxy()),
            "--port",
            str(port),
            "--log-level",
            "WARNING",
            "--",
            *fixture_command(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_supergateway(port: int) -> subprocess.Popen:
    command = install_supergateway()
    return subprocess.Popen(
        [
            str(command),
            "--stdio",
            " ".join(fixture_command()),
            "--outputTransport",
            "streamableHttp",
            "--stateful",
            "--port",
            str(port),
            "--logLevel",
            "none",
        ],
        env={**os.environ, "NODE_OPTIONS": f"--require {LOCALHOST_PRELOAD}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Peer:
    name: str
    url: str
    process: subprocess.Popen
    key: str | None = None
    sessions_rate: list[float] = field(default_factory=list)


async def sessions_throughput(echoes: list[EchoCall], per_session: int) -> float:
    """Calls per second over many sessions, each making one call at a time."""
    loop = asyncio.get_running_loop()

    async def session(index: int, echo: EchoCall) -> None:
        for n in range(per_session):
            text = f"s-{index}-{n}"
            answer = await echo(text)
            assert answer == text, answer

    began = loop.time()
    await asyncio.gather(*(session(i, echo) for i, echo in enumerate(echoes)))
    return len(echoes) * per_session / (loop.time() - began)


async def measure(peers: list[Peer], options) -> list[tuple[Peer, Contender]]:
    async with AsyncExitStack() as stack:
        rows, sessions = [], []
        for peer in peers:
            echo = padded(await handshake_echo(stack, peer.url, peer.key), options.payload)
            pid = peer.process.pid
            probe = (
                (lambda pid=pid: process_cpu_seconds(pid))
                if peer.name.startswith("direct")
                else gateway_cpu(pid)
            )
            rows.append((peer, Contender(peer.name, echo, server_cpu=probe)))
            sessions.append(
                [
                    padded(await handshake_echo(stack, peer.url, peer.key), options.payload)
                    for _ in range(options.sessions)
                ]
            )
        contenders = [contender for _peer, contender in rows]
        for round_number in range(options.rounds):
            await measure_rounds(contenders, 1, options.calls, options.per_worker)
            for (peer, _contender), echoes in zip(rows, sessions, strict=True):
                peer.sessions_rate.append(await sessions_throughput(echoes, options.per_worker))
            print(f"(sessions round {round_number + 1}/{options.rounds} done)", file=sys.stderr)
    return rows


def report(rows: list[tuple[Peer, Contender]], options) -> None:
    print(
        f"echo ({options.payload} B), stdio fixture behind each gateway, 2025-11-25 client; "
        f"median of {options.rounds} interleaved rounds (c=1: {options.calls} calls; c=32: "
        f"32 x {options.per_worker} calls on one session; {options.sessions} sessions x "
        f"{options.per_worker} calls)"
    )
    print(
        f"{'':24} {'p50 c=1':>9} {'calls/s':>8} {'calls/s':>9} {'CPU-s per':>10}"
        f" {'c=32':>6} {'sessions':>9} {'CPU':>9}"
    )
    print(
        f"{'':24} {'':>9} {'c=32':>8} {'sessions':>9} {'1000 calls':>10}"
        f" {'/direct':>6} {'/direct':>9} {'/mcp-orch':>9}"
    )
    direct = rows[0][1]
    direct_rate = statistics.median(direct.calls_per_second)
    direct_sessions = statistics.median(rows[0][0].sessions_rate)
    orch_cpu = statistics.median(rows[1][1].server_cpu_s_per_1000)
    for peer, contender in rows:
        rate = statistics.median(contender.calls_per_second)
        many = statistics.median(peer.sessions_rate)
        cpu = statistics.median(contender.server_cpu_s_per_1000)
        print(
            f"{contender.name:24} {statistics.median(contender.p50_ms):6.2f} ms {rate:8.0f}"
            f" {many:9.0f} {cpu:10.2f} {rate / direct_rate:6.2f} {many / direct_sessions:9.2f}"
            f" {cpu / orch_cpu:9.2f}"
        )
    print("calls/s ratios >= 1 win; the direct row's CPU is the SDK server's own")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short rounds (< 3 minutes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--per-worker", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--payload", type=int, default=100, help="echoed text size (chars)")
    options = parser.parse_args()
    if options.quick:
        options.rounds, options.calls, options.per_worker = 3, 30, 8

    with tempfile.TemporaryDirectory(prefix="mcp-orch-bench-") as data_dir:
        project_id, key = prepare_gateway_database(Path(data_dir))
        ports = {name: free_port() for name in ("direct", "orch", "mcp-proxy", "supergateway")}
        peers = [
            Peer(
                "direct SDK HTTP server",
                f"http://127.0.0.1:{ports['direct']}/mcp",
                fixture_http_server(ports["direct"]),
            ),
            Peer(
                "mcp-orch",
                f"http://127.0.0.1:{ports['orch']}/projects/{project_id}/servers/fixture/mcp",
                start_gateway(ports["orch"], data_dir),
                key,
            ),
        ]
        for name, start in (("mcp-proxy", start_mcp_proxy), ("supergateway", start_supergateway)):
            try:
                process = start(ports[name])
            except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"skipped {name}: it could not be installed ({exc})", file=sys.stderr)
                continue
            peers.append(Peer(name, f"http://127.0.0.1:{ports[name]}/mcp", process))
        try:
            started = []
            for peer in peers:
                port = int(peer.url.split(":")[2].split("/")[0])
                try:
                    wait_for_port(port, peer.process)
                except SystemExit as exc:
                    if peer.name in ("direct SDK HTTP server", "mcp-orch"):
                        raise
                    print(f"skipped {peer.name}: it did not start ({exc})", file=sys.stderr)
                    continue
                started.append(peer)
            rows = asyncio.run(measure(started, options))
        finally:
            for peer in reversed(peers):
                stop(peer.process)
    report(rows, options)


if __name__ == "__main__":
    main()
