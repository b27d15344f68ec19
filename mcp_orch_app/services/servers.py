"""MCP servers of a project: validation, CRUD, enable/disable, Claude Desktop JSON import/export.

Lists answer from the cached status columns and never contact a server. Env values and
headers are stored encrypted and leave this module masked, except in a passphrase-sealed
export (security/sealed_export.py), which owners make to move servers to another install.
A masked value is never stored: sent back on an edit it keeps the stored secret; anywhere
else (a create, an import of a plain export) it is refused.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlmodel import Session, func, select

from mcp_orch_app.models import McpServer, Role, ServerStatus, Transport
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security import sealed_export
from mcp_orch_app.security.destinations import DestinationRefused, check_url
from mcp_orch_app.security.secrets import mask_secret
from mcp_orch_app.services import activity, server_status
from mcp_orch_app.services.access import parse_uuid, require_project
from mcp_orch_app.services.access_events import access_changed
from mcp_orch_app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import (
    ImportCreated,
    ImportError_,
    ImportOut,
    ServerIn,
    ServerOut,
    ServerPatch,
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER_NAME_PATTERN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_NAME_LENGTH = 64
MAX_TIMEOUT_SECONDS = 3600
MASK_MARK = "••••••"
_CLEARABLE = ("cwd", "command", "url")

# What other clients write for the transport in their JSON files.
TRANSPORT_ALIASES = {
    "stdio": Transport.STDIO,
    "sse": Transport.SSE,
    "streamable_http": Transport.STREAMABLE_HTTP,
    "streamable-http": Transport.STREAMABLE_HTTP,
    "streamablehttp": Transport.STREAMABLE_HTTP,
    "http": Transport.STREAMABLE_HTTP,
}


TRANSPORT_LABELS = {
    Transport.STDIO: "stdio",
    Transport.SSE: "SSE",
    Transport.STREAMABLE_HTTP: "streamable HTTP",
}


def parse_transport(value: str | None) -> Transport:
    key = (value or "").strip().lower()
    if key in TRANSPORT_ALIASES:
        return TRANSPORT_ALIASES[key]
    raise InvalidInput(f"Unknown transport {value!r}; use one of: stdio, sse, streamable_http.")


def validate_name(raw: str | None) -> str:
    name = (raw or "").strip()
    if not name:
        raise InvalidInput("The server name must not be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The server name must be at most {MAX_NAME_LENGTH} characters.")
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"The server name {name!r} may use only letters, digits, '-' and '_', and must "
            "start and end with a letter or digit (it is part of the endpoint URLs)."
        )
    if "__" in name:
        # '__' separates server and tool in the unified endpoint's tool names.
        raise InvalidInput(f"The server name {name!r} must not contain '__'.")
    return name


def _validate_env(env: dict[str, str]) -> dict[str, str]:
    for key, value in env.items():
        if not ENV_NAME_PATTERN.match(key):
            raise InvalidInput(
                f"{key!r} is not a valid environment variable name (letters, digits and '_', "
                "not starting with a digit)."
            )
        if not isinstance(value, str):
            raise InvalidInput(f"The value of environment variable {key} must be a string.")
        if "\x00" in value:
            raise InvalidInput(f"The value of environment variable {key} contains a NUL byte.")
    return dict(env)


def _validate_headers(headers: dict[str, str]) -> dict[str, str]:
    for key, value in headers.items():
        if not HEADER_NAME_PATTERN.match(key):
            raise InvalidInput(f"{key!r} is not a valid HTTP header name.")
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise InvalidInput(f"The value of header {key} must be a single line of text.")
    return dict(headers)


def _validate_url(raw: str | None) -> str:
    url = (raw or "").strip()
    if not url:
        raise InvalidInput("A remote server (sse or streamable_http) needs a url.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"The url {url!r} must be an http:// or https:// address.")
    try:
        # The operator's destination policy and mcp-orch's own endpoints; checked again at
        # every connection, after DNS resolution.
        check_url(url)
    except DestinationRefused as exc:
        raise InvalidInput(str(exc)) from None
    return url


def _validate_timeout(value: int) -> int:
    if not 1 <= value <= MAX_TIMEOUT_SECONDS:
        raise InvalidInput(f"timeout_seconds must be between 1 and {MAX_TIMEOUT_SECONDS}.")
    return value


def normalise_config(data: ServerIn) -> dict[str, Any]:
    """The columns of a server from a submitted configuration, or the first problem found.

    Only the fields of the chosen transport are kept, so a stdio server never carries a stale
    url and a remote one never carries a command.
    """
    transport = parse_transport(data.transport)
    fields: dict[str, Any] = {
        "name": validate_name(data.name),
        "description": (data.description or "").strip()[:1000],
        "transport": transport,
        "timeout_seconds": _validate_timeout(data.timeout_seconds),
        "enabled": data.enabled,
        "auto_restart": data.auto_restart,
        "allow_anonymous": data.allow_anonymous,
        "command": None,
        "args": [],
        "env": None,
        "cwd": None,
        "url": None,
        "headers": None,
    }
    if transport == Transport.STDIO:
        command = (data.command or "").strip()
        if not command:
            raise InvalidInput("A stdio server needs a command (for example npx or uvx).")
        if any(not isinstance(arg, str) for arg in data.args):
            raise InvalidInput("args must be a list of strings.")
        fields.update(
            command=command,
            args=list(data.args),
            env=_validate_env(data.env) or None,
            cwd=(data.cwd or "").strip() or None,
        )
    else:
        fields.update(url=_validate_url(data.url), headers=_validate_headers(data.headers) or None)
    return fields


def split_command_line(line: str, command: str = "") -> tuple[str, list[str]]:
    """A pasted command line split the way a POSIX shell splits it (``shlex``): quotes keep
    spaces inside one argument. Returns (command, args): the first word is the command when
    ``command`` is empty or names it again, otherwise every word is an argument."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise InvalidInput(
            f"The command line cannot be split: {exc} (close the quote, or escape it with \\)."
        ) from exc
    command = command.strip()
    if words and (not command or words[0] == command):
        return words[0], words[1:]
    return command, words


