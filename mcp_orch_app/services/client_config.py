"""Copy-paste configuration that points an MCP client at one server or the unified endpoint.

Each client has its own file format; the snippets follow each client's documented format for a
remote (HTTP) server. Keys are shown only once when created, so a snippet never holds a real
key: it carries :data:`KEY_PLACEHOLDER` for the user to replace (VS Code prompts for it
instead). When the endpoint is open to anonymous clients the snippet sends no key at all,
because the gateway checks any key it is sent.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from mcp_orch_app.config import get_settings
from mcp_orch_app.models import McpServer, Project, Role
from mcp_orch_app.services.access import require_project
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ClientConfigOut
from mcp_orch_app.services.tools import server_in_project

KEY_PLACEHOLDER = "<your mch_ API key>"
VSCODE_INPUT_ID = "mcp-orch-api-key"
CLIENTS = ("cursor", "cline", "claude-desktop", "claude-code", "vscode")
TRANSPORTS = ("http", "sse")
AUTH_MODES = ("key", "oauth")
# Clients that sign in by the MCP authorization spec (OAuth) given only the URL; Claude Desktop
# through mcp-remote, which does the OAuth flow itself.
OAUTH_CLIENTS = ("cursor", "claude-desktop", "claude-code", "vscode")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True)
class Endpoint:
    """What every snippet needs: where to connect, under which name, and whether with a key."""

    name: str
    url: str
    transport: str  # "http" (streamable HTTP) or "sse"
    needs_key: bool
    notes: tuple[str, ...]
    oauth: bool = False

    @property
    def authorization(self) -> str:
        return f"Bearer {KEY_PLACEHOLDER}"

    def key_sentence(self) -> str:
        if self.oauth:
            return (
                "No key: on first use the client opens mcp-orch's login page in the browser; "
                "sign in and pick the project and endpoint it may reach (it acts with your "
                "role). Disconnect it from your profile's Connected apps."
            )
        if not self.needs_key:
            return "This endpoint is open to anonymous clients, so no API key is needed."
        return (
            f"Replace {KEY_PLACEHOLDER} with a project API key (mch_...): create one on the "
            "project's API keys page; it is shown only once."
        )


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _with_headers(entry: dict[str, Any], endpoint: Endpoint, value: str | None = None) -> dict:
    if endpoint.needs_key:
        entry["headers"] = {"Authorization": value or endpoint.authorization}
    return entry


def _cursor(endpoint: Endpoint) -> tuple[str, str | None, str, str]:
    entry = _with_headers({"url": endpoint.url}, endpoint)
    return (
        "json",
        "~/.cursor/mcp.json (all projects) or .cursor/mcp.json (this workspace)",
        _json({"mcpServers": {endpoint.name: entry}}),
        "Merge this into the mcpServers object of Cursor's mcp.json (Cursor Settings > MCP > "
        "Add new MCP server opens it), save, and check that the server shows green in the "
        "MCP settings.",
    )


def _cline(endpoint: Endpoint) -> tuple[str, str | None, str, str]:
    entry: dict[str, Any] = {
        "type": "streamableHttp" if endpoint.transport == "http" else "sse",
        "url": endpoint.url,
    }
    _with_headers(entry, endpoint)
    entry.update(disabled=False, autoApprove=[])
    return (
        "json",
        "cline_mcp_settings.json",
        _json({"mcpServers": {endpoint.name: entry}}),
        "In Cline open MCP Servers > Configure > Configure MCP Servers (it opens "
        "cline_mcp_settings.json), merge this into its mcpServers object and save; Cline "
        "reconnects by itself.",
    )


def _vscode(endpoint: Endpoint) -> tuple[str, str | None, str, str]:
    document: dict[str, Any] = {}
    if endpoint.needs_key:
        # VS Code asks for the key once and keeps it in its secret storage, not in the file.
        document["inputs"] = [
            {
                "type": "promptString",
                "id": VSCODE_INPUT_ID,
                "description": "mcp-orch API key (mch_...)",
                "password": True,
            }
        ]
    entry = {"type": endpoint.transport, "url": endpoint.url}
    _with_headers(entry, endpoint, f"Bearer ${{input:{VSCODE_INPUT_ID}}}")
    document["servers"] = {endpoint.name: entry}
    return (
        "json",
        ".vscode/mcp.json",
        _json(document),
        "Save this as .vscode/mcp.json in your workspace (or merge it into the servers of your "
        "user mcp.json: command palette > MCP: Open User Configuration), then start the server "
        "from the file's code lens. "
        + (
            "VS Code asks for the API key on first start and stores it securely."
            if endpoint.needs_key
            else ""
        ),
    )


def _claude_desktop(endpoint: Endpoint) -> tuple[str, str | None, str, str]:
    # Claude Desktop's config file only launches local (stdio) servers, so the mcp-remote
    # bridge (npm) connects to the HTTP endpoint for it.
    args = ["-y", "mcp-remote", endpoint.url]
    parts = urlsplit(endpoint.url)
    if parts.scheme == "http" and (parts.hostname or "") not in _LOCAL_HOSTS:
        args.append("--allow-http")
    if endpoint.transport == "sse":
        args += ["--transport", "sse-only"]
    entry: dict[str, Any] = {"command": "npx", "args": args}
    if endpoint.needs_key:
        # mcp-remote's documented form: the value in env, no space after the colon in args
        # (spaces inside args are mangled on Windows).
        args += ["--header", "Authorization:${AUTH_HEADER}"]
        entry["env"] = {"AUTH_HEADER": endpoint.authorization}
    return (
        "json",
        "claude_desktop_config.json",
        _json({"mcpServers": {endpoint.name: entry}}),
        "In Claude Desktop open Settings > Developer > Edit Config, merge this into the "
        "mcpServers object of claude_desktop_config.json and restart Claude Desktop. It needs "
        "Node.js (npx) to run the mcp-remote bridge.",
    )


def _claude_code(endpoint: Endpoint) -> tuple[str, str | None, str, str]:
    command = [
        "claude",
        "mcp",
        "add",
        "--transport",
        endpoint.transport,
        endpoint.name,
        endpoint.url,
    ]
    if endpoint.needs_key:
        command += ["--header", f"Authorization: {endpoint.authorization}"]
    return (
        "shell",
        None,
        shlex.join(command) + "\n",
        "Run this in a terminal (add --scope user to use it in every project, or --scope "
        "project to share it through .mcp.json); check it with `claude mcp list`.",
    )


_SNIPPETS: dict[str, Callable[[Endpoint], tuple[str, str | None, str, str]]] = {
    "cursor": _cursor,
    "cline": _cline,
    "claude-desktop": _claude_desktop,
    "claude-code": _claude_code,
    "vscode": _vscode,
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")


def _base_url(request_base_url: str | None) -> str:
    base = get_settings().public_url or (request_base_url or "").strip()
    if not base:
        raise InvalidInput("The public address of mcp-orch is unknown; set MCP_ORCH_PUBLIC_URL.")
    return base.rstrip("/")


def _endpoint(
    project: Project, server: McpServer | None, base: str, transport: str, oauth: bool = False
) -> Endpoint:
    path = "mcp" if transport == "http" else "sse"
    notes: list[str] = []
    if server is None:
        url = f"{base}/projects/{project.id}/unified/{path}"
        name = f"mcp-orch-{_slug(project.name)}".rstrip("-") or "mcp-orch"
        open_to_anonymous = project.allow_anonymous
        if not project.unified_enabled:
            notes.append(
                "The unified endpoint of this project is turned off: an owner must turn it on "
                "in the project settings before this works."
            )
    else:
        url = f"{base}/projects/{project.id}/servers/{server.name}/{path}"
        name = server.name
        open_to_anonymous = project.allow_anonymous or server.allow_anonymous
        if not server.enabled:
            notes.append(f"The server {server.name} is disabled: enable it before connecting.")
    return Endpoint(
        name, url, transport, not (open_to_anonymous or oauth), tuple(notes), oauth=oauth
    )


def unified_endpoint_urls(
    db: Session, actor: Actor, project_id: str | uuid.UUID, *, base_url: str | None = None
) -> dict[str, str]:
    """The project's unified endpoint by transport: ``{"http": .../unified/mcp, "sse": ...}``."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    base = _base_url(base_url)
    return {transport: _endpoint(project, None, base, transport).url for transport in TRANSPORTS}


