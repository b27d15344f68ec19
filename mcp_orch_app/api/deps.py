"""Shared pieces of the routers: the current actor, running a service, client metadata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mcp_orch_app.config import get_settings
from mcp_orch_app.db import in_transaction
from mcp_orch_app.services import auth
from mcp_orch_app.services.principal import Actor

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="The access_token from POST /api/auth/login")


def current_actor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The logged-in user; NotAuthenticated becomes 401 with WWW-Authenticate: Bearer."""
    token = credentials.credentials if credentials else None
    return in_transaction(auth.authenticate, token)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def run(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run one service call in its own transaction (routes are sync: FastAPI threads them)."""
    return in_transaction(fn, *args, **kwargs)


def client_ip(request: Request) -> str | None:
    """The socket peer; the last X-Forwarded-For hop only when the operator says a trusted
    proxy sets it (MCP_ORCH_TRUST_FORWARDED_FOR), since any client can send that header."""
    if get_settings().trust_forwarded_for:
        hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
        if hops and hops[-1]:
            return hops[-1][:64]
    return request.client.host if request.client else None


def user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")
