"""Connecting an MCP client by OAuth, end to end: the SDK's own OAuth client
(`mcp.client.auth.OAuthClientProvider`) against the running app, its browser step done by
Chromium.

The client discovers everything from the 401 of an MCP endpoint (RFC 9728 resource metadata ->
RFC 8414 server metadata), registers itself (RFC 7591) and hands its authorize URL to the
redirect handler, which opens it in a fresh browser context (nobody signed in): mcp-orch's
/oauth/authorize sends the browser to the consent page, which sends it to the login page; the
person signs in, comes back to the consent page, sees the application's name and redirect URI,
picks the endpoint and allows. The browser then goes to the client's loopback redirect URI with
the code, which the test captures there (the route answers for the client's callback server).
Then tools/list and tools/call through the real fixture server, per server and unified,
streamable HTTP (with the session of the 2025 era and the SDK's ``Client`` of its own era) and
SSE; disconnecting the application on the profile page stops the next call.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp.shared.auth import AuthorizationCodeResult
from playwright.async_api import BrowserContext, Route, expect

from tests.e2e.steps import api_as, api_sign_up, api_token, email_for, log_in, shot
from tests.helpers import CHECKOUT
from tests.integration.test_oauth_server import REDIRECT, MemoryStorage, oauth_session

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("patient_expectations")]

FIXTURE_SERVER = str(CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py")
CLIENT_NAME = "SDK test client"  # what the shared client (test_oauth_server.py) registers as
PROJECT = "OAuth lab"


# The instance of this module, made once: an administrator (the first sign-up), a member who
# connects the clients, a project with two fixture servers.
_WORLD: dict[str, Any] = {}


async def _world(new_context) -> dict[str, Any]:
    if _WORLD:
        return _WORLD
    context: BrowserContext = await new_context()
    request = context.request
    admin_email, member_email = email_for("admin"), email_for("member")
    await api_sign_up(request, "Admin", admin_email)
    await api_sign_up(request, "Member", member_email)
    headers = {"Authorization": f"Bearer {await api_token(request, admin_email)}"}
    rest = api_as(request, headers)

    project = await rest("POST", "/api/projects", {"name": PROJECT})
    server_ids = []
    for name in ("alpha", "beta"):
        created = await rest(
            "POST",
            f"/api/projects/{project['id']}/servers",
            {
                "name": name,
                "transport": "stdio",
                "command": sys.executable,
                "args": [FIXTURE_SERVER],
            },
        )
        server_ids.append(created["id"])
    await rest(
        "POST",
        f"/api/projects/{project['id']}/members",
        {"email": member_email, "role": "developer"},
    )
    _WORLD.update(
        project_id=project["id"],
        server_id=server_ids[0],
        member=member_email,
        admin=admin_email,
        admin_headers=headers,
    )
    return _WORLD


@dataclass
class ChromiumStep:
    """The SDK's redirect and callback handlers: the authorize URL opened in Chromium, the
    person signs in and consents, the code captured at the client's redirect URI."""

    new_context: Any
    email: str
    choice: str
    artifacts: Any
    shot_name: str
    results: list[AuthorizationCodeResult] = field(default_factory=list)
    visits: int = 0

    async def redirect(self, authorization_url: str) -> None:
        self.visits += 1
        context: BrowserContext = await self.new_context()
        captured: list[str] = []

        async def at_callback(route: Route) -> None:
            captured.append(route.request.url)
            await route.fulfill(status=200, content_type="text/html", body="<p>Signed in.</p>")

        await context.route(re.compile("^" + re.escape(REDIRECT)), at_callback)
        page = await context.new_page()
        await page.goto(authorization_url)
        # Nobody is signed in: the consent page sends the browser to log in first.
        await expect(page).to_have_url(re.compile(r"/login\?next=%2Foauth%2Fconsent"))
        await log_in(page, self.email)
        await expect(page).to_have_url(re.compile(r"/oauth/consent\?request=moq_"))
        await expect(page.locator("#consent-client-name")).to_have_text(CLIENT_NAME)
        await expect(page.locator("#consent-redirect-uri")).to_have_text(REDIRECT)
        await page.locator("#consent-endpoint").click()
        await page.get_by_role("option", name=self.choice, exact=True).click()
        await expect(page.locator("#consent-endpoint")).to_contain_text(self.choice)
        await shot(page, self.artifacts, self.shot_name)
        await page.locator("#consent-allow").click()
        await expect(page.get_by_text("Signed in.")).to_be_visible()
        (url,) = captured
        query = parse_qs(urlsplit(url).query)
        self.results.append(AuthorizationCodeResult(code=query["code"][0], state=query["state"][0]))
        await context.close()

    async def callback(self) -> AuthorizationCodeResult:
        return self.results[-1]


