"""/api/auth: sign-up, login, logout, the current user and their sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mcp_orch_app.api.deps import CurrentActor, client_ip, run, user_agent
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import auth
from mcp_orch_app.services.schemas import (
    LoginIn,
    LoginOut,
    LoginSessionOut,
    PasswordChangeIn,
    ProfileIn,
    SignupIn,
    UserOut,
)

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=StrictJSONRoute)


@router.post("/signup", status_code=201, response_model=UserOut)
def signup(body: SignupIn):
    return run(auth.signup, body.email, body.password, body.name)


@router.get("/signup-status")
def signup_status() -> dict[str, bool]:
    return {"signup_open": run(auth.signup_open)}


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request):
    # auth.login runs its own units of work: a failed attempt is recorded for the throttle.
    return auth.login(
        body.email, body.password, ip=client_ip(request), user_agent=user_agent(request)
    )


@router.post("/logout", status_code=204)
def logout(actor: CurrentActor) -> Response:
    run(auth.logout, actor)
    return Response(status_code=204)


@router.post("/logout-all")
def logout_all(actor: CurrentActor) -> dict[str, int]:
    return {"revoked": run(auth.logout_everywhere, actor)}


@router.get("/me", response_model=UserOut)
def me(actor: CurrentActor):
    return run(auth.get_me, actor)


@router.patch("/me", response_model=UserOut)
def update_me(body: ProfileIn, actor: CurrentActor):
    return run(auth.update_profile, actor, body.name)


@router.post("/password", status_code=204)
def change_password(body: PasswordChangeIn, actor: CurrentActor) -> Response:
    run(auth.change_password, actor, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get("/sessions", response_model=list[LoginSessionOut])
def sessions(actor: CurrentActor):
    return run(auth.list_my_sessions, actor)
