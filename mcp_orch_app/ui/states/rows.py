"""Small JSON-able copies of what the services return, shaped for the tables that show them.

States keep these, never ORM rows or the services' full models: they are serialized to the
browser on every change, so they carry only what a page draws (times already written out).
"""

from __future__ import annotations

import dataclasses

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
        return cls(
            id=str(project.id),
            name=project.name,
            description=project.description,
            role=project.my_role.value if project.my_role else "",
            member_count=project.member_count,
            server_count=project.server_count,
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
        return cls(
            id=str(server.id),
            name=server.name,
            description=server.description,
            transport=transport_label(server.transport.value),
            status=server.status.value,
            tools_count=server.tools_count,
            enabled=server.enabled,
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
        return cls(
            user_id=str(member.user_id),
            name=member.name or member.email,
            email=member.email,
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
        return cls(
            id=entry.id,
            actor=entry.actor_name or "system",
            action=entry.action,
            description=entry.description,
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
        return cls(
            id=str(team.id),
            name=team.name,
            description=team.description,
            role=team.my_role.value if team.my_role else "",
            member_count=team.member_count,
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
        return cls(
            id=str(user.id),
            name=user.name,
            email=user.email,
            is_admin=user.is_admin,
            is_active=user.is_active,
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
        return cls(
            id=str(session.id),
            client=user_agent_label(session.user_agent),
            user_agent=session.user_agent or "",
            ip=session.ip or "unknown",
            created=timestamp(session.created_at),
            last_seen=ago(session.last_seen_at),
            expires=timestamp(session.expires_at),
            current=session.current,
        )
