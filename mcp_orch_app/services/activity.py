"""The activity feed: written by every mutating service, read by members."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from mcp_orch_app.models import Activity, Role, User
from mcp_orch_app.services.access import require_project, require_team
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ActivityActorOut, ActivityFiltersOut, ActivityOut
from mcp_orch_app.stored_json import clean_text

MAX_PAGE = 200


def record(
    db: Session,
    actor: Actor | None,
    action: str,
    description: str,
    *,
    project_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    db.add(
        Activity(
            project_id=project_id,
            team_id=team_id,
            actor_id=actor.user_id if actor else None,
            actor_name=actor.display_name if actor else "system",
            action=action,
            target_type=target_type,
            target_id=str(target_id) if target_id is not None else None,
            # NUL has no place in PostgreSQL text; lone surrogates no UTF-8 form.
            description=clean_text(description[:1000]),
            details=details,
        )
    )


def _actor_uuid(actor_id: str | uuid.UUID) -> uuid.UUID:
    try:
        return actor_id if isinstance(actor_id, uuid.UUID) else uuid.UUID(str(actor_id))
    except ValueError:
        raise InvalidInput(f"actor_id {actor_id!r} is not a user id.") from None


def _page(
    db: Session,
    where,
    limit: int,
    before_id: int | None,
    action: str | None,
    actor_id: str | uuid.UUID | None = None,
):
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Activity).where(where)
    if before_id is not None:
        query = query.where(col(Activity.id) < before_id)
    if action:
        query = query.where(col(Activity.action).startswith(action))
    if actor_id:
        query = query.where(Activity.actor_id == _actor_uuid(actor_id))
    rows = db.exec(query.order_by(col(Activity.id).desc()).limit(limit)).all()
    return [ActivityOut.model_validate(row) for row in rows]


def list_project_activity(
    db: Session,
    actor: Actor,
    project_id: str | uuid.UUID,
    *,
    limit: int = 50,
    before_id: int | None = None,
    action: str | None = None,
    actor_id: str | uuid.UUID | None = None,
) -> list[ActivityOut]:
    """The project's feed, newest first; ``action`` keeps the entries whose action starts with
    it (``member`` or ``member.added``), ``actor_id`` those of one person."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    return _page(db, Activity.project_id == project.id, limit, before_id, action, actor_id)


def project_activity_filters(
    db: Session, actor: Actor, project_id: str | uuid.UUID
) -> ActivityFiltersOut:
    """What the project's feed can be filtered by: the actions and the people that occur in it
    (people by their current name; entries of deleted accounts cannot be told apart)."""
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    mine = Activity.project_id == project.id
    actions = db.exec(
        select(Activity.action).where(mine).group_by(Activity.action).order_by(Activity.action)
    ).all()
    actors = db.exec(
        select(User.id, User.name, User.email)
        .where(col(User.id).in_(select(Activity.actor_id).where(mine).distinct()))
        .order_by(func.lower(User.name), User.email)
    ).all()
    return ActivityFiltersOut(
        actions=list(actions),
        actors=[ActivityActorOut(id=uid, name=name or email) for uid, name, email in actors],
    )


def list_team_activity(
    db: Session,
    actor: Actor,
    team_id: str | uuid.UUID,
    *,
    limit: int = 50,
    before_id: int | None = None,
    action: str | None = None,
) -> list[ActivityOut]:
    team, _ = require_team(db, actor, team_id, Role.REPORTER)
    return _page(db, Activity.team_id == team.id, limit, before_id, action)
