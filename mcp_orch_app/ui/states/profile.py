"""/profile: the user's name, password and login sessions."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.services import auth, oauth
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import ConnectedAppRow, LoginSessionRow


def _profile_page(db: Session, actor: Actor):
    return (
        auth.get_me(db, actor),
        auth.list_my_sessions(db, actor),
        oauth.list_my_connected_apps(db, actor),
    )


class ProfileState(AuthState):
    loading: bool = True
    name: str = ""
    saving_name: bool = False
    saving_password: bool = False
    password_error: str = ""
    sessions: list[LoginSessionRow] = []
    ending_sessions: bool = False
    apps: list[ConnectedAppRow] = []
    # The id of the connected app being disconnected.
    revoking: str = ""

    async def _reload(self) -> None:
        me, sessions, apps = await self._call(_profile_page)
        self.name = me.name
        self.sessions = [LoginSessionRow.of(s) for s in sessions]
        self.apps = [ConnectedAppRow.of(a) for a in apps]

    @rx.event
    async def revoke_app(self, grant_id: str):
        async def revoke():
            await self._call(oauth.revoke_connected_app, str(grant_id)[:64])
            apps = await self._call(oauth.list_my_connected_apps)
            self.apps = [ConnectedAppRow.of(a) for a in apps]
            return rx.toast.success("The application is disconnected.")

        async for event in self._attempt("revoking", revoke, value=str(grant_id)[:64]):
            yield event

    @rx.event
    async def load(self):
        self.password_error = ""
        async for event in self._attempt("loading", self._reload):
            yield event

    @rx.event
    def set_name(self, value: str):
        self.name = value

    @rx.event
    async def save_name(self, form: dict):
        async def save():
            me = await self._call(auth.update_profile, str(form.get("name", ""))[:200])
            self.name = me.name
            self.user_name = me.name or me.email
            return rx.toast.success("Your name is saved.")

        async for event in self._attempt("saving_name", save):
            yield event

    @rx.event
    async def change_password(self, form: dict):
        new_password = str(form.get("new_password", ""))
        if new_password != str(form.get("confirm_password", "")):
            self.password_error = "The two new passwords are not the same."
            return

        async def change():
            actor = await self._actor()
            await run_db(
                auth.change_password, actor, str(form.get("current_password", "")), new_password
            )
            sessions = await run_db(auth.list_my_sessions, actor)
            self.sessions = [LoginSessionRow.of(s) for s in sessions]
            return rx.toast.success("Password changed. Your other sessions were logged out.")

        async for event in self._attempt("saving_password", change, error="password_error"):
            yield event

    @rx.event
    async def logout_everywhere(self):
        async def end_sessions():
            await self._call(auth.logout_everywhere)
            self._forget_login()
            return rx.redirect("/login")

        async for event in self._attempt("ending_sessions", end_sessions):
            yield event
