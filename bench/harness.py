"""What the `echo` benchmarks share: the contenders, and how each round measures them.

bench/gateway_overhead.py and bench/upstream_stdio.py call `echo` on the fixture server
(tests/fixtures/mcp_fixture_server.py) through several clients ("contenders"); every round
measures each contender in turn (interleaved, so drift on the machine hits all of them alike):
p50 latency at concurrency 1, then calls/s (and the client's own CPU per call) at concurrency 32,
and, for a contender with a ``server_cpu`` probe, the CPU seconds its server spent per 1,000 of
those calls.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[1]
FIXTURE_SERVER = CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py"
EchoCall = Callable[[str], Awaitable[str]]


@dataclass
class Contender:
    name: str
    echo: EchoCall
    p50_ms: list[float] = field(default_factory=list)
    calls_per_second: list[float] = field(default_factory=list)
    cpu_us_per_call: list[float] = field(default_factory=list)
    server_cpu: Callable[[], float] | None = None
    """CPU seconds used so far by the server process this contender calls (None: not measured)."""
    server_cpu_s_per_1000: list[float] = field(default_factory=list)


def sdk_echo(client: Any, tool: str = "echo") -> EchoCall:
    """`echo` through an SDK `ClientSession` or `mcp.Client` (both have `call_tool`); ``tool``
    is its name on the endpoint (`fixture__echo` on a unified endpoint)."""

    async def echo(text: str) -> str:
        result = await client.call_tool(tool, {"text": text})
        return result.content[0].text

    return echo


async def p50_latency_ms(echo: EchoCall, calls: int) -> float:
    samples = []
    for n in range(calls):
        began = time.perf_counter()
        answer = await echo(f"c1-{n}")
        samples.append(time.perf_counter() - began)
        assert answer == f"c1-{n}", answer
    return statistics.median(samples) * 1000


async def throughput(echo: EchoCall, workers: int, per_worker: int) -> tuple[float, float]:
    """Calls per second, and the client's own CPU time per call in microseconds (the server
    runs in another process, so this is what the client side costs)."""

    async def worker(index: int) -> None:
        for n in range(per_worker):
            text = f"c{workers}-{index}-{n}"
            answer = await echo(text)
            assert answer == text, answer

    calls = workers * per_worker
    began, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(index) for index in range(workers)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    return calls / elapsed, cpu / calls * 1e6


async def measure_rounds(
    contenders: list[Contender], rounds: int, calls: int, per_worker: int
) -> None:
    """A warm-up, then `rounds` interleaved rounds; the figures go into each contender."""
    for contender in contenders:  # warm up imports, caches and the servers' JIT-free paths
        await throughput(contender.echo, 8, 10)
    for round_number in range(1, rounds + 1):
        for contender in contenders:
            contender.p50_ms.append(await p50_latency_ms(contender.echo, calls))
            server_before = contender.server_cpu() if contender.server_cpu else 0.0
            rate, cpu = await throughput(contender.echo, 32, per_worker)
            if contender.server_cpu:
                server_cpu = contender.server_cpu() - server_before
                contender.server_cpu_s_per_1000.append(server_cpu / (32 * per_worker) * 1000)
            contender.calls_per_second.append(rate)
            contender.cpu_us_per_call.append(cpu)
        print(f"round {round_number}/{rounds} done", file=sys.stderr)
