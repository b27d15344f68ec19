"""The login page."""

from __future__ import annotations

import asyncio

import reflex as rx

from mcp_orch_app.db import run_db
from mcp_orch_app.services import auth
from mcp_orch_app.services.errors import NotAuthenticated, ServiceError
from mcp_orch_app.ui.states.auth import AuthState, safe_next


class LoginState(AuthState):
    submitting: bool = False
    error: str = ""
    # Whether the page offers the sign-up link; off until known, so a closed instance never
    # shows a link that leads to "sign-up is closed".
    signup_open: bool = False

    def _next_path(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next"))

    @rx.event
    async def load(self):
        self.error = ""
        self.submitting = False
        self.signup_open = await run_db(auth.signup_open)
        if not self.token:
            return
        try:
            await self._actor()
        except NotAuthenticated:
            return
        return rx.redirect(self._next_path())

    @rx.event
    async def login(self, form: dict):
        self.submitting = True
        self.error = ""
        yield
        try:
            # auth.login runs its own units of work (failed attempts count for the throttle).
            result = await asyncio.to_thread(
                auth.login,
                str(form.get("email", "")),
                str(form.get("password", "")),
                ip=self.router.session.client_ip or None,
                user_agent=self.router.headers.user_agent or None,
            )
        except ServiceError as exc:
            self.submitting = False
            self.error = exc.message
            return
        target = self._next_path()
        self._start_login(result)
        yield rx.redirect(target)
