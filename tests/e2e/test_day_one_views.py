"""Issue 11, items 5 to 12, in the browser: the production build, Chromium, one app for the
module. Each test signs up its own person, makes a project with our fixture MCP server (a
stdio process) through the REST API and real calls through the gateway, then checks what a
team lead sees: the tool-call table at laptop width, server-log search and live tail, client
names, tool figures after Try-it and media in results, resources and prompts, search and bulk
switches, the dashboard, the layout at desktop and phone width, and axe-core's accessibility
rules. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import Page, expect

from tests.e2e.steps import email_for, page_token, shot, sign_up
from tests.helpers import FIXTURE_SERVER

pytestmark = pytest.mark.e2e

AXE_SCRIPT = Path(__file__).with_name("vendor") / "axe-core-4.14.1.min.js"
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True, scope="module")
def patient_expectations():
    # Sign-ups hash a password and pages load behind four other test runs on two cores.
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


async def _rest(page: Page, method: str, path: str, data: dict | None = None) -> dict | list:
    headers = {"Authorization": f"Bearer {await page_token(page)}"}
    response = await page.request.fetch(path, method=method, headers=headers, data=data)
    assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
    return await response.json()


async def _project(page: Page, name: str, *, media: bool = False) -> tuple[str, str]:
    """A project with the fixture server, checked once (its tools cached): (project, server)."""
    project = await _rest(page, "POST", "/api/projects", {"name": name})
    env = {"FIXTURE_MEDIA_TOOLS": "1"} if media else {}
    server = await _rest(
        page,
        "POST",
        f"/api/projects/{project['id']}/servers",
        {
            "name": "fixture",
            "transport": "stdio",
            "command": sys.executable,
            "args": [str(FIXTURE_SERVER)],
            "env": env,
        },
    )
    checked = await _rest(
        page, "POST", f"/api/projects/{project['id']}/servers/{server['id']}/refresh"
    )
    assert checked["status"] == "online", checked
    return project["id"], server["id"]


async def _try(page: Page, project_id: str, server_id: str, tool: str, arguments: dict) -> None:
    await _rest(
        page,
        "POST",
        f"/api/projects/{project_id}/servers/{server_id}/tools/{tool}/call",
        {"arguments": arguments},
    )


async def _recorded(page: Page, project_id: str, calls: int) -> None:
    for _ in range(100):
        listed = await _rest(page, "GET", f"/api/projects/{project_id}/tool-calls")
        if len(listed["items"]) >= calls:
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"{calls} calls were not recorded in 10 s")


async def _signed_up(new_context, who: str, viewport: dict | None = None) -> Page:
    context = await new_context(viewport=viewport or LAPTOP)
    page = await context.new_page()
    await sign_up(page, who.title(), email_for(who))
    return page


async def _pick(page: Page, trigger_id: str, option: str) -> None:
    await page.locator(f"#{trigger_id}").click()
    await page.get_by_role("option", name=option, exact=True).click()


async def _overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal overflow)."""
    return await page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")


# --- 5: the tool-call table ---------------------------------------------------------------------


