"""The cluster bus between backend processes (mcp_orch_app/cluster/bus.py), on the machine's
real Redis: broadcasts reach every other member of the namespace and only them, frames reach
one member and say when it is gone, bad messages are dropped, a lost connection comes back,
and an access change in one gateway drops the cached grants of another."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from mcp_orch_app.cluster import ClusterBus, namespace_for
from mcp_orch_app.gateway.runtime import ACCESS_CHANGED, Gateway
from tests.integration.test_backend_workers import REDIS_URL, needs_redis

pytestmark = needs_redis


def _bus(namespace: str) -> ClusterBus:
    return ClusterBus(REDIS_URL, namespace=namespace)


async def _started(*buses: ClusterBus) -> None:
    for bus in buses:
        await bus.start()
        assert bus.connected


async def _next(queue: asyncio.Queue, timeout: float = 2.0):
    return await asyncio.wait_for(queue.get(), timeout)


def test_the_namespace_depends_on_the_key_and_the_redis_database():
    one = namespace_for("redis://127.0.0.1:6379/1", "a" * 64)
    assert one == namespace_for("redis://other-host:6379/1", "a" * 64)
    assert one != namespace_for("redis://127.0.0.1:6379/2", "a" * 64)
    assert one != namespace_for("redis://127.0.0.1:6379/1", "b" * 64)
    assert "a" * 16 not in one  # the fingerprint itself is not spelled out


async def test_a_broadcast_reaches_the_other_members_of_its_namespace_only():
    namespace = f"test-{secrets.token_hex(4)}"
    sender, member, stranger = _bus(namespace), _bus(namespace), _bus(namespace + "-other")
    heard: dict[str, asyncio.Queue] = {name: asyncio.Queue() for name in ("s", "m", "x")}
    sender.on("kind", heard["s"].put_nowait)
    member.on("kind", heard["m"].put_nowait)
    stranger.on("kind", heard["x"].put_nowait)
    member.on("other-kind", lambda data: pytest.fail(f"wrong handler got {data}"))
    await _started(sender, member, stranger)
    try:
        await sender.broadcast("kind", {"n": 1})
        assert await _next(heard["m"]) == {"n": 1}
        await asyncio.sleep(0.2)
        assert heard["s"].empty(), "a member does not hear its own broadcasts"
        assert heard["x"].empty(), "another namespace hears nothing"
    finally:
        for bus in (sender, member, stranger):
            await bus.stop()


async def test_async_handlers_run_and_a_failing_handler_harms_no_other():
    namespace = f"test-{secrets.token_hex(4)}"
    sender, member = _bus(namespace), _bus(namespace)
    done: asyncio.Queue = asyncio.Queue()

    def broken(_data):
        raise RuntimeError("boom")

    async def slow(data):
        await asyncio.sleep(0.05)
        done.put_nowait(data)

    member.on("k", broken)
    member.on("k", slow)
    await _started(sender, member)
    try:
        await sender.broadcast("k", {"ok": True})
        assert await _next(done) == {"ok": True}
    finally:
        await sender.stop()
        await member.stop()


async def test_malformed_broadcasts_are_dropped():
    namespace = f"test-{secrets.token_hex(4)}"
    member = _bus(namespace)
    heard: asyncio.Queue = asyncio.Queue()
    member.on("k", heard.put_nowait)
    await _started(member)
    raw = aioredis.Redis.from_url(REDIS_URL)
    try:
        for junk in (
            b"not json",
            b"[1, 2]",
            b'{"from": "x", "kind": "k"}',
            b'{"from": "x", "kind": "k", "data": [1]}',
            b"\xff\xfe",
        ):
            await raw.publish(f"{namespace}:all", junk)
        await raw.publish(f"{namespace}:all", b'{"from": "x", "kind": "k", "data": {"v": 2}}')
        assert await _next(heard) == {"v": 2}
        assert heard.empty()
        assert member.connected
    finally:
        await raw.aclose()
        await member.stop()


async def test_a_frame_reaches_its_member_and_a_gone_member_receives_nothing():
    namespace = f"test-{secrets.token_hex(4)}"
    owner, asker = _bus(namespace), _bus(namespace)
    frames: asyncio.Queue = asyncio.Queue()
    owner.on_direct(frames.put_nowait)
    asker.on_direct(lambda frame: pytest.fail(f"the asker got {frame!r}"))
    await _started(owner, asker)
    try:
        assert await asker.send(owner.member_id, b"\x00frame") == 1
        assert await _next(frames) == b"\x00frame"
        await owner.stop()
        assert await asker.send(owner.member_id, b"late") == 0
    finally:
        await asker.stop()


async def test_the_bus_comes_back_after_redis_drops_its_connection():
    namespace = f"test-{secrets.token_hex(4)}"
    sender, member = _bus(namespace), _bus(namespace)
    heard: asyncio.Queue = asyncio.Queue()
    member.on("k", heard.put_nowait)
    await _started(sender, member)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        # Kill every pub/sub connection subscribed to the member's channel.
        for client in await admin.client_list(_type="pubsub"):
            await admin.client_kill_filter(_id=client["id"])
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            await sender.broadcast("k", {"after": "reconnect"})
            try:
                assert await _next(heard, 0.5) == {"after": "reconnect"}
                break
            except TimeoutError:
                assert asyncio.get_running_loop().time() < deadline, "never reconnected"
        assert member.connected
    finally:
        await admin.aclose()
        await sender.stop()
        await member.stop()


async def test_an_unreachable_redis_does_not_stop_the_start():
    bus = ClusterBus("redis://127.0.0.1:1/0", namespace="test-unreachable")
    await bus.start(wait=0.3)
    try:
        assert not bus.connected
        await bus.broadcast("k", {})  # logged, not raised
        with pytest.raises((RedisError, OSError)):
            await bus.send("someone", b"x")
    finally:
        await bus.stop()


async def test_an_access_change_in_one_gateway_drops_the_grants_cached_by_another():
    namespace = f"test-{secrets.token_hex(4)}"
    here, there = _bus(namespace), _bus(namespace)
    first = Gateway(writer=None, cluster=here)
    second = Gateway(writer=None, cluster=there)
    heard: asyncio.Queue = asyncio.Queue()
    there.on(ACCESS_CHANGED, heard.put_nowait)
    await first.start()
    await second.start()
    try:
        project = uuid.uuid4()
        first._on_access_changed(project)  # as services/access_events.py calls it after a commit
        assert await _next(heard) == {"project_id": str(project)}
        await asyncio.sleep(0.05)  # the gateway's own handler ran before the queue's
        assert second._epochs.get(str(project)) == 1
        assert first._epochs.get(str(project)) == 1
        there_bad = {"project_id": "not-a-uuid"}
        second._on_remote_access_changed(there_bad)  # dropped, logged
        assert str(project) in second._epochs and len(second._epochs) == 1
    finally:
        await first.stop()
        await second.stop()
