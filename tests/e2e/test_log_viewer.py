"""The observability pages end to end: real MCP calls through the gateway (an SDK client over
streamable HTTP with a project API key, to our fixture server as a stdio process) and through
the REST "try a tool" route, then the tool-call viewer (filters, search, an expanded row with
its pretty JSON, refresh, the link to the session), the sessions, metrics and server-log
pages. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import Page, expect

from tests.e2e.steps import email_for, page_token, shot, sign_up
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.e2e

FIXTURE_SERVER = str(CHECKOUT / "tests" / "fixtures" / "mcp_fixture_server.py")
# Not a known client's name (the gateway would show that product's name instead).
CLIENT_NAME = "observatory-probe"


async def _rest(page: Page, method: str, path: str, data: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {await page_token(page)}"}
    response = await page.request.fetch(path, method=method, headers=headers, data=data)
    assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
    return await response.json()


async def _project_with_fixture_server(page: Page) -> tuple[str, str, str]:
    """A project with our fixture MCP server (stdio) and an API key: (project, server, key)."""
    project = await _rest(page, "POST", "/api/projects", {"name": "Observatory"})
    server = await _rest(
        page,
        "POST",
        f"/api/projects/{project['id']}/servers",
        {
            "name": "fixture",
            "transport": "stdio",
            "command": sys.executable,
            "args": [FIXTURE_SERVER],
        },
    )
    key = await _rest(page, "POST", f"/api/projects/{project['id']}/api-keys", {"name": "e2e"})
    return project["id"], server["id"], key["key"]


async def _calls_through_the_gateway(app_url: str, project_id: str, key: str) -> None:
    """One MCP client session: two successful calls and a failing one."""
    url = f"{app_url}/projects/{project_id}/servers/fixture/mcp"
    client_info = types.Implementation(name=CLIENT_NAME, version="0.9")
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, client_info=client_info) as session,
    ):
        await session.initialize()
        answer = await session.call_tool("echo", {"text": "hello from Paris"})
        assert answer.content[0].text == "hello from Paris"
        assert (await session.call_tool("add", {"a": 2, "b": 3})).is_error is False
        assert (await session.call_tool("fail", {"message": "kaboom on purpose"})).is_error


async def _try_tool(page: Page, project_id: str, server_id: str, text: str) -> None:
    path = f"/api/projects/{project_id}/servers/{server_id}/tools/echo/call"
    await _rest(page, "POST", path, {"arguments": {"text": text}})


async def _recorded(page: Page, project_id: str, calls: int) -> None:
    """Wait until the log writer has written ``calls`` calls (it writes in batches)."""
    for _ in range(100):
        listed = await _rest(page, "GET", f"/api/projects/{project_id}/tool-calls")
        if len(listed["items"]) >= calls:
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"{calls} calls were not recorded in 10 s")


def _rows(page: Page):
    return page.locator("#tool-calls-table tr.call-row")


async def _pick(page: Page, trigger_id: str, option: str) -> None:
    await page.locator(f"#{trigger_id}").click()
    await page.get_by_role("option", name=option, exact=True).click()


async def test_calls_are_filtered_expanded_refreshed_and_lead_to_their_session(
    new_context, app_url: str, artifacts: Path, js_errors: list[str]
):
    context = await new_context()
    page = await context.new_page()
    await sign_up(page, "Olivia Observer", email_for("observer"))
    project_id, server_id, key = await _project_with_fixture_server(page)
    await _calls_through_the_gateway(app_url, project_id, key)
    await _try_tool(page, project_id, server_id, "tried from the REST API")
    await _recorded(page, project_id, 4)

    await page.goto(f"/projects/{project_id}/tool-calls")
    rows = _rows(page)
    await expect(rows).to_have_count(4)
    await expect(page.locator("#time-range")).to_have_text("Last 30 minutes")
    await expect(rows.first).to_contain_text("echo")  # newest first: the REST call
    await expect(page.locator('tr.call-row[data-status="error"]')).to_contain_text(
        "kaboom on purpose"
    )
    await shot(page, artifacts, "observability-tool-calls")

    # Status filter, then free-text search in the arguments.
    await _pick(page, "filter-status", "error")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("fail")
    await _pick(page, "filter-status", "All statuses")
    await expect(rows).to_have_count(4)
    await page.locator("#filter-q").fill("paris")
    await page.locator("#filter-q").press("Enter")
    await expect(rows).to_have_count(1)
    await shot(page, artifacts, "observability-tool-calls-search")

    # The row expands to its full input and output as indented JSON.
    await rows.first.click()
    detail = page.locator("tr.call-detail")
    await expect(detail).to_be_visible()
    payloads = detail.locator(".call-payload")
    arguments = json.loads(await payloads.nth(0).inner_text())
    assert arguments == {"text": "hello from Paris"}
    assert '\n  "text": "hello from Paris"' in await payloads.nth(0).inner_text()
    await expect(payloads.nth(1)).to_contain_text("hello from Paris")
    await shot(page, artifacts, "observability-tool-calls-expanded")

    # A new call is merged in by a refresh; the open row stays open.
    await page.locator("#clear-filters").click()
    await expect(rows).to_have_count(4)
    await expect(page.locator("#filter-q")).to_have_value("")
    await expect(detail).to_be_visible()
    await _try_tool(page, project_id, server_id, "one more, from Paris")
    await _recorded(page, project_id, 5)
    await page.locator("#refresh-calls").click()
    await expect(rows).to_have_count(5)
    await expect(rows.first).to_contain_text("one more, from Paris")
    await expect(detail).to_contain_text('"text": "hello from Paris"')

    # From the gateway call to its client session, and back to the session's calls.
    await detail.locator(".session-link").click()
    await expect(page).to_have_url(re.compile(r"/sessions/?\?session="))
    session_rows = page.locator("#sessions-table tr.session-row")
    await expect(session_rows).to_have_count(1)
    await expect(session_rows.first).to_contain_text(CLIENT_NAME)
    await expect(session_rows.first).to_contain_text("2 ok")
    await expect(session_rows.first).to_contain_text("1 failed")
    await expect(page.locator("#one-session")).to_be_visible()
    await shot(page, artifacts, "observability-sessions-one")
    await session_rows.first.locator(".session-calls-link").click()
    await expect(page).to_have_url(re.compile(r"/tool-calls/?\?range=7d&session="))
    await expect(rows).to_have_count(3)
    await expect(page.locator("#filter-session_id")).not_to_have_value("")

    await page.goto(f"/projects/{project_id}/sessions")
    await expect(session_rows).to_have_count(1)
    await shot(page, artifacts, "observability-sessions")

    await page.goto(f"/projects/{project_id}/metrics")
    await expect(page.locator("#metric-total")).to_have_text("5")
    await expect(page.locator("#metric-success-rate")).to_have_text("80.0 %")
    await expect(page.locator("#top-tools")).to_contain_text("echo")
    await expect(page.locator("#failing-tools")).to_contain_text("fail")
    await expect(page.locator("#errors-by-code")).to_contain_text("tool error (no code)")
    await shot(page, artifacts, "observability-metrics")
    await _pick(page, "time-range", "Custom range (UTC)")
    await expect(page.locator("#range-since")).not_to_have_value("")
    await page.locator("#range-since").fill("2020-01-01T00:00")
    await page.locator("#range-until").fill("2020-01-02T00:00")
    await page.locator("#range-apply").click()
    await expect(page.get_by_text("No calls in this range")).to_be_visible()

    await page.goto(f"/projects/{project_id}/logs")
    await expect(page.locator("#server-logs")).to_be_visible()
    await expect(page.locator("#server-logs-table")).to_contain_text("fixture")
    await shot(page, artifacts, "observability-server-logs")
    await _pick(page, "log-level", "Errors only")
    await expect(page.locator("#server-logs-table tr.log-row[data-level='info']")).to_have_count(0)
    assert js_errors == []
