"""The SSE fields resuming a stream needs (gateway/http_upstream.py `_SseDecoder`): the last
event id in force and the server's `retry:`, as an EventSource keeps them, with hostile values
(too long, unprintable, not a number) ignored rather than sent back or waited on."""

from __future__ import annotations

import pytest

from mcp_orch_app.gateway.http_upstream import MAX_EVENT_ID, _SseDecoder


def decoded(*chunks: bytes) -> _SseDecoder:
    decoder = _SseDecoder(1 << 20)
    for chunk in chunks:
        decoder.feed(chunk)
    return decoder


def test_the_priming_event_sets_id_and_retry_without_an_event():
    decoder = _SseDecoder(1 << 20)
    assert decoder.feed(b"id: e-1\nretry: 500\ndata: \n\n") == []
    assert (decoder.last_id, decoder.retry_ms) == ("e-1", 500)


def test_the_id_is_in_force_only_once_its_event_is_complete():
    decoder = decoded(b"id: e-1\n\nid: e-2\ndata: x")
    assert decoder.last_id == "e-1"
    decoder.feed(b"\n\n")
    assert decoder.last_id == "e-2"


def test_an_id_persists_over_later_events_without_one_and_an_empty_id_resets_it():
    assert decoded(b"id: e-1\ndata: a\n\ndata: b\n\n").last_id == "e-1"
    assert decoded(b"id: e-1\ndata: a\n\nid\ndata: b\n\n").last_id is None


@pytest.mark.parametrize(
    "line",
    [b"id: " + b"x" * (MAX_EVENT_ID + 1), b"id: a\x01b", "id: caf\u00e9".encode(), b"id: a\0b"],
    ids=["too-long", "control", "non-ascii", "nul"],
)
def test_an_id_that_cannot_go_in_a_header_is_not_kept(line):
    decoder = decoded(b"id: ok\n\n" + line + b"\ndata: x\n\n")
    # NUL makes the field ignored (the earlier id stays), the others clear it: never sent.
    assert decoder.last_id == ("ok" if b"\0" in line else None)


@pytest.mark.parametrize("value", [b"soon", b"-5", b"1.5", b"9" * 10, b""])
def test_a_retry_that_is_not_a_small_integer_is_ignored(value):
    assert decoded(b"retry: 250\n\nretry: " + value + b"\n\n").retry_ms == 250


def test_a_resumed_decoder_keeps_id_and_retry_but_no_partial_event():
    decoder = decoded(b"id: e-1\nretry: 20\ndata: \n\ndata: half")
    resumed = decoder.resumed()
    assert (resumed.last_id, resumed.retry_ms) == ("e-1", 20)
    assert resumed.feed(b"data: whole\n\n")[0].data == "whole"
