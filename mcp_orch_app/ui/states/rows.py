"""Small JSON-able copies of what the services return, shaped for the tables that show them.

States keep these, never ORM rows or the services' full models: they are serialized to the
browser on every change, so they carry only what a page draws (times already written out).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC
from enum import Enum
from typing import Any, TypeVar

from mcp_orch_app.services.oauth import ConnectedAppOut
from mcp_orch_app.services.schemas import (
    ActivityOut,
    ApiKeyOut,
    ClientConfigOut,
    ClientSessionOut,
    ImportOut,
    LoginSessionOut,
    MemberOut,
    ProjectOut,
    ProjectTeamOut,
    ServerLogOut,
    ServerOut,
    TeamOut,
    ToolCallOut,
    ToolOut,
    UserOut,
)
from mcp_orch_app.services.servers import spaced_args_warning
from mcp_orch_app.services.worker import WorkerFailureOut, WorkerRunOut
from mcp_orch_app.ui.format import (
    ago,
    duration,
    timestamp,
    timestamp_seconds,
    transport_label,
    user_agent_label,
)

R = TypeVar("R")


def _row(cls: type[R], source: object, **converted: Any) -> R:
    """The row ``cls`` of ``source``: the fields in ``converted`` as given there, every other
    field copied from ``source``'s attribute of the same name (plain strings, numbers, flags)."""
    copied = {
        field.name: getattr(source, field.name)
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.name not in converted
    }
    return cls(**copied, **converted)


def _value(choice: Enum | None) -> str:
    return choice.value if choice is not None else ""


@dataclasses.dataclass
class ProjectRow:
    id: str = ""
    name: str = ""
    description: str = ""
    role: str = ""
    member_count: int = 0
    server_count: int = 0
    created: str = ""

    @classmethod
    def of(cls, project: ProjectOut) -> ProjectRow:
        return _row(
            cls,
            project,
            id=str(project.id),
            role=_value(project.my_role),
            created=timestamp(project.created_at),
        )


@dataclasses.dataclass
class ServerRow:
    id: str = ""
    name: str = ""
    description: str = ""
    transport: str = ""
    status: str = ""
    tools_count: int = 0
    enabled: bool = True
    last_checked: str = ""
    last_checked_at: str = ""
    last_error: str = ""

    @classmethod
    def of(cls, server: ServerOut) -> ServerRow:
        return _row(
            cls,
            server,
            id=str(server.id),
            transport=transport_label(server.transport.value),
            status=server.status.value,
            last_checked=ago(server.last_checked_at),
            last_checked_at=timestamp(server.last_checked_at) or "Never checked",
            last_error=server.last_error or "",
        )


@dataclasses.dataclass
class StatusCount:
    status: str = ""
    count: int = 0


@dataclasses.dataclass
class MemberRow:
    user_id: str = ""
    name: str = ""
    email: str = ""
    role: str = ""
    joined_via: str = ""
    joined: str = ""
    joined_at: str = ""

    @classmethod
    def of(cls, member: MemberOut) -> MemberRow:
        if member.invited_as is not None and member.invited_as.value == "team_member":
            via = f"Team {member.team_name}" if member.team_name else "Team"
        else:
            via = "Individual"
        return _row(
            cls,
            member,
            user_id=str(member.user_id),
            name=member.name or member.email,
            role=member.role.value,
            joined_via=via,
            joined=ago(member.joined_at),
            joined_at=timestamp(member.joined_at),
        )


@dataclasses.dataclass
class ActivityRow:
    id: int = 0
    actor: str = ""
    action: str = ""
    description: str = ""
    when: str = ""
    when_at: str = ""

    @classmethod
    def of(cls, entry: ActivityOut) -> ActivityRow:
        return _row(
            cls,
            entry,
            actor=entry.actor_name or "system",
            when=ago(entry.created_at),
            when_at=timestamp(entry.created_at),
        )


