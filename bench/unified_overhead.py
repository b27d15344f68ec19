"""Benchmark: what the unified endpoint costs over a server's own endpoint.

The same SDK clients call `echo` on the fixture server (tests/fixtures/mcp_fixture_server.py,
a pooled stdio upstream) through one mcp-orch process (bench/gateway_overhead.py's, under
Granian as in production), once at `/projects/{id}/servers/fixture/mcp` (tool `echo`) and once
at `/projects/{id}/unified/mcp` (tool `fixture__echo`, routed by name to the same upstream).
Both client eras: `ClientSession.initialize()` (2025-11-25) and `mcp.Client` in auto mode
(2026-07-28). 3 interleaved rounds; p50 latency at concurrency 1 and calls/s at concurrency
32; medians and ratios printed.

Run: .venv/bin/python bench/unified_overhead.py [--rounds 3] [--calls 300] [--per-worker 25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from bench.gateway_overhead import (  # noqa: E402
    auto_echo,
    free_port,
    handshake_echo,
    prepare_gateway_database,
    report,
    wait_for_port,
)
from bench.harness import Contender, measure_rounds  # noqa: E402


async def measure(base: str, project_id: str, key: str, options) -> list[Contender]:
    server_url = f"{base}/projects/{project_id}/servers/fixture/mcp"
    unified_url = f"{base}/projects/{project_id}/unified/mcp"
    async with AsyncExitStack() as stack:
        contenders = [
            Contender("server endpoint,  2025-11-25", await handshake_echo(stack, server_url, key)),
            Contender(
                "unified endpoint, 2025-11-25",
                await handshake_echo(stack, unified_url, key, "fixture__echo"),
            ),
            Contender("server endpoint,  2026-07-28", await auto_echo(stack, server_url, key)),
            Contender(
                "unified endpoint, 2026-07-28",
                await auto_echo(stack, unified_url, key, "fixture__echo"),
            ),
        ]
        await measure_rounds(contenders, options.rounds, options.calls, options.per_worker)
    return contenders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--per-worker", type=int, default=25)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcp-orch-bench-") as data_dir:
        project_id, key = prepare_gateway_database(Path(data_dir))
        port = free_port()
        gateway = subprocess.Popen(
            [
                sys.executable,
                str(CHECKOUT / "bench" / "gateway_overhead.py"),
                "--serve-gateway",
                str(port),
            ],
            env={**os.environ, "MCP_ORCH_DATA_DIR": data_dir, "PYTHONPATH": str(CHECKOUT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, gateway)
            contenders = asyncio.run(measure(f"http://127.0.0.1:{port}", project_id, key, options))
        finally:
            gateway.terminate()
            gateway.wait(10)
    report(contenders, options, "unified/server")


if __name__ == "__main__":
    main()