def spaced_args_warning(args: list[str]) -> str:
    """A warning when an argument contains whitespace: most often several arguments typed in
    one field (``-y @scope/server``), which the server then receives as one."""
    spaced = [n for n, arg in enumerate(args, start=1) if any(ch.isspace() for ch in arg)]
    if not spaced:
        return ""
    if len(spaced) == 1:
        subject = f"Argument {spaced[0]} contains a space and is"
    else:
        subject = f"Arguments {', '.join(str(n) for n in spaced)} contain spaces and are each"
    return (
        f"{subject} passed to the server as one argument. If you meant several, put each in "
        "its own row (or paste the whole line above to split it)."
    )


def _masked(values: dict[str, str] | None) -> dict[str, str]:
    return {key: mask_secret(value) for key, value in (values or {}).items()}


def server_out(server: McpServer) -> ServerOut:
    return ServerOut(
        id=server.id,
        project_id=server.project_id,
        name=server.name,
        description=server.description,
        transport=server.transport,
        command=server.command,
        args=list(server.args or []),
        env=_masked(server.env),
        cwd=server.cwd,
        url=server.url,
        headers=_masked(server.headers),
        timeout_seconds=server.timeout_seconds,
        enabled=server.enabled,
        auto_restart=server.auto_restart,
        allow_anonymous=server.allow_anonymous,
        status=server.status,
        tools_count=server.tools_count,
        last_checked_at=server.last_checked_at,
        last_error=server.last_error,
        restart_count=server.restart_count,
        created_at=server.created_at,
        updated_at=server.updated_at,
    )


def _name_taken(db: Session, project_id: uuid.UUID, name: str, except_id=None) -> bool:
    query = select(McpServer.id).where(
        McpServer.project_id == project_id, func.lower(McpServer.name) == name.lower()
    )
    if except_id is not None:
        query = query.where(McpServer.id != except_id)
    return db.exec(query).first() is not None


def list_servers(db: Session, actor: Actor, project_id: str | uuid.UUID) -> list[ServerOut]:
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    rows = db.exec(
        select(McpServer)
        .where(McpServer.project_id == project.id)
        .order_by(func.lower(McpServer.name))
    ).all()
    return [server_out(row) for row in rows]