@dataclasses.dataclass
class TeamRow:
    id: str = ""
    name: str = ""
    description: str = ""
    role: str = ""
    member_count: int = 0
    created: str = ""

    @classmethod
    def of(cls, team: TeamOut) -> TeamRow:
        return _row(
            cls,
            team,
            id=str(team.id),
            role=_value(team.my_role),
            created=timestamp(team.created_at),
        )


@dataclasses.dataclass
class UserRow:
    id: str = ""
    name: str = ""
    email: str = ""
    is_admin: bool = False
    is_active: bool = True
    created: str = ""
    last_login: str = ""
    last_login_at: str = ""

    @classmethod
    def of(cls, user: UserOut) -> UserRow:
        return _row(
            cls,
            user,
            id=str(user.id),
            created=timestamp(user.created_at),
            last_login=ago(user.last_login_at),
            last_login_at=timestamp(user.last_login_at),
        )


@dataclasses.dataclass
class LoginSessionRow:
    id: str = ""
    client: str = ""
    user_agent: str = ""
    ip: str = ""
    created: str = ""
    last_seen: str = ""
    expires: str = ""
    current: bool = False

    @classmethod
    def of(cls, session: LoginSessionOut) -> LoginSessionRow:
        return _row(
            cls,
            session,
            id=str(session.id),
            client=user_agent_label(session.user_agent),
            user_agent=session.user_agent or "",
            ip=session.ip or "unknown",
            created=timestamp(session.created_at),
            last_seen=ago(session.last_seen_at),
            expires=timestamp(session.expires_at),
        )


@dataclasses.dataclass
class RecentCallRow:
    """A tool call in the project overview's short list of the latest calls."""

    id: int = 0
    server_name: str = ""
    tool_name: str = ""
    status: str = ""
    error: str = ""
    duration: str = ""
    when: str = ""
    when_at: str = ""

    @classmethod
    def of(cls, call: ToolCallOut) -> RecentCallRow:
        return _row(
            cls,
            call,
            status=call.status.value,
            error=call.error_message or call.error_code or "",
            duration=duration(call.duration_ms),
            when=ago(call.created_at),
            when_at=timestamp(call.created_at),
        )


@dataclasses.dataclass
class ApiKeyRow:
    id: str = ""
    name: str = ""
    # ``mch_ab12…wxyz``: enough to recognise a key, never enough to use it.
    masked: str = ""
    creator: str = ""
    created: str = ""
    last_used: str = ""
    last_used_at: str = ""
    last_used_ip: str = ""
    expires: str = ""
    status: str = ""

    @classmethod
    def of(cls, key: ApiKeyOut) -> ApiKeyRow:
        return _row(
            cls,
            key,
            id=str(key.id),
            masked=f"{key.prefix}…{key.suffix}",
            creator=key.created_by_name or "deleted account",
            created=timestamp(key.created_at),
            last_used=ago(key.last_used_at),
            last_used_at=timestamp(key.last_used_at) or "Never used",
            last_used_ip=key.last_used_ip or "",
            expires=timestamp(key.expires_at) or "never",
        )


@dataclasses.dataclass
class ProjectTeamRow:
    """A team added to a project, with the role its members got there."""

    team_id: str = ""
    team_name: str = ""
    role: str = ""
    added: str = ""
    added_at: str = ""

    @classmethod
    def of(cls, link: ProjectTeamOut) -> ProjectTeamRow:
        return _row(
            cls,
            link,
            team_id=str(link.team_id),
            role=link.role.value,
            added=ago(link.added_at),
            added_at=timestamp(link.added_at),
        )


@dataclasses.dataclass
class Choice:
    """One option of a select: the value sent back and the label shown."""

    value: str = ""
    label: str = ""


# --- the server pages -------------------------------------------------------------------------


@dataclasses.dataclass
class ConfigLine:
    """One setting of a server as its detail page shows it (secrets already masked)."""

    label: str = ""
    value: str = ""
    # A list setting (the arguments) shown one item per line, with a warning when needed.
    listed: list[str] = dataclasses.field(default_factory=list)
    warning: str = ""


