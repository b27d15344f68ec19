"""The servers pages' event handlers, run directly as a forged websocket event would run them
(tests/ui_events.py), against the real database and, for the live operations, a running gateway
with our fixture MCP server as a real stdio process."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.gateway.log_writer import LogWriter
from mcp_orch_app.gateway.runtime import Gateway, gateway_lifespan
from mcp_orch_app.models import McpServer, ToolCallLog, ToolPreference
from mcp_orch_app.models.enums import Role
from mcp_orch_app.services import projects, servers, tools
from mcp_orch_app.services.schemas import ServerIn
from mcp_orch_app.ui.states.server_detail import ServerDetailState
from mcp_orch_app.ui.states.server_editor import ServerEditorState
from mcp_orch_app.ui.states.servers import PAGE_SIZE, ServersState
from tests.helpers import FIXTURE_SERVER
from tests.ui_events import error_toasts, run_event, state_for

REPORTER_REFUSAL = "This needs a developer or owner of the project; you are a reporter."
STRANGER_REFUSAL = "You are not a member of this project."


@dataclass
class Project:
    id: str
    owner: Any
    developer: Any
    reporter: Any
    stranger: Any
    engine: Any

    @property
    def servers_path(self) -> str:
        return f"/projects/{self.id}/servers"

    def add_server(self, name: str = "fixture", **fields: Any) -> str:
        data = ServerIn(
            name=name,
            command=sys.executable,
            args=[str(FIXTURE_SERVER)],
            timeout_seconds=20,
            **fields,
        )
        with db.session_scope(self.engine) as s:
            return str(servers.create_server(s, self.owner.actor, self.id, data).id)

    def rows(self, model, *where) -> list[Any]:
        with Session(self.engine) as s:
            return list(s.exec(select(model).where(*where)))

    def server(self, server_id: str) -> McpServer:
        with Session(self.engine) as s:
            server = s.get(McpServer, uuid.UUID(server_id))
            s.expunge_all()
            return server


@pytest.fixture
def project(engine, make_person) -> Project:
    owner, developer = make_person("Olivia"), make_person("Dimitri")
    reporter, stranger = make_person("Rita"), make_person("Stan")
    with db.session_scope(engine) as s:
        created = projects.create_project(s, owner.actor, "Servers")
        projects.add_member(s, owner.actor, created.id, developer.email, Role.DEVELOPER)
        projects.add_member(s, owner.actor, created.id, reporter.email, Role.REPORTER)
    return Project(str(created.id), owner, developer, reporter, stranger, engine)


@pytest.fixture
async def gateway(engine) -> AsyncIterator[Gateway]:
    """The process's gateway, as the app's lifespan runs it (the handlers find it there)."""
    async with gateway_lifespan(
        Gateway(writer=LogWriter(engine, flush_interval=0.05), backoff_initial=0.1)
    ) as running:
        yield running


def _handler_names(events: list) -> list[str]:
    """The handlers of the events sent back (a bare handler, or a call of one)."""
    return [getattr(event, "handler", event).fn.__qualname__ for event in events]


# --- the add / edit dialog --------------------------------------------------------------------


async def test_a_developer_adds_a_stdio_server_and_a_refusal_keeps_what_was_typed(project):
    editor = state_for(ServerEditorState, project.servers_path, project.developer.token)
    await run_event(ServerEditorState.open_new, editor, "form")
    await run_event(ServerEditorState.set_text, editor, "name", "fixture")
    await run_event(ServerEditorState.add_pair, editor, "env")
    await run_event(ServerEditorState.set_pair, editor, "env", 0, "key", "GREETING")
    await run_event(ServerEditorState.set_pair, editor, "env", 0, "value", "a-long-secret-value")

    await run_event(ServerEditorState.save, editor)
    assert editor.error == "A stdio server needs a command (for example npx or uvx)."
    assert (editor.is_open, editor.name, editor.env[0].value) == (
        True,
        "fixture",
        "a-long-secret-value",
    )

    await run_event(ServerEditorState.set_text, editor, "command", sys.executable)
    await run_event(ServerEditorState.add_arg, editor)
    await run_event(ServerEditorState.set_arg, editor, 0, str(FIXTURE_SERVER))
    await run_event(ServerEditorState.add_arg, editor)  # left empty: not an argument
    await run_event(ServerEditorState.set_text, editor, "timeout", "soon")
    await run_event(ServerEditorState.save, editor)
    assert editor.error == "The timeout must be a whole number of seconds, for example 60."
    assert project.rows(McpServer) == []

    await run_event(ServerEditorState.set_text, editor, "timeout", "20")
    events = await run_event(ServerEditorState.save, editor)

    assert editor.error == "" and editor.is_open is False
    assert "ServersState.reload" in _handler_names(events)
    [server] = project.rows(McpServer)
    assert (server.name, server.command, server.args) == (
        "fixture",
        sys.executable,
        [str(FIXTURE_SERVER)],
    )
    assert (server.env, server.timeout_seconds) == ({"GREETING": "a-long-secret-value"}, 20)


async def test_a_remote_server_with_a_bad_url_or_a_taken_name_is_refused_in_the_dialog(project):
    project.add_server("taken")
    editor = state_for(ServerEditorState, project.servers_path, project.developer.token)
    await run_event(ServerEditorState.open_new, editor, "form")
    await run_event(ServerEditorState.set_text, editor, "name", "docs")
    await run_event(ServerEditorState.set_text, editor, "transport", "streamable_http")
    await run_event(ServerEditorState.set_text, editor, "url", "ftp://docs.example.com/mcp")
    await run_event(ServerEditorState.add_pair, editor, "headers")
    await run_event(ServerEditorState.set_pair, editor, "headers", 0, "value", "orphan")

    await run_event(ServerEditorState.save, editor)
    assert editor.error == "The header in row 1 has a value but no name."
    await run_event(ServerEditorState.set_pair, editor, "headers", 0, "key", "Authorization")
    await run_event(ServerEditorState.save, editor)
    assert (
        editor.error
        == "The url 'ftp://docs.example.com/mcp' must be an http:// or https:// address."
    )
    await run_event(ServerEditorState.set_text, editor, "url", "https://docs.example.com/mcp")
    await run_event(ServerEditorState.set_text, editor, "name", "Taken")
    await run_event(ServerEditorState.save, editor)
    assert editor.error == "A server named 'Taken' already exists in this project."

    assert (editor.url, editor.headers[0].key, editor.headers[0].value) == (
        "https://docs.example.com/mcp",
        "Authorization",
        "orphan",
    )
    assert [s.name for s in project.rows(McpServer)] == ["taken"]


async def test_editing_a_server_keeps_its_masked_secrets(project):
    server_id = project.add_server(env={"TOKEN": "a-very-secret-token"})
    editor = state_for(
        ServerEditorState, f"{project.servers_path}/{server_id}", project.developer.token
    )

    await run_event(ServerEditorState.open_edit, editor, server_id)
    assert editor.title == "Edit fixture"
    assert editor.env[0].key == "TOKEN" and "secret" not in editor.env[0].value
    await run_event(ServerEditorState.set_text, editor, "description", "our fixture")
    events = await run_event(ServerEditorState.save, editor)

    assert editor.error == "" and "ServerDetailState.reload" in _handler_names(events)
    stored = project.server(server_id)
    assert (stored.description, stored.env) == ("our fixture", {"TOKEN": "a-very-secret-token"})


async def test_a_json_import_reports_each_entry_and_bad_json_creates_nothing(project):
    project.add_server("existing")
    editor = state_for(ServerEditorState, project.servers_path, project.developer.token)
    await run_event(ServerEditorState.open_new, editor, "json")
    await run_event(ServerEditorState.set_text, editor, "json_text", '{"mcpServers": {')

    await run_event(ServerEditorState.import_json, editor)
    assert editor.import_error.startswith("This is not valid JSON: ")
    assert editor.json_text == '{"mcpServers": {'
    assert [s.name for s in project.rows(McpServer)] == ["existing"]

    document = {
        "mcpServers": {
            "files": {"command": sys.executable, "args": [str(FIXTURE_SERVER)]},
            "existing": {"command": "npx"},
            "broken": {"url": "not a url"},
        }
    }
    await run_event(ServerEditorState.set_text, editor, "json_text", json.dumps(document))
    events = await run_event(ServerEditorState.import_json, editor)

    assert editor.import_error == ""
    assert [(r.name, r.outcome) for r in editor.import_results] == [
        ("files", "created"),
        ("existing", "skipped"),
        ("broken", "failed"),
    ]
    assert "must be an http:// or https:// address" in editor.import_results[2].reason
    assert "ServersState.reload" in _handler_names(events)
    assert sorted(s.name for s in project.rows(McpServer)) == ["existing", "files"]


# --- refusals -----------------------------------------------------------------------------------


async def test_forced_events_from_a_reporter_change_nothing_and_show_the_refusal(project):
    server_id = project.add_server()
    with db.session_scope(project.engine) as s:
        echo = {"name": "echo", "inputSchema": {"type": "object", "properties": {}}}
        tools.sync_tool_cache(s, uuid.UUID(server_id), [echo])
    path = f"{project.servers_path}/{server_id}"
    page = state_for(ServersState, project.servers_path, project.reporter.token)
    detail = state_for(ServerDetailState, path, project.reporter.token)
    editor = state_for(ServerEditorState, path, project.reporter.token)
    await run_event(ServersState.load, page)
    await run_event(ServerDetailState.load, detail)
    assert [s.name for s in page.servers] == ["fixture"] and detail.server.name == "fixture"

    refused = [
        await run_event(ServersState.set_enabled, page, server_id, False),
        await run_event(ServersState.delete, page, server_id),
        await run_event(ServersState.restart, page, server_id),
        await run_event(ServerDetailState.set_tool_enabled, detail, "echo", False),
        await run_event(ServerDetailState.restart, detail),
    ]
    await run_event(ServerDetailState.choose_tool, detail, "echo")
    refused.append(await run_event(ServerDetailState.try_call, detail, {}))
    await run_event(ServerEditorState.open_edit, editor, server_id)
    await run_event(ServerEditorState.set_text, editor, "name", "renamed")
    refused.append(await run_event(ServerEditorState.save, editor))

    for events in refused:
        assert error_toasts(events) and REPORTER_REFUSAL in error_toasts(events)[0]
    assert editor.is_open is True and editor.name == "renamed"
    stored = project.server(server_id)
    assert (stored.name, stored.enabled, stored.restart_count) == ("fixture", True, 0)
    assert project.rows(ToolPreference) == []
    assert project.rows(ToolCallLog) == []
    assert page.checking == [] and page.busy_id == ""


async def test_forced_events_from_a_non_member_change_nothing(project):
    server_id = project.add_server()
    page = state_for(ServersState, project.servers_path, project.stranger.token)
    detail = state_for(
        ServerDetailState, f"{project.servers_path}/{server_id}", project.stranger.token
    )
    editor = state_for(ServerEditorState, project.servers_path, project.stranger.token)

    await run_event(ServersState.load, page)
    await run_event(ServerDetailState.load, detail)
    assert page.problem == STRANGER_REFUSAL and page.servers == []
    assert detail.problem == STRANGER_REFUSAL and detail.server.name == "" and detail.snippets == []

    refused = [
        await run_event(ServersState.delete, page, server_id),
        await run_event(ServersState.set_enabled, page, server_id, False),
        await run_event(ServersState.refresh, page, server_id),
        await run_event(ServersState.export, page),
        await run_event(ServerDetailState.set_tool_enabled, detail, "echo", False),
    ]
    await run_event(
        ServerEditorState.set_text, editor, "json_text", '{"mcpServers": {"x": {"command": "npx"}}}'
    )
    refused.append(await run_event(ServerEditorState.import_json, editor))

    for events in refused:
        assert STRANGER_REFUSAL in error_toasts(events)[0]
    assert [s.name for s in project.rows(McpServer)] == ["fixture"]
    assert project.server(server_id).enabled is True
    assert project.rows(ToolPreference) == []


# --- live operations through the running gateway ---------------------------------------------


async def test_refresh_try_and_disable_a_tool_from_the_pages(project, gateway):
    server_id = project.add_server()
    project.add_server("switched-off", enabled=False)
    page = state_for(ServersState, project.servers_path, project.developer.token)
    await run_event(ServersState.load, page)

    events = await run_event(ServersState.refresh_all, page)
    assert page.refreshing_all is False and page.checking == []
    [fixture] = [s for s in page.servers if s.id == server_id]
    assert (fixture.status, fixture.last_error) == ("online", "")
    assert fixture.tools_count > 5
    assert [s.status for s in page.servers if s.name == "switched-off"] == ["disabled"]
    assert not error_toasts(events)

    detail = state_for(
        ServerDetailState, f"{project.servers_path}/{server_id}", project.developer.token
    )
    await run_event(ServerDetailState.load, detail)
    assert {"echo", "add"} <= {t.name for t in detail.tools}
    assert [(h.old, h.new) for h in detail.history] == [("unknown", "online")]
    assert {(s.client, s.scope) for s in detail.snippets} >= {
        ("cursor", "server"),
        ("vscode", "unified"),
    }
    assert all(s.url.startswith("http://testserver/projects/") for s in detail.snippets)

    await run_event(ServerDetailState.choose_tool, detail, "echo")
    assert [(f.name, f.kind, f.required) for f in detail.try_fields] == [("text", "string", True)]
    await run_event(ServerDetailState.try_call, detail, {"text": "hello from the page"})
    assert (detail.result_tool, detail.result_text, detail.result_is_error) == (
        "echo",
        "hello from the page",
        False,
    )
    assert detail.result_duration.endswith(" ms")

    await run_event(ServerDetailState.choose_tool, detail, "add")
    await run_event(ServerDetailState.try_call, detail, {"a": "one", "b": "2"})
    assert detail.try_error == "a must be a number (you typed 'one')."
    assert detail.result_tool == "echo"  # nothing was called
    await asyncio.to_thread(gateway.writer.flush, 10)
    assert [c.tool_name for c in project.rows(ToolCallLog)] == ["echo"]

    await run_event(ServerDetailState.set_tool_enabled, detail, "echo", False)
    assert [t.enabled for t in detail.tools if t.name == "echo"] == [False]
    await run_event(ServerDetailState.choose_tool, detail, "echo")
    await run_event(ServerDetailState.try_call, detail, {"text": "still there?"})
    assert detail.result_is_error is True and "disabled" in detail.result_text

    await run_event(ServerDetailState.restart, detail)
    assert project.server(server_id).restart_count == 1
    await asyncio.to_thread(gateway.writer.flush, 10)
    await run_event(ServerDetailState.reload, detail)
    assert detail.server.restart_count == 1 and detail.server.status == "online"
    assert {log.category for log in detail.logs} >= {"status_change", "start"}


async def test_the_list_is_shown_a_page_at_a_time_and_deletes_ask_first(project):
    names = [f"s{n:02d}" for n in range(PAGE_SIZE + 3)]
    ids = {name: project.add_server(name) for name in names}
    page = state_for(ServersState, project.servers_path, project.developer.token)
    await run_event(ServersState.load, page)
    assert [s.name for s in page.servers] == names[:PAGE_SIZE]
    assert (page.total, page.page_label, page.is_last_page) == (
        PAGE_SIZE + 3,
        f"1 to {PAGE_SIZE} of {PAGE_SIZE + 3}",
        False,
    )

    await run_event(ServersState.next_page, page)
    assert [s.name for s in page.servers] == names[PAGE_SIZE:]
    await run_event(ServersState.next_page, page)  # already the last page
    assert page.page == 1 and page.is_last_page

    # Deleting asks first, naming the server; cancelling deletes nothing.
    await run_event(ServersState.ask_delete, page, ids["s51"])
    assert (page.pending_delete_id, page.pending_delete_name) == (ids["s51"], "s51")
    await run_event(ServersState.cancel_delete, page)
    assert page.pending_delete_id == "" and project.server(ids["s51"]) is not None

    # Deleting the last page's rows moves back to the page before.
    for name in names[PAGE_SIZE:]:
        await run_event(ServersState.delete, page, ids[name])
    assert page.page == 0 and [s.name for s in page.servers] == names[:PAGE_SIZE]
    assert page.total == PAGE_SIZE and not page.has_more_pages
