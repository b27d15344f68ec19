"""The servers pages end to end, as a person: add a stdio server through the form (our fixture
MCP server, a real process) and one through JSON import, refresh them all, open the detail
page, switch a tool off, try a tool and copy a client snippet; screenshots to test-artifacts/."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.steps import create_project, email_for, shot, sign_up
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.e2e

CLIPBOARD = ["clipboard-read", "clipboard-write"]
FIXTURE_SERVER = str(CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py")


def _row(page: Page, name: str):
    return page.locator(f'#servers-list tr[data-server="{name}"]')


async def _add_with_the_form(page: Page, artifacts: Path) -> None:
    await page.locator("#add-server").click()
    dialog = page.get_by_role("dialog")
    await page.locator("#server-name").fill("fixture")
    await page.locator("#server-description").fill("Our own MCP server")
    await page.locator("#server-save").click()
    # Refused by the services: said in the dialog, nothing typed is lost.
    await expect(dialog).to_contain_text("A stdio server needs a command")
    await expect(page.locator("#server-name")).to_have_value("fixture")
    await page.locator("#server-command").fill(sys.executable)
    await page.locator("#server-add-arg").click()
    await page.locator(".server-arg input").first.fill(FIXTURE_SERVER)
    await page.locator("#server-add-env").click()
    await page.locator(".env-key input").first.fill("FIXTURE_GREETING")
    await page.locator(".env-value input").first.fill("a-secret-greeting")
    await expect(page.locator(".env-value input").first).to_have_attribute("type", "password")
    await shot(page, artifacts, "servers-add-form")
    await page.locator("#server-save").click()
    await expect(dialog).to_be_hidden()
    # Checked right after it was added, without a click on refresh.
    await expect(_row(page, "fixture")).to_contain_text(re.compile("checking…|online"))


async def _import_json(page: Page, artifacts: Path) -> None:
    document = {
        "mcpServers": {
            "imported": {"command": sys.executable, "args": [FIXTURE_SERVER]},
            "fixture": {"command": "npx"},
            "broken": {"url": "not-a-url"},
        }
    }
    await page.locator("#import-servers").click()
    await page.locator("#server-import-json").fill("{ not json")
    await page.locator("#server-import-submit").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("This is not valid JSON")
    await page.locator("#server-import-json").fill(json.dumps(document, indent=2))
    await page.locator("#server-import-submit").click()
    report = page.locator("#import-report")
    await expect(report.locator("tr", has_text="imported")).to_contain_text("created")
    await expect(report.locator("tr", has_text="fixture")).to_contain_text("skipped")
    await expect(report.locator("tr", has_text="broken")).to_contain_text("failed")
    await shot(page, artifacts, "servers-import")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
    await expect(_row(page, "imported")).to_be_visible()


async def _tools_tab(page: Page, artifacts: Path) -> None:
    await page.locator("#server-tab-tools").click()
    echo = page.locator('.tool-card[data-tool="echo"]')
    await expect(echo).to_contain_text("Return the text unchanged.")

    crash = page.locator('.tool-card[data-tool="crash"] .tool-enabled')
    await crash.click()
    await expect(crash).to_have_attribute("aria-checked", "false")

    await echo.locator(".try-tool").click()
    panel = page.locator("#try-panel")
    await panel.locator('input[name="text"]').fill("hello from the browser")
    await page.locator("#try-run").click()
    await expect(page.locator("#try-output")).to_have_text("hello from the browser")
    await expect(page.locator("#try-duration")).to_have_text(re.compile(r"^\d+ ms$"))
    await shot(page, artifacts, "server-tools")

    await page.locator('.tool-card[data-tool="add"] .try-tool').click()
    await panel.locator('input[name="a"]').fill("one")
    await panel.locator('input[name="b"]').fill("2")
    await page.locator("#try-run").click()
    await expect(panel).to_contain_text("a must be a number (you typed 'one').")
    await panel.locator('input[name="a"]').fill("1.5")
    await page.locator("#try-run").click()
    await expect(page.locator("#try-output")).to_have_text("3.5")


async def test_a_developer_adds_refreshes_and_tries_servers(
    new_context, artifacts: Path, js_errors: list[str]
):
    context: BrowserContext = await new_context(permissions=CLIPBOARD)
    page = await context.new_page()
    await sign_up(page, "Dana Developer", email_for("dana"))
    await create_project(page, "Gateway", "Servers for the team")
    await page.locator("#projects-table").get_by_role("link", name="Gateway").click()
    await expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}/?$"))
    project_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    await page.get_by_test_id("tab-servers").click()
    await expect(page).to_have_url(re.compile(rf"/projects/{project_id}/servers/?$"))
    await expect(page.get_by_text("No servers yet")).to_be_visible()
    await shot(page, artifacts, "servers-empty")

    await _add_with_the_form(page, artifacts)
    await _import_json(page, artifacts)

    # Refresh all: both start as real processes and list their tools.
    await page.locator("#refresh-all").click()
    for name in ("fixture", "imported"):
        await expect(_row(page, name)).to_contain_text("online", timeout=60_000)
        await expect(_row(page, name).locator(".server-tools")).to_have_text(re.compile(r"^\d\d$"))
    await expect(_row(page, "fixture")).to_contain_text("just now")
    await shot(page, artifacts, "servers")

    # The export is the Claude Desktop format with the secrets masked.
    await page.locator("#export-servers").click()
    async with page.expect_download() as download_info:
        await page.locator("#export-submit").click()
    download = await download_info.value
    exported = json.loads(Path(await download.path()).read_text())
    assert sorted(exported["mcpServers"]) == ["fixture", "imported"]
    assert exported["mcpServers"]["fixture"]["env"]["FIXTURE_GREETING"].startswith("••••••")

    # Delete the imported one, after a confirmation that names it.
    await _row(page, "imported").locator(".server-delete").click()
    confirm = page.get_by_role("alertdialog")
    await expect(confirm).to_contain_text("Delete imported?")
    await confirm.get_by_role("button", name="Delete server").click()
    await expect(_row(page, "imported")).to_have_count(0)

    # The detail page: status, history, the masked configuration and the client snippets.
    await _row(page, "fixture").get_by_role("link", name="fixture").click()
    await expect(page).to_have_url(
        re.compile(rf"/projects/{project_id}/servers/[0-9a-f-]{{36}}/?$")
    )
    await expect(page.locator("#server-status")).to_contain_text("online")
    await expect(page.locator("#status-history")).to_contain_text("unknown")
    config = page.locator("#server-config")
    await expect(config).to_contain_text("FIXTURE_GREETING=••••••")
    assert "a-secret-greeting" not in await page.content()
    await page.locator("#snippet-client").get_by_role("tab", name="Claude Code").click()
    await page.locator(".copy-snippet").first.click()
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("claude mcp add --transport http fixture ")
    assert f"/projects/{project_id}/servers/fixture/mcp" in copied
    await page.locator("#server-title").scroll_into_view_if_needed()
    await shot(page, artifacts, "server-overview")

    await _tools_tab(page, artifacts)

    # A restart is counted, logged and followed by a fresh check.
    await page.locator("#server-restart").click()
    await page.locator("#server-tab-overview").click()
    await expect(page.locator("#restart-count")).to_have_text("1", timeout=30_000)
    await expect(page.locator("#server-status")).to_contain_text("online")

    await page.locator("#server-tab-logs").click()
    logs = page.locator("#server-logs")
    await expect(logs).to_contain_text("status_change")
    await expect(logs).to_contain_text("restart")
    await shot(page, artifacts, "server-logs")
    await page.locator("#log-level").click()
    await page.get_by_role("option", name="error", exact=True).click()
    await expect(page.get_by_text("No log entries at this level yet")).to_be_visible()
    await page.locator("#server-tab-sessions").click()
    await expect(page.get_by_text("No MCP client has connected")).to_be_visible()
    await shot(page, artifacts, "server-sessions")
    assert js_errors == []
