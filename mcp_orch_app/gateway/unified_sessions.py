"""The live sessions of the projects' unified endpoints, and what reaches them.

A unified session hears from every server of its project: the gateway hands each upstream
notification to `fan_out`, which makes its resource URIs unified and names the server in log
messages (gateway/namespace.py) before the session filters it (`LiveSession.offer`).

It also remembers the servers the unified endpoint had to leave out of an answer (could not
start, timed out, failed): such a server is reported in the server log at most once a minute,
and when it starts again the project's unified sessions are told that the tool list changed, so
clients list again and find its tools and prompts. So are they when the project's set of
enabled servers or its naming setting changes (`servers_now`, from the gateway's reaction to an
access change): the names of the unified endpoint depend on nothing else (namespace.py).
"""

from __future__ import annotations

import time
from typing import Any

from mcp_orch_app.gateway.client_sessions import LiveSession
from mcp_orch_app.gateway.namespace import for_unified_session

LEFT_OUT_REPORT_INTERVAL = 60.0
"""Seconds between two server-log rows saying the same server was left out."""

TOOLS_CHANGED = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
PROMPTS_CHANGED = {"jsonrpc": "2.0", "method": "notifications/prompts/list_changed"}
CATALOG_CHANGED = tuple(
    {"jsonrpc": "2.0", "method": f"notifications/{kind}/list_changed"}
    for kind in ("tools", "prompts", "resources")
)


class UnifiedSessions:
    """The gateway's unified sessions by project (per-server sessions are kept by server)."""

    def __init__(self) -> None:
        self._by_project: dict[str, set[LiveSession]] = {}
        self._left_out: dict[str, float] = {}
        """server id -> when it was last reported left out."""
        self._servers: dict[str, tuple[frozenset[str], str]] = {}
        """project id -> its enabled servers and naming when access last changed (see
        servers_now)."""

    def has_sessions(self, project_id: str) -> bool:
        return bool(self._by_project.get(project_id))

    def add(self, session: LiveSession) -> None:
        self._by_project.setdefault(session.project_id, set()).add(session)

    def discard(self, session: LiveSession) -> None:
        sessions = self._by_project.get(session.project_id)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self._by_project[session.project_id]

    def fan_out(self, project_id: str, server: str, message: dict[str, Any]) -> None:
        """Pass a notification of one of the project's servers to its unified sessions."""
        sessions = self._by_project.get(project_id)
        if not sessions:
            return
        message = for_unified_session(server, message)
        for session in sessions:
            session.offer(message)

    def left_out(self, server_id: str) -> bool:
        """Note that an answer left the server out; True when that is worth reporting now."""
        now = time.monotonic()
        last = self._left_out.get(server_id)
        if last is not None and now - last < LEFT_OUT_REPORT_INTERVAL:
            return False
        self._left_out[server_id] = now
        return True

    def server_started(self, project_id: str, server_id: str) -> None:
        """A server started: if it had been left out, its project's clients should list again
        (its tools and prompts may also change which bare names collide)."""
        if self._left_out.pop(server_id, None) is None:
            return
        for session in self._by_project.get(project_id, ()):
            session.offer(TOOLS_CHANGED)
            session.offer(PROMPTS_CHANGED)

    def servers_now(
        self, project_id: str, enabled: frozenset[str], naming: str = "prefixed"
    ) -> None:
        """The project's access changed and these are its enabled servers and naming setting
        now: when they are not the ones seen last (a server was added, enabled, disabled or
        deleted, the naming changed; or this is the first change seen), its unified clients
        are told every list changed, so they list again."""
        if self._servers.get(project_id) == (enabled, naming):
            return
        self._servers[project_id] = (enabled, naming)
        for session in self._by_project.get(project_id, ()):
            for message in CATALOG_CHANGED:
                session.offer(message)