def _config_lines(server: ServerOut) -> list[ConfigLine]:
    if server.transport.value == "stdio":
        lines = [
            ConfigLine("Command", server.command or ""),
            ConfigLine(
                "Arguments",
                "" if server.args else "none",
                listed=list(server.args),
                warning=spaced_args_warning(list(server.args)),
            ),
            ConfigLine("Environment", _pairs(server.env, "=") or "none"),
            ConfigLine("Working directory", server.cwd or "mcp-orch's own"),
        ]
    else:
        lines = [
            ConfigLine("URL", server.url or ""),
            ConfigLine("Headers", _pairs(server.headers, ": ") or "none"),
        ]
    return [
        *lines,
        ConfigLine("Timeout", f"{server.timeout_seconds} s"),
        ConfigLine("Restart after a crash", "yes" if server.auto_restart else "no"),
        ConfigLine("Anonymous clients", "allowed" if server.allow_anonymous else "not allowed"),
    ]


def _pairs(values: dict[str, str], separator: str) -> str:
    return "\n".join(f"{key}{separator}{value}" for key, value in values.items())


@dataclasses.dataclass
class ServerDetailRow(ServerRow):
    """A server with its masked configuration, for its detail page."""

    transport_key: str = ""
    restart_count: int = 0
    config: list[ConfigLine] = dataclasses.field(default_factory=list)

    @classmethod
    def of(cls, server: ServerOut) -> ServerDetailRow:
        return cls(
            **dataclasses.asdict(ServerRow.of(server)),
            transport_key=server.transport.value,
            restart_count=server.restart_count,
            config=_config_lines(server),
        )


@dataclasses.dataclass
class StatusChangeRow:
    """One entry of a server's status history (a ``status_change`` server log row)."""

    old: str = ""
    new: str = ""
    message: str = ""
    when: str = ""
    when_at: str = ""

    @classmethod
    def of(cls, log: ServerLogOut) -> StatusChangeRow:
        details = log.details if isinstance(log.details, dict) else {}
        return cls(
            old=str(details.get("old_status") or ""),
            new=str(details.get("new_status") or ""),
            message=log.message,
            when=ago(log.created_at),
            when_at=timestamp(log.created_at),
        )


@dataclasses.dataclass
class ServerLogRow:
    id: int = 0
    level: str = ""
    category: str = ""
    message: str = ""
    when: str = ""
    when_at: str = ""

    @classmethod
    def of(cls, log: ServerLogOut) -> ServerLogRow:
        return _row(
            cls,
            log,
            level=log.level.value,
            category=log.category.value,
            when=ago(log.created_at),
            when_at=timestamp(log.created_at),
        )


@dataclasses.dataclass
class ClientSessionRow:
    id: str = ""
    client: str = ""
    transport: str = ""
    ip: str = ""
    key: str = ""
    protocol: str = ""
    active: bool = False
    started: str = ""
    started_at: str = ""
    last_activity: str = ""
    total_calls: int = 0
    failed_calls: int = 0

    @classmethod
    def of(cls, session: ClientSessionOut) -> ClientSessionRow:
        client = session.client_name or user_agent_label(session.user_agent)
        if session.client_version:
            client = f"{client} {session.client_version}"
        return _row(
            cls,
            session,
            id=str(session.id),
            client=client,
            transport=transport_label(session.transport.value),
            ip=session.ip or "unknown",
            key=_principal(session),
            protocol=session.protocol_version or "",
            started=ago(session.started_at),
            started_at=timestamp(session.started_at),
            last_activity=ago(session.last_activity_at),
        )


def _principal(session: ClientSessionOut) -> str:
    """Who the session acts for: a key, an OAuth application for a user, or nobody."""
    if session.oauth_client_id is not None:
        app = session.oauth_client_name or "an application"
        return f"OAuth: {app} for {session.user_email or 'a deleted user'}"
    if session.api_key_id is None:
        return "anonymous" if session.user_id is None else "OAuth: a deleted application"
    return session.key_name or "deleted key"


