"""/admin: accounts and instance settings. Every handler is refused by the services unless
the logged-in user is an administrator; the page itself only hides what they would refuse."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.services import auth
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import AdminUserCreateIn, AdminUserUpdateIn
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import UserRow

USERS_PAGE = 500


def _admin_page(db: Session, actor: Actor):
    """Instance settings and every account, read in one transaction (admins only)."""
    settings = auth.get_system_settings(db, actor)
    users = []
    while True:
        page = auth.list_users(db, actor, limit=USERS_PAGE, offset=len(users))
        users.extend(page)
        if len(page) < USERS_PAGE:
            return settings, users


class AdminState(AuthState):
    loading: bool = True
    problem: str = ""
    signup_open: bool = True
    saving_signup: bool = False
    users: list[UserRow] = []
    search: str = ""
    busy_user_id: str = ""
    create_open: bool = False
    creating: bool = False
    create_error: str = ""
    my_user_id: str = ""

    @rx.var
    def visible_users(self) -> list[UserRow]:
        needle = self.search.strip().lower()
        if not needle:
            return self.users
        return [u for u in self.users if needle in u.name.lower() or needle in u.email.lower()]

    @rx.var
    def admin_count(self) -> int:
        return sum(1 for u in self.users if u.is_admin)

    @rx.var
    def active_count(self) -> int:
        return sum(1 for u in self.users if u.is_active)

    async def _reload(self) -> None:
        actor = await self._actor()
        settings, users = await run_db(_admin_page, actor)
        self.my_user_id = str(actor.user_id)
        self.signup_open = settings.signup_open
        self.users = [UserRow.of(u) for u in users]

    @rx.event
    async def load(self):
        self.users = []
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    def set_search(self, value: str):
        self.search = value

    @rx.event
    async def set_signup_open(self, is_open: bool):
        async def save():
            settings = await self._call(auth.set_signup_open, is_open is True)
            self.signup_open = settings.signup_open
            return rx.toast.success(
                "Sign-up is open: anyone who reaches this instance can create an account."
                if settings.signup_open
                else "Sign-up is closed: only administrators can create accounts."
            )

        async for event in self._attempt("saving_signup", save):
            yield event

    async def _update_user(self, user_id: str, change: AdminUserUpdateIn, done: str):
        async def update():
            user = await self._call(auth.admin_update_user, user_id, change)
            row = UserRow.of(user)
            self.users = [row if u.id == row.id else u for u in self.users]
            return rx.toast.success(done.format(name=user.name or user.email))

        async for event in self._attempt("busy_user_id", update, value=user_id):
            yield event

    @rx.event
    async def set_admin(self, user_id: str, is_admin: bool):
        message = (
            "{name} is now an administrator."
            if is_admin
            else "{name} is no longer an administrator."
        )
        async for event in self._update_user(
            user_id, AdminUserUpdateIn(is_admin=is_admin is True), message
        ):
            yield event

    @rx.event
    async def set_active(self, user_id: str, is_active: bool):
        message = (
            "{name} can log in again." if is_active else "{name} is deactivated and logged out."
        )
        async for event in self._update_user(
            user_id, AdminUserUpdateIn(is_active=is_active is True), message
        ):
            yield event

    @rx.event
    def set_create_open(self, is_open: bool):
        self.create_open = is_open
        self.create_error = ""

    @rx.event
    async def create_user(self, form: dict):
        async def add_account():
            data = AdminUserCreateIn(
                email=str(form.get("email", ""))[:320],
                password=str(form.get("password", ""))[:1024],
                name=str(form.get("name", ""))[:200],
                is_admin=form.get("is_admin") in (True, "on", "true"),
            )
            user = await self._call(auth.admin_create_user, data)
            self.users = [*self.users, UserRow.of(user)]
            self.create_open = False
            return rx.toast.success(f"Account created for {user.email}.")

        async for event in self._attempt("creating", add_account, error="create_error"):
            yield event