def client_config(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    *,
    client: str,
    server_id: str | uuid.UUID | None = None,
    unified: bool = False,
    base_url: str | None = None,
    transport: str = "http",
    auth: str = "key",
) -> ClientConfigOut:
    """The snippet that connects ``client`` to one server (``server_id``) or to the project's
    unified endpoint (``unified=True``), over streamable HTTP (default) or SSE, with a project
    API key (``auth="key"``) or signing in by OAuth (``auth="oauth"``: the URL only)."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    name = (client or "").strip().lower()
    if name not in _SNIPPETS:
        raise InvalidInput(f"Unknown client {client!r}; use one of: {', '.join(CLIENTS)}.")
    transport = (transport or "http").strip().lower()
    if transport not in TRANSPORTS:
        raise InvalidInput(f"Unknown transport {transport!r}; use http or sse.")
    if server_id and unified:
        raise InvalidInput("Give either server_id (one server) or unified=true, not both.")
    if not server_id and not unified:
        raise InvalidInput(
            "Say which endpoint: server_id for one server, or unified=true for all of them."
        )
    auth = (auth or "key").strip().lower()
    if auth not in AUTH_MODES:
        raise InvalidInput(f"Unknown auth {auth!r}; use key or oauth.")
    if auth == "oauth" and name not in OAUTH_CLIENTS:
        raise InvalidInput(
            f"No OAuth form for {name}; use a key, or one of: {', '.join(OAUTH_CLIENTS)}."
        )
    server = server_in_project(db, project.id, server_id) if server_id else None
    endpoint = _endpoint(project, server, _base_url(base_url), transport, auth == "oauth")
    form, filename_hint, content, how = _SNIPPETS[name](endpoint)
    instructions = " ".join((how.strip(), endpoint.key_sentence(), *endpoint.notes))
    return ClientConfigOut(
        client=name,
        format=form,
        filename_hint=filename_hint,
        content=content,
        instructions=instructions,
        url=endpoint.url,
        entry_name=endpoint.name,
    )
