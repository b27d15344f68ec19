"""Who may do what: the role checks every service goes through.

Admins act with owner rights everywhere. A project member's role is the one row in
``project_members``; a team member's role is the one row in ``team_members``.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from mcp_orch_app.models import Project, ProjectMember, Role, Team, TeamMember
from mcp_orch_app.services.errors import InvalidInput, NotFound, PermissionDenied
from mcp_orch_app.services.principal import Actor

_ROLE_VERBS = {
    Role.REPORTER: "a member",
    Role.DEVELOPER: "a developer or owner",
    Role.OWNER: "an owner",
}


def parse_uuid(value: str | uuid.UUID, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"No {what} with id {value!r}.") from exc


def project_role(db: Session, actor: Actor, project_id: uuid.UUID) -> Role | None:
    if actor.is_admin:
        return Role.OWNER
    return db.exec(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == actor.user_id
        )
    ).first()


def require_project(
    db: Session, actor: Actor, project_id: str | uuid.UUID, minimum: Role = Role.REPORTER
) -> tuple[Project, Role]:
    """The project and the actor's role in it, or the error that explains why not."""
    pid = parse_uuid(project_id, "project")
    project = db.get(Project, pid)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    role = project_role(db, actor, pid)
    if role is None:
        raise PermissionDenied("You are not a member of this project.")
    if role.rank < minimum.rank:
        raise PermissionDenied(
            f"This needs {_ROLE_VERBS[minimum]} of the project; you are a {role.value}."
        )
    return project, role


def team_role(db: Session, actor: Actor, team_id: uuid.UUID) -> Role | None:
    if actor.is_admin:
        return Role.OWNER
    return db.exec(
        select(TeamMember.role).where(
            TeamMember.team_id == team_id, TeamMember.user_id == actor.user_id
        )
    ).first()


def require_team(
    db: Session, actor: Actor, team_id: str | uuid.UUID, minimum: Role = Role.REPORTER
) -> tuple[Team, Role]:
    tid = parse_uuid(team_id, "team")
    team = db.get(Team, tid)
    if team is None:
        raise NotFound(f"No team with id {team_id}.")
    role = team_role(db, actor, tid)
    if role is None:
        raise PermissionDenied("You are not a member of this team.")
    if role.rank < minimum.rank:
        raise PermissionDenied(
            f"This needs {_ROLE_VERBS[minimum]} of the team; you are a {role.value}."
        )
    return team, role


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only an administrator can do this.")


def clean_name(value: str | None, what: str, max_length: int = 100) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput(f"The {what} name must not be empty.")
    if len(name) > max_length:
        raise InvalidInput(f"The {what} name must be at most {max_length} characters.")
    return name
