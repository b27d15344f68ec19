"""Small JSON-able copies of what the services return, shaped for the tables that show them.

States keep these, never ORM rows or the services' full models: they are serialized to the
browser on every change, so they carry only what a page draws (times already written out).
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, TypeVar

from mcp_orch_app.services.schemas import (
    ActivityOut,
    LoginSessionOut,
    MemberOut,
    ProjectOut,
    ServerOut,
    TeamOut,
    UserOut,
)
from mcp_orch_app.ui.format import ago, timestamp, transport_label, user_agent_label

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
