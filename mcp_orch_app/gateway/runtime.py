"""The gateway's running state in one object: pool, log writer, grants and client sessions.

`Gateway` is created once per backend process and lives for the app's lifespan
(`gateway_lifespan`, registered in mcp_orch_app.py). It owns:

- the `UpstreamPool` (its events become ServerLog rows; the project of a server is read from
  the config the pool keeps for it, which every caller built from the server's row);
- the `LogWriter` the client sessions and tool calls are recorded through;
- the authorization cache: the answer of `authorize_mcp_client` per (project, server or the
  unified endpoint, bearer) for `GRANT_TTL` seconds, so an MCP call costs no database round trip. Services announce
  revocations and server or project changes (services/access_events.py) and the project's
  cached answers are dropped at once; changes made by another process are seen within the TTL;
- the live client sessions, their idle reaper, and the fan-out of upstream notifications
  (list_changed, logging, resources/updated) to the sessions of that server and to the unified
  sessions of its project (`UnifiedSessions`), the tool names the unified endpoint routes
  by (`ToolNames`), and the resource subscriptions of every session, one upstream subscription
  per server and URI (`ResourceSubscriptions`, gateway/resource_subscriptions.py).

`InstanceHeartbeat` (run by `gateway_lifespan`) keeps this process's `GatewayInstance` row
alive, so the client sessions of a backend that was killed are ended (services/instances.py).

With a cluster bus (several backend processes, mcp_orch_app/cluster/), the gateway is a member:
its session ids name it, and its `SessionRouter` (cluster/routing.py) forwards requests of
other members' sessions and serves those of its own that reached another member.

The transports (http_endpoints.py) and the method handling (forwarding.py) use it; nothing in
here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from mcp_orch_app.cluster import ClusterBus, configured_bus
from mcp_orch_app.cluster.routing import SessionRouter
from mcp_orch_app.config import get_settings
from mcp_orch_app.db import run_db
from mcp_orch_app.gateway import upstream_oauth
from mcp_orch_app.gateway.client_sessions import (
    LiveSession,
    ModernClientKey,
    client_identity,
    new_session_secret,
)
from mcp_orch_app.gateway.input_rounds import HeldCalls
from mcp_orch_app.gateway.log_writer import LogWriter, LogWriterClosed, get_log_writer
from mcp_orch_app.gateway.namespace import ToolNames, prefixed_name
from mcp_orch_app.gateway.pool import UpstreamPool
from mcp_orch_app.gateway.resource_subscriptions import ResourceSubscriptions
from mcp_orch_app.gateway.unified_sessions import UnifiedSessions
from mcp_orch_app.gateway.upstream import Upstream, UpstreamConfig
from mcp_orch_app.models.enums import (
    ClientTransport,
    LogLevel,
    ServerLogCategory,
    Transport,
    UnifiedNaming,
)
from mcp_orch_app.services.access_events import add_access_listener
from mcp_orch_app.services.errors import NotAuthenticated, NotFound
from mcp_orch_app.services.instances import (
    end_dead_instances_sessions,
    forget_instance,
    heartbeat,
    register_instance,
)
from mcp_orch_app.services.mcp_access import McpGrant, authorize_mcp_client, unified_catalog
from mcp_orch_app.services.oauth import OAuthPrincipal

logger = logging.getLogger(__name__)

GRANT_TTL = 5.0
"""Seconds an authorization answer is reused (also the longest a change made by another
process takes to reach this one)."""

SESSION_IDLE_TIMEOUT = 1800.0
"""A session without requests and without an open stream for this long is ended."""

TOUCH_INTERVAL = 10.0
"""Requests that are not tool calls update a session's last activity at most this often."""


@dataclass(frozen=True, slots=True)
class ServerAccess:
    """What one authorized request may use: one server of one project, with its preferences."""

    project_id: str
    api_key_id: uuid.UUID | None
    server_id: str
    server_name: str
    config: UpstreamConfig
    disabled_tools: frozenset[str]
    bearer: str | None = field(default=None, repr=False)
    oauth: OAuthPrincipal | None = None
    """The OAuth client and user the request acts for (None: a key, or anonymous)."""


