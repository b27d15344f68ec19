"""Benchmark: what answering a client session on another cluster member costs a call.

Two members of one cluster run in this process (two apps under uvicorn, each with its own
gateway and its own bus on the machine's Redis, a fresh namespace; one throw-away SQLite
database with the fixture as a stdio server). A handshake-era session is opened on member A;
then, one call at a time over raw HTTP (httpx2, keep-alive), `tools/call echo` is sent
to A itself ("local") and to B, which forwards it over the bus to A ("routed",
mcp_orch_app/cluster/routing.py). Printed: p50 and p90 in ms of each (median of the rounds),
the routed/local ratio and what routing adds at p50. Issue 14's target: < 1 ms at p50.

Run: .venv/bin/python bench/routing.py [--rounds 5] [--calls 300] [--redis redis://127.0.0.1:6379/1]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

import httpx2  # noqa: E402

from bench.gateway_overhead import prepare_gateway_database  # noqa: E402

HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


async def open_session(http: httpx2.AsyncClient, url: str) -> str:
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    answer = await http.post(url, headers=HEADERS, json=initialize)
    answer.raise_for_status()
    session_id = answer.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    await http.post(url, headers={**HEADERS, "mcp-session-id": session_id}, json=initialized)
    return session_id


async def latencies_ms(http: httpx2.AsyncClient, url: str, session_id: str, calls: int) -> list:
    headers = {**HEADERS, "mcp-session-id": session_id}
    samples = []
    for n in range(calls):
        call = {
            "jsonrpc": "2.0",
            "id": n + 1,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": f"c{n}"}},
        }
        began = time.perf_counter()
        answer = await http.post(url, headers=headers, json=call)
        samples.append((time.perf_counter() - began) * 1000)
        assert answer.json()["result"]["content"][0]["text"] == f"c{n}", answer.text
    return samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(options: argparse.Namespace) -> None:
    from mcp_orch_app import db
    from mcp_orch_app.cluster import ClusterBus
    from tests.live_app import running_app

    data_dir = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    project_id, key = prepare_gateway_database(data_dir)
    namespace = f"bench-routing:{secrets.token_hex(8)}"
    engine = db.get_engine()
    async with (
        running_app(engine, cluster=ClusterBus(options.redis, namespace=namespace)) as a,
        running_app(engine, cluster=ClusterBus(options.redis, namespace=namespace)) as b,
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
    ):
        local = f"{a.base_url}/projects/{project_id}/servers/fixture/mcp"
        routed = f"{b.base_url}/projects/{project_id}/servers/fixture/mcp"
        session_id = await open_session(http, local)
        for url in (local, routed):  # warm up both paths
            await latencies_ms(http, url, session_id, 50)
        figures: dict[str, dict[str, list[float]]] = {
            name: {"p50": [], "p90": []} for name in ("local", "routed")
        }
        for round_number in range(1, options.rounds + 1):
            for name, url in (("local", local), ("routed", routed)):
                samples = await latencies_ms(http, url, session_id, options.calls)
                figures[name]["p50"].append(statistics.median(samples))
                figures[name]["p90"].append(percentile(samples, 0.9))
            print(f"round {round_number}/{options.rounds} done", file=sys.stderr)
    medians = {
        name: {stat: statistics.median(values) for stat, values in stats.items()}
        for name, stats in figures.items()
    }
    print(f"{options.calls} sequential echo calls per round, median of {options.rounds} rounds")
    print(f"{'':8} {'p50 ms':>8} {'p90 ms':>8}")
    for name, stats in medians.items():
        print(f"{name:8} {stats['p50']:8.3f} {stats['p90']:8.3f}")
    p50_local, p50_routed = medians["local"]["p50"], medians["routed"]["p50"]
    print(f"routed/local p50 ratio: {p50_routed / p50_local:.2f}")
    print(f"routing adds at p50: {p50_routed - p50_local:.3f} ms (target < 1 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