@dataclasses.dataclass
class ToolRow:
    """A cached tool of a server, its input schema written out for reading."""

    name: str = ""
    description: str = ""
    schema: str = ""
    enabled: bool = True
    usage: str = ""

    @classmethod
    def of(cls, tool: ToolOut) -> ToolRow:
        count = tool.call_count
        usage = (
            f"{count} call{'' if count == 1 else 's'}, {tool.avg_duration_ms:.0f} ms on average"
            if count
            else "Not called yet"
        )
        return _row(
            cls,
            tool,
            schema=json.dumps(tool.input_schema, indent=2, ensure_ascii=False),
            usage=usage,
        )


@dataclasses.dataclass
class SnippetRow:
    """The configuration that connects one MCP client to one server or to the unified endpoint."""

    client: str = ""
    scope: str = ""
    content: str = ""
    instructions: str = ""
    where: str = ""
    url: str = ""
    # "key" (a project API key in the snippet) or "oauth" (the URL only, the client signs in).
    auth: str = "key"

    @classmethod
    def of(cls, config: ClientConfigOut, scope: str, auth: str = "key") -> SnippetRow:
        where = "In a terminal" if config.format == "shell" else f"In {config.filename_hint}"
        return cls(
            client=config.client,
            scope=scope,
            content=config.content,
            instructions=config.instructions,
            where=where,
            url=config.url,
            auth=auth,
        )


@dataclasses.dataclass
class ImportResultRow:
    """What a JSON import did with one entry: created, skipped (the name was taken) or failed."""

    name: str = ""
    outcome: str = ""
    reason: str = ""


def import_results(report: ImportOut, existing_names: set[str]) -> list[ImportResultRow]:
    """The rows of an import report; an entry refused because a server of that name already
    existed before the import counts as skipped."""
    rows = [ImportResultRow(item.name, "created", "") for item in report.created]
    for item in report.errors:
        skipped = item.name.lower() in existing_names
        rows.append(ImportResultRow(item.name, "skipped" if skipped else "failed", item.error))
    return rows


# --- the background worker --------------------------------------------------------------------


@dataclasses.dataclass
class WorkerRunRow:
    """One run of the background worker in its history."""

    id: int = 0
    trigger: str = ""
    status: str = ""
    started: str = ""
    started_at: str = ""
    duration: str = ""
    checked: int = 0
    changed: int = 0
    failed: int = 0
    error: str = ""

    @classmethod
    def of(cls, run: WorkerRunOut) -> WorkerRunRow:
        return _row(
            cls,
            run,
            trigger=run.trigger.value,
            status=run.status.value,
            started=ago(run.started_at),
            started_at=timestamp(run.started_at),
            duration=duration(run.duration_ms),
            error=run.error or "",
        )


@dataclasses.dataclass
class WorkerFailureRow:
    """A server whose check failed in a run."""

    server_name: str = ""
    project_id: str = ""
    status: str = ""
    error: str = ""

    @classmethod
    def of(cls, failure: WorkerFailureOut) -> WorkerFailureRow:
        return _row(cls, failure, project_id=str(failure.project_id), status=failure.status.value)


# --- the observability pages ------------------------------------------------------------------

