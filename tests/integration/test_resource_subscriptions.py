"""Resource subscriptions through mcp-orch, end to end: real SDK clients of both eras -> the
per-server and unified endpoints -> real MCP server processes (gateway/resource_subscriptions.py).

The project has two copies of our fixture server over stdio: `modern`, which the gateway opens
in the 2026-07-28 era (its resource updates come on a `subscriptions/listen` stream that names
the watched URIs), and `classic`, which refuses that era (FIXTURE_HANDSHAKE_ONLY), so the
gateway subscribes with `resources/subscribe`. The fixture's `touch_resource` tool sends
`notifications/resources/updated` to exactly the connections and listen streams that subscribed
to the URI, and its call log records every upstream subscribe, unsubscribe and listen, so a
test sees what reached the server. Also server-everything, whose subscribable resources update
on its own timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import MCPError
from mcp.shared.subscriptions import ResourceUpdated, ToolsListChanged

from mcp_orch_app import db
from mcp_orch_app.gateway import forwarding, http_endpoints
from mcp_orch_app.models.enums import Transport
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.helpers import FIXTURE_SERVER, install_server_everything
from tests.integration import test_unified_endpoint
from tests.integration.test_gateway_endpoints import (
    auto_client,
    handshake_session,
    sse_session,
)
from tests.integration.test_http_upstreams import fixture_server
from tests.integration.test_unified_endpoint import Notifications, eventually, unified_url
from tests.live_app import LiveApp

pytestmark = pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")

live = test_unified_endpoint.live
"""The running app (the unified endpoint suite's fixture)."""

GREETING = "fixture://greeting"
ITEM = "fixture://items/7"
QUIET = 0.5
"""How long a client that must get nothing is watched after the one that must got its update."""


@dataclass
class Project:
    id: uuid.UUID
    key: str
    owner: Any
    logs: dict[str, Path]
    server_ids: dict[str, str]

    def upstream_saw(self, server: str, prefix: str) -> list[str]:
        """The call-log lines of the server's process that start with ``prefix``."""
        log = self.logs[server]
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines if line.startswith(prefix)]


@pytest.fixture
def project(engine, make_person, tmp_path) -> Project:
    owner = make_person("owner")
    logs = {name: tmp_path / f"{name}.log" for name in ("modern", "classic")}
    with db.session_scope(engine) as s:
        created = projects.create_project(s, owner.actor, "subscriptions")
        ids = {
            name: servers.create_server(s, owner.actor, created.id, _fixture(name, log)).id
            for name, log in logs.items()
        }
        key = api_keys.create_api_key(s, owner.actor, created.id, ApiKeyIn(name="ci")).key
    return Project(created.id, key, owner, logs, {k: str(v) for k, v in ids.items()})


def _fixture(name: str, log: Path) -> ServerIn:
    env = {"FIXTURE_CALL_LOG": str(log), "FIXTURE_SUBSCRIPTION_LOG": str(log)}
    if name == "classic":
        env["FIXTURE_HANDSHAKE_ONLY"] = "1"
    return ServerIn(
        name=name,
        command=sys.executable,
        args=[str(FIXTURE_SERVER)],
        env=env,
        timeout_seconds=20,
    )


def holders(live: LiveApp, project: Project, server: str, uri: str) -> int:
    return live.gateway.resources.holders(project.server_ids[server], uri)


async def streams_open(live: LiveApp, count: int) -> None:
    """Wait until ``count`` handshake sessions have their notification stream open (the SDK
    client opens its GET stream in the background after initialize)."""
    await eventually(
        lambda: sum(s.outbox is not None for s in live.gateway.sessions.values()) >= count,
        10,
        "the clients' notification streams",
    )


@asynccontextmanager
async def two_sessions(live: LiveApp, url: str, key: str, session_for: Any = handshake_session):
    """Two handshake-era clients of ``url``, each with the resource updates it got:
    (a, got_a, b, got_b), their notification streams open."""
    got_a = Notifications("notifications/resources/updated")
    got_b = Notifications("notifications/resources/updated")
    async with (
        session_for(url, key, message_handler=got_a) as a,
        session_for(url, key, message_handler=got_b) as b,
    ):
        assert a.server_capabilities.resources.subscribe
        if session_for is handshake_session:
            await streams_open(live, 2)
        yield a, got_a, b, got_b


async def quiet(notifications: Notifications) -> list[Any]:
    await asyncio.sleep(QUIET)
    return notifications.received


# --- handshake-era clients: resources/subscribe ------------------------------------------------


