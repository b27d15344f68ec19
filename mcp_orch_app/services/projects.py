"""Projects, their members and the teams added to them."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from mcp_orch_app.models import (
    InvitedAs,
    McpServer,
    Project,
    ProjectMember,
    ProjectTeam,
    Role,
    ServerStatus,
    Team,
    TeamMember,
    UnifiedNaming,
    User,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.services import activity
from mcp_orch_app.services.access import (
    clean_name,
    parse_uuid,
    require_project,
    require_team,
)
from mcp_orch_app.services.access_events import access_changed
from mcp_orch_app.services.auth import normalise_email
from mcp_orch_app.services.errors import Conflict, InvalidInput, NotFound
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import (
    MemberOut,
    ProjectOut,
    ProjectOverviewOut,
    ProjectPatch,
    ProjectTeamOut,
)


def _counts(db: Session, project_ids: list[uuid.UUID]) -> tuple[dict, dict]:
    if not project_ids:
        return {}, {}
    members = dict(
        db.exec(
            select(ProjectMember.project_id, func.count())
            .where(col(ProjectMember.project_id).in_(project_ids))
            .group_by(ProjectMember.project_id)
        ).all()
    )
    servers = dict(
        db.exec(
            select(McpServer.project_id, func.count())
            .where(col(McpServer.project_id).in_(project_ids))
            .group_by(McpServer.project_id)
        ).all()
    )
    return members, servers


def _project_out(db: Session, project: Project, role: Role | None) -> ProjectOut:
    members, servers = _counts(db, [project.id])
    return ProjectOut.model_validate(project).model_copy(
        update={
            "my_role": role,
            "member_count": members.get(project.id, 0),
            "server_count": servers.get(project.id, 0),
        }
    )


def list_projects(
    db: Session, actor: Actor, *, q: str = "", all_projects: bool = False
) -> list[ProjectOut]:
    """The actor's projects; ``all_projects`` (administrators only) lists every project."""
    if all_projects and actor.is_admin:
        query = select(Project, ProjectMember.role).outerjoin(
            ProjectMember,
            (col(ProjectMember.project_id) == Project.id)
            & (col(ProjectMember.user_id) == actor.user_id),
        )
    else:
        query = (
            select(Project, ProjectMember.role)
            .join(ProjectMember, col(ProjectMember.project_id) == Project.id)
            .where(ProjectMember.user_id == actor.user_id)
        )
    if q.strip():
        query = query.where(func.lower(Project.name).like(f"%{q.strip().lower()}%"))
    rows = db.exec(query.order_by(func.lower(Project.name))).all()
    members, servers = _counts(db, [project.id for project, _ in rows])
    return [
        ProjectOut.model_validate(project).model_copy(
            update={
                "my_role": role or (Role.OWNER if actor.is_admin else None),
                "member_count": members.get(project.id, 0),
                "server_count": servers.get(project.id, 0),
            }
        )
        for project, role in rows
    ]


def create_project(db: Session, actor: Actor, name: str, description: str = "") -> ProjectOut:
    project = Project(
        name=clean_name(name, "project"),
        description=(description or "").strip()[:1000],
        created_by=actor.user_id,
    )
    db.add(project)
    db.flush()
    db.add(
        ProjectMember(
            project_id=project.id,
            user_id=actor.user_id,
            role=Role.OWNER,
            invited_as=InvitedAs.INDIVIDUAL,
            invited_by=actor.user_id,
        )
    )
    activity.record(
        db,
        actor,
        "project.created",
        f"{actor.display_name} created the project {project.name}",
        project_id=project.id,
        target_type="project",
        target_id=project.id,
    )
    db.flush()
    return _project_out(db, project, Role.OWNER)


def get_project(db: Session, actor: Actor, project_id: str | uuid.UUID) -> ProjectOut:
    project, role = require_project(db, actor, project_id, Role.REPORTER)
    return _project_out(db, project, role)