async def test_tool_calls_fit_1440_px_show_code_and_client_and_filter_by_unified_name(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "tess")
    project_id, server_id = await _project(page, "Calls")
    await _try(page, project_id, server_id, "echo", {"text": "a long argument " * 8})
    await _try(page, project_id, server_id, "add", {"a": 1, "b": 2})
    await _try(page, project_id, server_id, "no_such_tool", {})
    await _recorded(page, project_id, 3)

    await page.goto(f"/projects/{project_id}/tool-calls")
    rows = page.locator("#tool-calls-table tr.call-row")
    await expect(rows).to_have_count(3)
    # Not expanded: the error code and the client are on the row, inside the screen.
    failed = page.locator('tr.call-row[data-status="error"]')
    await expect(failed.locator(".call-error-code")).to_have_text("TOOL_NOT_FOUND")
    for cell in (failed.locator(".call-error-code"), rows.first.locator(".call-client")):
        await expect(cell).to_be_visible()
        box = await cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= LAPTOP["width"], box
    table = await page.locator("#tool-calls-table").bounding_box()
    assert table["x"] + table["width"] <= LAPTOP["width"], table
    assert await _overflow(page) <= 0
    await shot(page, artifacts, "day-one-tool-calls-1440")

    # The tool name clients of the unified endpoint see finds the same calls.
    await page.locator("#filter-tool").fill("fixture__echo")
    await page.locator("#filter-tool").press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("echo")

    # A custom range opens its form below the filters; the filters stay on their row.
    status_before = await page.locator("#filter-status").bounding_box()
    await _pick(page, "time-range", "Custom range (UTC)")
    await expect(page.locator("#range-since")).to_be_visible()
    status_after = await page.locator("#filter-status").bounding_box()
    assert abs(status_after["y"] - status_before["y"]) < 2, (status_before, status_after)
    custom = await page.locator("#custom-range").bounding_box()
    assert custom["y"] >= status_after["y"] + status_after["height"], (custom, status_after)
    await shot(page, artifacts, "day-one-tool-calls-custom-range")
    assert js_errors == []


# --- 6: server logs -----------------------------------------------------------------------------


async def test_server_logs_search_range_live_tail_and_absolute_times(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "logan")
    project_id, server_id = await _project(page, "Logs")
    await page.goto(f"/projects/{project_id}/logs")
    rows = page.locator("#server-logs-table tr.log-row")
    await expect(rows.first).to_be_visible()
    before = await rows.count()
    # The exact time is in the title of the relative one.
    title = await rows.first.locator("td").first.locator("[title]").get_attribute("title")
    assert title and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC", title), title

    # Live tail: a restart writes new lines, which appear without a reload.
    await expect(page.locator("#live-tail")).to_be_checked()
    await _rest(page, "POST", f"/api/projects/{project_id}/servers/{server_id}/restart")
    await expect(rows).not_to_have_count(before, timeout=15_000)
    assert await rows.count() > before
    await shot(page, artifacts, "day-one-server-logs-tail")

    # Text search (any case), then a range that holds nothing.
    await page.locator("#log-search").fill("RESTART")
    await page.locator("#log-search").press("Enter")
    await expect(rows.first).to_be_visible()
    # The list is replaced by the search's answer (and the live tail keeps polling): wait until
    # no row without the word is left instead of reading the rows once.
    await expect(rows.filter(has_not_text=re.compile("restart", re.IGNORECASE))).to_have_count(0)
    for text in await rows.all_inner_texts():
        assert "restart" in text.lower(), text
    await _pick(page, "time-range", "Custom range (UTC)")
    await page.locator("#range-since").fill("2020-01-01T00:00")
    await page.locator("#range-until").fill("2020-01-02T00:00")
    await page.locator("#range-apply").click()
    await expect(rows).to_have_count(0)
    await expect(page.get_by_text("No log entries")).to_be_visible()
    assert js_errors == []


# --- 7: sessions ----------------------------------------------------------------------------------


async def test_a_session_shows_name_and_version_from_the_same_source(
    new_context, app_url: str, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "sven")
    project_id, _ = await _project(page, "Sessions")
    key = await _rest(page, "POST", f"/api/projects/{project_id}/api-keys", {"name": "e2e"})
    url = f"{app_url}/projects/{project_id}/servers/fixture/mcp"
    headers = {"Authorization": f"Bearer {key['key']}", "User-Agent": "Cursor/1.7.2 (linux)"}
    info = types.Implementation(name="observatory-probe", version="0.9")
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, client_info=info) as session,
    ):
        await session.initialize()
        await session.call_tool("echo", {"text": "hi"})
    await page.goto(f"/projects/{project_id}/sessions")
    row = page.locator("#sessions-table tr.session-row").first
    await expect(row).to_contain_text("observatory-probe 0.9")
    await expect(row).not_to_contain_text("Cursor 0.9")
    await shot(page, artifacts, "day-one-sessions")
    assert js_errors == []


