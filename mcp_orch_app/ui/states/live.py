"""Running the live server operations (refresh, restart, a tool call) from the server pages.

They contact servers and may take up to a server's timeout, so the pages run them as background
events: the state is not locked meanwhile, the page stays usable (other events of the tab are
not queued behind a slow server) and several rows can be checked at once. :func:`run_live` is
the background counterpart of ``AuthState._attempt``; the rights are checked by
gateway/operations.py through the services, for the actor of the page's token.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import reflex as rx

from mcp_orch_app.gateway.operations import GatewayNotRunning
from mcp_orch_app.services.errors import ServiceError
from mcp_orch_app.services.principal import Actor
from mcp_orch_app.ui.states.auth import AuthState

_SERVER_PATH = re.compile(r"^/projects/([^/]+)/servers(?:/([^/]+))?")

# What a live operation hands back: a function that stores its result in the state (run with
# the state locked) and gives the events to send (a toast, or None).
Finish = Callable[[], Any]


def route_ids(state: AuthState) -> tuple[str, str]:
    """(project id, server id) of the server page being shown; the server id is "" on the list."""
    match = _SERVER_PATH.match(state.router.url.path or "")
    if match is None:
        return "", ""
    return match.group(1), match.group(2) or ""


def refusal(state: AuthState, exc: Exception):
    """The events for an operation that was refused or could not run (the lock held)."""
    if isinstance(exc, ServiceError):
        return state._failure(exc)
    return rx.toast.error(str(exc), close_button=True)


async def live_actor(state: AuthState) -> Actor:
    """The actor of a background event (the state is locked just long enough to check it)."""
    async with state:
        return await state._actor()


async def run_live(
    state: AuthState, busy: str, key: str, work: Callable[[Actor], Awaitable[Finish]]
) -> AsyncIterator[Any]:
    """Run ``work(actor)`` (a live operation) from a background event, ``key`` (a server id or a
    tool name) listed in the state's list var ``busy`` meanwhile so its row shows a spinner.

    A second start of the same ``key`` while it runs is ignored. A refusal of the services or a
    gateway that is not running ends as ``AuthState._failure`` does: a toast, or the login page.
    Handlers hand on what it yields: ``async for event in run_live(...): yield event``.
    """
    async with state:
        running: list[str] = getattr(state, busy)
        if key in running:
            return
        setattr(state, busy, [*running, key])
    finish: Finish | None = None
    failure: Exception | None = None
    try:
        finish = await work(await live_actor(state))
    except (ServiceError, GatewayNotRunning) as exc:
        failure = exc
    async with state:
        setattr(state, busy, [k for k in getattr(state, busy) if k != key])
        events = refusal(state, failure) if failure is not None else finish()  # type: ignore[misc]
    if events is not None:
        yield events
