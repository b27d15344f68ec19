"""Benchmark: what a 200 MB request body costs the backend, per route family.

mcp-orch runs in its own process under Granian (as `reflex run --env prod` serves it) on a
throw-away SQLite database with a project, an API key and a login made through the services.
For each family (login, a REST route, the servers JSON import, the unified MCP endpoint) a
200 MB body is streamed in 1 MiB chunks without Content-Length, 3 times; meanwhile the RSS of
the server's process tree is sampled from /proc and a small request is timed. Printed per family
(medians of the 3 rounds): the answer's status, the seconds until it came, the peak RSS growth
of the server over its RSS just before, and the slowest concurrent small request.

Run: .venv/bin/python bench/body_limits.py [--rounds 3] [--mb 200] [--checkout PATH]
`--checkout` serves another checkout of mcp-orch (for example the code before the body limits,
unpacked with `git archive <commit> | tar -x -C PATH`); the database is made by this one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

import httpx  # noqa: E402

from bench.gateway_overhead import free_port, prepare_gateway_database, wait_for_port  # noqa: E402

MIB = 1 << 20


def login_token() -> str:
    """A live login of the database's only user (made by prepare_gateway_database)."""
    from sqlmodel import select

    from mcp_orch_app import db
    from mcp_orch_app.models import LoginSession, User
    from mcp_orch_app.models.types import utcnow
    from mcp_orch_app.security.tokens import hash_token, new_session_token

    token = new_session_token()
    with db.session_scope() as s:
        user = s.exec(select(User)).one()
        s.add(
            LoginSession(
                user_id=user.id,
                token_hash=hash_token(token),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    return token


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        members.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in members)


async def chunks(total: int):
    chunk = b"x" * MIB
    for _ in range(total // MIB):
        yield chunk


async def one_round(base: str, path: str, headers: dict, probe: dict, pid: int, size: int):
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        baseline = tree_rss(pid)
        peak = baseline
        began = time.monotonic()
        upload = asyncio.create_task(client.post(path, content=chunks(size), headers=headers))
        slowest = 0.0
        while not upload.done():
            peak = max(peak, tree_rss(pid))
            asked = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                await client.get("/api/auth/me", headers=probe, timeout=30)
            slowest = max(slowest, time.monotonic() - asked)
            await asyncio.sleep(0.01)
        try:
            status = (await upload).status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        elapsed = time.monotonic() - began
        peak = max(peak, tree_rss(pid))
    return status, elapsed, (peak - baseline) / MIB, slowest


async def measure(base: str, project_id: str, key: str, token: str, pid: int, args) -> None:
    bearer = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    families = {
        "login": ("/api/auth/login", {"content-type": "application/json"}),
        "REST": (f"/api/projects/{project_id}/servers", bearer),
        "import": (f"/api/projects/{project_id}/servers/import", bearer),
        "MCP": (
            f"/projects/{project_id}/unified/mcp",
            {
                "Authorization": f"Bearer {key}",
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
            },
        ),
    }
    print(f"{args.mb} MB chunked body, {args.rounds} rounds, medians; server tree RSS from /proc")
    print(
        f"{'family':8} {'status':>8} {'seconds':>8} {'RSS growth MiB':>15} {'slowest probe s':>16}"
    )
    for name, (path, headers) in families.items():
        rounds = [
            await one_round(
                base, path, headers, {"Authorization": bearer["Authorization"]}, pid, args.mb * MIB
            )
            for _ in range(args.rounds)
        ]
        statuses = sorted({str(r[0]) for r in rounds})
        print(
            f"{name:8} {'/'.join(statuses):>8} {statistics.median(r[1] for r in rounds):8.2f} "
            f"{statistics.median(r[2] for r in rounds):15.1f} "
            f"{statistics.median(r[3] for r in rounds):16.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--checkout", type=Path, default=CHECKOUT)
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    with tempfile.TemporaryDirectory(prefix="mcp-orch-bench-") as data_dir:
        project_id, key = prepare_gateway_database(Path(data_dir))
        token = login_token()
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                str(checkout / "bench" / "gateway_overhead.py"),
                "--serve-gateway",
                str(port),
            ],
            env={**os.environ, "MCP_ORCH_DATA_DIR": data_dir, "PYTHONPATH": str(checkout)},
            cwd=checkout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, server)
            print(f"serving {checkout} under Granian")
            asyncio.run(
                measure(f"http://127.0.0.1:{port}", project_id, key, token, server.pid, args)
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