def update_project(
    db: Session, actor: Actor, project_id: str | uuid.UUID, patch: ProjectPatch
) -> ProjectOut:
    project, role = require_project(db, actor, project_id, Role.OWNER)
    changes: dict[str, object] = {}
    if patch.name is not None:
        changes["name"] = clean_name(patch.name, "project")
    if patch.description is not None:
        changes["description"] = patch.description.strip()[:1000]
    if patch.allow_anonymous is not None:
        changes["allow_anonymous"] = patch.allow_anonymous
    if patch.unified_enabled is not None:
        changes["unified_enabled"] = patch.unified_enabled
    if patch.unified_naming is not None:
        changes["unified_naming"] = UnifiedNaming(patch.unified_naming)
    changed = {k: v for k, v in changes.items() if getattr(project, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(project, key, value)
        project.updated_at = utcnow()
        db.add(project)
        activity.record(
            db,
            actor,
            "project.updated",
            f"{actor.display_name} changed the project's {', '.join(sorted(changed))}",
            project_id=project.id,
            target_type="project",
            target_id=project.id,
            details={"changed": sorted(changed)},
        )
        db.flush()
    access_changed(db, project.id)
    return _project_out(db, project, role)


def delete_project(db: Session, actor: Actor, project_id: str | uuid.UUID) -> None:
    project, _ = require_project(db, actor, project_id, Role.OWNER)
    name, pid = project.name, project.id
    # The project's rows (members, servers, keys, logs, its feed) go with it by cascade; the
    # instance-level feed keeps a record that it existed and who deleted it.
    db.delete(project)
    db.flush()
    access_changed(db, pid)
    activity.record(
        db,
        actor,
        "project.deleted",
        f"{actor.display_name} deleted the project {name}",
        target_type="project",
        target_id=pid,
    )
    db.flush()


# --- members --------------------------------------------------------------------------------


def list_members(db: Session, actor: Actor, project_id: str | uuid.UUID) -> list[MemberOut]:
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    rows = db.exec(
        select(ProjectMember, User, Team.name)
        .join(User, col(User.id) == ProjectMember.user_id)
        .outerjoin(Team, col(Team.id) == ProjectMember.team_id)
        .where(ProjectMember.project_id == project.id)
        .order_by(col(ProjectMember.created_at))
    ).all()
    return [
        MemberOut(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=member.role,
            invited_as=member.invited_as,
            team_id=member.team_id,
            team_name=team_name,
            joined_at=member.created_at,
        )
        for member, user, team_name in rows
    ]


def _member_out(db: Session, member: ProjectMember) -> MemberOut:
    user = db.get(User, member.user_id)
    team = db.get(Team, member.team_id) if member.team_id else None
    return MemberOut(
        user_id=member.user_id,
        email=user.email if user else "",
        name=user.name if user else "",
        role=member.role,
        invited_as=member.invited_as,
        team_id=member.team_id,
        team_name=team.name if team else None,
        joined_at=member.created_at,
    )


def _owner_count(db: Session, project_id: uuid.UUID) -> int:
    return db.exec(
        select(func.count())
        .select_from(ProjectMember)
        .where(ProjectMember.project_id == project_id, ProjectMember.role == Role.OWNER)
    ).one()


def add_member(
    db: Session, actor: Actor, project_id: str | uuid.UUID, email: str, role: Role
) -> MemberOut:
    project, _ = require_project(db, actor, project_id, Role.OWNER)
    role = Role(role)
    address = normalise_email(email)
    user = db.exec(select(User).where(User.email == address)).first()
    if user is None:
        raise NotFound(f"No account uses {address}; they need to sign up first.")
    existing = db.exec(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    ).first()
    if existing is not None:
        raise Conflict(f"{address} is already a member of this project ({existing.role.value}).")
    member = ProjectMember(
        project_id=project.id,
        user_id=user.id,
        role=role,
        invited_as=InvitedAs.INDIVIDUAL,
        invited_by=actor.user_id,
    )
    db.add(member)
    activity.record(
        db,
        actor,
        "member.added",
        f"{actor.display_name} added {user.name or user.email} as {role.value}",
        project_id=project.id,
        target_type="user",
        target_id=user.id,
        details={"email": user.email, "role": role.value},
    )
    db.flush()
    return _member_out(db, member)


def _get_member(db: Session, project_id: uuid.UUID, user_id: str | uuid.UUID) -> ProjectMember:
    uid = parse_uuid(user_id, "member")
    member = db.exec(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == uid
        )
    ).first()
    if member is None:
        raise NotFound("That user is not a member of this project.")
    return member


def change_member_role(
    db: Session, actor: Actor, project_id: str | uuid.UUID, user_id: str | uuid.UUID, role: Role
) -> MemberOut:
    project, _ = require_project(db, actor, project_id, Role.OWNER)
    role = Role(role)
    member = _get_member(db, project.id, user_id)
    if member.role == role:
        return _member_out(db, member)
    if member.role == Role.OWNER and _owner_count(db, project.id) <= 1:
        raise Conflict("A project needs at least one owner; make someone else owner first.")
    previous = member.role
    member.role = role
    db.add(member)
    user = db.get(User, member.user_id)
    activity.record(
        db,
        actor,
        "member.role_changed",
        f"{actor.display_name} changed {user.name if user else 'a member'}'s role from "
        f"{previous.value} to {role.value}",
        project_id=project.id,
        target_type="user",
        target_id=member.user_id,
        details={"from": previous.value, "to": role.value},
    )
    db.flush()
    access_changed(db, project.id)
    return _member_out(db, member)


def remove_member(
    db: Session, actor: Actor, project_id: str | uuid.UUID, user_id: str | uuid.UUID
) -> None:
    """Owners remove anyone; any member may leave. The last owner can do neither."""
    uid = parse_uuid(user_id, "member")
    leaving = uid == actor.user_id
    project, _ = require_project(db, actor, project_id, Role.REPORTER if leaving else Role.OWNER)
    member = _get_member(db, project.id, uid)
    if member.role == Role.OWNER and _owner_count(db, project.id) <= 1:
        raise Conflict("A project needs at least one owner; make someone else owner first.")
    user = db.get(User, member.user_id)
    who = user.name if user else "a member"
    db.delete(member)
    activity.record(
        db,
        actor,
        "member.left" if leaving else "member.removed",
        f"{who} left the project" if leaving else f"{actor.display_name} removed {who}",
        project_id=project.id,
        target_type="user",
        target_id=uid,
    )
    db.flush()
    access_changed(db, project.id)


# --- teams in a project ---------------------------------------------------------------------


def list_project_teams(
    db: Session, actor: Actor, project_id: str | uuid.UUID
) -> list[ProjectTeamOut]:
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    rows = db.exec(
        select(ProjectTeam, Team)
        .join(Team, col(Team.id) == ProjectTeam.team_id)
        .where(ProjectTeam.project_id == project.id)
        .order_by(col(ProjectTeam.created_at))
    ).all()
    return [
        ProjectTeamOut(
            team_id=team.id, team_name=team.name, role=link.role, added_at=link.created_at
        )
        for link, team in rows
    ]


def add_team_to_project(
    db: Session, actor: Actor, project_id: str | uuid.UUID, team_id: str | uuid.UUID, role: Role
) -> ProjectTeamOut:
    """Every member of the team joins the project as ``team_member`` with ``role``.

    Users who are already members keep their own membership and role.
    """
    project, _ = require_project(db, actor, project_id, Role.OWNER)
    team, _ = require_team(db, actor, team_id, Role.REPORTER)
    role = Role(role)
    if db.exec(
        select(ProjectTeam.id).where(
            ProjectTeam.project_id == project.id, ProjectTeam.team_id == team.id
        )
    ).first():
        raise Conflict(f"The team {team.name} is already in this project.")
    link = ProjectTeam(project_id=project.id, team_id=team.id, role=role, added_by=actor.user_id)
    db.add(link)
    existing = set(
        db.exec(select(ProjectMember.user_id).where(ProjectMember.project_id == project.id)).all()
    )
    for user_id in db.exec(select(TeamMember.user_id).where(TeamMember.team_id == team.id)).all():
        if user_id not in existing:
            db.add(
                ProjectMember(
                    project_id=project.id,
                    user_id=user_id,
                    role=role,
                    invited_as=InvitedAs.TEAM_MEMBER,
                    team_id=team.id,
                    invited_by=actor.user_id,
                )
            )
    activity.record(
        db,
        actor,
        "team.added",
        f"{actor.display_name} added the team {team.name} as {role.value}",
        project_id=project.id,
        target_type="team",
        target_id=team.id,
    )
    activity.record(
        db,
        actor,
        "team.added_to_project",
        f"{actor.display_name} added the team to the project {project.name}",
        team_id=team.id,
        target_type="project",
        target_id=project.id,
    )
    db.flush()
    return ProjectTeamOut(team_id=team.id, team_name=team.name, role=role, added_at=link.created_at)


def remove_team_from_project(
    db: Session, actor: Actor, project_id: str | uuid.UUID, team_id: str | uuid.UUID
) -> None:
    project, _ = require_project(db, actor, project_id, Role.OWNER)
    tid = parse_uuid(team_id, "team")
    link = db.exec(
        select(ProjectTeam).where(ProjectTeam.project_id == project.id, ProjectTeam.team_id == tid)
    ).first()
    if link is None:
        raise NotFound("That team is not in this project.")
    leaving_owners = db.exec(
        select(func.count())
        .select_from(ProjectMember)
        .where(
            ProjectMember.project_id == project.id,
            ProjectMember.team_id == tid,
            ProjectMember.invited_as == InvitedAs.TEAM_MEMBER,
            ProjectMember.role == Role.OWNER,
        )
    ).one()
    if leaving_owners and _owner_count(db, project.id) <= leaving_owners:
        raise Conflict("Removing this team would leave the project without an owner.")
    team = db.get(Team, tid)
    db.execute(
        delete(ProjectMember).where(
            col(ProjectMember.project_id) == project.id,
            col(ProjectMember.team_id) == tid,
            col(ProjectMember.invited_as) == InvitedAs.TEAM_MEMBER,
        )
    )
    db.delete(link)
    activity.record(
        db,
        actor,
        "team.removed",
        f"{actor.display_name} removed the team {team.name if team else ''} from the project",
        project_id=project.id,
        target_type="team",
        target_id=tid,
    )
    db.flush()
    access_changed(db, project.id)


# --- overview -------------------------------------------------------------------------------


def project_overview(db: Session, actor: Actor, project_id: str | uuid.UUID) -> ProjectOverviewOut:
    from mcp_orch_app.services.servers import list_servers

    project, role = require_project(db, actor, project_id, Role.REPORTER)
    servers = list_servers(db, actor, project.id)
    counts = {status.value: 0 for status in ServerStatus}
    for server in servers:
        counts[server.status.value] += 1
    return ProjectOverviewOut(
        project=_project_out(db, project, role),
        servers=servers,
        members=list_members(db, actor, project.id),
        status_counts=counts,
        recent_activity=activity.list_project_activity(db, actor, project.id, limit=10),
    )


def ensure_valid_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidInput(
            f"Unknown role {value!r}; use one of: {', '.join(r.value for r in Role)}."
        ) from exc