# --- 8: tool figures, media, unknown tools, metrics by server ------------------------------------


async def test_try_it_updates_figures_renders_media_and_metrics_filter_by_server(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "mira")
    project_id, server_id = await _project(page, "Media", media=True)
    await page.goto(f"/projects/{project_id}/servers/{server_id}")
    await page.locator("#server-tab-tools").click()
    echo = page.locator('.tool-card[data-tool="echo"]')
    await expect(echo.locator(".tool-usage")).to_have_text("Not called yet")
    await echo.locator(".try-tool").click()
    await page.locator('#try-panel input[name="text"]').fill("figures")
    await page.locator("#try-run").click()
    await expect(page.locator("#try-output")).to_have_text("figures")
    # No reload: the card's figures follow the call.
    await expect(echo.locator(".tool-usage")).to_contain_text("1 call")

    await page.locator('.tool-card[data-tool="picture"] .try-tool').click()
    await page.locator("#try-run").click()
    image = page.locator("#try-result img.result-image")
    await expect(image).to_be_visible()
    assert (await image.get_attribute("src")).startswith("data:image/png;base64,")
    assert await image.evaluate("img => img.naturalWidth") == 2
    await expect(page.locator("#try-output")).not_to_contain_text("iVBOR")
    await shot(page, artifacts, "day-one-try-image")
    await page.locator('.tool-card[data-tool="sound"] .try-tool').click()
    await page.locator("#try-run").click()
    audio = page.locator("#try-result audio.result-audio")
    await expect(audio).to_have_count(1)
    assert await audio.get_attribute("controls") is not None

    # A second server with one call; the metrics of each server are apart.
    other = await _rest(
        page,
        "POST",
        f"/api/projects/{project_id}/servers",
        {"name": "other", "transport": "stdio", "command": sys.executable,
         "args": [str(FIXTURE_SERVER)]},
    )  # fmt: skip
    await _try(page, project_id, other["id"], "echo", {"text": "elsewhere"})
    await _recorded(page, project_id, 4)
    await page.goto(f"/projects/{project_id}/metrics")
    await expect(page.locator("#metric-total")).to_have_text("4")
    await _pick(page, "metrics-server", "other")
    await expect(page.locator("#metric-total")).to_have_text("1")
    await _pick(page, "metrics-server", "fixture")
    await expect(page.locator("#metric-total")).to_have_text("3")
    await shot(page, artifacts, "day-one-metrics-by-server")
    assert js_errors == []


# --- 9: resources and prompts ---------------------------------------------------------------------


async def test_resources_templates_and_prompts_are_browsed_and_tried(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "rhea")
    project_id, server_id = await _project(page, "Browse")
    await page.goto(f"/projects/{project_id}/servers/{server_id}")
    await page.locator("#server-tab-browse").click()
    resource = page.locator('.resource-card[data-uri="fixture://greeting"]')
    await expect(resource).to_be_visible()
    await resource.locator(".resource-read").click()
    await expect(page.locator("#browse-output")).to_have_text("hello from the fixture")

    template = page.locator(".template-card").filter(has_text="fixture://items/{item_id}")
    await template.locator(".template-choose").click()
    await page.locator('#browse-panel input[name="item_id"]').fill("42")
    await page.locator("#browse-run").click()
    await expect(page.locator("#browse-output")).to_have_text("item 42")

    await page.locator('.prompt-card[data-prompt="greet"] .prompt-choose').click()
    await page.locator("#browse-run").click()
    await expect(page.locator("#browse-panel")).to_contain_text("Fill in name")
    await page.locator('#browse-panel input[name="name"]').fill("Ada")
    await page.locator("#browse-run").click()
    await expect(page.locator("#browse-output")).to_contain_text("Please greet Ada warmly.")
    await shot(page, artifacts, "day-one-resources-prompts")

    # Each read and get is in the server log.
    logged = await _rest(page, "GET", f"/api/projects/{project_id}/server-logs?q=by%20Rhea")
    assert sorted(row["message"].split(" ", 1)[0] for row in logged) == [
        "prompts/get",
        "resources/read",
        "resources/read",
    ]
    assert js_errors == []


