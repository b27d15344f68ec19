"""Steps the browser tests share: accounts, logging in, screenshots, REST calls as a person."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import APIRequestContext, Page, expect

PASSWORD = "correct horse battery"


def email_for(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:8]}@example.com"


async def shot(page: Page, artifacts: Path, name: str) -> None:
    await page.wait_for_timeout(300)  # let toasts and dialogs finish their animation
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


async def sign_up(page: Page, name: str, email: str, artifacts: Path | None = None) -> None:
    await page.goto("/signup")
    await expect(page.locator("#signup-submit")).to_be_visible()
    if artifacts is not None:
        await shot(page, artifacts, "signup")
    await page.locator("#name").fill(name)
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#confirm").fill(PASSWORD)
    await page.locator("#signup-submit").click()
    await expect(page).to_have_url(re.compile(r"/projects/?$"))
    await expect(page.locator("#current-user")).to_contain_text(email)


async def log_in(page: Page, email: str) -> None:
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#login-submit").click()


async def create_project(page: Page, name: str, description: str) -> None:
    await page.locator("#new-project").click()
    await page.locator("#project-name").fill(name)
    await page.locator("#project-description").fill(description)
    await page.locator("#project-create-submit").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()


async def page_token(page: Page) -> str:
    """The login token the web UI keeps in this page's localStorage."""
    return await page.evaluate("() => window.localStorage.getItem('mcp_orch_token')")


async def api_sign_up(request: APIRequestContext, name: str, email: str) -> dict:
    """An account made through the REST API (no browser involved)."""
    response = await request.post(
        "/api/auth/signup", data={"email": email, "password": PASSWORD, "name": name}
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def api_token(request: APIRequestContext, email: str, password: str = PASSWORD) -> str:
    """A REST login token of the account."""
    response = await request.post("/api/auth/login", data={"email": email, "password": password})
    assert response.ok, await response.text()
    return (await response.json())["access_token"]


def api_as(request: APIRequestContext, headers: dict[str, str]) -> Callable[..., Awaitable[dict]]:
    """``rest(method, path, data=None)``: a REST call with these headers that must succeed;
    answers its JSON."""

    async def rest(method: str, path: str, data: dict | None = None) -> dict:
        response = await request.fetch(path, method=method, headers=headers, data=data)
        assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
        return await response.json()

    return rest
