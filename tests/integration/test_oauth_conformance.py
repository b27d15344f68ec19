"""The official conformance suite's authorization-server scenarios against mcp-orch's OAuth
server (`conformance authorization`, suite 0.2.0-alpha.12): the RFC 8414 metadata endpoint, and
the authorization code grant, whose browser step (log in, consent) is done headless with the
consent page's REST calls, as in test_oauth_server.py. The suite's server scenarios cover
resource servers and its client scenarios OAuth clients; these two are the ones that exercise an
authorization server."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from mcp_orch_app import db
from mcp_orch_app.services import projects, servers
from tests.integration.test_conformance_servers import NODE, suite_or_skip
from tests.integration.test_gateway_endpoints import fixture_server_in
from tests.live_app import running_app

pytestmark = pytest.mark.conformance

CALLBACK_PORT = 33419
SUMMARY = re.compile(r"Total: (?P<passed>\d+) passed, (?P<failed>\d+) failed")


async def test_the_suites_authorization_server_scenarios_pass(engine, make_person, tmp_path):
    cli, _ = suite_or_skip("2026-07-28")
    user = make_person("user")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, user.actor, "conformance")
        servers.create_server(s, user.actor, project.id, fixture_server_in("alpha", tmp_path / "a"))
    async with running_app(engine) as live, httpx2.AsyncClient(timeout=30) as http:
        registered = await http.post(
            f"{live.base_url}/oauth/register",
            json={
                "client_name": "conformance",
                "redirect_uris": [f"http://127.0.0.1:{CALLBACK_PORT}/callback"],
                "token_endpoint_auth_method": "none",
            },
        )
        client_id = registered.json()["client_id"]
        process = await asyncio.create_subprocess_exec(
            str(NODE),
            str(cli),
            "authorization",
            "--url",
            live.base_url,
            "--client-id",
            client_id,
            "--resource",
            f"{live.base_url}/projects/{project.id}/servers/alpha",
            "-p",
            str(CALLBACK_PORT),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        lines: list[str] = []
        try:
            async with asyncio.timeout(120):
                while line := (await process.stdout.readline()).decode(errors="replace"):
                    lines.append(line)
                    if line.startswith(f"{live.base_url}/oauth/authorize?"):
                        await _browser(http, live.base_url, user, project.id, line.strip())
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
    text = "".join(lines)
    summary = SUMMARY.search(text)
    assert summary, text[-3000:]
    assert (summary["passed"], summary["failed"]) == ("2", "0"), text
    for scenario in ("authorization-server-metadata-endpoint", "authorization-code-grant"):
        assert f"✓ {scenario}: 1 passed, 0 failed" in text, text


async def _browser(http: httpx2.AsyncClient, base: str, user, project_id, url: str) -> None:
    """Sign-in and consent, then the redirect to the suite's callback, as a browser does."""
    consent = await http.get(url)
    assert consent.status_code == 302, consent.text
    request = parse_qs(urlsplit(consent.headers["location"]).query)["request"][0]
    approved = await http.post(
        f"{base}/api/oauth/consent/approve",
        json={"request": request, "project_id": str(project_id), "server_name": "alpha"},
        headers=user.headers,
    )
    assert approved.status_code == 200, approved.text
    assert (await http.get(approved.json()["redirect_to"])).status_code == 200