def _get_server(db: Session, project_id: uuid.UUID, server_id: str | uuid.UUID) -> McpServer:
    server = db.get(McpServer, parse_uuid(server_id, "server"))
    if server is None or server.project_id != project_id:
        raise NotFound(f"No server with id {server_id} in this project.")
    return server


def get_server(
    db: Session, actor: Actor, project_id: str | uuid.UUID, server_id: str | uuid.UUID
) -> ServerOut:
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    return server_out(_get_server(db, project.id, server_id))


def _insert(
    db: Session, actor: Actor, project_id: uuid.UUID, data: ServerIn, via: str
) -> McpServer:
    fields = normalise_config(data)
    if _name_taken(db, project_id, fields["name"]):
        raise Conflict(f"A server named {fields['name']!r} already exists in this project.")
    _refuse_masked(fields.get("env"), "environment variable")
    _refuse_masked(fields.get("headers"), "header")
    server = McpServer(project_id=project_id, created_by=actor.user_id, **fields)
    server_status.apply_enabled(server)
    db.add(server)
    db.flush()
    # The project's unified endpoint serves one more server: its cached grants are stale.
    access_changed(db, project_id)
    activity.record(
        db,
        actor,
        "server.created",
        f"{actor.display_name} added the {TRANSPORT_LABELS[server.transport]} server "
        f"{server.name}{via}",
        project_id=project_id,
        target_type="server",
        target_id=server.id,
    )
    return server


def create_server(
    db: Session, actor: Actor, project_id: str | uuid.UUID, data: ServerIn
) -> ServerOut:
    project, role = require_project(db, actor, project_id, Role.DEVELOPER)
    if data.allow_anonymous:
        _require_owner_to_open(role)
    server = _insert(db, actor, project.id, data, "")
    db.flush()
    return server_out(server)


def _require_owner_to_open(role: Role) -> None:
    """Opening a server to anonymous clients is a security setting: owners only."""
    if role.rank < Role.OWNER.rank:
        raise PermissionDenied(
            "Only an owner of the project can open a server to anonymous clients; "
            f"you are a {role.value}."
        )


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MASK_MARK)


def _refuse_masked(values: dict[str, str] | None, what: str) -> None:
    """A new server has no stored secret a masked value could stand for."""
    masked = sorted(key for key, value in (values or {}).items() if is_masked(value))
    if masked:
        names = ", ".join(masked)
        raise InvalidInput(
            f"The {what} {names} {'has' if len(masked) == 1 else 'have'} a masked value "
            f"(as a plain export shows secrets); enter the real value, or import an encrypted "
            "export, which keeps secrets."
        )


def _merge_secrets(
    submitted: dict[str, str] | None, stored: dict[str, str] | None, what: str
) -> dict[str, str] | None:
    """A value sent back masked (as the API showed it) keeps the stored value."""
    if submitted is None:
        return stored
    merged: dict[str, str] = {}
    for key, value in submitted.items():
        if is_masked(value):
            if not stored or key not in stored:
                raise InvalidInput(f"Enter a value for {what} {key}; the masked value is unknown.")
            merged[key] = stored[key]
        else:
            merged[key] = value
    return merged


def update_server(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    server_id: str | uuid.UUID,
    patch: ServerPatch,
) -> ServerOut:
    project, role = require_project(db, actor, project_id, Role.DEVELOPER)
    server = _get_server(db, project.id, server_id)
    given = patch.model_dump(exclude_unset=True)
    current = ServerIn(
        name=server.name,
        description=server.description,
        transport=server.transport.value,
        command=server.command,
        args=list(server.args or []),
        env=dict(server.env or {}),
        cwd=server.cwd,
        url=server.url,
        headers=dict(server.headers or {}),
        timeout_seconds=server.timeout_seconds,
        enabled=server.enabled,
        auto_restart=server.auto_restart,
        allow_anonymous=server.allow_anonymous,
    )
    if "env" in given:
        given["env"] = _merge_secrets(given["env"], server.env, "environment variable") or {}
    if "headers" in given:
        given["headers"] = _merge_secrets(given["headers"], server.headers, "header") or {}
    if given.get("args", []) is None:
        given["args"] = []
    # An explicit null clears an optional text field; elsewhere it means "leave as it is".
    updates = {k: v for k, v in given.items() if v is not None or k in _CLEARABLE}
    merged = current.model_copy(update=updates)
    fields = normalise_config(merged)
    if fields["allow_anonymous"] and not server.allow_anonymous:
        _require_owner_to_open(role)
    if fields["name"] != server.name and _name_taken(db, project.id, fields["name"], server.id):
        raise Conflict(f"A server named {fields['name']!r} already exists in this project.")
    changed = sorted(k for k, v in fields.items() if getattr(server, k) != v)
    if not changed:
        return server_out(server)
    for key in changed:
        setattr(server, key, fields[key])
    if "enabled" in changed:
        server_status.apply_enabled(server)
    server.updated_at = utcnow()
    db.add(server)
    activity.record(
        db,
        actor,
        "server.updated",
        f"{actor.display_name} edited the server {server.name} ({', '.join(changed)})",
        project_id=project.id,
        target_type="server",
        target_id=server.id,
        details={"changed": changed},
    )
    db.flush()
    access_changed(db, project.id)
    return server_out(server)


