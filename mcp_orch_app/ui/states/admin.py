"""/admin: accounts, every project and the instance settings. Every handler is refused by the
services unless the logged-in user is an administrator; the page itself only hides what they
would refuse.

A generated temporary password goes to the browser in an event (:data:`TEMPORARY_PASSWORD`,
a variable of the page in the browser only), never into this state, which is stored
server-side between events."""

from __future__ import annotations

import math

import reflex as rx
from reflex.experimental.client_state import ClientStateVar
from sqlmodel import Session

from mcp_orch_app.db import run_db
from mcp_orch_app.services import auth, oauth, projects
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import AdminUserCreateIn, AdminUserUpdateIn
from mcp_orch_app.ui.format import counted
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.create_dialog import CreateDialogMixin
from mcp_orch_app.ui.states.rows import ProjectRow, UserRow

USERS_PAGE = 500
# The temporary password of the last reset, shown once; empty when there is none to show.
TEMPORARY_PASSWORD = ClientStateVar.create("temporary_password", default="")


def _admin_page(db: Session, actor: Actor):
    """Instance settings, every account and every project, read in one transaction (admins
    only: the settings are refused to anyone else before anything is listed)."""
    settings = auth.get_system_settings(db, actor)
    users = []
    while True:
        page = auth.list_users(db, actor, limit=USERS_PAGE, offset=len(users))
        users.extend(page)
        if len(page) < USERS_PAGE:
            return settings, users, projects.list_projects(db, actor, all_projects=True)


DAY = 24 * 3600


def _amount(seconds: int, unit: int) -> str:
    """``seconds`` in ``unit``s for a form field: whole when it divides, else two decimals."""
    whole, rest = divmod(seconds, unit)
    return str(whole) if rest == 0 else f"{seconds / unit:.2f}".rstrip("0")


def _seconds(text: str, unit: int) -> int | None:
    """A form field's amount of ``unit``s in whole seconds; None when it is not a positive
    number (the services check the allowed range)."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value <= 0 or value * unit > 10**9:
        return None
    return round(value * unit)


class AdminState(CreateDialogMixin, AuthState):
    loading: bool = True
    problem: str = ""
    signup_open: bool = True
    saving_signup: bool = False
    oauth_registration_open: bool = True
    saving_oauth: bool = False
    # The OAuth token lifetimes as the form shows them: access in minutes, refresh in days.
    oauth_access_minutes: str = ""
    oauth_refresh_days: str = ""
    saving_lifetimes: bool = False
    lifetimes_error: str = ""
    users: list[UserRow] = []
    search: str = ""
    busy_user_id: str = ""
    my_user_id: str = ""
    projects: list[ProjectRow] = []
    # The account whose password is being reset (its dialog is open while this is set).
    reset_user_id: str = ""
    reset_user_email: str = ""
    resetting: bool = False
    reset_error: str = ""
    # The account waiting for the confirmation of its deactivation.
    deactivate_user_id: str = ""
    deactivate_user_email: str = ""

    @rx.var
    def visible_users(self) -> list[UserRow]:
        needle = self.search.strip().lower()
        if not needle:
            return self.users
        return [u for u in self.users if needle in u.name.lower() or needle in u.email.lower()]

    @rx.var
    def projects_label(self) -> str:
        return counted(len(self.projects), "project")

    @rx.var
    def admin_count(self) -> int:
        return sum(1 for u in self.users if u.is_admin)

    @rx.var
    def active_count(self) -> int:
        return sum(1 for u in self.users if u.is_active)

    async def _reload(self) -> None:
        actor = await self._actor()
        settings, users, all_projects = await run_db(_admin_page, actor)
        self.my_user_id = str(actor.user_id)
        self.signup_open = settings.signup_open
        self._show_oauth(await run_db(oauth.get_oauth_settings, actor))
        self.users = [UserRow.of(u) for u in users]
        self.projects = [ProjectRow.of(p) for p in all_projects]

    @rx.event
    async def load(self):
        self.users = []
        self.projects = []
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

    @rx.event
    async def set_oauth_registration_open(self, is_open: bool):
        async def save():
            settings = await self._call(oauth.set_oauth_settings, registration_open=is_open is True)
            self.oauth_registration_open = settings.registration_open
            return rx.toast.success(
                "OAuth clients may register themselves."
                if settings.registration_open
                else "Only administrators can register OAuth clients now."
            )

        async for event in self._attempt("saving_oauth", save):
            yield event

    def _show_oauth(self, settings: oauth.OAuthSettingsOut) -> None:
        self.oauth_registration_open = settings.registration_open
        self.oauth_access_minutes = _amount(settings.access_token_seconds, 60)
        self.oauth_refresh_days = _amount(settings.refresh_token_seconds, DAY)

    @rx.event
    def set_oauth_access_minutes(self, value: str):
        self.oauth_access_minutes = str(value)[:20]

    @rx.event
    def set_oauth_refresh_days(self, value: str):
        self.oauth_refresh_days = str(value)[:20]

    @rx.event
    async def save_oauth_lifetimes(self):
        self.lifetimes_error = ""
        access = _seconds(self.oauth_access_minutes, 60)
        refresh = _seconds(self.oauth_refresh_days, DAY)
        if access is None or refresh is None:
            self.lifetimes_error = "Enter the lifetimes as positive numbers."
            return

        async def save():
            settings = await self._call(
                oauth.set_oauth_settings,
                access_token_seconds=access,
                refresh_token_seconds=refresh,
            )
            self._show_oauth(settings)
            return rx.toast.success("OAuth token lifetimes saved; new tokens get them.")

        async for event in self._attempt("saving_lifetimes", save, error="lifetimes_error"):
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

    def _pick_for_deactivation(self, user_id: str, email: str) -> None:
        self.deactivate_user_id = user_id
        self.deactivate_user_email = email

    @rx.event
    def ask_deactivate(self, user_id: str, email: str):
        self._pick_for_deactivation(user_id, email)

    @rx.event
    def close_deactivate(self, is_open: bool = False):
        if not is_open:
            self._pick_for_deactivation("", "")

    def _show_reset(self, user_id: str, email: str):
        """Opens (or, without a user, closes) the reset dialog, with no password in it."""
        self.reset_user_id = user_id
        self.reset_user_email = email
        self.reset_error = ""
        return TEMPORARY_PASSWORD.push("")

    @rx.event
    def open_reset(self, user_id: str, email: str):
        return self._show_reset(user_id, email)

    @rx.event
    def close_reset(self, is_open: bool = False):
        if not is_open:
            return self._show_reset("", "")
        return None

    @rx.event
    async def reset_password(self, form: dict):
        async def reset():
            typed = str(form.get("password", ""))[:1024]
            done = await self._call(auth.admin_reset_password, self.reset_user_id, typed or None)
            if done.generated:
                return TEMPORARY_PASSWORD.push(done.password)
            return [
                self._show_reset("", ""),
                rx.toast.success(f"New password set for {done.user.email}; they were logged out."),
            ]

        async for event in self._attempt("resetting", reset, error="reset_error"):
            yield event
