"""The browser-side protections, in a real browser against ``reflex run --env prod``.

Every response (UI page, static asset, REST answer, MCP endpoint) carries the
Content-Security-Policy, frame protection, Referrer-Policy and nosniff headers; the UI works
under that policy (a person signs up, opens every page of a project, tries a tool) with no
policy violation; the pages refuse to be framed; and markup an upstream server puts into tool
names, descriptions, errors and stderr is shown as text, never run (no dialog, no <img>).
"""

from __future__ import annotations

import re
import sys
from urllib.parse import quote

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.steps import email_for, page_token, sign_up
from tests.helpers import FIXTURE_SERVER

pytestmark = pytest.mark.e2e

MARKUP = "<img src=x onerror=alert(1)>"
HOSTILE_TOOL = f"hostile{MARKUP}"

EXPECTED = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}

# Collects what the page reports: CSP violations (the event), dialogs opened by scripts.
WATCH_SCRIPT = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _assert_protected(headers: dict[str, str], what: str) -> None:
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, f"{what}: {headers}"
    assert "default-src 'self'" in policy, f"{what}: {policy}"
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, f"{what}: {name}={headers.get(name)!r}"


async def _set_up_hostile_server(context: BrowserContext, token: str) -> tuple[str, str]:
    auth = {"Authorization": f"Bearer {token}"}
    response = await context.request.post(
        "/api/projects", data={"name": "Hostile", "description": "markup"}, headers=auth
    )
    assert response.status == 201, await response.text()
    project_id = (await response.json())["id"]
    _assert_protected(response.headers, "REST answer")
    server = {
        "name": "fixture",
        "command": sys.executable,
        "args": [str(FIXTURE_SERVER)],
        "env": {"FIXTURE_HOSTILE_TEXT": "1"},
    }
    response = await context.request.post(
        f"/api/projects/{project_id}/servers", data=server, headers=auth
    )
    assert response.status == 201, await response.text()
    server_id = (await response.json())["id"]
    base = f"/api/projects/{project_id}/servers/{server_id}"
    refreshed = await context.request.post(f"{base}/refresh", headers=auth, timeout=90_000)
    assert (await refreshed.json())["status"] == "online", await refreshed.text()
    # A failed call and stderr lines with markup in them, for the log pages.
    for tool, arguments in (
        (HOSTILE_TOOL, {"text": MARKUP}),
        ("write_stderr", {"lines": [MARKUP]}),
    ):
        called = await context.request.post(
            f"{base}/tools/{quote(tool, safe='')}/call",
            data={"arguments": arguments},
            headers=auth,
        )
        assert called.ok, await called.text()
    mcp = await context.request.post(
        f"/projects/{project_id}/servers/fixture/mcp", data={"jsonrpc": "2.0"}
    )
    _assert_protected(mcp.headers, f"MCP endpoint ({mcp.status})")
    return project_id, server_id


async def _no_markup_ran(page: Page) -> None:
    assert await page.locator('img[src="x"]').count() == 0
    assert await page.locator("script", has_text="alert(2)").count() == 0


async def test_pages_work_under_the_policy_and_upstream_markup_stays_text(
    new_context, app_url: str, js_errors: list[str]
):
    context: BrowserContext = await new_context()
    await context.add_init_script(WATCH_SCRIPT)
    dialogs: list[str] = []
    console: list[str] = []
    page = await context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if message.type in {"error", "warning"} else None
        ),
    )

    first = await page.goto("/signup")
    assert first is not None
    _assert_protected(first.headers, "UI page")
    await sign_up(page, "Sam Secure", email_for("sam"))
    token = await page_token(page)
    project_id, server_id = await _set_up_hostile_server(context, token)

    html = await (await context.request.get("/login/")).text()
    assets = re.findall(r'"(/assets/[^"]+\.js)"', html)
    assert assets, "the page loads its scripts from files"
    asset = await context.request.get(assets[0])
    assert asset.ok
    _assert_protected(asset.headers, f"asset {assets[0]}")

    project = f"/projects/{project_id}"
    for path, ready in (
        ("/projects", "#projects-table"),
        (project, "#current-user"),
        (f"{project}/servers", "#servers-list"),
        (f"{project}/members", "#current-user"),
        (f"{project}/keys", "#current-user"),
        (f"{project}/activity", "#current-user"),
        (f"{project}/metrics", "#current-user"),
        (f"{project}/sessions", "#current-user"),
        (f"{project}/settings", "#current-user"),
    ):
        response = await page.goto(path)
        assert response is not None
        _assert_protected(response.headers, path)
        await expect(page.locator(ready)).to_be_visible()
        await _no_markup_ran(page)

    # The server's page: the hostile tool's name and description show as text.
    await page.goto(f"{project}/servers/{server_id}")
    await page.locator("#server-tab-tools").click()
    card = page.locator(".tool-card", has_text="hostile")
    await expect(card).to_contain_text(HOSTILE_TOOL)
    await expect(card).to_contain_text(f"Describes itself as {MARKUP}<script>alert(2)</script>")
    # Trying it (the websocket event round trip works under the policy) shows its error as text.
    await card.locator(".try-tool").click()
    await page.locator("#try-run").click()
    await expect(page.locator("#try-output")).to_contain_text(MARKUP)
    await _no_markup_ran(page)

    await page.goto(f"{project}/tool-calls")
    await expect(page.locator("#tool-calls-table")).to_contain_text(MARKUP)
    await expect(page.locator("#tool-calls-stored-note")).to_be_visible()
    await _no_markup_ran(page)

    await page.goto(f"{project}/logs")
    # The SDK's stderr warning about the odd tool name quotes it (wrapped over lines).
    await expect(page.get_by_text("hostile<img src=x").first).to_be_visible()
    await _no_markup_ran(page)

    violations = await page.evaluate("() => window.__cspViolations")
    assert violations == []
    assert [line for line in console if "Content Security Policy" in line] == []
    assert dialogs == []
    assert js_errors == []


async def test_the_ui_refuses_to_be_framed(new_context, app_url: str):
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await page.goto("/login")
    await expect(page.locator("#login-submit")).to_be_visible()
    # A page of another origin (here: a blank document) frames the login page.
    framing = await context.new_page()
    await framing.set_content(f'<iframe id="victim" src="{app_url}/login/"></iframe>')
    await framing.wait_for_timeout(3000)
    (victim,) = [frame for frame in framing.frames if frame is not framing.main_frame]
    # Chromium replaces a refused frame with its error page; an allowed one shows the app.
    assert not victim.url.startswith(app_url), victim.url
    assert await victim.locator("#login-submit").count() == 0


async def test_an_injected_inline_script_does_not_run(new_context, app_url: str):
    """The page's own inline scripts run (they are hashed in the policy); a new one does not."""
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await page.goto("/login")
    await expect(page.locator("#login-submit")).to_be_visible()
    ran = await page.evaluate(
        """() => new Promise((resolve) => {
            const script = document.createElement('script');
            script.textContent = 'window.__injected = true;';
            document.addEventListener('securitypolicyviolation', () => resolve(!!window.__injected));
            document.body.appendChild(script);
            setTimeout(() => resolve(!!window.__injected), 2000);
        })"""
    )
    assert ran is False
