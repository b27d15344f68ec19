"""The add / edit dialog checks what it saved (in the background) and splits a pasted command
line like a shell; run as forged events would run them (tests/ui_events.py), against the real
database and, for the checks, a running gateway with our fixture MCP server as a process."""

from __future__ import annotations

import json
import sys

from mcp_orch_app.models import McpServer
from mcp_orch_app.ui.states.rows import ServerDetailRow
from mcp_orch_app.ui.states.server_detail import ServerDetailState
from mcp_orch_app.ui.states.server_editor import ServerEditorState
from mcp_orch_app.ui.states.servers import ServersState
from tests.helpers import FIXTURE_SERVER
from tests.integration.test_ui_servers import gateway, project  # noqa: F401 (fixtures)
from tests.ui_events import error_toasts, run_event, state_for

EVERYTHING = "npx -y @modelcontextprotocol/server-everything"


def _check_events(events: list) -> list:
    """The check_saved / refresh events among what a handler sent back, with their args."""
    found = []
    for event in events:
        name = getattr(event, "handler", event).fn.__qualname__
        if name in ("ServersState.check_saved", "ServerDetailState.refresh"):
            args = [value._var_value for _, value in getattr(event, "args", ())]
            found.append((name, args))
    return found


async def test_a_pasted_command_line_is_split_like_a_shell(project):  # noqa: F811
    editor = state_for(ServerEditorState, project.servers_path, project.developer.token)
    await run_event(ServerEditorState.open_new, editor, "form")
    await run_event(ServerEditorState.set_text, editor, "args_line", EVERYTHING)
    await run_event(ServerEditorState.split_args_line, editor)
    assert (editor.command, editor.args, editor.args_line) == (
        "npx",
        ["-y", "@modelcontextprotocol/server-everything"],
        "",
    )
    assert editor.args_warning == ""

    # With a command already there, the line is its arguments; quotes keep a space inside.
    await run_event(ServerEditorState.set_text, editor, "args_line", '-y "/srv/my files" --x=1')
    await run_event(ServerEditorState.split_args_line, editor)
    assert (editor.command, editor.args) == ("npx", ["-y", "/srv/my files", "--x=1"])
    assert editor.args_warning.startswith("Argument 2 contains a space")

    await run_event(ServerEditorState.set_text, editor, "args_line", '-y "unclosed')
    await run_event(ServerEditorState.split_args_line, editor)
    assert editor.error.startswith("The command line cannot be split")
    assert editor.args == ["-y", "/srv/my files", "--x=1"]


async def test_two_arguments_typed_in_one_row_are_warned_about(project):  # noqa: F811
    editor = state_for(ServerEditorState, project.servers_path, project.developer.token)
    await run_event(ServerEditorState.open_new, editor, "form")
    await run_event(ServerEditorState.add_arg, editor)
    await run_event(ServerEditorState.set_arg, editor, 0, "-y @modelcontextprotocol/everything")
    assert "Argument 1 contains a space" in editor.args_warning


async def test_a_line_pasted_but_not_split_is_split_on_save(project):  # noqa: F811
    editor = state_for(ServerEditorState, project.servers_path, project.developer.token)
    await run_event(ServerEditorState.open_new, editor, "form")
    await run_event(ServerEditorState.set_text, editor, "name", "everything")
    await run_event(ServerEditorState.set_text, editor, "args_line", EVERYTHING)
    await run_event(ServerEditorState.save, editor)
    [server] = project.rows(McpServer)
    assert (server.command, server.args) == (
        "npx",
        ["-y", "@modelcontextprotocol/server-everything"],
    )


