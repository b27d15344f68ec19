"""loads_bounded: what untrusted JSON mcp-orch accepts, and the reason it gives when it refuses."""

from __future__ import annotations

import pytest

from mcp_orch_app.untrusted_json import JSONRejected, has_lone_surrogate, loads_bounded


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_documents_within_the_depth_bound_are_returned_as_parsed():
    assert loads_bounded(b'{"a": [1, {"b": "x"}]}', max_depth=3) == {"a": [1, {"b": "x"}]}
    assert loads_bounded("7", max_depth=0) == 7
    assert loads_bounded(_nested(64), max_depth=64) is not None


@pytest.mark.parametrize("depth", [65, 300, 100_000])
def test_deeper_documents_are_refused_with_the_limit_and_its_setting(depth):
    with pytest.raises(JSONRejected) as refused:
        loads_bounded(_nested(depth), max_depth=64)
    assert refused.value.kind == "depth"
    assert "64" in refused.value.reason and "MCP_ORCH_MAX_JSON_DEPTH" in refused.value.reason


def test_depth_counts_objects_and_arrays_alike():
    loads_bounded('{"a": {"b": [1]}}', max_depth=3)
    with pytest.raises(JSONRejected):
        loads_bounded('{"a": {"b": [1]}}', max_depth=2)


@pytest.mark.parametrize(
    "raw", ['{"x": "\\ud800"}', '{"\\udfff": 1}', '["ok", ["\\ud83d"]]', '"a\\udc00b"']
)
def test_lone_surrogates_in_values_and_keys_are_refused(raw):
    with pytest.raises(JSONRejected) as refused:
        loads_bounded(raw, max_depth=64)
    assert refused.value.kind == "text"
    assert "surrogate" in refused.value.reason
    assert refused.value.parsed is not None  # the caller can still read e.g. the JSON-RPC id


def test_a_surrogate_pair_is_a_real_character_and_passes():
    assert loads_bounded('"\\ud83d\\ude00"', max_depth=1) == "\U0001f600"
    assert not has_lone_surrogate("\U0001f600") and has_lone_surrogate("\ud800")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"x",
        b'{"a":',
        b"\xff\xfe{}",
        b'"\xed\xa0\x80"',
        b"NaN",
        b"[Infinity]",
        b"[1,]",
        b"1e400",
        b'{"a": -1e999}',
    ],
)
def test_bodies_that_are_not_utf8_json_are_syntax_errors(raw):
    with pytest.raises(JSONRejected) as refused:
        loads_bounded(raw, max_depth=64)
    assert refused.value.kind == "syntax"
    assert refused.value.parsed is None


@pytest.mark.parametrize(
    "raw",
    [
        '{"x": "\ud800"}',
        '["é", "\udfff"]',
        '{"x": "\\uD800"}',
        "[" + '"y",' * 50_000 + '"\\udbff"]',
    ],
)
def test_surrogates_are_found_in_str_input_and_past_large_ascii_text(raw):
    # The cheap guards (a "\\u" substring, isascii) must not hide a raw or escaped surrogate.
    with pytest.raises(JSONRejected) as refused:
        loads_bounded(raw, max_depth=64)
    assert refused.value.kind == "text"


def test_a_large_plain_body_is_parsed_without_the_surrogate_walk():
    body = ('{"text": "' + "x" * 200_000 + '", "é": "\\u00e9"}').encode()
    assert loads_bounded(body, max_depth=64) == {"text": "x" * 200_000, "é": "é"}
