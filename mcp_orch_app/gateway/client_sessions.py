"""The gateway's in-memory view of its MCP clients: who they are and what their session holds.

A `LiveSession` is one client connection the gateway answers: a handshake-era session (opened
by `initialize` over streamable HTTP or by the GET of the SSE transport, named by its
`mcp-session-id` / `session_id`), or the group of session-less 2026-07-28 requests one client
makes (see `ModernClientKey`), to one server's endpoint or to a project's unified endpoint
(`server_id` None). Each has one `ClientSession` row, written by the log writer.

A session has two ids. `id` is its row's public id: the REST API shows it to reporters
(`/sessions`, `/tool-calls`) and the logs use it. `header_id` is the random secret the client
names the session with (`mcp-session-id`, SSE `session_id`), prefixed with the id of the
cluster member that serves it when there are several (`new_session_secret`); it lives only in
this process's memory and in the client, is never stored or shown, so knowing a row id grants
nothing.

`client_identity` turns clientInfo or the User-Agent into the readable client name and version
the logs show.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mcp_orch_app.gateway.namespace import SessionNames
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

SESSION_SECRET_BYTES = 32
_SESSION_SECRET = re.compile(r"(?:(?P<owner>[A-Za-z0-9_-]{1,64})\.)?[A-Za-z0-9_-]{16,128}")
SESSION_NOT_FOUND = "Session not found: it ended or never existed; initialize a new session."


def new_session_secret(owner: str | None = None) -> str:
    """A fresh client-facing session id: 256 random bits, URL- and header-safe; prefixed
    with ``owner.`` (the cluster member serving the session, mcp_orch_app/cluster/routing.py)
    when the gateway is one of several, so any member knows where to send its requests."""
    secret = secrets.token_urlsafe(SESSION_SECRET_BYTES)
    return secret if owner is None else f"{owner}.{secret}"


def looks_like_session_secret(value: str) -> bool:
    """Whether ``value`` could be a session id at all (checked before any lookup)."""
    return _SESSION_SECRET.fullmatch(value) is not None


def session_owner(value: str) -> str | None:
    """The member id a session id names as its owner; None for an id without one (a
    gateway without a cluster bus) or for anything that is no session id."""
    matched = _SESSION_SECRET.fullmatch(value)
    return matched["owner"] if matched is not None else None


LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
"""The MCP log levels (RFC 5424 severities), lowest first."""
_LOG_SEVERITY = {level: rank for rank, level in enumerate(LOG_LEVELS)}


def _known_product(hint: str | None) -> str | None:
    lowered = (hint or "").lower()
    for fragment, label in _KNOWN_CLIENTS:
        if fragment in lowered:
            return label
    return None


def _user_agent_product(user_agent: str) -> tuple[str | None, str | None]:
    """Name and version of the product a User-Agent names: the known client's token when
    there is one (``Cursor/0.48``), else the first ``product/version`` token."""
    tokens = [token for token in user_agent.split() if token]
    known = _known_product(user_agent)
    chosen = tokens[0] if tokens else ""
    if known is not None:
        for token in tokens:
            if _known_product(token) == known:
                chosen = token
                break
    product, _, version = chosen.partition("/")
    name = known or product[:200] or None
    return name, (version[:100] or None)


def client_identity(
    info_name: str | None, info_version: str | None, user_agent: str | None
) -> tuple[str | None, str | None]:
    """The client's readable name and its version, both from one source: the MCP clientInfo
    when the client sent one, else its User-Agent. Mixing them showed one product's name with
    another's version (a Cursor User-Agent with the SDK's clientInfo version)."""
    if info_name:
        return _known_product(info_name) or info_name, info_version or None
    if user_agent:
        return _user_agent_product(user_agent)
    return None, None


def recognise_client(client_name: str | None, user_agent: str | None) -> str | None:
    """A readable name for the client (see `client_identity`)."""
    return client_identity(client_name, None, user_agent)[0]


class ModernClientKey(NamedTuple):
    """What makes two session-less (2026-07-28) requests one client session in the logs.

    Modern clients send no session id, so the gateway groups their requests by everything that
    identifies the client: endpoint, key, clientInfo, User-Agent and address. The group's row
    ends after `Gateway.session_idle_timeout` without a request.
    """

    project_id: str
    server_id: str | None
    api_key_id: uuid.UUID | None
    client_name: str | None
    client_version: str | None
    user_agent: str | None
    ip: str | None
    oauth_grant_id: uuid.UUID | None = None


@dataclass(eq=False)
class LiveSession:
    """One client session the gateway is serving."""

    id: uuid.UUID
    """The ClientSession row's id: public (shown by the REST API), never a credential."""
    project_id: str
    server_id: str | None
    """None for a session of the project's unified endpoint."""
    server_name: str | None
    api_key_id: uuid.UUID | None
    transport: ClientTransport
    bearer: str | None = field(default=None, repr=False)
    """The credential the session was opened with (or the latest one of its OAuth grant), to
    re-check it when access changes."""
    oauth_grant_id: uuid.UUID | None = None
    """The OAuth grant (services/oauth.py) the session acts under; None for a key."""
    oauth_client_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    modern: bool = False
    client_name: str | None = None
    client_version: str | None = None
    protocol_version: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    initialized: bool = False
    log_level: str | None = None
    subscriptions: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The resource URIs the client subscribed to with resources/subscribe, as it named them
    (unified URIs on the unified endpoint) -> (server id, the server's own URI): its references
    in the gateway's `ResourceSubscriptions`."""
    outbox: asyncio.Queue[dict[str, Any] | None] | None = None
    """Where server-to-client messages go while a stream is open (the GET stream of streamable
    HTTP, the SSE transport's stream); None while no stream is open."""
    in_flight: dict[Hashable, tuple[str, Hashable]] = field(default_factory=dict)
    """Client request id -> (server id, call key) of its upstream request (for cancellation)."""
    last_seen: float = field(default_factory=time.monotonic)
    last_touch_written: float = 0.0
    ended: bool = False
    listeners: list[Listener] = field(default_factory=list)
    """The open `subscriptions/listen` streams of a 2026-07-28 client."""
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    """What the client announced in `initialize` (decides what it may be asked)."""
    asks: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    """Gateway request id -> the client's answer, of server requests relayed to the client
    (gateway/client_requests.py)."""
    unified_names: SessionNames | None = None
    """The bare names a unified session was shown (gateway/namespace.py, "Bare names")."""
    header_id: str = field(default_factory=new_session_secret, repr=False)
    """The secret the client names the session with (`mcp-session-id`, SSE `session_id`)."""

    def belongs_to(
        self,
        project_id: str,
        server_id: str | None,
        api_key_id: Any,
        oauth_grant_id: uuid.UUID | None = None,
    ) -> bool:
        """Whether a request admitted for this endpoint and principal may use the session:
        same project, same endpoint (server, or the unified one), same API key or OAuth grant
        (a refreshed token of the grant keeps the session), or both anonymous."""
        return (
            self.project_id == project_id
            and self.server_id == server_id
            and self.api_key_id == api_key_id
            and self.oauth_grant_id == oauth_grant_id
        )

    def send(self, message: dict[str, Any]) -> bool:
        """Queue a message for the client's stream; False when no stream is open."""
        if self.outbox is None:
            return False
        self.outbox.put_nowait(message)
        return True

    def offer(self, message: dict[str, Any]) -> None:
        """Pass on a server notification if the client wants it: resource updates only of
        URIs it subscribed to, log messages only at or above the level it set."""
        method = message.get("method")
        for listener in self.listeners:
            listener.offer(method, message)
        if self.outbox is None:
            return
        params = message.get("params")
        params = params if isinstance(params, dict) else {}
        if method == RESOURCE_UPDATED:
            if not covers(self.subscriptions, _uri_of(message)):
                return
        elif method == "notifications/message" and self.log_level is not None:
            wanted = _LOG_SEVERITY.get(self.log_level, 0)
            if _LOG_SEVERITY.get(params.get("level"), len(_LOG_SEVERITY)) < wanted:
                return
        self.outbox.put_nowait(message)


SUBSCRIPTION_ID_META_KEY = "io.modelcontextprotocol/subscriptionId"
RESOURCE_UPDATED = "notifications/resources/updated"

LISTEN_FILTERS = {
    "toolsListChanged": "notifications/tools/list_changed",
    "promptsListChanged": "notifications/prompts/list_changed",
    "resourcesListChanged": "notifications/resources/list_changed",
}
LISTEN_FLAG_KINDS = {
    "toolsListChanged": "tools",
    "promptsListChanged": "prompts",
    "resourcesListChanged": "resources",
}
"""The `subscriptions/listen` filter flags the gateway honours, and the list each is about
(the capability whose ``listChanged`` says a server sends those changes). The filter's
`resourceSubscriptions` is honoured for the URIs whose server offers subscriptions (the
acknowledgement names those; http_endpoints.py)."""


@dataclass(eq=False)
class Listener:
    """One `subscriptions/listen` stream (2026-07-28): the notifications it asked for, tagged
    with the listen request's id, queued for its response stream; None ends the stream."""

    request_id: Any
    methods: frozenset[str]
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The resource URIs whose updates the stream carries, as the client named them -> (server
    id, the server's own URI): its references in the gateway's `ResourceSubscriptions`."""

    @classmethod
    def for_filter(cls, request_id: Any, wanted: dict[str, Any]) -> tuple[Listener, dict[str, Any]]:
        """The listener for a client's list-change flags, and the subset the gateway honours
        (resource URIs are added by whoever subscribes them)."""
        honoured: dict[str, Any] = {
            flag: True for flag in LISTEN_FLAG_KINDS if wanted.get(flag) is True
        }
        methods = frozenset(
            f"notifications/{LISTEN_FLAG_KINDS[flag]}/list_changed" for flag in honoured
        )
        return cls(request_id, methods), honoured

    def tag(self, message: dict[str, Any]) -> dict[str, Any]:
        params = dict(message.get("params") or {})
        params["_meta"] = {**(params.get("_meta") or {}), SUBSCRIPTION_ID_META_KEY: self.request_id}
        return {**message, "params": params}

    def offer(self, method: Any, message: dict[str, Any]) -> None:
        if method in self.methods or (
            method == RESOURCE_UPDATED and covers(self.resources, _uri_of(message))
        ):
            self.queue.put_nowait(self.tag(message))

    def close(self) -> None:
        self.queue.put_nowait(None)


def covers(subscribed: Mapping[str, Any], uri: str | None) -> bool:
    """Whether an update of ``uri`` is one a holder of ``subscribed`` asked for: the URI it
    subscribed to, or a sub-resource of one (the spec lets a server name "a sub-resource of
    the one that the client actually subscribed to"): a URI that continues a subscribed one
    after a path, query or fragment boundary."""
    if uri is None:
        return False
    if uri in subscribed:
        return True
    return any(
        len(uri) > len(parent)
        and uri.startswith(parent)
        and (parent[-1] in "/?#" or uri[len(parent)] in "/?#")
        for parent in subscribed
    )


def _uri_of(message: dict[str, Any]) -> Any:
    """The `uri` of a resources/updated notification (None when it has none)."""
    params = message.get("params")
    uri = params.get("uri") if isinstance(params, dict) else None
    return uri if isinstance(uri, str) else None
