"""The gateway's in-memory view of its MCP clients: who they are and what their session holds.

A `LiveSession` is one client connection the gateway answers: a handshake-era session (opened
by `initialize` over streamable HTTP or by the GET of the SSE transport, named by its
`mcp-session-id` / `session_id`), or the group of session-less 2026-07-28 requests one client
makes (see `ModernClientKey`). Each has one `ClientSession` row, written by the log writer.

`recognise_client` turns clientInfo and User-Agent into the readable client name the logs show.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mcp_orch_app.models.enums import ClientTransport

_KNOWN_CLIENTS: tuple[tuple[str, str], ...] = (
    ("cline", "Cline"),
    ("roo-code", "Roo Code"),
    ("cursor", "Cursor"),
    ("claude-code", "Claude Code"),
    ("claude code", "Claude Code"),
    ("claude-ai", "Claude Desktop"),
    ("claude desktop", "Claude Desktop"),
    ("claude", "Claude"),
    ("visual studio code", "VS Code"),
    ("vscode", "VS Code"),
    ("vs code", "VS Code"),
    ("inspector", "MCP Inspector"),
    ("windsurf", "Windsurf"),
    ("zed", "Zed"),
    ("continue", "Continue"),
)
"""Lower-case fragments of clientInfo names or User-Agents, most specific first."""


def recognise_client(client_name: str | None, user_agent: str | None) -> str | None:
    """A readable name for the client: a known product if either hint names one, else the
    clientInfo name, else the first product token of the User-Agent."""
    for hint in (client_name, user_agent):
        lowered = (hint or "").lower()
        for fragment, label in _KNOWN_CLIENTS:
            if fragment in lowered:
                return label
    if client_name:
        return client_name
    if user_agent:
        return user_agent.split(" ", 1)[0][:200]
    return None


class ModernClientKey(NamedTuple):
    """What makes two session-less (2026-07-28) requests one client session in the logs.

    Modern clients send no session id, so the gateway groups their requests by everything that
    identifies the client: endpoint, key, clientInfo, User-Agent and address. The group's row
    ends after `Gateway.session_idle_timeout` without a request.
    """

    project_id: str
    server_id: str
    api_key_id: uuid.UUID | None
    client_name: str | None
    client_version: str | None
    user_agent: str | None
    ip: str | None


@dataclass(eq=False)
class LiveSession:
    """One client session the gateway is serving."""

    id: uuid.UUID
    project_id: str
    server_id: str
    server_name: str
    api_key_id: uuid.UUID | None
    transport: ClientTransport
    bearer: str | None = field(default=None, repr=False)
    """The credential the session was opened with, to re-check it when access changes."""
    modern: bool = False
    client_name: str | None = None
    client_version: str | None = None
    protocol_version: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    initialized: bool = False
    log_level: str | None = None
    subscriptions: set[str] = field(default_factory=set)
    outbox: asyncio.Queue[dict[str, Any] | None] | None = None
    """Where server-to-client messages go while a stream is open (the GET stream of streamable
    HTTP, the SSE transport's stream); None while no stream is open."""
    in_flight: dict[Hashable, Hashable] = field(default_factory=dict)
    """Client request id -> the call key its upstream request runs under (for cancellation)."""
    last_seen: float = field(default_factory=time.monotonic)
    last_touch_written: float = 0.0
    ended: bool = False

    @property
    def header_id(self) -> str:
        """The id the client sees (`mcp-session-id`, SSE `session_id`)."""
        return self.id.hex

    def send(self, message: dict[str, Any]) -> bool:
        """Queue a message for the client's stream; False when no stream is open."""
        if self.outbox is None:
            return False
        self.outbox.put_nowait(message)
        return True