@pytest.mark.parametrize("upstream", ["classic", "modern"])
async def test_only_the_subscriber_gets_updates_and_one_upstream_subscription_serves_all(
    live, project, upstream
):
    url = live.url(project.id, upstream)
    async with two_sessions(live, url, project.key) as (a, got_a, b, got_b):
        await a.subscribe_resource(GREETING)
        await a.subscribe_resource(GREETING)  # twice is once
        assert holders(live, project, upstream, GREETING) == 1

        await b.call_tool("touch_resource", {"uri": GREETING})
        assert str((await got_a.first()).params.uri) == GREETING
        assert await quiet(got_b) == []
        await b.call_tool("touch_resource", {"uri": ITEM})  # nobody's: reaches no one
        assert len(await quiet(got_a)) == 1

        # A second subscriber shares the upstream subscription.
        await b.subscribe_resource(GREETING)
        assert holders(live, project, upstream, GREETING) == 2
        await a.unsubscribe_resource(GREETING)
        got_a.received.clear()
        await a.call_tool("touch_resource", {"uri": GREETING})
        assert str((await got_b.first()).params.uri) == GREETING
        assert await quiet(got_a) == []

        await b.unsubscribe_resource(GREETING)
        assert holders(live, project, upstream, GREETING) == 0
        got_b.received.clear()
        await a.call_tool("touch_resource", {"uri": GREETING})
        assert await quiet(got_b) == [] and got_a.received == []

    if upstream == "classic":
        assert project.upstream_saw("classic", "subscribe:") == [f"subscribe:{GREETING}"]
        assert project.upstream_saw("classic", "unsubscribe:") == [f"unsubscribe:{GREETING}"]
    else:
        # The first listen stream (list changes), one naming the URI, one naming none again.
        assert project.upstream_saw("modern", "listen:") == [
            "listen:",
            f"listen:{GREETING}",
            "listen:",
        ]


async def test_unsubscribing_what_the_session_does_not_hold_is_refused(live, project):
    url = live.url(project.id, "classic")
    async with (
        handshake_session(url, project.key) as a,
        handshake_session(url, project.key) as b,
    ):
        await a.subscribe_resource(GREETING)
        with pytest.raises(MCPError, match="not subscribed") as refused:
            await b.unsubscribe_resource(GREETING)  # A's, not B's
        assert refused.value.error.code == -32602
        assert holders(live, project, "classic", GREETING) == 1
        for bad in ("", "x" * 3000):
            with pytest.raises(MCPError) as refused:
                await a.subscribe_resource(bad)
            assert refused.value.error.code == -32602
        await asyncio.sleep(QUIET)
        assert project.upstream_saw("classic", "unsubscribe:") == []  # B released nothing of A's
        assert holders(live, project, "classic", GREETING) == 1


async def test_a_session_that_ends_releases_its_subscriptions(live, project):
    url = live.url(project.id, "classic")
    async with handshake_session(url, project.key) as a:
        await a.subscribe_resource(GREETING)
        await a.subscribe_resource(ITEM)
        assert holders(live, project, "classic", ITEM) == 1
    # The client's DELETE ended the session: both upstream subscriptions are released.
    await eventually(
        lambda: len(project.upstream_saw("classic", "unsubscribe:")) == 2, 10, "the release"
    )
    assert holders(live, project, "classic", GREETING) == 0


async def test_the_number_of_subscriptions_of_a_session_is_bounded(live, project, monkeypatch):
    monkeypatch.setattr(forwarding, "MAX_SUBSCRIPTIONS_PER_SESSION", 2)
    async with handshake_session(live.url(project.id, "classic"), project.key) as a:
        await a.subscribe_resource("fixture://items/1")
        await a.subscribe_resource("fixture://items/2")
        with pytest.raises(MCPError, match="already holds 2 subscriptions") as refused:
            await a.subscribe_resource("fixture://items/3")
        assert refused.value.error.code == -32602
        await a.unsubscribe_resource("fixture://items/1")
        await a.subscribe_resource("fixture://items/3")
    assert "subscribe:fixture://items/3" in project.upstream_saw("classic", "subscribe:")