@dataclass(frozen=True, slots=True)
class UnifiedAccess:
    """What one authorized request to a project's unified endpoint may use: every enabled
    server of the project (by name), each with its preferences."""

    project_id: str
    project_name: str
    api_key_id: uuid.UUID | None
    servers: tuple[ServerAccess, ...]
    bearer: str | None = field(default=None, repr=False)
    naming: UnifiedNaming = UnifiedNaming.PREFIXED
    """How tools and prompts are named (gateway/namespace.py)."""
    server_id: None = None
    """The endpoint is no one server: its sessions and refused calls name none."""
    server_name: None = None
    oauth: OAuthPrincipal | None = None

    def server(self, name: str) -> ServerAccess | None:
        """The server of that name, if the endpoint has it (enabled, in this project)."""
        return next((server for server in self.servers if server.server_name == name), None)


EndpointAccess = ServerAccess | UnifiedAccess
"""What an authorized request may use: one server, or a project's unified endpoint."""


def _access_of(grant: McpGrant, unified: bool, bearer: str | None) -> EndpointAccess:
    servers = tuple(
        ServerAccess(
            project_id=str(grant.project_id),
            api_key_id=grant.api_key_id,
            server_id=str(server.id),
            server_name=server.name,
            config=UpstreamConfig.from_model(server),
            disabled_tools=grant.disabled_tools.get(server.id, frozenset()),
            bearer=bearer,
            oauth=grant.oauth,
        )
        for server in grant.servers
    )
    if not unified:
        return servers[0]
    return UnifiedAccess(
        project_id=str(grant.project_id),
        project_name=grant.project_name,
        api_key_id=grant.api_key_id,
        servers=servers,
        bearer=bearer,
        naming=grant.unified_naming,
        oauth=grant.oauth,
    )


@dataclass(slots=True)
class _CachedAccess:
    access: EndpointAccess
    expires: float
    epoch: int