# --- 10: search and bulk switches -------------------------------------------------------------------


async def test_servers_and_tools_are_searched_and_tools_switched_in_bulk(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "bo")
    project_id, server_id = await _project(page, "Bulk")
    await _rest(
        page,
        "POST",
        f"/api/projects/{project_id}/servers",
        {"name": "weather", "transport": "stdio", "command": sys.executable,
         "args": [str(FIXTURE_SERVER)]},
    )  # fmt: skip
    await page.goto(f"/projects/{project_id}/servers")
    listed = page.locator("#servers-list tbody tr")
    await expect(listed).to_have_count(2)
    await page.locator("#server-search").fill("weath")
    await expect(listed).to_have_count(1)
    await expect(listed.first).to_contain_text("weather")
    await page.locator("#server-search").fill("nothing like it")
    await expect(page.get_by_text("No matching servers")).to_be_visible()

    await page.goto(f"/projects/{project_id}/servers/{server_id}")
    await page.locator("#server-tab-tools").click()
    cards = page.locator(".tool-card")
    await expect(cards.first).to_be_visible()
    total = await cards.count()
    assert total > 3
    await page.locator("#tool-search").fill("ech")
    await expect(cards).to_have_count(1)
    await page.locator("#tool-search").fill("")
    await expect(cards).to_have_count(total)
    for name in ("echo", "add"):
        await page.locator(f'.tool-card[data-tool="{name}"] .tool-select').click()
    await expect(page.locator("#tools-selected")).to_have_text("2 selected")
    await page.locator("#tools-disable-selected").click()
    await expect(page.locator("#tools-selected")).to_have_count(0)
    for name in ("echo", "add"):
        switch = page.locator(f'.tool-card[data-tool="{name}"] .tool-enabled')
        await expect(switch).to_have_attribute("aria-checked", "false")
    tools = await _rest(page, "GET", f"/api/projects/{project_id}/servers/{server_id}/tools")
    assert sorted(t["name"] for t in tools if not t["enabled"]) == ["add", "echo"]
    await shot(page, artifacts, "day-one-bulk-tools")
    assert js_errors == []


# --- 11: the dashboard ------------------------------------------------------------------------------


async def test_the_dashboard_counts_servers_calls_and_failures_from_the_sidebar(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "dora")
    project_id, server_id = await _project(page, "Dashboard one")
    await _try(page, project_id, server_id, "echo", {"text": "fine"})
    await _try(page, project_id, server_id, "no_such_tool", {})
    second = await _rest(page, "POST", "/api/projects", {"name": "Dashboard two"})
    await _rest(
        page,
        "POST",
        f"/api/projects/{second['id']}/servers",
        {"name": "never-checked", "transport": "stdio", "command": "true"},
    )
    await _recorded(page, project_id, 2)

    await page.get_by_test_id("nav-dashboard").click()
    await expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    await expect(page.locator("#dash-servers")).to_have_text("2")
    await expect(page.locator("#dash-online")).to_have_text("1")
    await expect(page.locator("#dash-calls")).to_have_text("2")
    await expect(page.locator("#dash-errors")).to_have_text("1")
    await expect(page.locator("#dash-projects tr.dash-project")).to_have_count(2)
    failure = page.locator("#dash-failures tr.dash-failure")
    await expect(failure).to_have_count(1)
    await expect(failure).to_contain_text("TOOL_NOT_FOUND")
    await shot(page, artifacts, "day-one-dashboard")
    assert js_errors == []