def delete_server(
    db: Session, actor: Actor, project_id: str | uuid.UUID, server_id: str | uuid.UUID
) -> None:
    project, _ = require_project(db, actor, project_id, Role.DEVELOPER)
    server = _get_server(db, project.id, server_id)
    name, sid = server.name, server.id
    db.delete(server)
    activity.record(
        db,
        actor,
        "server.deleted",
        f"{actor.display_name} deleted the server {name}",
        project_id=project.id,
        target_type="server",
        target_id=sid,
    )
    db.flush()
    access_changed(db, project.id)


def toggle_server(
    db: Session, actor: Actor, project_id: str | uuid.UUID, server_id: str | uuid.UUID
) -> ServerOut:
    project, _ = require_project(db, actor, project_id, Role.DEVELOPER)
    server = _get_server(db, project.id, server_id)
    server.enabled = not server.enabled
    server_status.apply_enabled(server)
    server.updated_at = utcnow()
    db.add(server)
    verb = "enabled" if server.enabled else "disabled"
    activity.record(
        db,
        actor,
        f"server.{verb}",
        f"{actor.display_name} {verb} the server {server.name}",
        project_id=project.id,
        target_type="server",
        target_id=server.id,
    )
    db.flush()
    access_changed(db, project.id)
    return server_out(server)


# --- Claude Desktop JSON --------------------------------------------------------------------

_IGNORED_ENTRY_KEYS = {"autoApprove", "alwaysAllow", "disabledTools", "notes", "icon"}


