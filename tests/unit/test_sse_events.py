"""How mcp-orch reads the SSE bodies of remote upstreams (gateway/http_upstream.py): the event
framing of the SSE spec over arbitrary chunk boundaries, and a bound on what one event holds."""

from __future__ import annotations

import httpx
import pytest

from mcp_orch_app.gateway.http_upstream import _Oversize, _sse_events


def response(*chunks: bytes) -> httpx.Response:
    async def body():
        for chunk in chunks:
            yield chunk

    return httpx.Response(200, content=body())


async def events(*chunks: bytes, limit: int = 1 << 20) -> list[tuple[str, str]]:
    return [(e.event, e.data) async for e in _sse_events(response(*chunks), limit)]


async def test_events_split_anywhere_read_the_same():
    stream = b': keepalive\r\nevent: endpoint\r\ndata: /messages?s=1\r\n\r\ndata: {"a":\r\ndata: 1}\r\n\r\n'
    whole = await events(stream)
    assert whole == [("endpoint", "/messages?s=1"), ("message", '{"a":\n1}')]
    for cut in range(1, len(stream)):
        assert await events(stream[:cut], stream[cut:]) == whole, cut
    assert await events(*(stream[i : i + 1] for i in range(len(stream)))) == whole


async def test_lf_and_lone_cr_line_ends_are_line_ends():
    assert await events(b"data: a\n\ndata: b\r\rdata: c\r\n\r\n") == [
        ("message", "a"),
        ("message", "b"),
        ("message", "c"),
    ]


async def test_an_unfinished_event_at_the_end_is_not_dispatched():
    assert await events(b"data: done\n\ndata: cut off") == [("message", "done")]


async def test_an_event_past_the_limit_stops_the_read():
    with pytest.raises(_Oversize):
        await events(b"data: " + b"x" * 2000 + b"\n\n", limit=1024)
    with pytest.raises(_Oversize):  # a line that never ends
        await events(*([b"y" * 512] * 10), limit=1024)
    with pytest.raises(_Oversize):  # many short lines of one event
        await events(b"data: 0123456789\n" * 200 + b"\n", limit=1024)
    # Events under the limit, however many, pass.
    assert len(await events(b"data: 0123456789\n\n" * 200, limit=1024)) == 200
