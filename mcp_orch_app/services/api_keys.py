"""Project API keys: created by owners, shown once, stored as a hash, revocable."""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlmodel import Session, col, select

from mcp_orch_app.models import ApiKey, Role, User
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.tokens import api_key_display_parts, hash_token, new_api_key
from mcp_orch_app.services import activity
from mcp_orch_app.services.access import clean_name, parse_uuid, require_project
from mcp_orch_app.services.access_events import access_changed
from mcp_orch_app.services.errors import Conflict, InvalidInput, NotFound
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut


def key_status(key: ApiKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= utcnow():
        return "expired"
    return "active"


def list_api_keys(db: Session, actor: Actor, project_id: str | uuid.UUID) -> list[ApiKeyOut]:
    project, _ = require_project(db, actor, project_id, Role.REPORTER)
    rows = db.exec(
        select(ApiKey, User.name)
        .outerjoin(User, col(User.id) == ApiKey.created_by)
        .where(ApiKey.project_id == project.id)
        .order_by(col(ApiKey.created_at).desc())
    ).all()
    return [
        ApiKeyOut(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            suffix=key.suffix,
            created_by=key.created_by,
            created_by_name=creator,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
            last_used_ip=key.last_used_ip,
            status=key_status(key),
        )
        for key, creator in rows
    ]


def create_api_key(
    db: Session, actor: Actor, project_id: str | uuid.UUID, data: ApiKeyIn
) -> ApiKeyCreatedOut:
    project, _ = require_project(db, actor, project_id, Role.OWNER)
    name = clean_name(data.name, "API key")
    expires_at = data.expires_at
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= utcnow():
            raise InvalidInput("The expiry date must be in the future.")
    if db.exec(
        select(ApiKey.id).where(
            ApiKey.project_id == project.id,
            ApiKey.name == name,
            col(ApiKey.revoked_at).is_(None),
        )
    ).first():
        raise Conflict(f"An active key named {name!r} already exists in this project.")
    secret = new_api_key()
    prefix, suffix = api_key_display_parts(secret)
    key = ApiKey(
        project_id=project.id,
        name=name,
        key_hash=hash_token(secret),
        prefix=prefix,
        suffix=suffix,
        created_by=actor.user_id,
        expires_at=expires_at,
    )
    db.add(key)
    activity.record(
        db,
        actor,
        "api_key.created",
        f"{actor.display_name} created the API key {name} ({prefix}…{suffix})",
        project_id=project.id,
        target_type="api_key",
        target_id=key.id,
    )
    db.flush()
    return ApiKeyCreatedOut(
        id=key.id,
        name=key.name,
        key=secret,
        prefix=prefix,
        suffix=suffix,
        expires_at=key.expires_at,
        created_at=key.created_at,
    )


def revoke_api_key(
    db: Session, actor: Actor, project_id: str | uuid.UUID, key_id: str | uuid.UUID
) -> None:
    project, _ = require_project(db, actor, project_id, Role.OWNER)
    key = db.get(ApiKey, parse_uuid(key_id, "API key"))
    if key is None or key.project_id != project.id:
        raise NotFound(f"No API key with id {key_id} in this project.")
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    db.add(key)
    activity.record(
        db,
        actor,
        "api_key.revoked",
        f"{actor.display_name} revoked the API key {key.name} ({key.prefix}…{key.suffix})",
        project_id=project.id,
        target_type="api_key",
        target_id=key.id,
    )
    db.flush()
    access_changed(db, project.id)
