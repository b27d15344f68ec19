"""The bounds of stored JSON (mcp_orch_app/stored_json.py), on text and on values."""

from __future__ import annotations

import json

import pytest

from mcp_orch_app.stored_json import (
    DEPTH_MARKER,
    MAX_STORED_DEPTH,
    deeper_than,
    dumps_stored,
    loads_stored,
    storable_text,
)


def arrays(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


@pytest.mark.parametrize("levels", [1, MAX_STORED_DEPTH - 1, MAX_STORED_DEPTH])
def test_documents_within_the_depth_are_kept_as_they_are(levels):
    text = arrays(levels)
    assert not deeper_than(text)
    assert storable_text(text) == text
    assert loads_stored(text) == json.loads(text)


@pytest.mark.parametrize("levels", [MAX_STORED_DEPTH + 1, 300, 900])
def test_deeper_documents_keep_their_top_levels_and_a_marker(levels):
    text = arrays(levels)
    assert deeper_than(text)
    for value in (json.loads(storable_text(text)), loads_stored(text)):
        for _ in range(MAX_STORED_DEPTH):
            assert isinstance(value, list)
            (value,) = value
        assert value == DEPTH_MARKER


def test_documents_too_deep_to_parse_become_a_truncated_object():
    text = arrays(5000)
    for value in (json.loads(storable_text(text)), loads_stored(text)):
        assert value["truncated"] is True and value["original_bytes"] == len(text)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"text": "[" * 500 + '\\"{' * 100})
    assert not deeper_than(text)
    assert storable_text(text) == text


def test_text_no_database_refuses():
    text = storable_text('{"a":"\\u0000","b":"\\ud800","c":"\\udc00\\ud83d\\ude00","d":NaN}')
    assert json.loads(text) == {"a": "\ufffd", "b": "\ufffd", "c": "\ufffd\U0001f600", "d": "NaN"}
    assert json.loads(dumps_stored({"x": "\x00\udfff", "y": float("-inf")})) == {
        "x": "\ufffd\ufffd",
        "y": "-Infinity",
    }


def test_unreadable_stored_text_is_shown_as_a_marker():
    assert loads_stored("{not json")["reason"] == "not valid JSON"
    assert loads_stored('{"n": NaN}') == {"n": "NaN"}