@pytest.mark.parametrize("transport", ["streamable", "sse", "auto"])
@pytest.mark.parametrize("server", ["alpha", None], ids=["server", "unified"])
async def test_sign_in_consent_and_work(app_url, new_context, artifacts, server, transport):
    world = await _world(new_context)
    base = f"{app_url}/projects/{world['project_id']}"
    endpoint = f"{base}/servers/{server}" if server else f"{base}/unified"
    url = f"{endpoint}/{'sse' if transport == 'sse' else 'mcp'}"
    choice = f"{PROJECT} · " + (f"server {server}" if server else "unified endpoint")
    step = ChromiumStep(
        new_context,
        world["member"],
        choice,
        artifacts,
        f"oauth-consent-{server or 'unified'}-{transport}",
    )
    storage = MemoryStorage()
    echo = "echo" if server else "alpha__echo"
    async with oauth_session(url, step, storage, transport) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert echo in names
        if server is None:
            assert "beta__echo" in names
        else:
            assert "beta__echo" not in names
        result = await client.call_tool(echo, {"text": f"oauth {transport}"})
        assert result.content[0].text == f"oauth {transport}"
    assert step.visits == 1
    assert storage.tokens is not None and storage.tokens.access_token.startswith("moa_")

    # The token is bound to that endpoint: the other one refuses it.
    other = f"{base}/servers/beta/mcp" if server is None else f"{base}/unified/mcp"
    async with httpx2.AsyncClient(timeout=30) as http:
        refused = await http.post(
            other,
            headers={"Authorization": f"Bearer {storage.tokens.access_token}"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
    assert refused.status_code in (401, 403), refused.text


async def test_revoking_the_connected_app_stops_the_next_call(app_url, new_context, artifacts):
    world = await _world(new_context)
    url = f"{app_url}/projects/{world['project_id']}/servers/alpha/mcp"
    step = ChromiumStep(
        new_context, world["member"], f"{PROJECT} · server alpha", artifacts, "oauth-consent-revoke"
    )
    storage = MemoryStorage()
    async with oauth_session(url, step, storage, "streamable") as client:
        assert (await client.call_tool("echo", {"text": "before"})).content[0].text == "before"
    token = storage.tokens.access_token

    # The member disconnects the application in the profile's "Connected apps".
    context = await new_context()
    page = await context.new_page()
    await page.goto("/login")
    await log_in(page, world["member"])
    await expect(page).to_have_url(re.compile(r"/projects/?$"))
    await page.goto("/profile")
    rows = (
        page.locator("#connected-apps-table tbody tr")
        .filter(has_text=CLIENT_NAME)
        .filter(has_text=f"{PROJECT} · server alpha")
    )
    await expect(rows.first).to_be_visible()
    await shot(page, artifacts, "oauth-connected-apps")
    while (count := await rows.count()) > 0:
        await rows.first.get_by_role("button", name="Disconnect").click()
        await page.get_by_role("alertdialog").get_by_role("button", name="Disconnect").click()
        await expect(rows).to_have_count(count - 1)

    async with httpx2.AsyncClient(timeout=30) as http:
        refused = await http.post(
            url,
            headers={"Authorization": f"Bearer {token}"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
    assert refused.status_code == 401, refused.text
    assert "resource_metadata=" in refused.headers["www-authenticate"]


async def test_the_admin_sets_token_lifetimes_and_the_overview_shows_the_oauth_snippet(
    app_url, new_context, artifacts
):
    world = await _world(new_context)
    context = await new_context()
    page = await context.new_page()
    await page.goto("/login")
    await log_in(page, world["admin"])
    await expect(page).to_have_url(re.compile(r"/projects/?$"))

    await page.goto("/admin")
    await expect(page.locator("#oauth-access-minutes")).to_have_value("60")
    await page.locator("#oauth-access-minutes").fill("30")
    await page.locator("#oauth-refresh-days").fill("7")
    await page.locator("#oauth-lifetimes-save").click()
    await expect(page.get_by_text("OAuth token lifetimes saved")).to_be_visible()
    await shot(page, artifacts, "oauth-admin-lifetimes")
    response = await context.request.get(
        "/api/admin/oauth-settings", headers=world["admin_headers"]
    )
    settings = await response.json()
    assert (settings["access_token_seconds"], settings["refresh_token_seconds"]) == (
        1800,
        7 * 24 * 3600,
    )
    # Out of bounds: refused on the page, nothing saved.
    await page.locator("#oauth-access-minutes").fill("0.5")
    await page.locator("#oauth-lifetimes-save").click()
    await expect(page.get_by_text("must be between 60 and 86400 seconds")).to_be_visible()
    response = await context.request.get(
        "/api/admin/oauth-settings", headers=world["admin_headers"]
    )
    assert (await response.json())["access_token_seconds"] == 1800

    await page.goto(f"/projects/{world['project_id']}/servers/{world['server_id']}")
    snippets = page.locator("#snippets .snippet")
    await expect(snippets.first).to_contain_text("Authorization")
    await page.locator("#snippet-auth").get_by_role("radio", name="Sign in (OAuth)").click()
    await expect(snippets.first).not_to_contain_text("Authorization")
    await expect(snippets.first).to_contain_text(
        f"/projects/{world['project_id']}/servers/alpha/mcp"
    )
    await shot(page, artifacts, "oauth-overview-snippet")
    # Cline has no OAuth form: the key form, and a word why.
    await page.locator("#snippet-client").get_by_role("tab", name="Cline").click()
    await expect(page.get_by_text("This client connects with an API key only.")).to_be_visible()
    await expect(snippets.first).to_contain_text("Authorization")
