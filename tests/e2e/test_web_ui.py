"""The web UI end to end: sign-up, login, projects, logout, and what another user may see."""

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


async def _add_servers(page: Page, project_id: str) -> None:
    headers = {"Authorization": f"Bearer {await page_token(page)}"}
    base = f"/api/projects/{project_id}/servers"
    local = await page.request.post(
        base,
        headers=headers,
        data={
            "name": "filesystem",
            "description": "Files of the launch repository",
            "transport": "stdio",
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"],
        },
    )
    assert local.status == 201, await local.text()
    remote = await page.request.post(
        base,
        headers=headers,
        data={
            "name": "remote-docs",
            "transport": "streamable_http",
            "url": "https://example.com/mcp",
        },
    )
    assert remote.status == 201, await remote.text()
    toggled = await page.request.post(
        f"{base}/{(await remote.json())['id']}/toggle", headers=headers
    )
    assert toggled.ok, await toggled.text()


async def test_owner_signs_up_creates_a_project_and_logging_out_protects_it(
    new_context, artifacts: Path, js_errors: list[str]
):
    context: BrowserContext = await new_context()
    page = await context.new_page()
    email = email_for("owner")

    # Sign-up of the first account logs it in; it is the administrator.
    await sign_up(page, "Olivia Owner", email, artifacts)
    await expect(page.get_by_text("No projects yet")).to_be_visible()
    await expect(page.get_by_test_id("nav-admin")).to_be_visible()
    await shot(page, artifacts, "projects-empty")

    # Log out, then log in again with the password.
    await page.locator("#logout").click()
    await expect(page).to_have_url(re.compile(r"/login/?$"))
    await shot(page, artifacts, "login")
    await log_in(page, email)
    await expect(page).to_have_url(re.compile(r"/projects/?$"))

    # Validation errors of the service show in the dialog.
    await page.locator("#new-project").click()
    await page.locator("#project-create-submit").click()
    await expect(page.get_by_role("dialog")).to_contain_text("must not be empty")
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()

    await create_project(page, "Apollo", "Tools for the launch team")
    table = page.locator("#projects-table")
    await expect(table).to_contain_text("Apollo")
    await expect(table).to_contain_text("Tools for the launch team")
    await expect(table).to_contain_text("owner")
    await shot(page, artifacts, "projects")

    await table.get_by_role("link", name="Apollo").click()
    await expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}/?$"))
    overview = page.locator("#project-overview")
    await expect(overview.get_by_role("heading", name="Apollo")).to_be_visible()
    await expect(overview).to_contain_text("No servers yet")
    await expect(page.locator("#members-table")).to_contain_text(email)
    await expect(overview).to_contain_text("created the project Apollo")
    project_url = page.url

    # Servers registered through the REST API with the same login show up from the cache.
    await _add_servers(page, project_url.rstrip("/").rsplit("/", 1)[-1])
    await page.reload()
    servers = page.locator("#servers-table")
    await expect(servers).to_contain_text("filesystem")
    await expect(servers).to_contain_text("Streamable HTTP")
    await expect(servers).to_contain_text("never")
    await expect(page.locator(".status-count", has_text="Unknown")).to_contain_text("1")
    await expect(page.locator(".status-count", has_text="Disabled")).to_contain_text("1")
    await expect(overview).to_contain_text("disabled the server remote-docs")
    await shot(page, artifacts, "project-overview")
    await page.locator("#color-mode").click()
    await expect(page.locator("html")).to_have_class(re.compile("dark"))
    await shot(page, artifacts, "project-overview-dark")
    await page.locator("#color-mode").click()
    await expect(page.locator("html")).not_to_have_class(re.compile("dark"))

    # The other main pages render for the administrator.
    await page.get_by_test_id("nav-teams").click()
    await expect(page.get_by_text("No teams yet")).to_be_visible()
    await page.locator("#new-team").click()
    await page.locator("#team-name").fill("Launch crew")
    await page.locator("#team-create-submit").click()
    await expect(page.locator("#teams-table")).to_contain_text("Launch crew")
    await shot(page, artifacts, "teams")
    await page.locator("#teams-table").get_by_role("link", name="Launch crew").click()
    await expect(page.locator("#team-members-table")).to_contain_text(email)
    await expect(page.get_by_text("created the team Launch crew")).to_be_visible()
    await shot(page, artifacts, "team")

    await page.get_by_test_id("nav-admin").click()
    await expect(page.locator("#users-table")).to_contain_text(email)
    await shot(page, artifacts, "admin")

    # Closing sign-up takes effect at once for visitors; then it is opened again.
    switch = page.locator("#signup-open-switch")
    await switch.click()
    status = page.locator("#signup-status")
    await expect(status).to_have_text("Closed: only administrators can create accounts.")
    visitor = await (await new_context()).new_page()
    await visitor.goto("/signup")
    await expect(visitor.locator("#signup-closed")).to_contain_text("Sign-up is closed")
    await expect(visitor.locator("#signup-submit")).to_have_count(0)
    await shot(visitor, artifacts, "signup-closed")
    await switch.click()
    await expect(status).to_contain_text("Open: anyone")

    await page.get_by_test_id("nav-profile").click()
    await expect(page.locator("#profile-name")).to_have_value("Olivia Owner")
    await expect(page.locator("#sessions-table")).to_contain_text("this browser")
    await shot(page, artifacts, "profile")

    # After logging out the project is out of reach, and logging in leads back to it.
    await page.locator("#logout").click()
    await expect(page).to_have_url(re.compile(r"/login/?$"))
    assert not await page_token(page)
    await page.goto(project_url)
    await expect(page).to_have_url(re.compile(r"/login/?\?next="))
    await expect(page.get_by_text("Apollo")).to_have_count(0)
    await log_in(page, email)
    await expect(page).to_have_url(project_url)
    await expect(page.locator("#project-overview")).to_contain_text("Apollo")

    # The root leads to the projects when logged in.
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/projects/?$"))
    await expect(page.locator("#projects-table")).to_contain_text("Apollo")
    assert js_errors == []


