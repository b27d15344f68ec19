"""The call path's JSON encoder (mcp_orch_app/fast_json.py) and the log's capped copy
(log_writer.cap_json) built on it: same JSON as the stdlib, same fallbacks, bounded output."""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from datetime import UTC, datetime

import pytest

from mcp_orch_app import fast_json
from mcp_orch_app.gateway.log_writer import EncodedJSON, _redacted, cap_json
from mcp_orch_app.security.redaction import Redactor


def stdlib(value, **options):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), **options)


class Colour(enum.StrEnum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int


VALUES = [
    {"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": "hi"}]}},
    {"text": "é ü 漢字 🎉 \u2028 \x7f", "ctl": '\n\t\r\x01\x1f"\\/'},
    {"big": 2**63 - 1, "neg": -(2**63), "bools": [True, False], "empty": {}, "list": []},
    [1, 2.5, -0.25, 1e300, 123456789.125],
    {"huge": 2**70},  # past 64 bits: orjson refuses, the stdlib writes it
    {1: "int key", "s": 2},  # non-string key: the stdlib's form ("1")
    {"sub": Colour.RED},  # a str subclass
    ("tuple", "as", "list"),
    "x" * 100_000,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_same_json_value_as_the_stdlib(value):
    text = fast_json.dumps(value)
    assert json.loads(text) == json.loads(stdlib(value))
    assert fast_json.dumps_bytes(value) == text.encode("utf-8")
    if not any(isinstance(v, float) for v in (value if isinstance(value, list) else [])):
        assert text == stdlib(value)  # byte for byte, floats aside


def test_nan_and_infinity_keep_the_stdlib_behaviour():
    # orjson would write null: the output holding null goes to the stdlib encoder instead.
    value = {"nan": float("nan"), "inf": float("inf"), "none": None}
    assert fast_json.dumps(value) == stdlib(value) == '{"nan":NaN,"inf":Infinity,"none":null}'
    strict = fast_json.encoder(allow_nan=False)
    with pytest.raises(ValueError):
        fast_json.dumps(value, strict)


def test_what_orjson_refuses_gets_the_stdlib_error_or_default():
    with pytest.raises(UnicodeEncodeError):
        fast_json.dumps_bytes({"s": "\ud800"})  # as json.dumps(...).encode() did
    assert fast_json.dumps({"s": "\ud800"}) == stdlib({"s": "\ud800"})
    with pytest.raises(TypeError):
        fast_json.dumps({"o": object()})
    seen = []
    custom = fast_json.encoder(default=lambda o: seen.append(type(o)) or "D")
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert fast_json.dumps([moment, Point(1), uuid.UUID(int=1)], custom) == '["D","D","D"]'
    assert seen == [datetime, Point, uuid.UUID]  # never orjson's own forms of them


def test_nesting_past_orjson_limit_is_encoded_by_the_stdlib():
    deep: list = []
    for _ in range(400):
        deep = [deep]
    assert fast_json.dumps(deep) == stdlib(deep)
    deeper: list = []
    for _ in range(100_000):
        deeper = [deeper]
    with pytest.raises(RecursionError):
        fast_json.dumps(deeper)


# -- the log's copy ------------------------------------------------------------------------


LIMIT = 64 * 1024


def test_a_fitting_result_is_stored_as_its_json_text():
    result = {"content": [{"type": "text", "text": "é" * 1000}], "isError": False}
    assert cap_json(result, LIMIT) == stdlib(result)
    assert cap_json(EncodedJSON('{"raw":true}'), LIMIT) == '{"raw":true}'


@pytest.mark.parametrize("text", ["x" * 100_000, 'é"\\' * 40_000, "\x00" * 70_000])
def test_an_oversize_result_becomes_a_bounded_truncation_marker(text):
    result = {"content": [{"type": "text", "text": text}]}
    capped = cap_json(result, LIMIT)
    assert len(capped.encode("utf-8")) <= LIMIT
    marker = json.loads(capped)
    full = stdlib(result)
    assert marker["truncated"] is True
    assert marker["original_bytes"] == len(full.encode("utf-8"))
    assert len(marker["preview"]) > 1000
    assert "\x00" not in capped and "\\u0000" not in capped  # storable on PostgreSQL
    if "\x00" not in text:
        assert full.startswith(marker["preview"])


@pytest.mark.parametrize("limit", [0, 1, 50, 97, 200])
def test_tiny_limits_still_give_valid_json(limit):
    capped = cap_json({"t": "y" * 10_000}, limit)
    marker = json.loads(capped)
    assert marker["truncated"] is True and marker["original_bytes"] == len(
        stdlib({"t": "y" * 10_000})
    )


def test_redaction_applies_to_the_encoded_text_before_the_cut():
    secret = "s3cr3t-token-value"
    redactor = Redactor([secret])
    result = {"content": [{"type": "text", "text": f"{secret} " + "z" * 100_000 + secret}]}
    redacted = _redacted(result, redactor)
    assert isinstance(redacted, EncodedJSON) and secret not in redacted
    capped = cap_json(redacted, LIMIT)
    assert secret not in capped and len(capped.encode("utf-8")) <= LIMIT
    assert json.loads(capped)["truncated"] is True
    small = cap_json(_redacted({"k": secret}, redactor), LIMIT)
    assert secret not in small and json.loads(small) == {"k": redactor.redact(secret)}


def test_an_encoded_message_is_its_bytes_and_still_a_dict():
    message = {"jsonrpc": "2.0", "id": 1, "result": {"text": "é"}}
    made = fast_json.dumps_bytes(message)
    encoded = fast_json.Encoded(message, made)
    assert encoded == message and isinstance(encoded, dict)
    assert fast_json.dumps_bytes(encoded) is made
    assert fast_json.dumps(encoded) == stdlib(message)
    assert json.loads(json.dumps(encoded)) == message  # the stdlib reads it as the dict it is
