"""Running the web UI's event handlers directly, as a forged websocket event would run them.

Any browser can send any event with any arguments, so handler tests skip the page entirely:
they build the state tree, put a token (or none) in it, run a handler and look at the database
and at what the handler sent back.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

from reflex.istate.data import RouterData
from reflex.state import State

from mcp_orch_app.ui.states.auth import AuthState


def state_for(state_cls: type[AuthState], path: str, token: str = "") -> Any:
    """The page state ``state_cls`` of a browser showing ``path`` with login ``token``."""
    root = State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data(
        {"pathname": path, "asPath": path, "headers": {"origin": "http://testserver"}}
    )
    state = root.get_substate(state_cls.get_full_name().split("."))
    state.token = token
    return state


async def run_event(handler, state, *args) -> list:
    """Run an event handler the way Reflex does and collect the events it sends back."""
    result = handler.fn(state, *args)
    sent: list = []
    if inspect.isasyncgen(result):
        sent.extend([event async for event in result])
    elif inspect.isawaitable(result):
        sent.append(await result)
    else:
        sent.append(result)
    flat = []
    for event in sent:
        flat.extend(event if isinstance(event, list) else [event])
    return [event for event in flat if event is not None]


def _handler_name(event) -> str:
    return event.handler.fn.__qualname__


def redirects(events: list) -> list[str]:
    return [event.args[0][1]._var_value for event in events if _handler_name(event) == "_redirect"]


def error_toasts(events: list) -> list[str]:
    return [
        str(event.args[0][1])
        for event in events
        if _handler_name(event) == "_call_function" and '["error"]' in str(event.args[0][1])
    ]


def success_toasts(events: list) -> list[str]:
    return [
        str(event.args[0][1])
        for event in events
        if _handler_name(event) == "_call_function" and '["success"]' in str(event.args[0][1])
    ]


def client_pushes(events: list, var_name: str) -> list[str]:
    """The values the handler pushed to the browser-only variable ``var_name``
    (``ClientStateVar.push``), in order."""
    pattern = re.compile(rf"_client_state_{var_name}'\] = pushed; }}\)\)\((\".*?\")\)")
    return [
        json.loads(match)
        for event in events
        if _handler_name(event) == "_call_function"
        for match in pattern.findall(str(event.args[0][1]))
    ]