class Gateway:
    """One per process: see the module docstring."""

    def __init__(
        self,
        *,
        writer: LogWriter | None = None,
        grant_ttl: float = GRANT_TTL,
        session_idle_timeout: float = SESSION_IDLE_TIMEOUT,
        cluster: ClusterBus | bool | None = True,
        **pool_options: Any,
    ) -> None:
        """`writer` defaults to the app's log writer; `pool_options` go to the UpstreamPool.
        ``cluster``: the bus to the installation's other backend processes; True (default)
        builds it from the settings (none without ``REFLEX_REDIS_URL``), False/None: no bus."""
        self.pool = UpstreamPool(on_event=self._on_pool_event, **pool_options)
        self._writer = writer
        self.grant_ttl = grant_ttl
        self.session_idle_timeout = session_idle_timeout
        self._grants: dict[tuple[str, str | None, str | None], _CachedAccess] = {}
        self._epochs: dict[str, int] = {}
        self._server_projects: dict[str, str] = {}
        """server id -> project id of every server a grant reached (for access changes)."""
        self.sessions: dict[str, LiveSession] = {}
        self._modern_sessions: dict[ModernClientKey, LiveSession] = {}
        self._by_server: dict[str, set[LiveSession]] = {}
        self.unified = UnifiedSessions()
        self.held = HeldCalls()
        """Calls of 2026-07-28 clients waiting for their input (gateway/input_rounds.py)."""
        self.tool_names = ToolNames()
        self.prompt_names = ToolNames(prefixed_name)
        self.resources = ResourceSubscriptions()
        self._fanned_out: set[str] = set()
        self._remove_listener = None
        self._reaper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._cluster_option = cluster
        self.cluster: ClusterBus | None = None
        """The bus to the other members while the gateway runs (mcp_orch_app/cluster/)."""
        self.router: SessionRouter | None = None
        """Routes requests of client sessions between the members (with a bus only)."""

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def writer(self) -> LogWriter:
        if self._writer is None or self._writer.closed:
            self._writer = get_log_writer()
        return self._writer

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        option = self._cluster_option
        self.cluster = configured_bus() if option is True else (option or None)
        if self.cluster is not None:
            self.cluster.on(ACCESS_CHANGED, self._on_remote_access_changed)
            self.router = SessionRouter(self.cluster, self._serve_forwarded)
            await self.cluster.start()
            self.router.start()
        self._remove_listener = add_access_listener(self._on_access_changed)
        self._reaper = asyncio.create_task(self._reap_idle_sessions())

    async def stop(self) -> None:
        """End every session and stop every upstream process; the writer is closed after."""
        self._stopping = True  # the upstreams go: their subscriptions are not released one by one
        if self._remove_listener is not None:
            self._remove_listener()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for task in list(self._tasks):
            task.cancel()
        self.held.clear()
        for session in list(self.sessions.values()) + list(self._modern_sessions.values()):
            self.end_session(session)
        await self.pool.stop_all()
        if self.router is not None:
            await self.router.stop()
        if self.cluster is not None:
            await self.cluster.stop()

    async def _serve_forwarded(self, scope: Any, receive: Any, send: Any) -> None:
        """A request another member forwarded to this one (its own task): answered by the MCP
        endpoints with this gateway, as if it had come in here."""
        # http_endpoints builds on this module, so it is looked up when first needed.
        from mcp_orch_app.gateway.http_endpoints import serve_endpoint

        _pinned.set(self)
        await serve_endpoint(scope, receive, send)

    # -- authorization ---------------------------------------------------------------------

    async def authorize(
        self, project_id: str, server_name: str | None, bearer: str | None, client_ip: str | None
    ) -> EndpointAccess:
        """The cached grant for a request to one server, or to the project's unified endpoint
        (``server_name`` None); raises NotFound / NotAuthenticated like the service."""
        key = (project_id, server_name, bearer)
        epoch = self._epochs.get(project_id, 0)
        cached = self._grants.get(key)
        now = time.monotonic()
        if cached is not None and cached.expires > now and cached.epoch == epoch:
            return cached.access
        grant = await run_db(
            authorize_mcp_client, project_id, server_name, bearer, client_ip=client_ip
        )
        access = _access_of(grant, server_name is None, bearer)
        if len(self._grants) > 10_000:
            self._grants.clear()  # a flood of distinct bad-but-valid keys cannot grow memory
        ttl = self.grant_ttl
        if grant.oauth is not None:  # never reused past the access token's expiry
            ttl = min(ttl, grant.oauth.expires_at.timestamp() - time.time())
        self._grants[key] = _CachedAccess(access, now + ttl, epoch)
        for server in grant.servers:
            self._server_projects[str(server.id)] = access.project_id
        if access.project_id != project_id:
            self._grants[(access.project_id, server_name, bearer)] = self._grants[key]
        return access

    def _on_access_changed(self, project_id: uuid.UUID) -> None:
        # Called from the service's thread right after its commit: bumping an int is all it
        # takes for every cached answer of the project to be stale. The project's live
        # sessions are re-checked on the loop, so a revoked key's open stream closes at once.
        # The other members of the cluster hear it over the bus and do the same.
        if self.cluster is not None:
            self.cluster.broadcast_threadsafe(ACCESS_CHANGED, {"project_id": str(project_id)})
        self._access_changed_here(str(project_id))

    def _on_remote_access_changed(self, data: dict[str, Any]) -> None:
        try:
            project = str(uuid.UUID(str(data["project_id"])))
        except (KeyError, ValueError):
            logger.warning("cluster bus: access change without a valid project id")
            return
        self._access_changed_here(project)

    def _access_changed_here(self, project: str) -> None:
        self._epochs[project] = self._epochs.get(project, 0) + 1
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._spawn_recheck, project)

    def _spawn_recheck(self, project_id: str) -> None:
        task = asyncio.create_task(self._recheck_sessions(project_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recheck_sessions(self, project_id: str) -> None:
        """Stop the project's upstreams whose server was disabled or deleted, and end the
        sessions whose key or server is no longer usable."""
        try:
            await self._stop_gone_upstreams(project_id)
        except Exception:
            logger.exception("could not check the servers of project %s", project_id)
        sessions = [
            s
            for s in (*self.sessions.values(), *self._modern_sessions.values())
            if s.project_id == project_id and not s.ended
        ]
        for session in sessions:
            try:
                await self.authorize(project_id, session.server_name, session.bearer, session.ip)
            except (NotFound, NotAuthenticated) as exc:
                logger.info("ending client session %s: %s", session.id, exc)
                self.end_session(session)
            except Exception:
                logger.exception("could not re-check client session %s", session.id)

    async def _stop_gone_upstreams(self, project_id: str) -> None:
        ours = [sid for sid, pid in self._server_projects.items() if pid == project_id]
        if not ours and not self.unified.has_sessions(project_id):
            return
        ids, naming = await run_db(unified_catalog, project_id)
        enabled = {str(sid) for sid in ids}
        for server_id in ours:
            if server_id not in enabled:
                del self._server_projects[server_id]
                await self.pool.stop(server_id, "the server was disabled or deleted")
        self.unified.servers_now(project_id, frozenset(enabled), naming)

    # -- upstreams -------------------------------------------------------------------------

    async def upstream(self, access: ServerAccess) -> Upstream:
        """The server's pooled upstream, with its notifications fanned out to our sessions."""
        server_id = access.server_id
        # Also for upstreams started without a grant (the live refresh, restart and tool call
        # of gateway/operations.py): disabling or deleting the server must stop them too.
        self._server_projects[server_id] = access.project_id
        if server_id not in self._fanned_out:
            # The pool's subscription outlives restarts of the server: once per server is all.
            self._fanned_out.add(server_id)
            self.pool.subscribe(server_id, lambda message: self._fan_out(server_id, message))
        # Per-user OAuth servers use the connection of the caller named here. Only SSE and
        # streamable-HTTP servers can use OAuth: a stdio call skips the lookups.
        if access.config.transport is not Transport.STDIO:
            await upstream_oauth.bind_caller(access.api_key_id)
            await upstream_oauth.check_caller(server_id)
        return await self.pool.get(access.config)

    def _fan_out(self, server_id: str, message: dict[str, Any]) -> None:
        """Pass an upstream notification to the sessions of its server and the unified
        sessions of its project that want it."""
        if message.get("method") == "notifications/tools/list_changed":
            self.tool_names.forget(server_id)
        elif message.get("method") == "notifications/prompts/list_changed":
            self.prompt_names.forget(server_id)
        for session in self._by_server.get(server_id, ()):
            session.offer(message)
        config = self.pool.config_of(server_id)
        if config is not None and config.project_id is not None:
            self.unified.fan_out(config.project_id, config.name, message)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, cancelled when the gateway stops."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_pool_event(
        self,
        server_id: str,
        category: ServerLogCategory,
        level: LogLevel,
        message: str,
        details: dict[str, Any] | None,
    ) -> None:
        config = self.pool.config_of(server_id)
        if config is None or config.project_id is None:
            logger.warning("event of unknown server %s: %s", server_id, message)
            return
        if level is LogLevel.INFO and category in _STARTS:
            self.unified.server_started(config.project_id, server_id)
            if self.resources.uris(server_id):
                self.spawn(self.resources.server_restarted(self, server_id))
        try:
            self.writer.submit_server_log(
                project_id=config.project_id,
                server_id=server_id,
                category=category,
                level=level,
                message=message,
                details=details,
            )
        except LogWriterClosed:
            logger.info("server %s after the log writer closed: %s", config.name, message)

    # -- sessions --------------------------------------------------------------------------

    def open_session(
        self,
        access: EndpointAccess,
        *,
        transport: ClientTransport,
        client_info: dict[str, Any] | None,
        user_agent: str | None,
        ip: str | None,
        protocol_version: str | None,
        modern: bool = False,
    ) -> LiveSession:
        """Start serving a client session and record its ClientSession row."""
        name, version = _client_identity(client_info)
        client_name, client_version = client_identity(name, version, user_agent)
        session = LiveSession(
            id=uuid.uuid4(),
            header_id=new_session_secret(self.cluster.member_id if self.cluster else None),
            project_id=access.project_id,
            server_id=access.server_id,
            server_name=access.server_name,
            api_key_id=access.api_key_id,
            oauth_grant_id=access.oauth.grant_id if access.oauth else None,
            oauth_client_id=access.oauth.client_id if access.oauth else None,
            user_id=access.oauth.user_id if access.oauth else None,
            transport=transport,
            modern=modern,
            client_name=client_name,
            client_version=client_version,
            protocol_version=protocol_version,
            user_agent=user_agent,
            ip=ip,
            bearer=access.bearer,
        )
        self._record_session(session)
        if not modern:
            self.sessions[session.header_id] = session
        if session.server_id is None:
            self.unified.add(session)
        else:
            self._by_server.setdefault(session.server_id, set()).add(session)
        return session

    def identify(
        self, session: LiveSession, client_info: dict[str, Any] | None, protocol_version: str
    ) -> None:
        """Complete a session opened before the client said who it is (the SSE transport opens
        the session on GET; `initialize` comes later): its row is written at that point."""
        name, version = _client_identity(client_info)
        session.client_name, session.client_version = client_identity(
            name, version, session.user_agent
        )
        session.protocol_version = protocol_version
        self._record_session(session)

    def _record_session(self, session: LiveSession) -> None:
        if session.transport is ClientTransport.SSE and session.protocol_version is None:
            return  # written by identify() once initialize arrives
        try:
            self.writer.open_client_session(
                session_id=session.id,
                project_id=session.project_id,
                server_id=session.server_id,
                api_key_id=session.api_key_id,
                oauth_client_id=session.oauth_client_id,
                user_id=session.user_id,
                transport=session.transport,
                client_name=session.client_name,
                client_version=session.client_version,
                user_agent=session.user_agent,
                ip=session.ip,
                protocol_version=session.protocol_version,
            )
            session.last_touch_written = time.monotonic()
        except LogWriterClosed:
            logger.info("client session %s after the log writer closed", session.id)

    def modern_session(
        self,
        access: EndpointAccess,
        meta: dict[str, Any],
        user_agent: str | None,
        ip: str | None,
        protocol_version: str,
    ) -> LiveSession:
        """The logging session a session-less request belongs to (see ModernClientKey)."""
        client_info = meta.get("io.modelcontextprotocol/clientInfo")
        name, version = _client_identity(client_info)
        key = ModernClientKey(
            access.project_id,
            access.server_id,
            access.api_key_id,
            name,
            version,
            user_agent,
            ip,
            access.oauth.grant_id if access.oauth else None,
        )
        session = self._modern_sessions.get(key)
        if session is None or session.ended:
            session = self.open_session(
                access,
                transport=ClientTransport.STREAMABLE_HTTP,
                client_info=client_info,
                user_agent=user_agent,
                ip=ip,
                protocol_version=protocol_version,
                modern=True,
            )
            session.initialized = True
            self._modern_sessions[key] = session
        session.last_seen = time.monotonic()
        return session

    def find_session(self, access: EndpointAccess, header_id: str) -> LiveSession | None:
        """The live session a request admitted with ``access`` names, if it is that
        endpoint's and that principal's; None otherwise (as if unknown). Only a session found
        this way counts as active, so a request of anyone else never touches it."""
        session = self.sessions.get(header_id)
        grant_id = access.oauth.grant_id if access.oauth else None
        if session is None or not session.belongs_to(
            access.project_id, access.server_id, access.api_key_id, grant_id
        ):
            return None
        if grant_id is not None:
            session.bearer = access.bearer  # the grant's latest token, after a refresh
        session.last_seen = time.monotonic()
        return session

    def note_call(self, session: LiveSession, success: bool | None) -> None:
        """Count a finished tool call (True/False) or note other activity (None), cheaply."""
        now = time.monotonic()
        session.last_seen = now
        if success is None and now - session.last_touch_written < TOUCH_INTERVAL:
            return
        session.last_touch_written = now
        with contextlib.suppress(LogWriterClosed):
            self.writer.touch_client_session(session.id, success=success)

    def end_session(self, session: LiveSession) -> None:
        """Stop serving a session (DELETE, stream closed, idle, revoked, shutdown)."""
        if session.ended:
            return
        session.ended = True
        self.sessions.pop(session.header_id, None)
        if session.server_id is None:
            self.unified.discard(session)
        elif (sessions := self._by_server.get(session.server_id)) is not None:
            sessions.discard(session)
            if not sessions:
                del self._by_server[session.server_id]
        if session.outbox is not None:
            session.outbox.put_nowait(None)  # ends the open stream
        for listener in session.listeners:
            listener.close()
        if session.subscriptions:
            held, session.subscriptions = list(session.subscriptions.values()), {}
            if _in_loop() and not self._stopping:
                self.spawn(self.resources.release_all(self, held, session))
        if session.transport is ClientTransport.SSE and session.protocol_version is None:
            return  # never initialized: it has no row
        with contextlib.suppress(LogWriterClosed):
            self.writer.end_client_session(session.id)

    async def _reap_idle_sessions(self) -> None:
        interval = min(self.session_idle_timeout / 4, 60.0)
        while True:
            await asyncio.sleep(interval)
            cutoff = time.monotonic() - self.session_idle_timeout
            for session in list(self.sessions.values()):
                if session.outbox is None and session.last_seen < cutoff:
                    self.end_session(session)
            for key, session in list(self._modern_sessions.items()):
                if session.last_seen < cutoff and not session.listeners:
                    del self._modern_sessions[key]
                    self.end_session(session)


ACCESS_CHANGED = "access-changed"
"""Bus broadcast: a project's MCP access changed (services/access_events.py), ``project_id``."""

_STARTS = (ServerLogCategory.START, ServerLogCategory.RESTART)


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _client_identity(client_info: Any) -> tuple[str | None, str | None]:
    if not isinstance(client_info, dict):
        return None, None
    name, version = client_info.get("name"), client_info.get("version")
    return (
        name if isinstance(name, str) else None,
        version if isinstance(version, str) else None,
    )


_current: Gateway | None = None
_serving: set[Gateway] = set()
_pinned: ContextVar[Gateway | None] = ContextVar("mcp_orch_pinned_gateway", default=None)


def current_gateway() -> Gateway | None:
    """The gateway of this process while the app runs (None before start-up, after shutdown);
    inside `pinned_gateway` (or a request forwarded to it), that gateway while it runs."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned if pinned in _serving else None
    return _current


@contextmanager
def pinned_gateway(gateway: Gateway) -> Iterator[None]:
    """Tasks created inside see ``gateway`` as `current_gateway()`: several apps, each with its
    own gateway, served in one process (the cluster tests run two members side by side)."""
    token = _pinned.set(gateway)
    try:
        yield
    finally:
        _pinned.reset(token)


class InstanceHeartbeat:
    """This process as a live `GatewayInstance` while the gateway runs: registered at start
    (ending the sessions that dead processes left active), refreshed every heartbeat (ending
    those of processes that died meanwhile, e.g. another replica), forgotten on a clean stop."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await run_db(register_instance)
            await run_db(end_dead_instances_sessions, self.interval, at_start=True)
        except Exception:
            # Serving matters more than this bookkeeping; the next heartbeat tries again.
            logger.exception("could not register this backend process as a gateway instance")
        self._task = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await run_db(heartbeat)
                await run_db(end_dead_instances_sessions, self.interval)
            except Exception:
                logger.exception("gateway instance heartbeat failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await run_db(forget_instance)
        except Exception:
            logger.exception("could not remove this gateway instance's row")


@asynccontextmanager
async def gateway_lifespan(gateway: Gateway | None = None) -> AsyncIterator[Gateway]:
    """Lifespan task: start the gateway; on shutdown stop every upstream, then drain the log
    writer so the rows of the last calls and of the stop events land."""
    global _current
    gateway = gateway or Gateway()
    instance = InstanceHeartbeat(get_settings().instance_heartbeat_seconds)
    await instance.start()
    await gateway.start()
    _current = gateway
    _serving.add(gateway)
    try:
        yield gateway
    finally:
        _current = None
        _serving.discard(gateway)
        try:
            await gateway.stop()
        finally:
            await asyncio.to_thread(gateway.writer.close)
            await instance.stop()
