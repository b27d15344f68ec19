"""The official MCP conformance suite's client scenarios with mcp-orch as the client.

For each scenario the suite starts a mock server and runs a client program against it, with
each SDK's own client: tests/conformance_client.py (the Python SDK, which mcp-orch is built on)
and tests/conformance_client.mjs (the TypeScript SDK the suite's own example client uses).
Directly, that is the baseline; through mcp-orch, the program registers the mock server as a streamable-HTTP server of a project in a running mcp-orch (over
the REST API, as a user would) and drives the same steps through the project's per-server
endpoint, so that everything the mock server judges was sent by mcp-orch's upstream client.
The pass sets must be equal: what the SDK's client does right, mcp-orch does right.

The 2026-07-28 era (the 0.2.0-alpha suite, its scenarios at that era's wire) runs with the Python
SDK's modern client only: the TypeScript SDK the suite ships (1.32) speaks no 2026-07-28.

Select with `-m conformance`; each scenario takes a second or two.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcp_orch_app import db
from mcp_orch_app.services import api_keys, projects
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.helpers import CHECKOUT
from tests.integration.test_conformance_servers import NODE, suite_or_skip
from tests.live_app import LiveApp, running_app

pytestmark = pytest.mark.conformance

CLIENTS = {
    "python": f"{sys.executable} {CHECKOUT / 'tests' / 'conformance_client.py'}",
    "typescript": f"{NODE} {CHECKOUT / 'tests' / 'conformance_client.mjs'}",
}
"""client -> the command running its program (the suite appends the server's URL)."""
ERA = "2025-11-25"  # the 0.1.16 suite; its client scenarios are all of that era

SCENARIOS = ["initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry"]
"""The client scenarios that concern a gateway: what mcp-orch's upstream client sends."""

OUT_OF_SCOPE = {
    re.compile(r"auth/.+"): (
        "OAuth toward upstreams (discovery, registration, scopes, token endpoints) is issue 13: "
        "mcp-orch sends only the headers configured for a server today"
    ),
}

MODERN_ERA = "2026-07-28"
MODERN_ARGUMENTS = ["--spec-version", MODERN_ERA]
"""Each scenario at that era's wire (MCP_CONFORMANCE_PROTOCOL_VERSION=2026-07-28)."""
MODERN_SCENARIOS = [
    "tools_call",
    "request-metadata",
    "sep-2322-client-request-state",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
    "json-schema-ref-no-deref",
    "json-schema-2020-12-preservation",
]
"""The 2026-07-28 client scenarios that concern a gateway (`--requirements 2026-07-28` lists all
but the last, added after the release; the auth ones are issue 13, as above)."""

# scenario -> why the SDK's own client fails it directly. Each must still fail directly.
SDK_FAILS: dict[str, str] = {
    "sep-2322-client-request-state": (
        "the Python SDK 2.3 client rejects a tools/call result without resultType "
        "(test_mrtr_no_result_type: ValidationError) where the spec defaults it to complete"
    ),
}
# scenario -> why mcp-orch passes a scenario the SDK's client fails directly. Each must pass.
GATEWAY_ADDS: dict[str, str] = {
    "sep-2322-client-request-state": (
        "mcp-orch answers its client with resultType complete where the mock server left it out, "
        "so the same SDK client accepts the result through the gateway"
    ),
}
# scenario -> why mcp-orch fails a scenario the SDK's client passes directly. Each must still
# fail through mcp-orch: trim the list when a gap is fixed.
KNOWN_GAPS: dict[str, str] = {}

DIRECT = "direct"
GATEWAY = "mcp-orch"

RESULTS_LINE = re.compile(r"Passed: (?P<passed>\d+)/(?P<total>\d+), (?P<failed>\d+) failed")


async def suite(cli: Path, *arguments: str, timeout: float = 90) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(cli),
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=timeout)
    return process.returncode, output.decode(errors="replace")


def listed_client_scenarios(listing: str) -> list[str]:
    """The names under 'Client scenarios' in `conformance list`."""
    names, inside = [], False
    for line in listing.splitlines():
        if line.strip().endswith("scenarios (test against a client):"):
            inside = True
        elif inside and line.strip().startswith("- "):
            names.append(line.strip()[2:].split(" [")[0])
        elif inside and line.strip():
            break
    return names


def failed_checks(out: Path) -> list[str]:
    """The ids of the checks that failed or warned, from the run's checks.json."""
    found = list(out.glob("*/checks.json"))
    if not found:
        return []
    checks = json.loads(found[0].read_text())
    return [c["id"] for c in checks if c.get("status") in ("FAILURE", "WARNING")]


def client_error(out: Path) -> str:
    """The first line the client program wrote to stderr (its error), from the run's files."""
    for path in out.glob("*/stderr.txt"):
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        return lines[0][:300] if lines else ""
    return ""


async def run_scenario(
    cli: Path, scenario: str, command: str, out: Path, *arguments: str
) -> tuple[bool, str]:
    """(passed, what to show): passed when the suite's verdict is PASSED (exit status 0)."""
    status, text = await suite(
        cli, "client", "--command", command, "--scenario", scenario, "-o", str(out), *arguments
    )
    summary = RESULTS_LINE.search(text)
    if summary is None:
        return False, f"no verdict: {text[-1500:]}"
    shown = f"{summary['passed']}/{summary['total']}"
    bad = failed_checks(out)
    if bad:
        shown += f" ({', '.join(bad)})"
    if status != 0 and not bad:
        shown += f" (client failed: {client_error(out) or text[-600:]})"
    return status == 0, shown


@pytest.fixture
async def live(engine) -> AsyncIterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


