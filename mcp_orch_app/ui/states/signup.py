"""The sign-up page: open sign-up, unless an administrator closed it."""

from __future__ import annotations

import asyncio

import reflex as rx

from mcp_orch_app.db import run_db
from mcp_orch_app.services import auth
from mcp_orch_app.services.errors import NotAuthenticated, PermissionDenied, ServiceError
from mcp_orch_app.ui.states.auth import HOME, AuthState


class SignupState(AuthState):
    checked: bool = False
    signup_open: bool = True
    submitting: bool = False
    error: str = ""

    @rx.event
    async def load(self):
        self.error = ""
        self.submitting = False
        if self.token:
            try:
                await self._actor()
            except NotAuthenticated:
                pass
            else:
                return rx.redirect(HOME)
        self.signup_open = await run_db(auth.signup_open)
        self.checked = True

    @rx.event
    async def signup(self, form: dict):
        email = str(form.get("email", ""))
        password = str(form.get("password", ""))
        if password != str(form.get("confirm", "")):
            self.error = "The two passwords are not the same."
            return
        self.submitting = True
        self.error = ""
        yield
        try:
            await run_db(auth.signup, email, password, str(form.get("name", "")))
            # auth.login runs its own units of work (failed attempts count for the throttle).
            result = await asyncio.to_thread(
                auth.login,
                email,
                password,
                ip=self.router.session.client_ip or None,
                user_agent=self.router.headers.user_agent or None,
            )
        except ServiceError as exc:
            self.submitting = False
            self.error = exc.message
            # The only refusal sign-up has: an administrator closed it meanwhile.
            if isinstance(exc, PermissionDenied):
                self.signup_open = False
            return
        self._start_login(result)
        yield rx.redirect(HOME)
