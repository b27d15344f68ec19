"""Micro-benchmark: `echo` over stdio through `StdioUpstream` vs. the SDK's own `ClientSession`.

Both talk to the same fixture server (tests/fixtures/mcp_fixture_server.py), each over its own
process, in both protocol eras: the 2025-11-25 handshake (`ClientSession.initialize()`, and
`StdioUpstream(era=HANDSHAKE)`) and 2026-07-28 (`ClientSession.discover()`, and the era
`StdioUpstream` negotiates by itself). Prints p50 latency at concurrency 1 and calls/s at
concurrency 32 (and the client's own CPU per call there), the median of 3 interleaved rounds,
and the ratios. At c=32 the fixture server process is the bottleneck for both clients; the
CPU column is what the client side of a gateway hop costs.

Run: .venv/bin/python bench/upstream_stdio.py [--rounds 3] [--calls 500] [--per-worker 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from contextlib import AsyncExitStack
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

from bench.harness import (  # noqa: E402
    FIXTURE_SERVER,
    Contender,
    EchoCall,
    measure_rounds,
    sdk_echo,
)
from mcp_orch_app.gateway.stdio_upstream import StdioUpstream  # noqa: E402
from mcp_orch_app.gateway.upstream import Era, UpstreamConfig  # noqa: E402


async def sdk_session(stack: AsyncExitStack, *, modern: bool) -> EchoCall:
    params = StdioServerParameters(command=sys.executable, args=[str(FIXTURE_SERVER)])
    read, write = await stack.enter_async_context(stdio_client(params))
    session = await stack.enter_async_context(ClientSession(read, write))
    await (session.discover() if modern else session.initialize())
    return sdk_echo(session)


async def gateway_upstream(stack: AsyncExitStack, *, era: Era | None) -> EchoCall:
    config = UpstreamConfig(
        server_id="bench", name="bench", command=sys.executable, args=(str(FIXTURE_SERVER),)
    )
    upstream = StdioUpstream(config, era=era)
    await upstream.start()
    stack.push_async_callback(upstream.stop)

    async def echo(text: str) -> str:
        params = {"name": "echo", "arguments": {"text": text}}
        result = await upstream.request("tools/call", params, timeout=30)
        return result["content"][0]["text"]

    return echo


async def main(rounds: int, calls: int, per_worker: int) -> None:
    async with AsyncExitStack() as stack:
        contenders = [
            Contender("SDK ClientSession, 2025-11-25", await sdk_session(stack, modern=False)),
            Contender(
                "StdioUpstream,     2025-11-25", await gateway_upstream(stack, era=Era.HANDSHAKE)
            ),
            Contender("SDK ClientSession, 2026-07-28", await sdk_session(stack, modern=True)),
            Contender("StdioUpstream,     2026-07-28", await gateway_upstream(stack, era=None)),
        ]
        await measure_rounds(contenders, rounds, calls, per_worker)
    report(contenders, rounds, calls, per_worker)


def report(contenders: list[Contender], rounds: int, calls: int, per_worker: int) -> None:
    print(
        f"echo over stdio, fixture server; median of {rounds} interleaved rounds "
        f"(c=1: {calls} calls; c=32: 32 x {per_worker} calls)"
    )
    print(f"{'':32} {'p50 c=1':>10} {'calls/s c=32':>14} {'client CPU/call':>16}")
    for contender in contenders:
        print(
            f"{contender.name:32} {statistics.median(contender.p50_ms):8.3f} ms"
            f" {statistics.median(contender.calls_per_second):14.0f}"
            f" {statistics.median(contender.cpu_us_per_call):13.0f} us"
        )
    for sdk, ours in (contenders[0:2], contenders[2:4]):
        era = sdk.name.split(",")[1].strip()
        latency = statistics.median(sdk.p50_ms) / statistics.median(ours.p50_ms)
        rate = statistics.median(ours.calls_per_second) / statistics.median(sdk.calls_per_second)
        cpu = statistics.median(sdk.cpu_us_per_call) / statistics.median(ours.cpu_us_per_call)
        print(
            f"{era}: StdioUpstream is {latency:.2f}x faster at c=1, {rate:.2f}x the calls/s "
            f"at c=32, {cpu:.1f}x less client CPU per call"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--per-worker", type=int, default=40)
    options = parser.parse_args()
    asyncio.run(main(options.rounds, options.calls, options.per_worker))
