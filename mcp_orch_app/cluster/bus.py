"""The message bus between the backend processes of one installation (workers and replicas).

With ``REFLEX_REDIS_URL`` set, every backend process is a *member* of the installation's
cluster: it has a short random ``member_id`` and subscribes, on one Redis connection, to two
pub/sub channels:

- ``{namespace}:all``: broadcasts, a JSON object ``{"from", "kind", "data"}`` every member
  hears (its own are skipped); handlers are registered per ``kind`` with :meth:`ClusterBus.on`.
  Control state uses them (an access change, a restart asked from the UI): see
  mcp_orch_app/cluster/control.py.
- ``{namespace}:m:{member_id}``: frames addressed to this member alone, opaque bytes handed to
  the one direct handler (mcp_orch_app/cluster/routing.py carries requests of client sessions
  this member owns).

Pub/sub channels are not scoped by Redis's database number, so the namespace names the
installation: the Redis database of the URL and the secret key's fingerprint (every replica
of an installation shares the key, security/key_fingerprint.py); two installations on one
Redis never hear each other. ``PUBLISH`` answers how many subscribers got a message, which
is how a sender learns at once that the member it addresses is gone (its connection, and with
it its subscription, closed when the process died).

Redis is trusted like the database: whoever can write to it can also rewrite the web UI's
state. Messages are still parsed defensively (a malformed one is logged and dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BroadcastHandler = Callable[[dict[str, Any]], Awaitable[None] | None]
DirectHandler = Callable[[bytes], None]

RECONNECT_DELAY = 0.5
MAX_RECONNECT_DELAY = 5.0


def namespace_for(redis_url: str, key_fingerprint: str) -> str:
    """The channel prefix of the installation whose key has ``key_fingerprint``."""
    digest = hashlib.sha256(f"{redis_url.rsplit('/', 1)[-1]}|{key_fingerprint}".encode())
    return f"mcp-orch:{digest.hexdigest()[:16]}"


class ClusterBus:
    """This process's membership of the cluster: see the module docstring."""

    def __init__(self, url: str, *, namespace: str, member_id: str | None = None) -> None:
        self.url = url
        self.namespace = namespace
        self.member_id = member_id or secrets.token_hex(6)
        self._all = f"{namespace}:all"
        self._mine = self.channel_of(self.member_id)
        self._redis = aioredis.Redis.from_url(url, health_check_interval=0)
        self._handlers: dict[str, list[BroadcastHandler]] = {}
        self._direct: DirectHandler | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed = asyncio.Event()
        self.connected = False
        """Whether the subscription is up (readiness reports it)."""

    def channel_of(self, member_id: str) -> str:
        return f"{self.namespace}:m:{member_id}"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, *, wait: float = 5.0) -> None:
        """Subscribe (in the background, retried while Redis is unreachable); waits up to
        ``wait`` seconds for the first subscription so that start-up normally ends joined."""
        self._loop = asyncio.get_running_loop()
        self._reader = asyncio.create_task(self._read_forever())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), wait)
        if not self.connected:
            logger.warning("cluster bus: Redis at %s not reachable yet; retrying", self._safe_url)

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for task in list(self._tasks):
            task.cancel()
        self.connected = False
        with contextlib.suppress(Exception):
            await self._redis.aclose()

    @property
    def _safe_url(self) -> str:
        scheme, sep, rest = self.url.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}"

    # -- receiving -------------------------------------------------------------------------

    def on(self, kind: str, handler: BroadcastHandler) -> None:
        """Call ``handler(data)`` for every broadcast of ``kind`` from another member."""
        self._handlers.setdefault(kind, []).append(handler)

    def on_direct(self, handler: DirectHandler) -> None:
        """Hand every frame addressed to this member to ``handler`` (quick, never raising)."""
        self._direct = handler

    async def _read_forever(self) -> None:
        delay = RECONNECT_DELAY
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._all, self._mine)
                self.connected = True
                self._subscribed.set()
                delay = RECONNECT_DELAY
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.connected:
                    logger.warning("cluster bus: lost Redis (%s); reconnecting", exc)
                self.connected = False
            except Exception:
                logger.exception("cluster bus: reader failed; reconnecting")
                self.connected = False
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RECONNECT_DELAY)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel, data = message.get("channel"), message.get("data")
        if not isinstance(data, bytes):
            return
        if channel == self._mine.encode():
            if self._direct is not None:
                try:
                    self._direct(data)
                except Exception:
                    logger.exception("cluster bus: direct frame handler failed")
            return
        try:
            envelope = orjson.loads(data)
            sender, kind, payload = envelope["from"], envelope["kind"], envelope["data"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            logger.warning("cluster bus: dropped a malformed broadcast")
            return
        if sender == self.member_id or not isinstance(payload, dict):
            return
        for handler in self._handlers.get(kind, ()):
            try:
                outcome = handler(payload)
                if inspect.isawaitable(outcome):
                    self._spawn(outcome)
            except Exception:
                logger.exception("cluster bus: handler of %r failed", kind)

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                logger.exception("cluster bus: handler task failed")

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- sending ---------------------------------------------------------------------------

    async def broadcast(self, kind: str, data: dict[str, Any]) -> None:
        """Tell every other member; a Redis failure is logged, not raised (the others then
        learn of the change through their short caches instead)."""
        envelope = orjson.dumps({"from": self.member_id, "kind": kind, "data": data})
        try:
            await self._redis.publish(self._all, envelope)
        except (RedisError, OSError) as exc:
            logger.warning("cluster bus: could not broadcast %s: %s", kind, exc)

    def broadcast_threadsafe(self, kind: str, data: dict[str, Any]) -> None:
        """:meth:`broadcast` from any thread (a service's commit hook), not waiting."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(lambda: self._spawn(self.broadcast(kind, data)))

    async def send(self, member_id: str, frame: bytes) -> int:
        """Send ``frame`` to one member; returns how many received it (0: the member is gone).
        Raises RedisError/OSError when Redis cannot be reached."""
        return int(await self._redis.publish(self.channel_of(member_id), frame))

    async def is_member(self, member_id: str) -> bool:
        """Whether ``member_id`` is still subscribed (a member that stopped answering may
        still be there, e.g. busy; one that left the bus is gone)."""
        counts = await self._redis.pubsub_numsub(self.channel_of(member_id))
        return bool(counts and counts[0][1])