# --- 12: layout, phone width, accessibility ----------------------------------------------------------


def _main_pages(project_id: str, server_id: str) -> list[str]:
    base = f"/projects/{project_id}"
    return [
        "/dashboard",
        "/projects",
        base,
        f"{base}/servers",
        f"{base}/servers/{server_id}",
        f"{base}/tool-calls",
        f"{base}/metrics",
        f"{base}/sessions",
        f"{base}/logs",
        f"{base}/members",
        f"{base}/keys",
        f"{base}/activity",
        f"{base}/settings",
        "/teams",
        "/profile",
    ]


async def _settled(page: Page, path: str) -> None:
    await page.goto(path)
    await expect(page.locator("#checking-session")).to_have_count(0)
    await expect(page.get_by_text(re.compile(r"^Loading "))).to_have_count(0)
    await page.wait_for_timeout(500)


async def test_tabs_stay_on_one_row_and_the_sidebar_spans_long_pages(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "tabby")
    project_id, server_id = await _project(page, "Layout")
    for width in (1280, 1440):
        await page.set_viewport_size({"width": width, "height": 900})
        await _settled(page, f"/projects/{project_id}/servers")
        tops = await page.locator("#project-tabs a").evaluate_all(
            "links => links.map(link => Math.round(link.getBoundingClientRect().top))"
        )
        assert len(tops) == 10 and len(set(tops)) == 1, (width, tops)
    # A long page: the sidebar's background reaches its bottom.
    await _settled(page, f"/projects/{project_id}/servers/{server_id}")
    await page.locator("#server-tab-tools").click()
    heights = await page.evaluate(
        "() => [document.getElementById('sidebar').getBoundingClientRect().height,"
        " document.scrollingElement.scrollHeight]"
    )
    assert heights[1] > 900 and heights[0] >= heights[1] - 1, heights
    await shot(page, artifacts, "day-one-long-page-sidebar")
    assert js_errors == []


async def test_no_main_page_overflows_a_390_px_phone_and_add_server_is_reachable(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "phoebe", PHONE)
    project_id, server_id = await _project(page, "Phone")
    wide = {}
    for path in _main_pages(project_id, server_id):
        await _settled(page, path)
        extra = await _overflow(page)
        if extra > 0:
            wide[path] = extra
            await shot(
                page, artifacts, "day-one-phone-overflow-" + path.strip("/").replace("/", "-")
            )
    visitor = await (await new_context(viewport=PHONE)).new_page()
    for path in ("/login", "/signup"):
        await visitor.goto(path)
        await expect(visitor.locator("form")).to_be_visible()
        extra = await _overflow(visitor)
        if extra > 0:
            wide[path] = extra
    assert wide == {}, f"pages wider than 390 px (extra px): {wide}"
    await _settled(page, f"/projects/{project_id}/servers")
    add = page.locator("#add-server")
    await expect(add).to_be_in_viewport()
    box = await add.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    await shot(page, artifacts, "day-one-phone-servers")
    await add.click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    assert js_errors == []


async def test_main_pages_have_no_serious_accessibility_violations(
    new_context, artifacts: Path, js_errors: list[str]
):
    page = await _signed_up(new_context, "axel")
    project_id, server_id = await _project(page, "Access")
    await _try(page, project_id, server_id, "echo", {"text": "for the tables"})
    axe = AXE_SCRIPT.read_text()
    found: dict[str, list[str]] = {}
    for path in _main_pages(project_id, server_id):
        await _settled(page, path)
        await page.evaluate(axe)
        violations = await page.evaluate(
            """async () => {
                const result = await axe.run(document, {resultTypes: ['violations']});
                return result.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ' (' + v.impact + '): '
                        + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
            }"""
        )
        if violations:
            found[path] = violations
    assert found == {}, "\n".join(f"{path}: {v}" for path, v in found.items())
    assert js_errors == []
