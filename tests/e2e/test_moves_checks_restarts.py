"""A team lead's first day, in the browser (issue 11, items 1-4 and 13): moving servers between
projects without storing a mask as a secret, servers checked as soon as they are saved, a
pasted command line split into arguments, a restart that reuses the UI build, and the
papercuts. Screenshots to test-artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import Page, expect

from mcp_orch_app import ui_build
from tests.e2e.conftest import REPO_ROOT, serve_app
from tests.e2e.steps import create_project, email_for, log_in, page_token, shot, sign_up
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.e2e

FIXTURE_SERVER = str(CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py")
GREETING = "secret-greeting-4242"
PASSPHRASE = "correct staple battery horse"
# The first sign-up of the module's instance is its administrator; later tests log in as it.
ADMIN: dict[str, str] = {}


def _row(page: Page, name: str):
    return page.locator(f'#servers-list tr[data-server="{name}"]')


async def _open_project(page: Page, name: str) -> str:
    await page.goto("/projects")
    await page.locator("#projects-table").get_by_role("link", name=name).click()
    await expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}/?$"))
    return page.url.rstrip("/").rsplit("/", 1)[-1]


async def _download(page: Page, click_id: str) -> dict:
    async with page.expect_download() as info:
        await page.locator(click_id).click()
    download = await info.value
    return json.loads(Path(await download.path()).read_text())


async def _import(page: Page, document: dict, passphrase: str | None = None) -> None:
    await page.locator("#import-servers").click()
    await page.locator("#server-import-json").fill(json.dumps(document))
    if passphrase is not None:
        await page.locator("#import-passphrase").fill(passphrase)
    await page.locator("#server-import-submit").click()


async def _api(page: Page, method: str, path: str, data=None):
    headers = {"Authorization": f"Bearer {await page_token(page)}"}
    response = await page.request.fetch(path, method=method, data=data, headers=headers)
    assert response.ok, f"{response.status}: {await response.text()}"
    return await response.json()


async def test_servers_are_checked_when_saved_and_only_a_sealed_export_moves_secrets(
    new_context, app_url: str, artifacts: Path, js_errors: list[str]
):
    page = await (await new_context()).new_page()
    ADMIN["email"] = email_for("lead")
    await sign_up(page, "Lena Lead", ADMIN["email"])
    await create_project(page, "Source", "Where the servers start")
    await _open_project(page, "Source")

    # The overview's empty card offers to add a server; the add dialog opens on the servers page.
    await page.locator("#overview-add-server").click()
    await expect(page).to_have_url(re.compile(r"/servers/?\?add=server$"))
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Add a server")

    # A whole command line pasted is split like a shell: the command and one row per argument.
    await page.locator("#server-name").fill("slow")
    await page.locator("#server-args-line").fill(f"{sys.executable} {FIXTURE_SERVER}")
    await page.locator("#server-split-args").click()
    await expect(page.locator("#server-command")).to_have_value(sys.executable)
    await expect(page.locator(".server-arg input")).to_have_count(1)
    await expect(page.locator(".server-arg input").first).to_have_value(FIXTURE_SERVER)
    for row, (key, value) in enumerate(
        (("FIXTURE_START_DELAY", "3"), ("FIXTURE_GREETING", GREETING))
    ):
        await page.locator("#server-add-env").click()
        # The new row comes from the backend: fill it, not the row before it.
        await expect(page.locator(".env-key input")).to_have_count(row + 1)
        await page.locator(".env-key input").last.fill(key)
        await page.locator(".env-value input").last.fill(value)
    await page.locator("#server-save").click()
    await expect(dialog).to_be_hidden()

    # Checked right away in the background: "checking…" while it starts, then its live status.
    await expect(_row(page, "slow").locator(".server-checking")).to_be_visible()
    await shot(page, artifacts, "day-one-server-checking")
    await expect(_row(page, "slow")).to_contain_text("online", timeout=60_000)
    await expect(_row(page, "slow").locator(".server-tools")).to_have_text(re.compile(r"^\d+$"))
    assert await _row(page, "slow").locator(".server-tools").inner_text() != "0"

    # A plain export masks the secret; the sealed one carries it, encrypted.
    await page.locator("#export-servers").click()
    plain = await _download(page, "#export-submit")
    assert plain["mcpServers"]["slow"]["env"]["FIXTURE_GREETING"].startswith("••••••")
    await page.locator("#export-servers").click()
    await page.locator("#export-with-secrets").click()
    await page.locator("#export-passphrase").fill(PASSPHRASE)
    await page.locator("#export-confirm").fill(PASSPHRASE + "?")
    await page.locator("#export-submit").click()
    await expect(page.get_by_role("dialog")).to_contain_text("The two passphrases differ")
    await page.locator("#export-confirm").fill(PASSPHRASE)
    await shot(page, artifacts, "day-one-export-encrypted")
    sealed = await _download(page, "#export-submit")
    assert sealed["format"] == "mcp-orch-sealed-export" and GREETING not in json.dumps(sealed)

    # Elsewhere, the plain file's masked secret is refused (not stored as the secret).
    await create_project_from_list(page, "Target")
    target_id = await _open_project(page, "Target")
    await page.goto(f"/projects/{target_id}/servers")
    await _import(page, plain)
    report = page.locator("#import-report")
    await expect(report).to_contain_text("failed")
    await expect(report).to_contain_text("masked")
    await shot(page, artifacts, "day-one-import-masked-refused")
    await page.get_by_role("dialog").get_by_role("button", name="Close").click()
    assert await _api(page, "GET", f"/api/projects/{target_id}/servers") == []

    # The sealed file asks for its passphrase; a wrong one is refused, the right one imports.
    await _import(page, sealed, "not the passphrase")
    await expect(page.get_by_role("dialog")).to_contain_text("The passphrase is wrong")
    await page.locator("#import-passphrase").fill(PASSPHRASE)
    await page.locator("#server-import-submit").click()
    await expect(page.locator("#import-report")).to_contain_text("created")
    await shot(page, artifacts, "day-one-import-encrypted")
    await page.get_by_role("dialog").get_by_role("button", name="Close").click()
    # The imported server is checked too, without a click.
    await expect(_row(page, "slow")).to_contain_text("online", timeout=60_000)

    # The real secret arrived: the server sees it in its environment. Asked through an MCP
    # client, since what people see in mcp-orch (the try-it answer) has the secret redacted.
    [server] = await _api(page, "GET", f"/api/projects/{target_id}/servers")
    shown = await _api(
        page,
        "POST",
        f"/api/projects/{target_id}/servers/{server['id']}/tools/env/call",
        {"arguments": {"name": "FIXTURE_GREETING"}},
    )
    assert GREETING not in json.dumps(shown) and "[redacted]" in json.dumps(shown)
    key = await _api(page, "POST", f"/api/projects/{target_id}/api-keys", {"name": "check"})
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key['key']}"}, timeout=60) as http,
        streamable_http_client(
            f"{app_url}/projects/{target_id}/servers/slow/mcp", http_client=http
        ) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("env", {"name": "FIXTURE_GREETING"})
    assert GREETING in json.dumps(result.model_dump(mode="json"))
    assert js_errors == []


async def create_project_from_list(page: Page, name: str) -> None:
    await page.goto("/projects")
    await create_project(page, name, "")


async def test_arguments_are_split_listed_and_a_spaced_one_is_warned_about(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await (await new_context()).new_page()
    await sign_up(page, "Ari Args", email_for("args"))
    await create_project(page, "Args", "")
    project_id = await _open_project(page, "Args")
    await page.goto(f"/projects/{project_id}/servers")
    await page.locator("#add-server").click()
    await page.locator("#server-name").fill("everything")
    await page.locator("#server-command").fill("npx")
    await page.locator("#server-add-arg").click()
    await page.locator(".server-arg input").first.fill("-y @modelcontextprotocol/server-everything")
    warning = page.locator("#server-args-warning")
    await expect(warning).to_contain_text("Argument 1 contains a space")
    await shot(page, artifacts, "day-one-args-warning")

    # Pasting the line splits it as a shell would; the warning goes.
    await page.get_by_role("button", name="Remove this argument").first.click()
    await page.locator("#server-args-line").fill("-y @modelcontextprotocol/server-everything")
    await page.locator("#server-split-args").click()
    await expect(page.locator(".server-arg input")).to_have_count(2)
    await expect(warning).to_have_count(0)
    await page.locator("#server-enabled").click()  # saved switched off: nothing to start
    await page.locator("#server-save").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()

    # The detail page lists the arguments one by one, quoted.
    await _row(page, "everything").get_by_role("link", name="everything").click()
    items = page.locator("#server-config .config-item")
    await expect(items).to_have_text(['"-y"', '"@modelcontextprotocol/server-everything"'])
    await expect(page.locator("#server-config .config-warning")).to_have_count(0)

    # One made through the API with the mistake in it is shown as one argument, with a warning.
    made = await _api(
        page,
        "POST",
        f"/api/projects/{project_id}/servers",
        {
            "name": "joined",
            "command": "npx",
            "args": ["-y @modelcontextprotocol/server-everything"],
            "enabled": False,
        },
    )
    await page.goto(f"/projects/{project_id}/servers/{made['id']}")
    await expect(page.locator("#server-config .config-item")).to_have_text(
        ['"-y @modelcontextprotocol/server-everything"']
    )
    await expect(page.locator("#server-config .config-warning")).to_contain_text(
        "Argument 1 contains a space"
    )
    await shot(page, artifacts, "day-one-args-detail")
    assert js_errors == []


async def test_papercuts_are_gone(new_context, artifacts: Path, js_errors: list[str]):
    assert ADMIN, "the first test of this module signs up the administrator"
    page = await (await new_context()).new_page()
    await page.goto("/login")
    await log_in(page, ADMIN["email"])
    await expect(page).to_have_url(re.compile(r"/projects/?$"))

    # favicon.ico is served (from the top-level assets/ folder).
    icon = await page.request.get("/favicon.ico")
    assert icon.status == 200 and (await icon.body())[:4] == b"\x00\x00\x01\x00"

    # The worker's interval is refused in the unit of its field: minutes.
    await page.goto("/admin/worker")
    await page.locator("#interval-minutes").fill("0.5")
    await page.locator("#save-interval").click()
    await expect(page.get_by_text("a number of minutes from 1 to 60")).to_be_visible()
    assert await page.get_by_text("seconds from 60").count() == 0

    # Every switch has an accessible name (admin page, servers list, server page, dialog).
    await page.goto("/admin")
    await expect(page.locator("#signup-open-switch")).to_be_visible()
    await _assert_switches_named(page)
    project_id = await _open_project(page, "Source")
    await page.goto(f"/projects/{project_id}/servers")
    await expect(_row(page, "slow")).to_be_visible()
    await _assert_switches_named(page)
    await _row(page, "slow").get_by_role("link", name="slow").click()
    await expect(page.locator("#server-enabled-switch")).to_be_visible()
    await _assert_switches_named(page)
    await page.locator("#server-edit").click()
    await expect(page.locator("#server-auto-restart")).to_be_visible()
    await _assert_switches_named(page)
    await page.keyboard.press("Escape")

    # The only owner is told at once that they cannot leave (no "You lose access" first).
    await page.goto(f"/projects/{project_id}/members")
    await page.get_by_role("button", name="Leave the project").click()
    notice = page.get_by_role("alertdialog")
    await expect(notice).to_contain_text("You are the only owner")
    await expect(notice).to_contain_text("needs at least one owner")
    await expect(notice).not_to_contain_text("lose access")
    await shot(page, artifacts, "day-one-last-owner")
    await notice.get_by_role("button", name="Close").click()

    # With sign-up closed, the login page does not offer it; open again, it does.
    visitor = await (await new_context()).new_page()
    await _api(page, "PUT", "/api/admin/settings", {"signup_open": False})
    await visitor.goto("/login")
    await expect(visitor.locator("#login-submit")).to_be_visible()
    await visitor.wait_for_timeout(500)  # the page has asked whether sign-up is open
    await expect(visitor.locator("#signup-link")).to_have_count(0)
    await shot(visitor, artifacts, "day-one-login-signup-closed")
    await _api(page, "PUT", "/api/admin/settings", {"signup_open": True})
    await visitor.reload()
    await expect(visitor.locator("#signup-link")).to_be_visible()
    assert js_errors == []


async def _assert_switches_named(page: Page) -> None:
    switches = page.get_by_role("switch")
    assert await switches.count() > 0
    names = await switches.evaluate_all(
        "els => els.map(el => el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')"
        " || (el.id && document.querySelector(`label[for='${el.id}']`)?.textContent) || '')"
    )
    assert all(name.strip() for name in names), names


def _older_build_with_other_chunks(cache: ui_build.UIBuildCache, current: str) -> Path | None:
    """A real earlier build (kept in the cache) whose login page chunk differs from the
    current build's: what a tab opened before the upgrade still runs."""
    now = {p.name for p in (cache.build_dir(current) / "assets").glob("*.js")}
    for key in reversed(cache.kept_builds()):
        directory = cache.build_dir(key)
        old = {p.name for p in (directory / "assets").glob("_login_*.js")}
        if key != current and (directory / "signup.html").is_file() and old - now:
            return directory
    return None


