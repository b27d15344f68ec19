"""How fast a project page is usable in the browser when the project is big.

Seeds a fresh instance's data directory through the services and the database (a project with
``--servers`` servers in a mix of cached states and ``--calls`` tool calls over the last day, and
an empty project as the baseline), starts the app in production mode as the browser tests do
(tests/e2e/conftest.py), and times in Chromium, for each page of ``--pages``: from the start of
a full navigation until the page shows what it is about (the known element) AND its main button
passes Playwright's actionability checks (visible, stable, enabled, receiving events: a trial
click). Loads alternate between the big and the empty project; the median of ``--loads`` each is
printed with the ratio big / empty.

    flock /tmp/mcp-orch-e2e.lock python bench/ui_load.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

# The seeding below writes into the data directory the app will be started on.
DATA_DIR = Path(tempfile.mkdtemp(prefix="mcp-orch-ui-bench-"))
os.environ["MCP_ORCH_DATA_DIR"] = str(DATA_DIR)
for _name in ("DATABASE_URL", "MCP_ORCH_SECRET_KEY", "REFLEX_REDIS_URL"):
    os.environ.pop(_name, None)

from playwright.async_api import BrowserContext, async_playwright  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

from mcp_orch_app import db  # noqa: E402
from mcp_orch_app.migrations import upgrade_to_head  # noqa: E402
from mcp_orch_app.models import McpServer, ServerStatus, ToolCallLog, ToolCallStatus  # noqa: E402
from mcp_orch_app.models.types import utcnow  # noqa: E402
from mcp_orch_app.services import auth, projects, servers  # noqa: E402
from mcp_orch_app.services.schemas import ServerIn  # noqa: E402
from mcp_orch_app.ui.states.servers import PAGE_SIZE  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_app  # noqa: E402

PASSWORD = "benchmark password"
# Remote servers on a closed loopback port: a health check of the background worker fails at
# once instead of starting 200 processes; the page reads only the cached status anyway.
DEAD_URL = "http://127.0.0.1:9/mcp"
STATUS_MIX = (
    (ServerStatus.ONLINE, 0.6),
    (ServerStatus.OFFLINE, 0.15),
    (ServerStatus.ERROR, 0.15),
    (ServerStatus.DISABLED, 0.1),
)


@dataclass(frozen=True)
class PageCheck:
    """A page below /projects/{id}: what shows it is there, and the button that must work."""

    name: str
    path: str
    content: str  # CSS selector of the known element; {rows}: the server rows on its first page
    empty_content: str  # the same for the empty project
    button: str


PAGES = {
    "servers": PageCheck(
        "servers",
        "/servers",
        "#servers-list tbody tr:nth-child({rows})",
        "text=No servers yet",
        "#add-server",
    ),
    "overview": PageCheck(
        "overview",
        "",
        "#recent-calls-table tr:nth-child(10)",
        "text=No servers yet",
        "[data-testid=tab-servers]",
    ),
}


@dataclass
class Timings:
    big: list[float] = field(default_factory=list)
    empty: list[float] = field(default_factory=list)


def seed(server_count: int, call_count: int) -> tuple[str, str, str]:
    """The admin's login token, the big project's id and the empty project's id."""
    upgrade_to_head()
    rng = random.Random(4)
    with db.session_scope() as session:
        auth.signup(session, "bench@example.com", PASSWORD, "Bench")
        login = auth.login(session, "bench@example.com", PASSWORD)
    with db.session_scope() as session:
        actor = auth.authenticate(session, login.access_token)
        big = projects.create_project(session, actor, "Big", "a busy project")
        empty = projects.create_project(session, actor, "Empty", "nothing in it")
        for n in range(server_count):
            servers.create_server(
                session,
                actor,
                big.id,
                ServerIn(
                    name=f"srv-{n}",
                    description=f"Seeded server number {n}",
                    transport="streamable_http" if n % 2 else "sse",
                    url=DEAD_URL,
                    headers={"Authorization": "Bearer seeded-secret"},
                ),
            )
    statuses, weights = zip(*STATUS_MIX, strict=True)
    now = utcnow()
    with db.session_scope() as session:
        # The cached status as health checks would have left it (written here directly).
        for n in range(server_count):
            status = rng.choices(statuses, weights)[0]
            session.execute(
                update(McpServer)
                .where(McpServer.project_id == big.id, McpServer.name == f"srv-{n}")
                .values(
                    status=status,
                    enabled=status != ServerStatus.DISABLED,
                    tools_count=rng.randint(1, 40) if status == ServerStatus.ONLINE else 0,
                    last_checked_at=now - timedelta(minutes=rng.randint(1, 300)),
                    last_error="connection refused" if status == ServerStatus.ERROR else None,
                )
            )
        rows = []
        for n in range(call_count):
            failed = rng.random() < 0.1
            rows.append(
                {
                    "project_id": big.id,
                    "server_name": f"srv-{rng.randrange(server_count)}",
                    "tool_name": f"tool_{rng.randrange(25)}",
                    "arguments": {"query": f"question {n}"},
                    "result": None if failed else {"content": [{"type": "text", "text": "ok"}]},
                    "status": ToolCallStatus.ERROR if failed else ToolCallStatus.SUCCESS,
                    "error_code": "UPSTREAM_ERROR" if failed else None,
                    "error_message": "upstream failed" if failed else None,
                    "duration_ms": rng.randint(5, 3000),
                    "created_at": now - timedelta(seconds=rng.randint(0, 86400)),
                }
            )
        session.execute(insert(ToolCallLog), rows)
    return login.access_token, str(big.id), str(empty.id)


