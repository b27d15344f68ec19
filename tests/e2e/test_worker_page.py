"""The background worker page end to end: an administrator adds our fixture MCP server (a real
stdio process) through the REST API, sees it "unknown", presses "Run now" on /admin/worker,
follows the run, and sees the server "online"; the interval form refuses a bad value; stopping
asks first. Someone else only gets the refusal. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.steps import api_sign_up, email_for, page_token, shot, sign_up
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.e2e

FIXTURE_SERVER = str(CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py")


async def _project_with_fixture_server(page: Page) -> str:
    headers = {"Authorization": f"Bearer {await page_token(page)}"}
    project = await page.request.post(
        "/api/projects", headers=headers, data={"name": "Fleet", "description": "watched"}
    )
    assert project.status == 201, await project.text()
    project_id = (await project.json())["id"]
    server = await page.request.post(
        f"/api/projects/{project_id}/servers",
        headers=headers,
        data={
            "name": "fixture",
            "transport": "stdio",
            "command": sys.executable,
            "args": [FIXTURE_SERVER],
            "timeout_seconds": 30,
        },
    )
    assert server.status == 201, await server.text()
    return project_id


def _server_row(page: Page, name: str):
    return page.locator(f'#servers-list tr[data-server="{name}"]')


async def test_run_now_on_the_worker_page_updates_a_servers_status(
    new_context, artifacts: Path, js_errors: list[str]
):
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await sign_up(page, "Ada Admin", email_for("admin"))  # the first account: administrator
    project_id = await _project_with_fixture_server(page)

    await page.goto(f"/projects/{project_id}/servers")
    await expect(_server_row(page, "fixture")).to_contain_text("unknown")

    await page.get_by_test_id("nav-admin").click()
    await page.locator("#open-worker").click()
    await expect(page).to_have_url(re.compile(r"/admin/worker/?$"))
    await expect(page.locator("#worker-state")).to_have_text("running")
    await expect(page.get_by_text("No runs recorded yet.")).to_be_visible()
    await shot(page, artifacts, "worker-empty")

    # The interval form: a bad value is refused with the rule, a good one is saved.
    interval = page.locator("#interval-minutes")
    await interval.fill("0.5")
    await page.locator("#save-interval").click()
    await expect(page.get_by_text("a number of minutes from 1 to 60")).to_be_visible()
    await interval.fill("2")
    await page.locator("#save-interval").click()
    await expect(page.locator("#worker-schedule")).to_contain_text("Every 2 min")

    # Run now: the indicator shows while it runs, then the run is in the history.
    await page.locator("#run-now").click()
    await expect(page.locator("#run-in-progress")).to_be_visible()
    history = page.locator("#worker-history")
    await expect(history).to_contain_text("manual", timeout=60_000)
    await expect(history).to_contain_text("success")
    await expect(page.locator("#run-in-progress")).to_have_count(0)
    await expect(page.locator("#worker-last-checked")).to_contain_text("1 changed, 0 failed")
    await expect(page.get_by_text("Every checked server answered.")).to_be_visible()
    await shot(page, artifacts, "worker-after-run")

    await page.goto(f"/projects/{project_id}/servers")
    await expect(_server_row(page, "fixture")).to_contain_text("online")

    # Stopping asks first; starting again does not.
    await page.goto("/admin/worker")
    await page.locator("#worker-stop").click()
    await expect(page.get_by_role("alertdialog")).to_contain_text("Stop the scheduled checks?")
    await page.get_by_role("button", name="Stop checks").click()
    await expect(page.locator("#worker-state")).to_have_text("paused")
    await expect(page.locator("#worker-next-run")).to_contain_text("paused")
    await page.locator("#worker-start").click()
    await expect(page.locator("#worker-state")).to_have_text("running")
    assert js_errors == []


async def test_someone_who_is_not_an_administrator_only_sees_the_refusal(
    new_context, artifacts: Path
):
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await api_sign_up(page.request, "First", email_for("first"))  # whoever is first is admin
    await sign_up(page, "Sam Someone", email_for("someone"))

    await page.goto("/admin/worker")

    await expect(page.locator("#problem-message")).to_have_text(
        "Only an administrator can do this."
    )
    await expect(page.locator("#run-now")).to_have_count(0)
    await expect(page.locator("#worker-history")).to_have_count(0)
    await shot(page, artifacts, "worker-refused")
