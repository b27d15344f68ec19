"""Which resource updates a subscription covers (gateway/client_sessions.py `covers`): the URI
subscribed, or a sub-resource of it, as the spec allows a server to report."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mcp_orch_app.gateway.client_sessions import RESOURCE_UPDATED, LiveSession, covers
from mcp_orch_app.models.enums import ClientTransport

SUBSCRIBED = {"file:///project/src": ("s", "file:///project/src"), "db://t?x=1": ("s", "db")}


@pytest.mark.parametrize(
    "uri",
    [
        "file:///project/src",
        "file:///project/src/main.py",
        "file:///project/src/a/b.txt",
        "file:///project/src?rev=2",
        "file:///project/src#L3",
        "db://t?x=1",
    ],
)
def test_the_subscribed_uri_and_its_sub_resources_are_covered(uri):
    assert covers(SUBSCRIBED, uri)


@pytest.mark.parametrize(
    "uri",
    [
        None,
        "",
        "file:///project/srcfoo",  # not at a path boundary
        "file:///project",  # the parent, not a sub-resource
        "file:///other/src/main.py",
        "db://t?x=10",
    ],
)
def test_other_uris_are_not_covered(uri):
    assert not covers(SUBSCRIBED, uri)


def test_a_session_passes_on_updates_of_sub_resources_only_of_what_it_holds():
    session = LiveSession(
        id=uuid.uuid4(),
        project_id="p",
        server_id="server",
        server_name="files",
        api_key_id=None,
        transport=ClientTransport.STREAMABLE_HTTP,
    )
    session.outbox = asyncio.Queue()
    session.subscriptions = {"file:///project/src": ("server", "file:///project/src")}
    for uri in ("file:///project/src/main.py", "file:///project/srcx", "file:///elsewhere"):
        session.offer({"jsonrpc": "2.0", "method": RESOURCE_UPDATED, "params": {"uri": uri}})
    got = []
    while not session.outbox.empty():
        got.append(session.outbox.get_nowait()["params"]["uri"])
    assert got == ["file:///project/src/main.py"]
