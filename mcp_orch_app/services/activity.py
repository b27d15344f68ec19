"""The activity feed: written by every mutating service, read by members."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from mcp_orch_app.models import Activity, Role
from mcp_orch_app.services.access import require_project, require_team
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ActivityOut

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
            description=description[:1000],
            details=details,
        )
    )


def _page(db: Session, where, limit: int, before_id: int | None, action: str | None):
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Activity).where(where)
    if before_id is not None:
        query = query.where(col(Activity.id) < before_id)
    if action:
        query = query.where(col(Activity.action).startswith(action))
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
) -> list[ActivityOut]:
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    return _page(db, Activity.project_id == project.id, limit, before_id, action)


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