async def time_load(context: BrowserContext, url: str, content: str, button: str) -> float:
    """One load in a new tab: a new Reflex client, so nothing is left from the previous load."""
    page = await context.new_page()
    try:
        await page.goto("about:blank")  # the tab's renderer is up before the clock starts
        began = time.perf_counter()
        await page.goto(url, wait_until="commit")
        await page.locator(content).first.wait_for(state="visible")
        await page.locator(button).click(trial=True)
        return time.perf_counter() - began
    finally:
        await page.close()


async def measure(app_url: str, token: str, big: str, empty: str, args) -> dict[str, Timings]:
    results = {name: Timings() for name in args.pages}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1360, "height": 900})
        context.set_default_timeout(60_000)
        # The login the web UI keeps in localStorage, set before any page script runs.
        await context.add_init_script(f"localStorage.setItem('mcp_orch_token', {token!r})")
        for round_number in range(args.loads + 1):  # round 0 warms caches up, not counted
            for name in args.pages:
                check = PAGES[name]
                big_content = check.content.format(rows=min(args.servers, PAGE_SIZE))
                for project, content, timings in (
                    (big, big_content, results[name].big),
                    (empty, check.empty_content, results[name].empty),
                ):
                    url = f"{app_url}/projects/{project}{check.path}"
                    seconds = await time_load(context, url, content, check.button)
                    if round_number:
                        timings.append(seconds)
            print(f"round {round_number}/{args.loads} done", file=sys.stderr)
        await browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--pages", nargs="+", choices=sorted(PAGES), default=["servers"])
    args = parser.parse_args()

    began = time.perf_counter()
    token, big, empty = seed(args.servers, args.calls)
    print(
        f"seeded {args.servers} servers and {args.calls} tool calls "
        f"in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )
    with serve_app(DATA_DIR, DATA_DIR / "app.log") as app_url:
        results = asyncio.run(measure(app_url, token, big, empty, args))

    print(f"page load until usable, median of {args.loads} (Chromium, production build)")
    print(f"{'page':<10} {'big project':>12} {'empty project':>14} {'ratio':>7}")
    for name, timings in results.items():
        big_s, empty_s = statistics.median(timings.big), statistics.median(timings.empty)
        print(
            f"{name:<10} {big_s * 1000:>9.0f} ms {empty_s * 1000:>11.0f} ms {big_s / empty_s:>7.2f}"
        )
        print(f"{'':<10} all big: {', '.join(f'{s * 1000:.0f}' for s in timings.big)} ms")
    print(f"target: under 1000 ms with {args.servers} servers and {args.calls} tool calls")


if __name__ == "__main__":
    main()