# --- the unified endpoint ----------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_the_unified_endpoint_maps_subscriptions_to_their_servers(live, project, transport):
    url = unified_url(live, project.id, "sse" if transport == "sse" else "mcp")
    session_for = sse_session if transport == "sse" else handshake_session
    modern_greeting = f"mcp-orch:modern/{GREETING}"
    classic_item = f"mcp-orch:classic/{ITEM}"
    async with two_sessions(live, url, project.key, session_for) as (a, got_a, b, got_b):
        await a.subscribe_resource(modern_greeting)
        await b.subscribe_resource(classic_item)
        # The servers were asked with their own URIs.
        assert holders(live, project, "modern", GREETING) == 1
        assert holders(live, project, "classic", ITEM) == 1
        assert project.upstream_saw("classic", "subscribe:") == [f"subscribe:{ITEM}"]

        await b.call_tool("modern__touch_resource", {"uri": GREETING})
        assert str((await got_a.first()).params.uri) == modern_greeting
        assert await quiet(got_b) == []
        await a.call_tool("classic__touch_resource", {"uri": ITEM})
        assert str((await got_b.first()).params.uri) == classic_item
        assert len(got_a.received) == 1

        for bad in (GREETING, "mcp-orch:nosuch/fixture://greeting", "mcp-orch:modern"):
            with pytest.raises(MCPError, match="Unknown resource") as refused:
                await a.subscribe_resource(bad)
            assert refused.value.error.code == -32602
        with pytest.raises(MCPError, match="not subscribed"):
            await a.unsubscribe_resource(classic_item)  # B's
        await b.unsubscribe_resource(classic_item)
    assert project.upstream_saw("classic", "unsubscribe:") == [f"unsubscribe:{ITEM}"]


async def test_list_changes_of_any_server_reach_unified_sessions(live, project):
    changed = Notifications("notifications/tools/list_changed")
    url = unified_url(live, project.id)
    async with handshake_session(url, project.key, message_handler=changed) as session:
        await session.list_tools()
        await streams_open(live, 1)
        changed.received.clear()
        await session.call_tool("classic__announce_tools_changed", {})
        await changed.first()


# --- 2026-07-28 clients: subscriptions/listen with resourceSubscriptions --------------------


@pytest.mark.parametrize("upstream", ["modern", "classic"])
async def test_a_listen_stream_gets_the_updates_of_the_uris_it_names(live, project, upstream):
    url = live.url(project.id, upstream)
    async with (
        auto_client(url, project.key) as client,
        auto_client(url, project.key) as caller,
    ):
        assert client.session.protocol_version == "2026-07-28"
        async with (
            client.listen(resource_subscriptions=[GREETING]) as watching,
            client.listen(tools_list_changed=True) as other,
        ):
            assert watching.honored.resource_subscriptions == [GREETING]
            assert holders(live, project, upstream, GREETING) == 1
            await caller.call_tool("touch_resource", {"uri": ITEM})
            await caller.call_tool("touch_resource", {"uri": GREETING})
            event = await asyncio.wait_for(anext(aiter(watching)), 10)
            assert event == ResourceUpdated(uri=GREETING)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(aiter(other)), QUIET)
        # The stream closed: its reference is released.
        await eventually(lambda: holders(live, project, upstream, GREETING) == 0, 10, "the release")
    if upstream == "classic":
        assert project.upstream_saw("classic", "subscribe:") == [f"subscribe:{GREETING}"]
        await eventually(
            lambda: project.upstream_saw("classic", "unsubscribe:"), 10, "the unsubscribe"
        )


async def test_a_unified_listen_stream_maps_uris_and_refuses_unknown_ones(live, project):
    url = unified_url(live, project.id)
    wanted = [f"mcp-orch:modern/{GREETING}", f"mcp-orch:classic/{ITEM}"]
    async with (
        auto_client(url, project.key) as client,
        auto_client(url, project.key) as caller,
    ):
        async with client.listen(resource_subscriptions=wanted, tools_list_changed=True) as sub:
            assert sorted(sub.honored.resource_subscriptions) == sorted(wanted)
            await caller.call_tool("classic__touch_resource", {"uri": ITEM})
            event = await asyncio.wait_for(anext(aiter(sub)), 10)
            assert event == ResourceUpdated(uri=wanted[1])
            await caller.call_tool("modern__touch_resource", {"uri": GREETING})
            event = await asyncio.wait_for(anext(aiter(sub)), 10)
            assert event == ResourceUpdated(uri=wanted[0])
            await caller.call_tool("classic__announce_tools_changed", {})
            assert isinstance(await asyncio.wait_for(anext(aiter(sub)), 10), ToolsListChanged)
        for bad in ([GREETING], ["mcp-orch:nosuch/x"], [""]):
            with pytest.raises(MCPError) as refused:
                async with client.listen(resource_subscriptions=bad):
                    pass
            assert refused.value.error.code == -32602
    assert project.upstream_saw("modern", "listen:")[:2] == ["listen:", f"listen:{GREETING}"]