def gateway_arguments(live: LiveApp, engine, make_person) -> str:
    """What makes a client program drive a scenario through mcp-orch, in a project of its own."""
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "conformance-clients")
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="suite")).key
    return f"--gateway {live.base_url} --project {project.id} --token {owner.token} --key {key}"


def print_table(
    client: str,
    table: dict[str, dict[str, tuple[bool, str]]],
    era: str = ERA,
    scenarios: list[str] = SCENARIOS,
) -> None:
    width = max(len(name) for name in scenarios)
    print(f"\nconformance client scenarios, era {era}, {client} SDK client")
    print(f"{'scenario':<{width}}  {DIRECT:<8}  {GATEWAY}")
    for name in scenarios:
        cells = []
        for target in (DIRECT, GATEWAY):
            passed, shown = table[target][name]
            cells.append(f"{'pass' if passed else 'FAIL'} {shown}")
        print(f"{name:<{width}}  {cells[0]:<8}  {cells[1]}")
    for pattern, why in OUT_OF_SCOPE.items():
        print(f"out of scope: {pattern.pattern}: {why}")


async def test_every_client_scenario_is_run_or_out_of_scope_with_a_reason():
    """A new suite version with new client scenarios must be looked at, not silently skipped."""
    cli, _ = suite_or_skip(ERA)
    status, listing = await suite(cli, "list")
    assert status == 0, listing
    listed = listed_client_scenarios(listing)
    assert set(SCENARIOS) <= set(listed), listing
    unplaced = [
        name
        for name in listed
        if name not in SCENARIOS and not any(p.fullmatch(name) for p in OUT_OF_SCOPE)
    ]
    assert not unplaced, f"client scenarios neither run nor out of scope: {unplaced}"


@pytest.mark.slow
@pytest.mark.parametrize("client", list(CLIENTS))
async def test_client_scenarios_through_the_gateway_match_the_sdk_client(
    client, live, engine, make_person, tmp_path
):
    cli, _ = suite_or_skip(ERA)
    commands = {
        DIRECT: CLIENTS[client],
        GATEWAY: f"{CLIENTS[client]} {gateway_arguments(live, engine, make_person)}",
    }
    table: dict[str, dict[str, tuple[bool, str]]] = {target: {} for target in commands}
    for scenario in SCENARIOS:
        for target, command in commands.items():
            out = tmp_path / target / scenario.replace("/", "_")
            table[target][scenario] = await run_scenario(cli, scenario, command, out)
    print_table(client, table)
    direct = {name for name, (passed, _) in table[DIRECT].items() if passed}
    through = {name for name, (passed, _) in table[GATEWAY].items() if passed}
    assert direct == set(SCENARIOS), f"the SDK client itself fails: {set(SCENARIOS) - direct}"
    assert through == direct, f"fail through mcp-orch only: {sorted(direct - through)}"


async def test_every_modern_client_scenario_is_run_or_out_of_scope_with_a_reason():
    cli, _ = suite_or_skip(MODERN_ERA)
    status, listing = await suite(cli, "list", "--requirements", MODERN_ERA)
    assert status == 0, listing
    required = listed_client_scenarios(listing)
    assert required and set(required) <= set(MODERN_SCENARIOS) | {
        name for name in required if any(p.fullmatch(name) for p in OUT_OF_SCOPE)
    }, f"2026-07-28 client scenarios neither run nor out of scope: {required}"
    assert set(SDK_FAILS) | set(KNOWN_GAPS) <= set(MODERN_SCENARIOS)
    assert not set(SDK_FAILS) & set(KNOWN_GAPS)
    assert set(GATEWAY_ADDS) <= set(SDK_FAILS)


@pytest.mark.slow
async def test_modern_client_scenarios_through_the_gateway_match_the_sdk_client(
    live, engine, make_person, tmp_path
):
    """2026-07-28: each scenario directly with the SDK's modern client, then through mcp-orch's
    per-server endpoint (the mock server a streamable-HTTP upstream, reached in that era)."""
    cli, _ = suite_or_skip(MODERN_ERA)
    commands = {
        DIRECT: CLIENTS["python"],
        GATEWAY: f"{CLIENTS['python']} {gateway_arguments(live, engine, make_person)}",
    }
    table: dict[str, dict[str, tuple[bool, str]]] = {target: {} for target in commands}
    for scenario in MODERN_SCENARIOS:
        for target, command in commands.items():
            out = tmp_path / target / scenario
            table[target][scenario] = await run_scenario(
                cli, scenario, command, out, *MODERN_ARGUMENTS
            )
    print_table("python", table, MODERN_ERA, MODERN_SCENARIOS)
    for label, entries in (
        ("SDK fails", SDK_FAILS),
        ("gateway adds", GATEWAY_ADDS),
        ("known gap", KNOWN_GAPS),
    ):
        for name, why in entries.items():
            print(f"{label}: {name}: {why}")
    direct = {name for name, (passed, _) in table[DIRECT].items() if passed}
    through = {name for name, (passed, _) in table[GATEWAY].items() if passed}
    assert direct == set(MODERN_SCENARIOS) - set(SDK_FAILS), (
        f"the SDK client's own verdicts changed: passes {sorted(direct & set(SDK_FAILS))}, "
        f"fails {sorted(set(MODERN_SCENARIOS) - set(SDK_FAILS) - direct)}"
    )
    expected = (direct - set(KNOWN_GAPS)) | set(GATEWAY_ADDS)
    assert through == expected, (
        f"fail through mcp-orch only: {sorted(expected - through)}; "
        f"pass through mcp-orch unexpectedly (trim KNOWN_GAPS): {sorted(through - expected)}"
    )