async def test_a_restart_reuses_the_ui_build_and_keeps_old_chunks(
    tmp_path: Path, artifacts: Path, browser
):
    """A start with a warm build cache does not build, and the chunks only an older build had
    (what an open tab from before an upgrade asks for next) are still served: such a tab
    navigates onto the route clicked instead of a 404."""
    cache = ui_build.UIBuildCache(REPO_ROOT)
    current = cache.key()
    assert cache.has_build(current), "the module's app started from this build"
    earlier = _older_build_with_other_chunks(cache, current)
    older = cache.builds / "0ld0ld0ld0ld0ld0ld00"
    shutil.rmtree(older, ignore_errors=True)
    (older / "assets").mkdir(parents=True)
    (older / "assets" / "servers-0ldchunk.js").write_text("export const page = 'old';\n")
    (older / ui_build.MARKER).write_text("{}")
    try:
        started = time.monotonic()
        log_path = artifacts / "e2e-app-restart.log"
        with serve_app(tmp_path / "data", log_path) as url:
            seconds = time.monotonic() - started
            context = await browser.new_context(base_url=url)
            old = await context.request.get("/assets/servers-0ldchunk.js")
            assert old.status == 200 and "old" in await old.text()
            page = await context.new_page()
            missing: list[str] = []
            page.on(
                "response",
                lambda r: missing.append(r.url) if "/assets/" in r.url and r.status >= 400 else 0,
            )
            if earlier is not None:
                # A tab still showing the earlier build's sign-up page (its HTML names its own
                # chunks) clicks "Log in" (a link the page shows without asking the backend:
                # the old tab's websocket may not fit the new backend). The earlier build's
                # chunks answer, so it navigates onto the route clicked (no 404, no reload
                # back onto the old route).
                html = (earlier / "signup.html").read_text()
                served_earlier: list[str] = []

                async def earlier_page(route):
                    # Only the first load is the earlier build's page; a reload gets today's.
                    if route.request.resource_type == "document" and not served_earlier:
                        served_earlier.append(route.request.url)
                        await route.fulfill(body=html, content_type="text/html")
                    else:
                        await route.continue_()

                await page.route(re.compile(r"/signup/?$"), earlier_page)
                await page.goto("/signup")
                await page.get_by_role("link", name="Log in").click()
                await expect(page).to_have_url(re.compile(r"/login/?$"))
                await expect(page.locator("#login-submit")).to_be_visible()
                await shot(page, artifacts, "day-one-old-tab-after-upgrade")
            else:
                await page.goto("/login")
                await expect(page.locator("#login-submit")).to_be_visible()
            assert missing == []
            await context.close()
        log = log_path.read_text()
        assert f"web UI build {current} is up to date (no rebuild)" in log
        assert "Creating Production Build" not in log and "building the web UI" not in log
        # Migration and the server start only: far from the half minute of a build.
        assert seconds < 25, f"a warm restart took {seconds:.1f}s"
    finally:
        shutil.rmtree(older, ignore_errors=True)