def _entry_to_server_in(name: str, entry: Any) -> ServerIn:
    if not isinstance(entry, dict):
        raise InvalidInput("The entry must be an object with a command or a url.")
    transport = entry.get("transport") or entry.get("type") or entry.get("transportType")
    if transport is None:
        transport = "stdio" if "command" in entry or "url" not in entry else "streamable_http"
        if "url" in entry and str(entry.get("url", "")).rstrip("/").endswith("/sse"):
            transport = "sse"
    enabled = entry.get("enabled", not entry.get("disabled", False))
    payload = {
        "name": name,
        "description": entry.get("description", ""),
        "transport": transport,
        "command": entry.get("command"),
        "args": entry.get("args") or [],
        "env": entry.get("env") or {},
        "cwd": entry.get("cwd"),
        "url": entry.get("url"),
        "headers": entry.get("headers") or {},
        "timeout_seconds": entry.get("timeout_seconds", entry.get("timeout", 60)),
        "enabled": enabled,
        "auto_restart": entry.get("auto_restart", True),
    }
    try:
        return ServerIn.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from exc


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p != "body")
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def parse_import_document(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    return document


def import_servers(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    document: Any,
    passphrase: str | None = None,
) -> ImportOut:
    """Create one server per entry; each entry stands or fails on its own, never half-written.

    ``document`` is a Claude Desktop document or a sealed export (opened with ``passphrase``).
    An entry named like a server the project has is skipped (that server and its stored
    secrets stay as they are); a new entry with a masked secret is refused.
    """
    project, _ = require_project(db, actor, project_id, Role.DEVELOPER)
    if sealed_export.is_sealed(document):
        if passphrase is None:
            raise InvalidInput("This file is an encrypted export: import it with its passphrase.")
        try:
            document = sealed_export.unseal(document, passphrase)
        except sealed_export.SealError as exc:
            raise InvalidInput(str(exc)) from exc
    elif passphrase is not None:
        raise InvalidInput("This file is not an encrypted export; import it without a passphrase.")
    if not isinstance(document, dict):
        raise InvalidInput('Expected a JSON object like {"mcpServers": {"name": {...}}}.')
    entries = document.get("mcpServers", document.get("servers"))
    if not isinstance(entries, dict):
        raise InvalidInput('Expected a JSON object like {"mcpServers": {"name": {...}}}.')
    if not entries:
        raise InvalidInput("mcpServers is empty: there is nothing to import.")
    created: list[ImportCreated] = []
    errors: list[ImportError_] = []
    for name, entry in entries.items():
        savepoint = db.begin_nested()
        try:
            server = _insert(db, actor, project.id, _entry_to_server_in(name, entry), " by import")
            savepoint.commit()
            created.append(ImportCreated(name=server.name, id=server.id))
        except (InvalidInput, Conflict) as exc:
            savepoint.rollback()
            errors.append(ImportError_(name=str(name), error=exc.message))
    db.flush()
    return ImportOut(created=created, errors=errors)


def _export_entry(server: McpServer, env: dict[str, str], headers: dict[str, str]) -> dict:
    if server.transport == Transport.STDIO:
        entry: dict[str, Any] = {"command": server.command, "args": list(server.args or [])}
        if env:
            entry["env"] = env
        if server.cwd:
            entry["cwd"] = server.cwd
    else:
        entry = {
            "type": "sse" if server.transport == Transport.SSE else "streamable_http",
            "url": server.url,
        }
        if headers:
            entry["headers"] = headers
    if server.description:
        entry["description"] = server.description
    if server.timeout_seconds != 60:
        entry["timeout_seconds"] = server.timeout_seconds
    if not server.enabled:
        entry["disabled"] = True
    return entry


def _project_servers(db: Session, project_id: uuid.UUID) -> list[McpServer]:
    return list(
        db.exec(
            select(McpServer)
            .where(McpServer.project_id == project_id)
            .order_by(func.lower(McpServer.name))
        ).all()
    )


def export_servers(db: Session, actor: Actor, project_id: str | uuid.UUID) -> dict[str, Any]:
    """The project's servers in Claude Desktop format, secrets masked."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    out = {
        server.name: _export_entry(server, _masked(server.env), _masked(server.headers))
        for server in _project_servers(db, project.id)
    }
    return {"mcpServers": out}


def export_servers_sealed(
    db: Session, actor: Actor, project_id: str | uuid.UUID, passphrase: str
) -> dict[str, Any]:
    """The project's servers with their real secrets, sealed under ``passphrase``.

    Owners only: the file carries every secret of the project to whoever has the passphrase.
    """
    project, role = require_project(db, actor, project_id, Role.REPORTER)
    if role.rank < Role.OWNER.rank:
        raise PermissionDenied(
            "Only an owner of the project can export its secrets; "
            f"you are a {role.value}. A plain export (secrets masked) is open to you."
        )
    servers = _project_servers(db, project.id)
    document = {
        "mcpServers": {
            server.name: _export_entry(server, dict(server.env or {}), dict(server.headers or {}))
            for server in servers
        }
    }
    try:
        envelope = sealed_export.seal(document, passphrase)
    except sealed_export.SealError as exc:
        raise InvalidInput(str(exc)) from exc
    activity.record(
        db,
        actor,
        "server.exported_sealed",
        f"{actor.display_name} exported {len(servers)} server"
        f"{'' if len(servers) == 1 else 's'} with their secrets (encrypted)",
        project_id=project.id,
        target_type="project",
        target_id=project.id,
    )
    db.flush()
    return envelope


def server_status_counts(db: Session, project_id: uuid.UUID) -> dict[str, int]:
    counts = {status.value: 0 for status in ServerStatus}
    for status, count in db.exec(
        select(McpServer.status, func.count())
        .where(McpServer.project_id == project_id)
        .group_by(McpServer.status)
    ).all():
        counts[ServerStatus(status).value] = count
    return counts
