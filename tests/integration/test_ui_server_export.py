"""The export dialog and the import tab with encrypted exports, run as forged events would run
them (tests/ui_events.py) against the real database: what the browser downloads, what the
import stores."""

from __future__ import annotations

import base64
import json
import uuid

from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models import McpServer
from mcp_orch_app.models.enums import Role
from mcp_orch_app.security import sealed_export
from mcp_orch_app.services import projects, servers
from mcp_orch_app.services.schemas import ServerIn
from mcp_orch_app.ui.states.server_editor import ServerEditorState
from mcp_orch_app.ui.states.servers import ServersState
from tests.ui_events import error_toasts, run_event, state_for

SECRET = "a-very-secret-token-1234"
PASSPHRASE = "purple otter lantern"


def _downloads(events: list) -> list[tuple[str, object]]:
    """(filename, JSON document) of each rx.download among the events."""
    found = []
    for event in events:
        handler = getattr(getattr(event, "handler", None), "fn", None)
        if handler is None or not handler.__qualname__.startswith("_download"):
            continue
        args = {name._js_expr: value._var_value for name, value in event.args}
        url = args["url"]
        assert url.startswith("data:application/json;base64,")
        found.append((args["filename"], json.loads(base64.b64decode(url.split(",", 1)[1]))))
    return found


def _setup(engine, make_person):
    owner, developer = make_person("Olivia"), make_person("Dimitri")
    with db.session_scope(engine) as s:
        source = projects.create_project(s, owner.actor, "Source").id
        target = projects.create_project(s, owner.actor, "Target").id
        projects.add_member(s, owner.actor, source, developer.email, Role.DEVELOPER)
        servers.create_server(
            s, owner.actor, source, ServerIn(name="time", command="uvx", env={"TOKEN": SECRET})
        )
    return owner, developer, str(source), str(target)


def _stored(engine, project_id: str) -> dict[str, dict]:
    with Session(engine) as s:
        rows = s.exec(select(McpServer).where(McpServer.project_id == uuid.UUID(project_id)))
        return {row.name: dict(row.env or {}) for row in rows}


async def test_export_dialog_downloads_a_sealed_file_that_the_import_tab_opens(engine, make_person):
    owner, _developer, source, target = _setup(engine, make_person)
    page = state_for(ServersState, f"/projects/{source}/servers", owner.token)
    await run_event(ServersState.open_export, page)
    await run_event(ServersState.set_export_with_secrets, page, True)
    mistyped = {"passphrase": PASSPHRASE, "confirm": PASSPHRASE + "x"}
    assert _downloads(await run_event(ServersState.export, page, mistyped)) == []
    assert page.export_error == "The two passphrases differ; type the same one twice."
    assert page.export_open is True

    form = {"passphrase": PASSPHRASE, "confirm": PASSPHRASE}
    [(filename, envelope)] = _downloads(await run_event(ServersState.export, page, form))
    assert filename == "mcp-servers.encrypted.json" and sealed_export.is_sealed(envelope)
    assert SECRET not in json.dumps(envelope) and PASSPHRASE not in json.dumps(page.dict())
    assert page.export_open is False

    editor = state_for(ServerEditorState, f"/projects/{target}/servers", owner.token)
    await run_event(ServerEditorState.open_new, editor, "json")
    await run_event(ServerEditorState.set_text, editor, "json_text", json.dumps(envelope))
    assert editor.import_is_sealed is True
    await run_event(ServerEditorState.import_json, editor)
    assert editor.import_error == "Enter the passphrase of the encrypted export."
    await run_event(ServerEditorState.set_text, editor, "import_passphrase", "wrong passphrase")
    await run_event(ServerEditorState.import_json, editor)
    assert editor.import_error == "The passphrase is wrong for this encrypted export."
    assert _stored(engine, target) == {}

    await run_event(ServerEditorState.set_text, editor, "import_passphrase", PASSPHRASE)
    await run_event(ServerEditorState.import_json, editor)
    assert editor.import_error == ""
    assert [(r.name, r.outcome) for r in editor.import_results] == [("time", "created")]
    assert _stored(engine, target) == {"time": {"TOKEN": SECRET}}


async def test_plain_export_dialog_masks_and_its_reimport_elsewhere_refuses_the_mask(
    engine, make_person
):
    owner, developer, source, target = _setup(engine, make_person)
    page = state_for(ServersState, f"/projects/{source}/servers", developer.token)
    await run_event(ServersState.open_export, page)
    [(filename, document)] = _downloads(await run_event(ServersState.export, page))
    assert filename == "mcp-servers.json"
    assert document["mcpServers"]["time"]["env"]["TOKEN"].startswith("••••••")

    # A developer may not take the secrets out, even by forging the dialog's events.
    await run_event(ServersState.set_export_with_secrets, page, True)
    form = {"passphrase": PASSPHRASE, "confirm": PASSPHRASE}
    events = await run_event(ServersState.export, page, form)
    assert _downloads(events) == [] and "Only an owner" in error_toasts(events)[0]

    editor = state_for(ServerEditorState, f"/projects/{target}/servers", owner.token)
    await run_event(ServerEditorState.open_new, editor, "json")
    await run_event(ServerEditorState.set_text, editor, "json_text", json.dumps(document))
    assert editor.import_is_sealed is False
    await run_event(ServerEditorState.import_json, editor)
    [row] = editor.import_results
    assert (row.name, row.outcome) == ("time", "failed") and "masked" in row.reason
    assert _stored(engine, target) == {}
