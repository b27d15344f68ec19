"""The project pages end to end: API keys shown once and revoked, a member invited who then sees
the project with reporter rights only, activity, settings, deleting with the typed name, the
team and admin pages; a screenshot of each page goes to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.steps import (
    api_sign_up,
    api_token,
    create_project,
    email_for,
    log_in,
    page_token,
    shot,
    sign_up,
)

pytestmark = pytest.mark.e2e

CLIPBOARD = ["clipboard-read", "clipboard-write"]


async def _open_tab(page: Page, key: str, content_id: str) -> None:
    await page.get_by_test_id(f"tab-{key}").click()
    await expect(page.locator(f"#project-{content_id}")).to_be_visible()


async def _pick(page: Page, trigger, option: str) -> None:
    """Choose ``option`` in a Radix select."""
    await trigger.click()
    await page.get_by_role("option", name=option, exact=True).click()


async def _create_key(page: Page, name: str, expires: str = "") -> None:
    await page.locator("#create-key").click()
    await page.locator("#key-name").fill(name)
    if expires:
        await page.locator("#key-expires").fill(expires)
    await page.locator("#key-create-submit").click()


async def _mcp_endpoint(page: Page, project_id: str) -> str:
    """A remote server registered through the REST API; its streamable HTTP endpoint."""
    created = await page.request.post(
        f"/api/projects/{project_id}/servers",
        headers={"Authorization": f"Bearer {await page_token(page)}"},
        data={"name": "docs", "transport": "streamable_http", "url": "https://example.com/mcp"},
    )
    assert created.status == 201, await created.text()
    return f"/projects/{project_id}/servers/docs/mcp"


async def test_keys_members_reporter_rights_settings_and_deleting(
    new_context, artifacts: Path, js_errors: list[str]
):
    owner_context: BrowserContext = await new_context(permissions=CLIPBOARD)
    page = await owner_context.new_page()
    owner_email = email_for("owner")
    await sign_up(page, "Olivia Owner", owner_email)
    await create_project(page, "Apollo", "Tools for the launch team")
    await page.locator("#projects-table").get_by_role("link", name="Apollo").click()
    await expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}/?$"))
    project_url = page.url.rstrip("/")
    project_id = project_url.rsplit("/", 1)[-1]

    # Overview: the unified endpoint from this instance's address, no calls yet.
    await expect(page.get_by_test_id("unified-http-url")).to_have_text(
        f"{project_url.split('/projects/')[0]}/projects/{project_id}/unified/mcp"
    )
    await expect(page.locator("#unified-state")).to_have_text("on")
    await expect(page.get_by_text("No tool calls yet.")).to_be_visible()
    await shot(page, artifacts, "project-overview-unified")

    # API keys: a bad expiry is refused in the dialog, then a key is shown exactly once.
    await _open_tab(page, "keys", "keys")
    await expect(page.get_by_text("No API keys yet")).to_be_visible()
    await _create_key(page, "Cursor", expires="2001-01-01")
    await expect(page.get_by_role("dialog")).to_contain_text(
        "The expiry date must be in the future."
    )
    await page.locator("#key-expires").fill("")
    await page.locator("#key-create-submit").click()
    key_text = page.locator("#new-key-value")
    await expect(key_text).to_have_text(re.compile(r"^mch_\S{20,}$"))
    key = await key_text.inner_text()
    await expect(page.get_by_role("dialog")).to_contain_text("only time it is shown")
    await page.locator("#copy-new-key").click()
    assert await page.evaluate("() => navigator.clipboard.readText()") == key
    await shot(page, artifacts, "api-key-created")
    await page.locator("#new-key-done").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()
    row = page.locator("#keys-table tr", has_text="Cursor")
    await expect(row).to_contain_text(key[:8])
    await expect(row).to_contain_text(key[-4:])
    await expect(row).to_contain_text("active")
    assert key not in await page.content()
    # The key opens the project's MCP endpoints (here a server's, refused only for want of a
    # session) until it is revoked; its use shows in the list.
    mcp = await _mcp_endpoint(page, project_id)
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    mcp_headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    before = await page.request.post(mcp, data=ping, headers=mcp_headers)
    assert before.status == 400, await before.text()
    await page.reload()
    row = page.locator("#keys-table tr", has_text="Cursor")
    await expect(row).to_contain_text("…")
    await expect(row).to_contain_text("from 127.0.0.1")
    assert key not in await page.content()

    await _create_key(page, "CI")
    await page.locator("#new-key-done").click()
    await (
        page.locator("#keys-table tr", has_text="Cursor")
        .get_by_role("button", name="Revoke")
        .click()
    )
    await page.get_by_role("alertdialog").get_by_role("button", name="Revoke key").click()
    await expect(page.locator("#keys-table tr", has_text="Cursor")).to_contain_text("revoked")
    await expect(page.locator("#keys-table tr", has_text="CI")).to_contain_text("active")
    after = await page.request.post(mcp, data=ping, headers=mcp_headers)
    assert after.status == 401, await after.text()
    await shot(page, artifacts, "api-keys")

    # Members: a second account (made through the REST API) is invited as a reporter.
    reporter_context = await new_context()
    reporter_email = email_for("reporter")
    await api_sign_up(reporter_context.request, "Remy Reporter", reporter_email)
    await _open_tab(page, "members", "members")
    await page.locator("#invite-member").click()
    dialog = page.get_by_role("dialog")
    await page.locator("#invite-email").fill("nobody-" + reporter_email)
    await page.locator("#invite-submit").click()
    await expect(dialog).to_contain_text("they need to sign up first")
    await page.locator("#invite-email").fill(reporter_email)
    await _pick(page, dialog.get_by_role("combobox"), "reporter")
    await page.locator("#invite-submit").click()
    await expect(dialog).to_be_hidden()
    invited = page.locator("#project-members-table tr", has_text=reporter_email)
    await expect(invited.get_by_role("combobox")).to_have_text("reporter")
    await expect(invited).to_contain_text("Individual")
    await shot(page, artifacts, "project-members")

    # The reporter logs in, sees the project, and no control that would change it.
    reporter_page = await reporter_context.new_page()
    await reporter_page.goto("/login")
    await log_in(reporter_page, reporter_email)
    await expect(reporter_page.locator("#projects-table")).to_contain_text("Apollo")
    await reporter_page.goto(project_url)
    await expect(reporter_page.locator("#project-overview")).to_contain_text("reporter")
    await _open_tab(reporter_page, "members", "members")
    await expect(reporter_page.locator("#project-members-table")).to_contain_text(owner_email)
    await expect(reporter_page.locator("#invite-member")).to_have_count(0)
    await expect(
        reporter_page.locator("#project-members-table").get_by_role("combobox")
    ).to_have_count(0)
    await _open_tab(reporter_page, "keys", "keys")
    await expect(reporter_page.locator("#keys-table")).to_contain_text("CI")
    await expect(reporter_page.locator("#create-key")).to_have_count(0)
    await expect(reporter_page.get_by_role("button", name="Revoke")).to_have_count(0)
    await _open_tab(reporter_page, "settings", "settings")
    await expect(reporter_page.locator("#settings-read-only")).to_be_visible()
    await expect(reporter_page.locator("#settings-name")).to_be_disabled()
    await expect(reporter_page.locator("#delete")).to_have_count(0)
    await shot(reporter_page, artifacts, "project-settings-reporter")
    # Forcing it through the REST API with the reporter's login is refused too.
    reporter_auth = {"Authorization": f"Bearer {await page_token(reporter_page)}"}
    forced = await reporter_page.request.delete(
        f"/api/projects/{project_id}", headers=reporter_auth
    )
    assert forced.status == 403, await forced.text()
    forced_key = await reporter_page.request.post(
        f"/api/projects/{project_id}/api-keys", data={"name": "mine"}, headers=reporter_auth
    )
    assert forced_key.status == 403, await forced_key.text()

    # Activity: everything above is in the feed, filtered by kind and by person.
    await _open_tab(page, "activity", "activity")
    feed = page.locator("#activity-feed")
    await expect(feed).to_contain_text("added Remy Reporter as reporter")
    await expect(feed).to_contain_text("revoked the API key Cursor")
    await _pick(page, page.locator("#activity-kind"), "api key revoked")
    await expect(feed).to_contain_text("revoked the API key Cursor")
    await expect(feed).not_to_contain_text("created the project")
    await shot(page, artifacts, "project-activity")
    await page.get_by_role("button", name="Clear filters").click()
    await expect(feed).to_contain_text("created the project Apollo")

    # Settings: details and switches are saved; the header follows.
    await _open_tab(page, "settings", "settings")
    await page.locator("#settings-name").fill("")
    await page.locator("#settings-save").click()
    await expect(page.locator("#project-settings")).to_contain_text("must not be empty")
    await page.locator("#settings-name").fill("Apollo 2")
    await page.locator("#settings-description").fill("Renamed for the second launch")
    await page.locator("#settings-save").click()
    await expect(page.get_by_role("heading", name="Apollo 2")).to_be_visible()
    await page.locator("#switch-unified_enabled").click()
    await expect(page.locator("#switch-unified_enabled")).to_have_attribute(
        "data-state", "unchecked"
    )
    await shot(page, artifacts, "project-settings")
    await _open_tab(page, "overview", "overview")
    await expect(page.locator("#unified-state")).to_have_text("off")

    # The owner's team joins the project; the team page lists the project.
    await page.get_by_test_id("nav-teams").click()
    await page.locator("#new-team").click()
    await page.locator("#team-name").fill("Launch crew")
    await page.locator("#team-create-submit").click()
    await page.goto(project_url + "/members")
    await page.locator("#add-team").click()
    dialog = page.get_by_role("dialog")
    await _pick(page, dialog.get_by_role("combobox").first, "Launch crew")
    await dialog.get_by_role("button", name="Add team").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#project-teams-table")).to_contain_text("Launch crew")
    await page.locator("#project-teams-table").get_by_role("link", name="Launch crew").click()
    await expect(page.locator("#team-projects-table")).to_contain_text("Apollo 2")
    await shot(page, artifacts, "team-with-projects")

    # The administrator (the first account) resets the reporter's password: shown once.
    await page.get_by_test_id("nav-admin").click()
    await expect(page.locator("#all-projects-table")).to_contain_text("Apollo 2")
    await page.locator("#users-table tr", has_text=reporter_email).get_by_role("button").click()
    await page.get_by_role("menuitem", name="Reset password…").click()
    await page.locator("#reset-password-submit").click()
    temporary = await page.locator("#reset-password-value").inner_text()
    assert len(temporary) >= 12
    await shot(page, artifacts, "admin-password-reset")
    await page.get_by_role("button", name="Done").click()
    await expect(page.locator("#reset-password-value")).to_have_count(0)
    assert temporary not in await page.content()
    await shot(page, artifacts, "admin")
    # The reporter was logged out by the reset; the temporary password lets them in.
    await reporter_page.reload()
    await expect(reporter_page).to_have_url(re.compile(r"/login"))
    assert await api_token(reporter_context.request, reporter_email, temporary)

    # Deleting needs the project's name typed exactly.
    await page.goto(project_url + "/settings")
    await page.locator("#delete").click()
    confirm = page.locator("#delete-confirm")
    await expect(confirm).to_be_disabled()
    await page.locator("#delete-confirm-name").fill("apollo 2")
    await expect(confirm).to_be_disabled()
    await shot(page, artifacts, "project-delete-confirmation")
    await page.locator("#delete-confirm-name").fill("Apollo 2")
    await expect(confirm).to_be_enabled()
    await confirm.click()
    await expect(page).to_have_url(re.compile(r"/projects/?$"))
    await expect(page.get_by_text("No projects yet")).to_be_visible()
    gone = await page.request.get(
        f"/api/projects/{project_id}",
        headers={"Authorization": f"Bearer {await page_token(page)}"},
    )
    assert gone.status == 404

    await page.locator("#logout").click()
    await expect(page).to_have_url(re.compile(r"/login/?$"))
    assert not await page_token(page)
    assert js_errors == []
