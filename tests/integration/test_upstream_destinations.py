"""Where remote MCP servers may point: the destination policy and self-loops (issue 9, #10).

Save time goes through the servers service on SQLite and PostgreSQL; connect time through the
real HTTP upstreams against real listeners on loopback addresses (127.0.0.0/8 is all loopback
on Linux, so 127.0.0.2 and 127.0.0.3 are distinct destinations without any DNS set-up). A
listener that counts accepted connections shows that a refused destination is never even
connected to. The loop case is the real app (``running_app``) with a server configured at its
own unified endpoint, called through that endpoint by an SDK client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from mcp_orch_app import config, db
from mcp_orch_app.gateway.http_upstream import StreamableHttpUpstream
from mcp_orch_app.gateway.upstream import UpstreamConfig, UpstreamUnavailable
from mcp_orch_app.models.enums import Transport
from mcp_orch_app.security import destinations
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn
from tests.integration.test_gateway_endpoints import handshake_session
from tests.live_app import running_app


@pytest.fixture
def policy(monkeypatch):
    """Set MCP_ORCH_UPSTREAM_ALLOW / _DENY for one test."""

    def set_policy(*, allow: str = "", deny: str = "") -> None:
        monkeypatch.setenv("MCP_ORCH_UPSTREAM_ALLOW", allow)
        monkeypatch.setenv("MCP_ORCH_UPSTREAM_DENY", deny)
        config.reset_settings_cache()

    yield set_policy
    config.reset_settings_cache()


class Listener:
    """A TCP listener on a loopback address that counts the connections it accepts and
    answers each with ``reply`` (bytes, then close), or holds it open when ``reply`` is None."""

    def __init__(self, host: str, reply: bytes | None = b"") -> None:
        self.host, self.reply, self.accepted = host, reply, 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Listener:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc) -> None:
        self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.reply is None:
            await asyncio.sleep(30)
        with contextlib.suppress(Exception):  # read the request head before answering
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        writer.write(self.reply)
        await writer.drain()
        writer.close()


def remote(url: str, **fields) -> StreamableHttpUpstream:
    return StreamableHttpUpstream(
        UpstreamConfig(
            server_id=str(uuid.uuid4()),
            name="remote",
            transport=Transport.STREAMABLE_HTTP,
            url=url,
            **fields,
        ),
        handshake_timeout=fields.pop("handshake_timeout", 3.0),
    )


async def start_error(url: str) -> str:
    upstream = remote(url)
    began = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as error:
        await upstream.start()
    assert time.monotonic() - began < 3.0
    return str(error.value)


def closed_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# --- save time --------------------------------------------------------------------------------


@pytest.fixture
def owner_project(engine, make_person):
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "destinations")
    return owner, project.id


def save(engine, owner_project, url: str, name: str = "remote"):
    owner, project_id = owner_project
    with db.session_scope(engine) as s:
        return servers.create_server(
            s, owner.actor, project_id, ServerIn(name=name, transport="streamable_http", url=url)
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/latest/meta-data/",  # the same address, written as one number
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/mcp",
        "http://100.100.100.200/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./computeMetadata/v1/",
    ],
)
def test_metadata_and_link_local_urls_are_refused_at_save_time(engine, owner_project, url):
    with pytest.raises(InvalidInput, match="may not connect") as error:
        save(engine, owner_project, url)
    assert "MCP_ORCH_UPSTREAM_ALLOW" in str(error.value)


def test_the_rest_api_refuses_a_metadata_url_with_a_readable_422(engine, make_person, api_client):
    owner = make_person("rest")
    project = api_client.post("/api/projects", json={"name": "p"}, headers=owner.headers).json()
    answer = api_client.post(
        f"/api/projects/{project['id']}/servers",
        json={"name": "imds", "transport": "streamable_http", "url": "http://169.254.169.254/"},
        headers=owner.headers,
    )
    assert answer.status_code == 422, answer.text
    assert "link-local or cloud metadata" in answer.json()["detail"]


def test_an_import_refuses_a_metadata_entry_and_keeps_the_others(engine, owner_project):
    owner, project_id = owner_project
    document = {
        "mcpServers": {
            "imds": {"url": "http://169.254.169.254/latest/meta-data/"},
            "fine": {"url": "http://127.0.0.1:9000/mcp"},
        }
    }
    with db.session_scope(engine) as s:
        outcome = servers.import_servers(s, owner.actor, project_id, document)
    assert [created.name for created in outcome.created] == ["fine"]
    [refused] = outcome.errors
    assert refused.name == "imds" and "may not connect" in refused.error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/mcp",
        "http://localhost:3000/mcp",
        "http://10.1.2.3/mcp",
        "http://192.168.1.20:8080/sse",
        "https://mcp.example.com/mcp",
    ],
)
def test_loopback_private_and_public_urls_are_allowed_by_default(engine, owner_project, url):
    assert save(engine, owner_project, url).url == url


def test_operator_deny_and_allow_lists_apply_at_save_time(engine, owner_project, policy):
    policy(deny="10.0.0.0/8,*.corp.example")
    with pytest.raises(InvalidInput, match="MCP_ORCH_UPSTREAM_DENY"):
        save(engine, owner_project, "http://10.1.2.3/mcp")
    with pytest.raises(InvalidInput, match="MCP_ORCH_UPSTREAM_DENY"):
        save(engine, owner_project, "http://billing.corp.example/mcp")
    policy(allow="169.254.10.0/24")  # lifts the default for that range only
    assert save(engine, owner_project, "http://169.254.10.5/mcp", "lifted").url
    with pytest.raises(InvalidInput, match="not in MCP_ORCH_UPSTREAM_ALLOW"):
        save(engine, owner_project, "http://127.0.0.1/mcp", "elsewhere")


def test_a_url_of_the_gateways_own_mcp_endpoint_is_refused_at_save_time(
    engine, owner_project, monkeypatch
):
    monkeypatch.setenv("MCP_ORCH_PUBLIC_URL", "https://orch.example.com")
    config.reset_settings_cache()
    try:
        own = f"https://orch.example.com/projects/{uuid.uuid4()}/unified/mcp"
        with pytest.raises(InvalidInput, match="mcp-orch's own MCP endpoints"):
            save(engine, owner_project, own)
        with pytest.raises(InvalidInput, match="mcp-orch's own MCP endpoints"):
            save(engine, owner_project, own.replace("unified/mcp", "servers/github/sse"), "b")
        assert save(engine, owner_project, "https://orch.example.com/other/mcp", "c").url
    finally:
        config.reset_settings_cache()


def test_a_bad_policy_entry_stops_start_up_with_its_name(policy):
    policy(deny="10.0.0.0/8,not a host!")
    with pytest.raises(config.ConfigError, match="MCP_ORCH_UPSTREAM_DENY: 'not a host!'"):
        destinations.destination_policy()


# --- connect time -----------------------------------------------------------------------------


async def test_a_name_resolving_to_a_denied_address_is_refused_without_connecting(policy):
    async with Listener("127.0.0.1") as listener:
        policy(deny="127.0.0.0/8")  # after saving: `localhost` passes by name
        destinations.check_url(f"http://localhost:{listener.port}/mcp")
        message = await start_error(f"http://localhost:{listener.port}/mcp")
    assert "destination policy refuses it" in message
    assert "127.0.0.1" not in message  # what a name resolves to is for the admins' log only
    assert listener.accepted == 0


async def test_allow_list_mode_admits_only_what_it_lists(policy):
    async with Listener("127.0.0.2") as listed, Listener("127.0.0.3") as other:
        policy(allow="127.0.0.2")
        await start_error(f"http://127.0.0.2:{listed.port}/mcp")  # reached: not an MCP server
        message = await start_error(f"http://127.0.0.3:{other.port}/mcp")
        assert "destination policy refuses it" in message
        assert (listed.accepted, other.accepted) == (1, 0)
        policy(allow="localhost")  # a listed name admits whatever it resolves to
        await start_error(f"http://localhost:{listed.port}/mcp".replace("localhost", "127.0.0.3"))
        assert other.accepted == 0
        async with Listener("127.0.0.1") as local:
            await start_error(f"http://localhost:{local.port}/mcp")
            assert local.accepted == 1


async def test_the_connection_goes_to_the_checked_address_without_resolving_again(
    policy, monkeypatch
):
    """DNS rebinding: a name is resolved once, its addresses checked, and the connection made
    to a checked address. A resolver answering differently the second time changes nothing."""
    rebound = False
    real_getaddrinfo = asyncio.BaseEventLoop.getaddrinfo

    async def rebinding(self, host, port, *args, **kwargs):
        if host == "rebind.test":  # unknown to the system resolver
            host = "169.254.169.254" if rebound else "127.0.0.2"
        return await real_getaddrinfo(self, host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", rebinding)
    reply = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
    async with Listener("127.0.0.2", reply) as listener:
        url = f"http://rebind.test:{listener.port}/mcp"
        await start_error(url)
        reached = listener.accepted
        assert reached >= 1  # connected to the address the check saw
        rebound = True
        message = await start_error(url)
        assert "destination policy refuses it" in message
        assert listener.accepted == reached


async def test_connection_failures_read_the_same_whatever_is_on_the_port():
    """Closed port, a non-HTTP service, a service that closes at once: one text each time,
    so error messages do not map the host's open ports."""
    async with (
        Listener("127.0.0.1", b"SSH-2.0-OpenSSH_9.6\r\n") as ssh,
        Listener("127.0.0.1", b"") as closer,
    ):
        urls = {
            "closed": f"http://127.0.0.1:{closed_port()}/mcp",
            "ssh": f"http://127.0.0.1:{ssh.port}/mcp",
            "closes": f"http://127.0.0.1:{closer.port}/mcp",
        }
        texts = {kind: await start_error(url) for kind, url in urls.items()}
    for kind, text in texts.items():
        assert text == f"MCP server 'remote' is not reachable at {urls[kind]}: could not connect"
    assert ssh.accepted == closer.accepted == 1


