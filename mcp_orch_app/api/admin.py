"""/api/admin: instance settings and user administration (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import auth
from mcp_orch_app.services.bounds import MAX_OFFSET
from mcp_orch_app.services.schemas import (
    AdminUserCreateIn,
    AdminUserUpdateIn,
    PasswordResetIn,
    PasswordResetOut,
    SystemSettingsIn,
    SystemSettingsOut,
    UserOut,
)

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=StrictJSONRoute)


@router.get("/settings", response_model=SystemSettingsOut)
def get_settings(actor: CurrentActor):
    return run(auth.get_system_settings, actor)


@router.put("/settings", response_model=SystemSettingsOut)
def put_settings(body: SystemSettingsIn, actor: CurrentActor):
    return run(auth.set_signup_open, actor, body.signup_open)


@router.get("/users", response_model=list[UserOut])
def list_users(
    actor: CurrentActor,
    q: str = Query("", max_length=100),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    return run(auth.list_users, actor, q=q, limit=limit, offset=offset)


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: AdminUserCreateIn, actor: CurrentActor):
    return run(auth.admin_create_user, actor, body)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: str, body: AdminUserUpdateIn, actor: CurrentActor):
    return run(auth.admin_update_user, actor, user_id, body)


@router.post("/users/{user_id}/reset-password", response_model=PasswordResetOut)
def reset_password(user_id: str, body: PasswordResetIn, actor: CurrentActor):
    return run(auth.admin_reset_password, actor, user_id, body.password)
