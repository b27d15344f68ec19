"""Connecting an OAuth-protected upstream MCP server through the UI, in Chromium (issue 13).

The upstream is tests/fixtures/oauth_upstream.py on loopback (its authorization server on
``localhost``, the protected MCP server on ``127.0.0.1``: discovery crosses hosts), served from
this test process while the app runs as its own production process (tests/e2e/conftest.py).
The owner adds a streamable-HTTP server over REST, opens its page and sets its authentication
in the panel's form (OAuth, one shared connection, scope ``mcp:read``), clicks Connect; the
browser goes to the provider's consent form, the owner approves as ``alice`` and the provider
sends the browser back to mcp-orch's callback, which checks the server through the new
connection, says connected and links back to the server page: status online with its two
tools (no "Check now"), and the panel shows the connection, its scopes and expiry. A real SDK
client then calls ``whoami`` through the per-server endpoint and gets ``alice``; Disconnect on
the page revokes the tokens at the provider and the next call says the server needs
authorization. A reporter of the project sees the panel without the settings form, Connect or
Disconnect, and the REST connect refuses them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.steps import api_as, api_sign_up, api_token, email_for, log_in, shot
from tests.fixtures.oauth_upstream import OAuthUpstream
from tests.integration.test_gateway_endpoints import auto_client

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("patient_expectations")]

SERVER = "remote"


@pytest.fixture(scope="module")
def upstream() -> Iterator[OAuthUpstream]:
    fixture = OAuthUpstream().start()
    yield fixture
    fixture.stop()


async def _setup(new_context, upstream: OAuthUpstream) -> dict[str, Any]:
    """Over REST: an owner, a reporter, a project, the server (no auth yet); and an API key."""
    context: BrowserContext = await new_context()
    request = context.request
    owner, reporter = email_for("owner"), email_for("reporter")
    await api_sign_up(request, "Olivia Owner", owner)
    await api_sign_up(request, "Rita Reporter", reporter)
    headers = {"Authorization": f"Bearer {await api_token(request, owner)}"}
    rest = api_as(request, headers)

    project = await rest("POST", "/api/projects", {"name": "Upstream OAuth"})
    base = f"/api/projects/{project['id']}"
    server = await rest(
        "POST",
        f"{base}/servers",
        {"name": SERVER, "transport": "streamable_http", "url": upstream.mcp_url},
    )
    await rest("POST", f"{base}/members", {"email": reporter, "role": "reporter"})
    key = (await rest("POST", f"{base}/api-keys", {"name": "sdk"}))["key"]
    await context.close()
    return {
        "owner": owner,
        "reporter": reporter,
        "project_id": project["id"],
        "server_id": server["id"],
        "key": key,
    }


def _chain(exc: BaseException) -> list[BaseException]:
    """An error, the errors grouped in it and those it came from."""
    found = [exc]
    for inner in getattr(exc, "exceptions", ()):
        found += _chain(inner)
    for origin in (exc.__cause__, exc.__context__):
        if origin is not None:
            found += _chain(origin)
    return found


async def _refusal(endpoint: str, key: str) -> str:
    """The MCP error the SDK client gets when it cannot use the endpoint (session or call)."""
    with pytest.raises(Exception) as refused:
        async with auto_client(endpoint, key) as client:
            await client.call_tool("whoami", {})
    errors = [str(e) for e in _chain(refused.value) if isinstance(e, MCPError)]
    assert errors, refused.value
    return "\n".join(errors)


async def _signed_in(new_context, email: str) -> Page:
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await page.goto("/login")
    await log_in(page, email)
    await expect(page).to_have_url(re.compile(r"/projects/?$"))
    return page


async def test_owner_connects_calls_and_disconnects_in_the_browser(
    app_url, new_context, artifacts, upstream, js_errors
):
    world = await _setup(new_context, upstream)
    server_page = f"/projects/{world['project_id']}/servers/{world['server_id']}"
    endpoint = f"{app_url}/projects/{world['project_id']}/servers/{SERVER}/mcp"

    page = await _signed_in(new_context, world["owner"])
    await page.goto(server_page)

    # The panel's form: OAuth, one shared connection, scope mcp:read.
    await page.locator("#oauth-auth").click()
    await page.get_by_role("option", name="OAuth").click()
    await expect(page.locator("#oauth-mode")).to_contain_text("One shared connection")
    await page.locator("#oauth-scopes-input").fill("mcp:read bad\\scope")
    await page.locator("#oauth-save").click()
    await expect(page.locator("#oauth-settings")).to_contain_text("is not a valid OAuth scope")
    await page.locator("#oauth-scopes-input").fill("mcp:read")
    await page.locator("#oauth-save").click()
    await expect(page.get_by_text("Authentication setting saved.")).to_be_visible()
    await expect(page.locator("#oauth-status")).to_have_text("Shared: Not connected")
    await shot(page, artifacts, "upstream-oauth-settings")

    # Not connected yet: a call through the endpoint names what is missing.
    assert "needs authorization: an owner or developer must connect it at " + server_page in (
        await _refusal(endpoint, world["key"])
    )
    await expect(page.locator("#oauth-disconnect")).to_have_count(0)
    await shot(page, artifacts, "upstream-oauth-not-connected")

    # Connect: to the provider's consent page (the authorization server, another host).
    await page.locator("#oauth-connect").click()
    await expect(page).to_have_url(re.compile("^" + re.escape(f"{upstream.as_url}/consent?")))
    await expect(page.locator("#consent-scopes")).to_have_text("mcp:read")
    (client_id,) = upstream.provider.clients  # registered dynamically (RFC 7591)
    await expect(page.locator("#consent-client")).to_have_text(client_id)
    await shot(page, artifacts, "upstream-oauth-consent")
    await page.locator("#consent-user").fill("alice")
    await page.locator("#consent-approve").click()

    # Back at mcp-orch's callback, which finished the flow.
    callback = f"{app_url}/api/projects/{world['project_id']}/servers/{world['server_id']}"
    await expect(page).to_have_url(re.compile("^" + re.escape(f"{callback}/oauth/callback?")))
    await expect(page.get_by_role("heading", name="Connected")).to_be_visible()
    await expect(page.get_by_text(f"mcp-orch is connected to '{SERVER}'")).to_be_visible()
    await shot(page, artifacts, "upstream-oauth-callback")
    await page.get_by_role("link", name="Back to the server").click()
    await expect(page).to_have_url(re.compile(re.escape(server_page) + "/?$"))

    # The callback checked the server through the new connection: online, with its tools.
    await expect(page.locator("#server-status")).to_contain_text("online")
    await expect(page.locator("#tools-count")).to_have_text("2")
    await expect(page.locator("#oauth-status")).to_have_text("Shared: Connected")
    panel = page.locator("#oauth-panel")
    await expect(panel.get_by_text("Connected by")).to_be_visible()
    await expect(panel).to_contain_text("Olivia Owner")
    await expect(page.locator("#oauth-scopes")).to_have_text("mcp:read")
    await expect(page.locator("#oauth-expires")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
    )
    await expect(page.locator("#oauth-connect")).to_have_text("Reconnect")
    await shot(page, artifacts, "upstream-oauth-connected")
    issued = set(upstream.provider.refresh)
    assert len(issued) == 1 and upstream.provider.subjects_of_live_tokens() == {"alice"}

    # A real SDK client through the per-server endpoint: the call runs as alice upstream.
    async with auto_client(endpoint, world["key"]) as client:
        assert "whoami" in {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("whoami", {})
        assert not result.is_error and result.content[0].text == "alice"

    # Disconnect: the page says so, the provider revoked the tokens, calls stop.
    await page.locator("#oauth-disconnect").click()
    await expect(page.get_by_text("Disconnected and revoked at the provider.")).to_be_visible()
    await expect(page.locator("#oauth-status")).to_have_text("Shared: Not connected")
    await expect(page.locator("#oauth-connect")).to_have_text("Connect")
    await expect(page.locator("#oauth-disconnect")).to_have_count(0)
    await shot(page, artifacts, "upstream-oauth-disconnected")
    assert issued <= set(upstream.provider.revoked)
    assert upstream.provider.refresh == {} and upstream.provider.access == {}
    assert "needs authorization: an owner or developer must connect it at " + server_page in (
        await _refusal(endpoint, world["key"])
    )
    assert js_errors == []

    # A reporter sees the panel but cannot connect; the REST route refuses them clearly.
    reporter_page = await _signed_in(new_context, world["reporter"])
    await reporter_page.goto(server_page)
    await expect(reporter_page.locator("#oauth-status")).to_have_text("Shared: Not connected")
    await expect(reporter_page.locator("#oauth-connect")).to_have_count(0)
    await expect(reporter_page.locator("#oauth-disconnect")).to_have_count(0)
    await expect(reporter_page.locator("#oauth-save")).to_have_count(0)
    await shot(reporter_page, artifacts, "upstream-oauth-reporter")
    token = await api_token(reporter_page.context.request, world["reporter"])
    refused = await reporter_page.context.request.post(
        f"{callback}/oauth/connect?which=shared", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status == 403, await refused.text()
    assert "owner or developer" in (await refused.json())["detail"]
    assert js_errors == []