async def test_an_http_body_is_not_shown_before_the_server_proved_to_be_mcp():
    secret_page = b"internal admin: password=hunter2"
    answer = (
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(secret_page), secret_page)
    )
    async with Listener("127.0.0.1", answer) as internal:
        message = await start_error(f"http://127.0.0.1:{internal.port}/mcp")
    assert "hunter2" not in message and "HTTP 500" in message


# --- self-loops -------------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@asynccontextmanager
async def looping_project(engine, make_person) -> AsyncIterator[tuple[str, str]]:
    """The real app with a project whose only server is the project's own unified endpoint."""
    owner = make_person("looper")
    async with running_app(engine) as app:
        with db.session_scope(engine) as s:
            project = projects.create_project(s, owner.actor, "loop")
            key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="k")).key
            unified = f"{app.base_url}/projects/{project.id}/unified/mcp"
            servers.create_server(
                s,
                owner.actor,
                project.id,
                ServerIn(
                    name="itself",
                    transport="streamable_http",
                    url=unified,
                    headers={"Authorization": f"Bearer {key}"},
                    timeout_seconds=30,
                ),
            )
        yield unified, key


async def test_a_server_pointing_at_the_gateways_own_unified_endpoint_fails_fast(
    engine, make_person
):
    async with (
        looping_project(engine, make_person) as (unified, key),
        handshake_session(unified, key) as session,
    ):
        began = time.monotonic()
        listed = await session.list_tools()  # starts the upstream: mcp-orch itself
        assert listed.tools == []
        assert time.monotonic() - began < 5, "the loop ran until a timeout"
        fds = _open_fds()
        for _ in range(20):
            await session.list_tools()
        assert _open_fds() <= fds + 5, "file descriptors grow with each attempt"


async def test_a_request_marked_as_mcp_orchs_own_is_answered_508(engine, make_person):
    import httpx

    async with looping_project(engine, make_person) as (unified, key), httpx.AsyncClient() as http:
        answer = await http.post(
            unified,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={destinations.LOOP_HEADER: destinations.loop_token()},
        )
        forged = await http.post(
            unified,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={destinations.LOOP_HEADER: "0" * 64, "authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 508
    assert "Loop detected" in answer.json()["error"]["message"]
    assert forged.status_code != 508  # only this installation's token counts