def test_the_detail_page_shows_args_as_a_list_and_warns_about_spaces():
    from mcp_orch_app.services.schemas import ServerOut

    fields = dict.fromkeys(("id", "project_id"), "00000000-0000-0000-0000-000000000001")
    now = "2026-01-01T00:00:00Z"
    server = ServerOut.model_validate(
        {
            **fields,
            "name": "everything",
            "description": "",
            "transport": "stdio",
            "command": "npx",
            "args": ["-y @modelcontextprotocol/server-everything"],
            "env": {},
            "cwd": None,
            "url": None,
            "headers": {},
            "timeout_seconds": 60,
            "enabled": True,
            "auto_restart": True,
            "allow_anonymous": False,
            "status": "unknown",
            "tools_count": 0,
            "last_checked_at": None,
            "last_error": None,
            "restart_count": 0,
            "created_at": now,
            "updated_at": now,
        }
    )
    [args] = [line for line in ServerDetailRow.of(server).config if line.label == "Arguments"]
    assert args.listed == ["-y @modelcontextprotocol/server-everything"]
    assert "Argument 1 contains a space" in args.warning


async def test_create_edit_and_import_each_start_a_check_of_what_was_saved(project):  # noqa: F811
    editor = state_for(ServerEditorState, project.servers_path, project.developer.token)
    await run_event(ServerEditorState.open_new, editor, "form")
    await run_event(ServerEditorState.set_text, editor, "name", "fixture")
    await run_event(ServerEditorState.set_text, editor, "command", sys.executable)
    await run_event(ServerEditorState.set_text, editor, "args_line", str(FIXTURE_SERVER))
    events = await run_event(ServerEditorState.save, editor)
    [server] = project.rows(McpServer)
    assert _check_events(events) == [("ServersState.check_saved", [[str(server.id)]])]

    detail_path = f"{project.servers_path}/{server.id}"
    on_detail = state_for(ServerEditorState, detail_path, project.developer.token)
    await run_event(ServerEditorState.open_edit, on_detail, str(server.id))
    await run_event(ServerEditorState.set_text, on_detail, "description", "checked again")
    events = await run_event(ServerEditorState.save, on_detail)
    assert _check_events(events) == [("ServerDetailState.refresh", [])]

    document = {
        "mcpServers": {
            "on": {"command": sys.executable, "args": [str(FIXTURE_SERVER)]},
            "off": {"command": sys.executable, "disabled": True},
        }
    }
    await run_event(ServerEditorState.open_new, editor, "json")
    await run_event(ServerEditorState.set_text, editor, "json_text", json.dumps(document))
    events = await run_event(ServerEditorState.import_json, editor)
    imported = {str(s.id) for s in project.rows(McpServer) if s.name in ("on", "off")}
    # Every created entry is handed on; check_saved itself skips the disabled ones.
    [(name, [ids])] = _check_events(events)
    assert name == "ServersState.check_saved" and set(ids) == imported


async def test_check_saved_shows_checking_then_the_live_status(project, gateway):  # noqa: F811
    server_id = project.add_server()
    off_id = project.add_server("off", enabled=False)
    page = state_for(ServersState, project.servers_path, project.developer.token)
    await run_event(ServersState.load, page)
    assert [s.status for s in page.servers if s.id == server_id] == ["unknown"]

    events = await run_event(ServersState.check_saved, page, [server_id, off_id])
    assert page.checking == [] and not error_toasts(events)
    [fixture] = [s for s in page.servers if s.id == server_id]
    assert fixture.status == "online" and fixture.tools_count > 5
    assert [s.status for s in page.servers if s.id == off_id] == ["disabled"]

    # Someone outside the project cannot make the page check anything.
    stranger = state_for(ServersState, project.servers_path, project.stranger.token)
    events = await run_event(ServersState.check_saved, stranger, [server_id])
    assert "not a member" in error_toasts(events)[0]
    assert stranger.checking == []


async def test_detail_refresh_after_an_edit_updates_the_status(project, gateway):  # noqa: F811
    server_id = project.add_server()
    detail = state_for(
        ServerDetailState, f"{project.servers_path}/{server_id}", project.developer.token
    )
    await run_event(ServerDetailState.load, detail)
    await run_event(ServerDetailState.refresh, detail)
    assert detail.checking == []
    assert project.server(server_id).status.value == "online"