async def test_listen_streams_of_a_client_are_bounded(live, project, monkeypatch):
    monkeypatch.setattr(http_endpoints, "MAX_SUBSCRIPTIONS_PER_SESSION", 2)
    url = live.url(project.id, "modern")
    async with (
        auto_client(url, project.key) as client,
        client.listen(resource_subscriptions=["fixture://items/1"]),
    ):
        with pytest.raises(MCPError, match="at most 2 resource subscriptions") as refused:
            async with client.listen(resource_subscriptions=["a://1", "a://2"]):
                pass
        assert refused.value.error.code == -32602


# --- server-everything --------------------------------------------------------------------------


async def test_server_everything_updates_reach_only_its_subscriber(live, project, engine):
    everything = install_server_everything()
    with db.session_scope(engine) as s:
        servers.create_server(
            s,
            project.owner.actor,
            project.id,
            ServerIn(name="everything", command=str(everything), args=["stdio"]),
        )
    url = live.url(project.id, "everything")
    async with two_sessions(live, url, project.key) as (a, got_a, b, got_b):
        uri = str((await a.list_resources()).resources[0].uri)
        await a.subscribe_resource(uri)
        await b.call_tool("toggle-subscriber-updates", {})
        try:
            assert str((await got_a.first()).params.uri) == uri
            assert await quiet(got_b) == []
        finally:
            await b.call_tool("toggle-subscriber-updates", {})


# --- HTTP upstreams -----------------------------------------------------------------------------


@pytest.mark.parametrize("transport", [Transport.STREAMABLE_HTTP, Transport.SSE])
async def test_http_upstreams_deliver_updates_to_their_subscribers_only(
    live, project, engine, tmp_path, transport
):
    # A listen stream naming the URIs: a POST of its own over streamable HTTP, a message of the
    # GET stream over SSE.
    process = fixture_server(tmp_path, transport)
    process.env["FIXTURE_SUBSCRIPTION_LOG"] = str(tmp_path / "subscriptions.log")
    await process.start()
    try:
        with db.session_scope(engine) as s:
            server = ServerIn(name="remote", transport=transport.value, url=process.url)
            servers.create_server(s, project.owner.actor, project.id, server)
        url = live.url(project.id, "remote")
        async with (
            two_sessions(live, url, project.key) as (a, got_a, b, got_b),
            auto_client(url, project.key) as modern,
        ):
            await a.subscribe_resource(GREETING)
            async with modern.listen(resource_subscriptions=[ITEM]) as watching:
                assert watching.honored.resource_subscriptions == [ITEM]
                await b.call_tool("touch_resource", {"uri": GREETING})
                assert str((await got_a.first()).params.uri) == GREETING
                await b.call_tool("touch_resource", {"uri": ITEM})
                event = await asyncio.wait_for(anext(aiter(watching)), 10)
                assert event == ResourceUpdated(uri=ITEM)
                assert await quiet(got_b) == [] and len(got_a.received) == 1
            await a.unsubscribe_resource(GREETING)
        # Both speak 2026-07-28 to the gateway: the standing listen stream (list changes), then
        # one per change of the watched URIs.
        seen = (tmp_path / "subscriptions.log").read_text().splitlines()
        assert seen == [
            "listen:",
            f"listen:{GREETING}",
            f"listen:{GREETING},{ITEM}",
            f"listen:{ITEM}",
            "listen:",
        ]
    finally:
        process.kill()


@pytest.mark.parametrize("upstream", ["classic", "modern"])
async def test_subscriptions_are_made_again_when_the_server_restarts(live, project, upstream):
    url = live.url(project.id, upstream)
    async with two_sessions(live, url, project.key) as (a, got_a, b, got_b):
        await a.subscribe_resource(GREETING)
        with pytest.raises(MCPError):
            await b.call_tool("crash", {})

        async def touched() -> bool:
            # The next call starts the server again (once its back-off is over).
            with contextlib.suppress(MCPError):
                await b.call_tool("touch_resource", {"uri": GREETING})
            await asyncio.sleep(0.2)
            return bool(got_a.received)

        await eventually(touched, 15, "an update after the restart")
        assert got_b.received == []
    started = project.upstream_saw(upstream, "subscribe:" if upstream == "classic" else "listen:")
    assert started.count(f"{'subscribe' if upstream == 'classic' else 'listen'}:{GREETING}") == 2
