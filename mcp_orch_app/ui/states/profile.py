"""/profile: the user's name, password and login sessions."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.services import auth
from mcp_orch_app.services.errors import NotAuthenticated, ServiceError
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import LoginSessionRow


def _profile_page(db: Session, actor: Actor):
    return auth.get_me(db, actor), auth.list_my_sessions(db, actor)


class ProfileState(AuthState):
    loading: bool = True
    name: str = ""
    saving_name: bool = False
    saving_password: bool = False
    password_error: str = ""
    sessions: list[LoginSessionRow] = []
    ending_sessions: bool = False

    @rx.event
    async def load(self):
        self.loading = True
        self.password_error = ""
        yield
        try:
            me, sessions = await self._call(_profile_page)
        except ServiceError as exc:
            self.loading = False
            yield self._failure(exc)
            return
        self.name = me.name
        self.sessions = [LoginSessionRow.of(s) for s in sessions]
        self.loading = False

    @rx.event
    def set_name(self, value: str):
        self.name = value

    @rx.event
    async def save_name(self, form: dict):
        self.saving_name = True
        yield
        try:
            me = await self._call(auth.update_profile, str(form.get("name", ""))[:200])
        except ServiceError as exc:
            self.saving_name = False
            yield self._failure(exc)
            return
        self.name = me.name
        self.user_name = me.name or me.email
        self.saving_name = False
        yield rx.toast.success("Your name is saved.")

    @rx.event
    async def change_password(self, form: dict):
        new_password = str(form.get("new_password", ""))
        if new_password != str(form.get("confirm_password", "")):
            self.password_error = "The two new passwords are not the same."
            return
        self.saving_password = True
        self.password_error = ""
        yield
        try:
            actor = await self._actor()
            await run_db(
                auth.change_password, actor, str(form.get("current_password", "")), new_password
            )
            sessions = await run_db(auth.list_my_sessions, actor)
        except NotAuthenticated as exc:
            yield self._failure(exc)
            return
        except ServiceError as exc:
            self.saving_password = False
            self.password_error = exc.message
            return
        self.sessions = [LoginSessionRow.of(s) for s in sessions]
        self.saving_password = False
        yield rx.toast.success("Password changed. Your other sessions were logged out.")

    @rx.event
    async def logout_everywhere(self):
        self.ending_sessions = True
        yield
        try:
            await self._call(auth.logout_everywhere)
        except ServiceError as exc:
            self.ending_sessions = False
            yield self._failure(exc)
            return
        self.ending_sessions = False
        self._forget_login()
        yield rx.redirect("/login")