async def test_a_non_member_sees_neither_the_project_nor_its_page(
    new_context, artifacts: Path, js_errors: list[str]
):
    # Someone else's project, made through the REST API.
    owner = await new_context()
    owner_email = email_for("other-owner")
    await api_sign_up(owner.request, "Other", owner_email)
    token = await api_token(owner.request, owner_email)
    created = await owner.request.post(
        "/api/projects",
        data={"name": "Secret Hangar", "description": "not for everyone"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status == 201, await created.text()
    project_id = (await created.json())["id"]

    stranger = await new_context(color_scheme="dark")
    page = await stranger.new_page()
    await sign_up(page, "Sam Stranger", email_for("stranger"))
    await expect(page.get_by_text("No projects yet")).to_be_visible()
    await shot(page, artifacts, "projects-empty-dark")
    await expect(page.get_by_text("Secret Hangar")).to_have_count(0)
    await expect(page.get_by_test_id("nav-admin")).to_have_count(0)

    await page.goto(f"/projects/{project_id}")
    await expect(page.locator("#problem-message")).to_have_text(
        "You are not a member of this project."
    )
    await expect(page.get_by_text("Secret Hangar")).to_have_count(0)
    await expect(page.get_by_text("not for everyone")).to_have_count(0)
    await shot(page, artifacts, "project-not-a-member")

    # The admin page refuses a non-administrator with the service's reason.
    await page.goto("/admin")
    await expect(page.locator("#problem-message")).to_have_text(
        "Only an administrator can do this."
    )
    await expect(page.locator("#users-table")).to_have_count(0)

    # A team owner adds an existing account by email with a role.
    await page.get_by_test_id("nav-teams").click()
    await page.locator("#new-team").click()
    await page.locator("#team-name").fill("Night shift")
    await page.locator("#team-create-submit").click()
    await page.locator("#teams-table").get_by_role("link", name="Night shift").click()
    await page.locator("#add-member").click()
    dialog = page.get_by_role("dialog")
    await dialog.locator("input[name=email]").fill(owner_email)
    await dialog.get_by_role("combobox").click()
    await page.get_by_role("option", name="reporter").click()
    await dialog.get_by_role("button", name="Add member").click()
    await expect(dialog).to_be_hidden()
    added = page.locator("#team-members-table tr", has_text=owner_email)
    await expect(added.get_by_role("combobox")).to_have_text("reporter")
    await expect(page.get_by_text("to the team as reporter")).to_be_visible()
    await shot(page, artifacts, "team-dark")

    # Narrow screens get a menu instead of the sidebar.
    await page.set_viewport_size({"width": 420, "height": 860})
    await page.goto("/projects")
    await expect(page.get_by_text("No projects yet")).to_be_visible()
    await expect(page.get_by_test_id("nav-projects")).to_be_hidden()
    await shot(page, artifacts, "projects-narrow-dark")
    assert js_errors == []
