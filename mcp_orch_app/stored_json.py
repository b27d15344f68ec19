"""What JSON mcp-orch stores may look like, and how it is read back, whatever was stored.

Tool arguments and results come from clients and servers nobody vetted, and they are shown
again for as long as the logs are kept. So every JSON document written to the database (the log
writer's rows, and the ORM's JSON columns through the engine's serializer, see db.py) is made
storable on both databases and bounded:

- depth: containers nested deeper than ``MAX_STORED_DEPTH`` levels are replaced by the string
  ``DEPTH_MARKER`` (the levels above are kept); a document too deep even to parse becomes a
  ``{"truncated": true, ...}`` object;
- text: NUL (PostgreSQL refuses it in text and jsonb) and lone surrogates (no UTF-8 form, and
  jsonb refuses their escapes) become U+FFFD;
- numbers: NaN and Infinity (not JSON; jsonb refuses them, responses cannot carry them) become
  the strings "NaN", "Infinity", "-Infinity".

Reading applies the same bounds (the engine's deserializer), so a row stored before these rules,
or written by another tool, is still shown, with a marker where it could not be.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_STORED_DEPTH = 64
"""Deepest nesting of arrays/objects kept in a stored document. Far above what tools use, far
below where JSON encoders and serializers give up (pydantic ~255, Python's json ~1000)."""

DEPTH_MARKER = f"[nested deeper than {MAX_STORED_DEPTH} levels: not stored]"

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONSTANTS = ("NaN", "Infinity")
_INF = float("inf")
_TOO_DEEP = f"nested deeper than {MAX_STORED_DEPTH} levels"


def _constant_as_string(name: str) -> str:
    return name


def deeper_than(text: str, levels: int = MAX_STORED_DEPTH) -> bool:
    """Whether the arrays/objects of JSON ``text`` nest more than ``levels`` deep.

    Works on the text with regular expressions (no recursion, C speed): strings are dropped,
    then the innermost bracket pairs are removed once per level."""
    if text.count("[") + text.count("{") <= levels:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _level in range(levels):
        brackets, removed = _INNERMOST.subn("", brackets)
        if not brackets or not removed:
            return False  # done, or unbalanced (not JSON: nothing deeper to find)
    return bool(brackets)


def prune(value: Any, levels: int = MAX_STORED_DEPTH) -> Any:
    """``value`` with containers below ``levels`` levels replaced by `DEPTH_MARKER`, lone
    surrogates replaced in strings and non-finite floats as strings. Recursion is bounded by
    ``levels``, so any depth is safe."""
    if isinstance(value, dict):
        if levels <= 0:
            return DEPTH_MARKER
        return {clean_text(str(k)): prune(v, levels - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if levels <= 0:
            return DEPTH_MARKER
        return [prune(item, levels - 1) for item in value]
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and (value != value or value in (_INF, -_INF)):
        return json.dumps(value)  # "NaN", "Infinity", "-Infinity"
    return value


def clean_text(text: str) -> str:
    """``text`` without NUL and lone surrogates (each becomes U+FFFD)."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii() and _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text


def _unreadable(text: str, reason: str) -> dict[str, Any]:
    return {
        "truncated": True,
        "reason": reason,
        "preview": clean_text(text[:200]),
        "original_bytes": len(text.encode("utf-8", "replace")),
    }


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def storable_text(text: str) -> str:
    """JSON ``text`` within the bounds above (unchanged in the common case, checked cheaply)."""
    if "\\u0000" in text:
        text = text.replace("\\u0000", "\\ufffd")
    text = clean_text(text)
    if "\\u" in text and _LONE_SURROGATE_ESCAPE.search(text):
        text = _LONE_SURROGATE_ESCAPE.sub(r"\\ufffd", text)
    has_constant = any(name in text for name in _CONSTANTS) and any(
        name in _STRING.sub("", text) for name in _CONSTANTS
    )
    if not has_constant and not deeper_than(text):
        return text
    try:
        value = json.loads(text, parse_constant=_constant_as_string)
    except RecursionError:
        return _encode(_unreadable(text, _TOO_DEEP))
    except ValueError:
        return text  # not JSON at all: the caller stores it as it stores any text
    return _encode(prune(value))


def dumps_stored(value: Any) -> str:
    """The engine's JSON serializer: ``value`` as storable JSON text."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (RecursionError, ValueError):
        return _encode(prune(value))
    return storable_text(text)


def loads_stored(text: str | bytes) -> Any:
    """The engine's JSON deserializer: any stored document, read within the bounds above."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    try:
        value = json.loads(text, parse_constant=_constant_as_string)
    except RecursionError:
        return _unreadable(text, _TOO_DEEP)
    except ValueError:
        return _unreadable(text, "not valid JSON")
    if deeper_than(text) or ("\\u" in text and _LONE_SURROGATE_ESCAPE.search(text)):
        return prune(value)
    return value
