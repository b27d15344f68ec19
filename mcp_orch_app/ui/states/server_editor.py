"""The add / edit dialog of a server (a form per transport) and its JSON import tab.

The form is held in this state field by field, so a refusal of the services (a bad URL, a name
already taken) is shown in the dialog with everything the user typed still there. Editing
starts from the masked configuration: a masked value sent back unchanged keeps the stored
secret (services/servers.py). After a save the page behind the dialog reads its data again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.security import sealed_export
from mcp_orch_app.services import servers
from mcp_orch_app.services.errors import Conflict, InvalidInput
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ImportOut, ServerIn, ServerOut, ServerPatch
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.live import route_ids
from mcp_orch_app.ui.states.rows import ImportResultRow, import_results
from mcp_orch_app.ui.states.server_detail import ServerDetailState
from mcp_orch_app.ui.states.servers import ServersState

DEFAULT_TIMEOUT = "60"
# The text fields a browser may set through ``set_text`` (no other attribute of the state).
TEXT_FIELDS = (
    "name",
    "description",
    "transport",
    "command",
    "cwd",
    "url",
    "timeout",
    "json_text",
    "import_passphrase",
    "args_line",
)
# The key/value lists: environment variables (stdio) and HTTP headers (remote).
PAIR_LISTS = ("env", "headers")
EXAMPLE_JSON = """{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv/files"]
    },
    "docs": {
      "type": "streamable_http",
      "url": "https://mcp.example.com/mcp",
      "headers": {"Authorization": "Bearer your-token"}
    }
  }
}"""


@dataclasses.dataclass
class KeyValue:
    key: str = ""
    value: str = ""


def _pairs(rows: list[KeyValue], what: str) -> dict[str, str]:
    """The filled-in rows as a dict; a value without a name or a name given twice is refused."""
    values: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        key = row.key.strip()
        if not key:
            if row.value:
                raise InvalidInput(f"The {what} in row {number} has a value but no name.")
            continue
        if key in values:
            raise InvalidInput(f"The {what} {key} is given twice.")
        values[key] = row.value
    return values


def _timeout(text: str) -> int:
    value = text.strip()
    if not value.isdigit():
        raise InvalidInput("The timeout must be a whole number of seconds, for example 60.")
    return int(value)


def _import(db: Session, actor: Actor, project_id: str, document: Any, passphrase: str | None):
    """Import the document; with the names the project had before, to tell skips from failures."""
    before = {s.name.lower() for s in servers.list_servers(db, actor, project_id)}
    report: ImportOut = servers.import_servers(db, actor, project_id, document, passphrase)
    return report, before


class ServerEditorState(AuthState):
    is_open: bool = False
    # "form" or "json" (the import tab; only when adding).
    tab: str = "form"
    # The server being edited; empty while adding a new one.
    server_id: str = ""
    editing_name: str = ""
    loading: bool = False
    saving: bool = False
    error: str = ""
    name: str = ""
    description: str = ""
    transport: str = "stdio"
    command: str = ""
    args: list[str] = []
    # A pasted command line, split into ``command`` / ``args`` like a shell would split it.
    args_line: str = ""
    env: list[KeyValue] = []
    cwd: str = ""
    url: str = ""
    headers: list[KeyValue] = []
    timeout: str = DEFAULT_TIMEOUT
    enabled: bool = True
    auto_restart: bool = True
    show_secrets: bool = False
    json_text: str = ""
    # The passphrase of a pasted encrypted export (asked only when the text is one).
    import_passphrase: str = ""
    importing: bool = False
    import_error: str = ""
    import_results: list[ImportResultRow] = []

    @rx.var
    def is_stdio(self) -> bool:
        return self.transport == "stdio"

    @rx.var
    def args_warning(self) -> str:
        return servers.spaced_args_warning([a for a in self.args if a != ""])

    @rx.var
    def import_is_sealed(self) -> bool:
        return sealed_export.FORMAT in self.json_text

    @rx.var
    def title(self) -> str:
        return f"Edit {self.editing_name}" if self.server_id else "Add a server"

    def _clear(self) -> None:
        """A fresh dialog: every field of this state back to its default."""
        self.reset()

    def _fill(self, server: ServerOut) -> None:
        self.server_id = str(server.id)
        self.editing_name = server.name
        self.name = server.name
        self.description = server.description
        self.transport = server.transport.value
        self.command = server.command or ""
        self.args = list(server.args)
        self.env = [KeyValue(k, v) for k, v in server.env.items()]
        self.cwd = server.cwd or ""
        self.url = server.url or ""
        self.headers = [KeyValue(k, v) for k, v in server.headers.items()]
        self.timeout = str(server.timeout_seconds)
        self.enabled = server.enabled
        self.auto_restart = server.auto_restart

    @rx.event
    def open_new(self, tab: str = "form"):
        self._clear()
        self.tab = "json" if tab == "json" else "form"
        self.is_open = True

    @rx.event
    async def open_edit(self, server_id: str):
        self._clear()
        self.is_open = True

        async def read():
            self._fill(await self._call(servers.get_server, route_ids(self)[0], server_id))

        async for event in self._attempt("loading", read, error="error"):
            yield event

    @rx.event
    def set_open(self, is_open: bool):
        self.is_open = is_open

    @rx.event
    def set_tab(self, tab: str):
        if not self.server_id and tab in ("form", "json"):
            self.tab = tab

    @rx.event
    def set_text(self, field: str, value: str):
        if field in TEXT_FIELDS:
            setattr(self, field, str(value))

    @rx.event
    def set_enabled(self, enabled: bool):
        self.enabled = bool(enabled)

    @rx.event
    def set_auto_restart(self, auto_restart: bool):
        self.auto_restart = bool(auto_restart)

    @rx.event
    def set_show_secrets(self, show: bool):
        self.show_secrets = bool(show)

    @rx.event
    def add_arg(self):
        self.args = [*self.args, ""]

    @rx.event
    def set_arg(self, index: int, value: str):
        if 0 <= index < len(self.args):
            self.args = [str(value) if i == index else a for i, a in enumerate(self.args)]

    def _split_args_line(self) -> None:
        if not self.args_line.strip():
            return
        self.command, self.args = servers.split_command_line(self.args_line, self.command)
        self.args_line = ""

    @rx.event
    def split_args_line(self):
        """Split the pasted command line into the command and one row per argument."""
        self.error = ""
        try:
            self._split_args_line()
        except InvalidInput as exc:
            self.error = exc.message

    @rx.event
    def remove_arg(self, index: int):
        self.args = [a for i, a in enumerate(self.args) if i != index]

    @rx.event
    def add_pair(self, which: str):
        if which in PAIR_LISTS:
            setattr(self, which, [*getattr(self, which), KeyValue()])

    @rx.event
    def set_pair(self, which: str, index: int, part: str, value: str):
        if which not in PAIR_LISTS or part not in ("key", "value"):
            return
        rows: list[KeyValue] = getattr(self, which)
        if 0 <= index < len(rows):
            changed = dataclasses.replace(rows[index], **{part: str(value)})
            setattr(self, which, [changed if i == index else r for i, r in enumerate(rows)])

    @rx.event
    def remove_pair(self, which: str, index: int):
        if which in PAIR_LISTS:
            setattr(self, which, [r for i, r in enumerate(getattr(self, which)) if i != index])

    def _fields(self) -> dict[str, Any]:
        """The form as the services take it (they validate the values themselves)."""
        return {
            "name": self.name,
            "description": self.description,
            "transport": self.transport,
            "command": self.command,
            "args": [a for a in self.args if a != ""],
            "env": _pairs(self.env, "environment variable"),
            "cwd": self.cwd,
            "url": self.url,
            "headers": _pairs(self.headers, "header"),
            "timeout_seconds": _timeout(self.timeout),
            "enabled": self.enabled,
            "auto_restart": self.auto_restart,
        }

    def _refresh_page(self):
        """The event that makes the page behind the dialog read its data again."""
        return ServerDetailState.reload if route_ids(self)[1] else ServersState.reload

    def _check_saved(self, servers_saved: list[ServerOut | Any]) -> list:
        """The events that live-check what was just saved (in the background: the dialog
        closes at once and the page shows "checking…" until the server answered)."""
        ids = [str(s.id) for s in servers_saved if getattr(s, "enabled", True)]
        if not ids:
            return []
        if route_ids(self)[1]:
            return [ServerDetailState.refresh]
        return [ServersState.check_saved(ids)]

    @rx.event
    async def save(self):
        async def store():
            project_id = route_ids(self)[0]
            # A command line pasted but not split yet counts as what it says.
            self._split_args_line()
            fields = self._fields()
            if self.server_id:
                patch = ServerPatch(**fields)
                saved = await self._call(servers.update_server, project_id, self.server_id, patch)
                verb = "saved"
            else:
                saved = await self._call(servers.create_server, project_id, ServerIn(**fields))
                verb = "added"
            self.is_open = False
            return [
                self._refresh_page(),
                rx.toast.success(f"{saved.name} {verb}."),
                *self._check_saved([saved]),
            ]

        async for event in self._attempt(
            "saving", store, error="error", shown=(InvalidInput, Conflict)
        ):
            yield event

    @rx.event
    async def import_json(self):
        async def run():
            document = servers.parse_import_document(self.json_text)
            passphrase = self.import_passphrase if sealed_export.is_sealed(document) else None
            report, before = await self._call(_import, route_ids(self)[0], document, passphrase)
            self.import_passphrase = ""
            self.import_results = import_results(report, before)
            created = len(report.created)
            toast = (
                rx.toast.success(f"Imported {created} server{'' if created == 1 else 's'}.")
                if created and not report.errors
                else rx.toast.warning(
                    f"Imported {created} of {created + len(report.errors)}; see the report."
                )
            )
            return [self._refresh_page(), toast, *self._check_saved(report.created)]

        self.import_results = []
        async for event in self._attempt(
            "importing", run, error="import_error", shown=InvalidInput
        ):
            yield event
