"""The login token in the browser and the check every page and handler goes through.

The token lives in the browser's localStorage. It proves nothing by itself: every page load
and every event handler turns it into an :class:`Actor` with ``auth.authenticate`` (a live,
unrevoked login session of an active user), and the services check that actor's rights.
``authenticated`` and ``is_admin`` only decide what the page draws; no handler trusts them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import reflex as rx

from mcp_orch_app.db import run_db
from mcp_orch_app.services import auth
from mcp_orch_app.services.errors import NotAuthenticated, ServiceError
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.services.schemas import LoginOut

TOKEN_STORAGE_KEY = "mcp_orch_token"
HOME = "/projects"
# Pages that never come back as ``next`` after logging in.
_LOGIN_PAGES = ("", "/login", "/signup")

T = TypeVar("T")


class NoLogin(NotAuthenticated):
    """This browser holds no token at all (as opposed to a token that stopped working)."""


def safe_next(path: str | None) -> str:
    """Where to go after logging in: a path of this site only (never ``//evil.example``)."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return HOME
    if path.split("?")[0].rstrip("/") in _LOGIN_PAGES:
        return HOME
    return path


class AuthState(rx.State):
    """Base of every page state: the token, who is logged in, and the failure handling."""

    token: str = rx.LocalStorage("", name=TOKEN_STORAGE_KEY)
    # Set only by a successful ``auth.authenticate`` in this state; protected pages render
    # nothing private until it is true.
    authenticated: bool = False
    user_name: str = ""
    user_email: str = ""
    # Shows the Admin link; the admin pages' handlers are checked by the services.
    is_admin: bool = False

    async def _actor(self) -> Actor:
        """The logged-in actor, or NotAuthenticated (and the local login is forgotten)."""
        if not self.token:
            self._forget_login()
            raise NoLogin("Log in to continue.")
        try:
            actor = await run_db(auth.authenticate, self.token)
        except NotAuthenticated:
            self._forget_login()
            raise
        if self.user_email and self.user_email != actor.email:
            # Another account's token now (logged in elsewhere in this browser): drop what
            # the pages still hold of the previous one.
            token = self.token
            self._auth_root().reset()
            self.token = token
        self._remember(actor.display_name, actor.email, actor.is_admin)
        return actor

    async def _call(self, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``service(db, actor, *args)`` for the logged-in actor in a worker thread."""
        actor = await self._actor()
        return await run_db(service, actor, *args, **kwargs)

    def _auth_root(self) -> AuthState:
        state: rx.State = self
        while isinstance(state.parent_state, AuthState):
            state = state.parent_state
        return state  # type: ignore[return-value]

    def _remember(self, name: str, email: str, is_admin: bool) -> None:
        self.authenticated = True
        self.user_name = name or email
        self.user_email = email
        self.is_admin = is_admin

    def _forget_login(self) -> None:
        """Clear the token and everything every page holds, so the next person sees nothing."""
        self._auth_root().reset()

    def _start_login(self, result: LoginOut) -> None:
        """Keep a fresh login's token; nothing another account left in the pages survives."""
        self._auth_root().reset()
        self.token = result.access_token
        self._remember(result.user.name, result.user.email, result.user.is_admin)

    def _login_url(self) -> str:
        path = self.router.url.path or ""
        if path.rstrip("/") not in _LOGIN_PAGES:
            return "/login?" + urlencode({"next": path})
        return "/login"

    def _failure(self, exc: ServiceError):
        """What the browser gets for a refused call: the login page, or a toast with the reason."""
        if isinstance(exc, NotAuthenticated):
            self._forget_login()
            if isinstance(exc, NoLogin):
                return rx.redirect(self._login_url())
            # Expired, revoked (logged out elsewhere) or deactivated: say which.
            return [rx.redirect(self._login_url()), rx.toast.info(exc.message)]
        return rx.toast.error(exc.message, close_button=True)

    async def _attempt(
        self,
        busy: str,
        work: Callable[[], Awaitable[Any]],
        *,
        value: Any = True,
        error: str = "",
        shown: type[ServiceError] = ServiceError,
    ) -> AsyncIterator[Any]:
        """The pattern of the pages' handlers: show a spinner, call the services, answer.

        Sets the var named ``busy`` to ``value`` (``True``, or the id of the row being changed)
        and yields once so the browser shows it, then awaits ``work``, which calls the services,
        stores what they return and gives the events to send (a toast, a redirect, or None).
        ``busy`` is cleared again either way. A refusal goes to :meth:`_failure`, except that
        with ``error`` (the var of a form's message or of a page's ``problem``, cleared first)
        a refusal of class ``shown`` is written there instead; a lost login never is.

        Handlers hand on what it yields: ``async for event in self._attempt(...): yield event``.
        """
        cleared = type(value)()  # False, or "" for an id
        setattr(self, busy, value)
        if error:
            setattr(self, error, "")
        yield
        try:
            events = await work()
        except ServiceError as exc:
            setattr(self, busy, cleared)
            if error and isinstance(exc, shown) and not isinstance(exc, NotAuthenticated):
                setattr(self, error, exc.message)
            else:
                yield self._failure(exc)
            return
        setattr(self, busy, cleared)
        if events is not None:
            yield events

    @rx.event
    async def open_home(self):
        """``/``: the projects when logged in, the login page otherwise."""
        try:
            await self._actor()
        except NotAuthenticated:
            return rx.redirect("/login")
        return rx.redirect(HOME)

    @rx.event
    async def logout(self):
        """Revoke this login session on the server, then forget the token in the browser."""
        if self.token:
            try:
                actor = await run_db(auth.authenticate, self.token)
                await run_db(auth.logout, actor)
            except NotAuthenticated:
                pass
        self._forget_login()
        return rx.redirect("/login")
