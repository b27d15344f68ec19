"""Teams and their members.

A team's members follow it into the projects the team was added to: adding a member to the
team adds them to those projects as ``team_member``; removing them takes those memberships away.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from mcp_orch_app.models import (
    InvitedAs,
    Project,
    ProjectMember,
    ProjectTeam,
    Role,
    Team,
    TeamMember,
    User,
)
from mcp_orch_app.services import activity
from mcp_orch_app.services.access import clean_name, parse_uuid, require_team
from mcp_orch_app.services.access_events import user_access_changed
from mcp_orch_app.services.auth import normalise_email
from mcp_orch_app.services.errors import Conflict, NotFound
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import MemberOut, ProjectOut, TeamIn, TeamOut


def _member_counts(db: Session, team_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not team_ids:
        return {}
    return dict(
        db.exec(
            select(TeamMember.team_id, func.count())
            .where(col(TeamMember.team_id).in_(team_ids))
            .group_by(TeamMember.team_id)
        ).all()
    )


def list_teams(db: Session, actor: Actor, *, all_teams: bool = False) -> list[TeamOut]:
    if all_teams and actor.is_admin:
        query = select(Team, TeamMember.role).outerjoin(
            TeamMember,
            (col(TeamMember.team_id) == Team.id) & (col(TeamMember.user_id) == actor.user_id),
        )
    else:
        query = (
            select(Team, TeamMember.role)
            .join(TeamMember, col(TeamMember.team_id) == Team.id)
            .where(TeamMember.user_id == actor.user_id)
        )
    rows = db.exec(query.order_by(func.lower(Team.name))).all()
    counts = _member_counts(db, [team.id for team, _ in rows])
    return [
        TeamOut.model_validate(team).model_copy(
            update={"my_role": role, "member_count": counts.get(team.id, 0)}
        )
        for team, role in rows
    ]


def create_team(db: Session, actor: Actor, data: TeamIn) -> TeamOut:
    team = Team(
        name=clean_name(data.name, "team"),
        description=(data.description or "").strip()[:1000],
        created_by=actor.user_id,
    )
    db.add(team)
    db.flush()
    db.add(TeamMember(team_id=team.id, user_id=actor.user_id, role=Role.OWNER))
    activity.record(
        db,
        actor,
        "team.created",
        f"{actor.display_name} created the team {team.name}",
        team_id=team.id,
        target_type="team",
        target_id=team.id,
    )
    db.flush()
    return TeamOut.model_validate(team).model_copy(
        update={"my_role": Role.OWNER, "member_count": 1}
    )


def get_team(db: Session, actor: Actor, team_id: str | uuid.UUID) -> TeamOut:
    team, role = require_team(db, actor, team_id, Role.REPORTER)
    return TeamOut.model_validate(team).model_copy(
        update={"my_role": role, "member_count": _member_counts(db, [team.id]).get(team.id, 0)}
    )


def list_team_members(db: Session, actor: Actor, team_id: str | uuid.UUID) -> list[MemberOut]:
    team, _ = require_team(db, actor, team_id, Role.REPORTER)
    rows = db.exec(
        select(TeamMember, User)
        .join(User, col(User.id) == TeamMember.user_id)
        .where(TeamMember.team_id == team.id)
        .order_by(col(TeamMember.created_at))
    ).all()
    return [
        MemberOut(
            user_id=user.id, email=user.email, name=user.name, role=m.role, joined_at=m.created_at
        )
        for m, user in rows
    ]


def list_team_projects(db: Session, actor: Actor, team_id: str | uuid.UUID) -> list[ProjectOut]:
    team, _ = require_team(db, actor, team_id, Role.REPORTER)
    rows = db.exec(
        select(Project, ProjectTeam.role)
        .join(ProjectTeam, col(ProjectTeam.project_id) == Project.id)
        .where(ProjectTeam.team_id == team.id)
        .order_by(func.lower(Project.name))
    ).all()
    return [ProjectOut.model_validate(p).model_copy(update={"my_role": role}) for p, role in rows]


def _owner_count(db: Session, team_id: uuid.UUID) -> int:
    return db.exec(
        select(func.count())
        .select_from(TeamMember)
        .where(TeamMember.team_id == team_id, TeamMember.role == Role.OWNER)
    ).one()


def add_team_member(
    db: Session, actor: Actor, team_id: str | uuid.UUID, email: str, role: Role
) -> MemberOut:
    team, _ = require_team(db, actor, team_id, Role.OWNER)
    role = Role(role)
    address = normalise_email(email)
    user = db.exec(select(User).where(User.email == address)).first()
    if user is None:
        raise NotFound(f"No account uses {address}; they need to sign up first.")
    if db.exec(
        select(TeamMember.id).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    ).first():
        raise Conflict(f"{address} is already a member of this team.")
    member = TeamMember(team_id=team.id, user_id=user.id, role=role)
    db.add(member)
    # Follow the team into its projects, unless already a member there on their own.
    for link in db.exec(select(ProjectTeam).where(ProjectTeam.team_id == team.id)).all():
        already = db.exec(
            select(ProjectMember.id).where(
                ProjectMember.project_id == link.project_id, ProjectMember.user_id == user.id
            )
        ).first()
        if not already:
            db.add(
                ProjectMember(
                    project_id=link.project_id,
                    user_id=user.id,
                    role=link.role,
                    invited_as=InvitedAs.TEAM_MEMBER,
                    team_id=team.id,
                    invited_by=actor.user_id,
                )
            )
    activity.record(
        db,
        actor,
        "member.added",
        f"{actor.display_name} added {user.name or user.email} to the team as {role.value}",
        team_id=team.id,
        target_type="user",
        target_id=user.id,
    )
    db.flush()
    return MemberOut(
        user_id=user.id, email=user.email, name=user.name, role=role, joined_at=member.created_at
    )


def _get_team_member(db: Session, team_id: uuid.UUID, user_id: str | uuid.UUID) -> TeamMember:
    uid = parse_uuid(user_id, "member")
    member = db.exec(
        select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == uid)
    ).first()
    if member is None:
        raise NotFound("That user is not a member of this team.")
    return member


def change_team_member_role(
    db: Session, actor: Actor, team_id: str | uuid.UUID, user_id: str | uuid.UUID, role: Role
) -> MemberOut:
    team, _ = require_team(db, actor, team_id, Role.OWNER)
    role = Role(role)
    member = _get_team_member(db, team.id, user_id)
    if member.role == Role.OWNER and role != Role.OWNER and _owner_count(db, team.id) <= 1:
        raise Conflict("A team needs at least one owner; make someone else owner first.")
    previous, member.role = member.role, role
    db.add(member)
    user = db.get(User, member.user_id)
    if previous != role:
        activity.record(
            db,
            actor,
            "member.role_changed",
            f"{actor.display_name} changed {user.name if user else 'a member'}'s team role from "
            f"{previous.value} to {role.value}",
            team_id=team.id,
            target_type="user",
            target_id=member.user_id,
        )
    db.flush()
    return MemberOut(
        user_id=member.user_id,
        email=user.email if user else "",
        name=user.name if user else "",
        role=role,
        joined_at=member.created_at,
    )


def remove_team_member(
    db: Session, actor: Actor, team_id: str | uuid.UUID, user_id: str | uuid.UUID
) -> None:
    uid = parse_uuid(user_id, "member")
    leaving = uid == actor.user_id
    team, _ = require_team(db, actor, team_id, Role.REPORTER if leaving else Role.OWNER)
    member = _get_team_member(db, team.id, uid)
    if member.role == Role.OWNER and _owner_count(db, team.id) <= 1:
        raise Conflict("A team needs at least one owner; make someone else owner first.")
    user = db.get(User, uid)
    db.delete(member)
    # Memberships that came only through this team end with it.
    db.execute(
        delete(ProjectMember).where(
            col(ProjectMember.user_id) == uid,
            col(ProjectMember.team_id) == team.id,
            col(ProjectMember.invited_as) == InvitedAs.TEAM_MEMBER,
            col(ProjectMember.role) != Role.OWNER,
        )
    )
    who = user.name if user else "a member"
    activity.record(
        db,
        actor,
        "member.left" if leaving else "member.removed",
        f"{who} left the team" if leaving else f"{actor.display_name} removed {who} from the team",
        team_id=team.id,
        target_type="user",
        target_id=uid,
    )
    db.flush()
    user_access_changed(db, uid)