# How much of a payload or message a collapsed log row carries; the rest comes on expanding.
PREVIEW_CHARS = 200


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def pretty_json(value: Any) -> str:
    """A payload as the log viewer shows it expanded: indented JSON, non-ASCII kept."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@dataclasses.dataclass
class ToolCallRow(RecentCallRow):
    """A row of the tool-call log viewer. The full arguments, result and error message are
    only filled in while the row is expanded (read again with ``tool_calls.get_tool_call``)."""

    error_code: str = ""
    arguments_preview: str = ""
    session_id: str = ""
    client_name: str = ""
    # created_at in ISO form: rows merge into the list newest first by (at, id).
    at: str = ""
    expanded: bool = False
    arguments_json: str = ""
    result_json: str = ""
    error_message: str = ""

    @classmethod
    def of(cls, call: ToolCallOut) -> ToolCallRow:
        summary = RecentCallRow.of(call)
        summary.error = _preview(summary.error)
        # Absolute: rows stay on the page while it refreshes, "2 minutes ago" would go stale.
        summary.when = call.created_at.astimezone(UTC).strftime("%b %d, %H:%M:%S")
        summary.when_at = timestamp_seconds(call.created_at)
        arguments = json.dumps(call.arguments, ensure_ascii=False, default=str)
        return cls(
            **dataclasses.asdict(summary),
            error_code=call.error_code or "",
            arguments_preview=_preview(arguments) if call.arguments is not None else "",
            session_id=str(call.session_id or ""),
            client_name=(call.client_name or "")
            + (f" (OAuth, {call.user_email or 'deleted user'})" if call.oauth_client_id else ""),
            at=call.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        )

    def expand(self, call: ToolCallOut) -> ToolCallRow:
        """This row expanded with ``call``'s full payloads."""
        return dataclasses.replace(
            self,
            expanded=True,
            arguments_json=pretty_json(call.arguments) if call.arguments is not None else "",
            result_json=pretty_json(call.result) if call.result is not None else "",
            error_message=call.error_message or "",
        )

    def collapse(self) -> ToolCallRow:
        return dataclasses.replace(
            self, expanded=False, arguments_json="", result_json="", error_message=""
        )


@dataclasses.dataclass
class ProjectSessionRow(ClientSessionRow):
    """A client session on the project's sessions page: which endpoint, key, and how it ended."""

    endpoint: str = ""
    key_prefix: str = ""
    user_agent: str = ""
    last_activity_at: str = ""
    ended: str = ""
    ended_at: str = ""
    successful_calls: int = 0

    @classmethod
    def of(cls, session: ClientSessionOut) -> ProjectSessionRow:
        endpoint = "unified" if session.unified else session.server_name or "deleted server"
        return cls(
            **dataclasses.asdict(ClientSessionRow.of(session)),
            endpoint=endpoint,
            key_prefix=session.key_prefix or "",
            user_agent=session.user_agent or "",
            last_activity_at=timestamp_seconds(session.last_activity_at),
            ended=ago(session.ended_at, never=""),
            ended_at=timestamp_seconds(session.ended_at),
            successful_calls=session.successful_calls,
        )


@dataclasses.dataclass
class ProjectLogRow(ServerLogRow):
    """A server log entry on the project's logs page, with its server and details."""

    server_name: str = ""
    details: str = ""

    @classmethod
    def of(cls, log: ServerLogOut) -> ProjectLogRow:
        entry = ServerLogRow.of(log)
        entry.when_at = timestamp_seconds(log.created_at)
        return cls(
            **dataclasses.asdict(entry),
            server_name=log.server_name or ("project" if log.server_id is None else "deleted"),
            details=pretty_json(log.details) if log.details not in (None, {}, []) else "",
        )


@dataclasses.dataclass
class ToolUsageRow:
    tool: str = ""
    server_name: str = ""
    total: int = 0
    failed: int = 0
    success_rate: str = ""
    avg: str = ""
    # ``tool=...`` of the tool-call viewer's link to this tool's calls.
    calls_query: str = ""


@dataclasses.dataclass
class ErrorCodeRow:
    error_code: str = ""
    count: int = 0
    share: str = ""


@dataclasses.dataclass
class ConnectedAppRow:
    """An OAuth grant (services/oauth.py): which application reaches which endpoint for whom."""

    id: str = ""
    client_name: str = ""
    user_email: str = ""
    project_name: str = ""
    endpoint: str = ""
    created: str = ""
    last_used: str = ""

    @classmethod
    def of(cls, app: ConnectedAppOut) -> ConnectedAppRow:
        return cls(
            id=app.id,
            client_name=app.client_name,
            user_email=app.user_email or "",
            project_name=app.project_name,
            endpoint=f"server {app.server_name}" if app.server_name else "unified endpoint",
            created=timestamp(app.created_at),
            last_used=ago(app.last_used_at),
        )
